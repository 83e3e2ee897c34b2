"""The sandbox's app factory and the runtime object every blueprint shares."""
from __future__ import annotations

import json
import os
import time

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException

from . import constants as C
from . import seed
from .limits import Faults, RateLimiter
from .store import AUTH_TABLES, DATA_TABLES, Store
from .xerojson import XeroError, json_response, not_found, problem_response

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ENV_SETTINGS = {
    "SANDBOX_DB_PATH": "instance/xero_sandbox.sqlite",
    "SANDBOX_CLIENT_ID": C.DEFAULT_CLIENT_ID,
    "SANDBOX_CLIENT_SECRET": C.DEFAULT_CLIENT_SECRET,
    "SANDBOX_REDIRECT_URIS": C.DEFAULT_REDIRECT_URI,
    "SANDBOX_APP_NAME": "Socket (sandbox app)",
    "SANDBOX_WEBHOOK_URL": "",
    "SANDBOX_WEBHOOK_KEY": "",
    "SANDBOX_ACCESS_TOKEN_TTL": str(C.ACCESS_TOKEN_TTL),
    "SANDBOX_LIMITS": "real",
    "SANDBOX_LATENCY_MS": "0",
    "SANDBOX_SCOPE_MODE": "any",
    "SANDBOX_PUBLIC_URL": "",
}


def load_settings(config: dict | None) -> dict:
    config = dict(config or {})
    use_env = not config.pop("SANDBOX_IGNORE_ENV", False)
    settings = {}
    for key, default in ENV_SETTINGS.items():
        settings[key] = os.environ.get(key, default) if use_env else default
    settings.update(config)
    path = settings["SANDBOX_DB_PATH"]
    if path != ":memory:" and not os.path.isabs(path):
        settings["SANDBOX_DB_PATH"] = os.path.join(PROJECT_ROOT, path)
    uris = settings["SANDBOX_REDIRECT_URIS"]
    if isinstance(uris, str):
        uris = [u.strip() for u in uris.split(",") if u.strip()]
    settings["SANDBOX_REDIRECT_URIS"] = list(uris)
    settings["SANDBOX_ACCESS_TOKEN_TTL"] = int(settings["SANDBOX_ACCESS_TOKEN_TTL"])
    settings["SANDBOX_LATENCY_MS"] = float(settings["SANDBOX_LATENCY_MS"] or 0)
    limits = settings["SANDBOX_LIMITS"]
    if isinstance(limits, str):
        if limits not in C.LIMITS:
            raise ValueError(f"SANDBOX_LIMITS must be one of {sorted(C.LIMITS)}, not {limits!r}")
        limits = C.LIMITS[limits]
    else:
        limits = {**C.LIMITS["real"], **limits}
    settings["limits"] = limits
    if settings["SANDBOX_SCOPE_MODE"] not in ("any", "granular", "broad"):
        raise ValueError("SANDBOX_SCOPE_MODE must be any, granular or broad")
    return settings


class Sandbox:
    """Shared state: settings, SQLite store, clock, limiter, faults, signing key."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.clock = settings.get("clock") or time.time
        self.sleep = settings.get("sleep") or time.sleep
        self.store = Store(settings["SANDBOX_DB_PATH"])
        self.limiter = RateLimiter(settings["limits"])
        self.faults = Faults(settings.get("seed"))
        from .tokens import SigningKey
        self.signing_key = SigningKey()
        self.unexpected_errors = 0  # sandbox bugs answered with a 500 (tests assert this stays 0)
        self.seed_app()
        if self.store.get_meta("seeded") is None:
            self.reset()

    def now(self) -> float:
        return float(self.clock())

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    @property
    def client_id(self):
        return self.settings["SANDBOX_CLIENT_ID"]

    def seed_app(self):
        s = self.settings
        with self.store.tx() as db:
            db.execute("INSERT OR REPLACE INTO apps (client_id, client_secret, redirect_uris, name) VALUES (?,?,?,?)",
                       (s["SANDBOX_CLIENT_ID"], s["SANDBOX_CLIENT_SECRET"],
                        json.dumps(s["SANDBOX_REDIRECT_URIS"]), s["SANDBOX_APP_NAME"]))

    def reset(self, keep_connections: bool = False):
        tables = DATA_TABLES if keep_connections else DATA_TABLES + AUTH_TABLES
        with self.store.tx() as db:
            for t in tables:
                db.execute(f"DELETE FROM {t}")
            seed.seed_demo(db)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('seeded', 'true')")
        self.limiter.reset()
        self.faults.reset()


def get_sandbox() -> Sandbox:
    return current_app.extensions["xero_sandbox"]


# Xero's resource paths are case-insensitive; route everything to one canonical spelling.
CANONICAL = {name.lower(): name for name in
             ("Organisation", "Accounts", "BrandingThemes", "TaxRates", "Contacts", "Invoices")}


class CaseInsensitivePaths:
    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        low = path.lower()
        if low.startswith("/api.xro/2.0/"):
            parts = path.split("/")
            if len(parts) > 3:
                parts[2] = "2.0"
                parts[1] = "api.xro"
                parts[3] = CANONICAL.get(parts[3].lower(), parts[3])
                environ["PATH_INFO"] = "/".join(parts)
        elif low == "/connections" or low.startswith("/connections/"):
            environ["PATH_INFO"] = "/connections" + path[len("/connections"):]
        return self.wsgi_app(environ, start_response)


def create_app(config: dict | None = None) -> Flask:
    settings = load_settings(config)
    app = Flask(__name__, instance_path=os.path.join(PROJECT_ROOT, "instance"))
    app.config["SECRET_KEY"] = settings.get("SECRET_KEY", "xero-sandbox-not-secret")
    app.config["TESTING"] = bool(settings.get("TESTING", False))
    app.config["MAX_CONTENT_LENGTH"] = 10 * 1024 * 1024
    app.json.sort_keys = False
    sandbox = Sandbox(settings)
    app.extensions["xero_sandbox"] = sandbox
    app.wsgi_app = CaseInsensitivePaths(app.wsgi_app)

    from . import contacts, invoices  # noqa: F401  (their routes join api_bp: import before registering it)
    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .identity import bp as identity_bp

    app.register_blueprint(identity_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(admin_bp)

    @app.errorhandler(XeroError)
    def _xero_error(e: XeroError):
        return e.response()

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        if e.code == 404:
            return not_found()
        if request.path.startswith("/_sandbox/") and request.accept_mimetypes.best != "text/html":
            return json_response({"error": e.name, "detail": e.description}, e.code)
        return problem_response(e.code, e.name, e.description or e.name)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        if isinstance(e, HTTPException):
            return _http_error(e)
        app.logger.exception("unexpected error in the Xero sandbox")
        sandbox.unexpected_errors += 1
        return problem_response(500, "An error occurred",
                                "An error occurred in Xero. Check the API Status page "
                                "http://status.developer.xero.com for current service status.")

    @app.route("/")
    def _index():
        from flask import redirect
        return redirect("/_sandbox/")

    return app
