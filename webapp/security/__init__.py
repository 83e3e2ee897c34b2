"""Socket's web security in one place: response headers (headers.py), sign-in throttling (throttle.py), and
sessions that end (sessions.py); `init_security` wires the app-wide parts into the app factory."""
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.security import headers, sessions


def init_security(app: Flask) -> None:
    headers.init_app(app)
    app.before_request(sessions.enforce_time_limits)
    # Behind N reverse proxies (TRUSTED_PROXY_COUNT), believe the last N hops of X-Forwarded-For and -Proto, so
    # request.remote_addr is the client's address (sign-in throttling counts per address) and HTTPS is seen as
    # such. 0, the default, trusts no header: a client could otherwise forge its address to dodge the limit.
    proxies = int(app.config.get("TRUSTED_PROXY_COUNT") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
