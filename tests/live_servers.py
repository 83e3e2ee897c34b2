"""Serving Socket and the Xero sandbox over real HTTP for integration and browser tests."""
import threading
from contextlib import contextmanager

from werkzeug.serving import make_server

XERO_KEYS = ("XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_REDIRECT_URI", "XERO_LOGIN_URL", "XERO_IDENTITY_URL",
             "XERO_API_URL")


@contextmanager
def serve(app):
    """Serve a WSGI app on a free loopback port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def sandbox_for(app, socket_url: str):
    """A fresh Xero sandbox with Socket's callback registered, and Socket's Xero settings pointed at it."""
    from xero_sandbox.testing import run_sandbox

    saved = {key: app.config[key] for key in XERO_KEYS}
    callback = f"{socket_url}/settings/integrations/xero/callback"
    with run_sandbox({"SANDBOX_REDIRECT_URIS": callback}) as sandbox:
        app.config.update(XERO_CLIENT_ID=sandbox.client_id, XERO_CLIENT_SECRET=sandbox.client_secret,
                          XERO_REDIRECT_URI=callback, XERO_LOGIN_URL=sandbox.url, XERO_IDENTITY_URL=sandbox.url,
                          XERO_API_URL=sandbox.url)
        try:
            yield sandbox
        finally:
            app.config.update(saved)
