"""Settings, read from the environment only (see .env.example for every one)."""
import os
from datetime import timedelta


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Defaults suit a local run: SQLite, local Redis, real Xero URLs unless overridden."""

    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or "sqlite:///socket.sqlite"
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    RQ_QUEUE = os.environ.get("RQ_QUEUE") or "socket"
    # Prefix for Socket's own Redis keys (locks, pacing); tests use a unique one per run.
    REDIS_KEY_PREFIX = os.environ.get("REDIS_KEY_PREFIX") or "socket:"
    # Fernet key for tokens at rest; `flask gen-key` prints one.
    TOKEN_ENCRYPTION_KEY = os.environ.get("TOKEN_ENCRYPTION_KEY") or None

    XERO_CLIENT_ID = os.environ.get("XERO_CLIENT_ID") or None
    XERO_CLIENT_SECRET = os.environ.get("XERO_CLIENT_SECRET") or None
    XERO_REDIRECT_URI = os.environ.get("XERO_REDIRECT_URI") or None
    XERO_SCOPES = os.environ.get("XERO_SCOPES") or (
        "offline_access accounting.settings.read accounting.contacts accounting.invoices"
    )
    XERO_LOGIN_URL = os.environ.get("XERO_LOGIN_URL") or "https://login.xero.com"
    XERO_IDENTITY_URL = os.environ.get("XERO_IDENTITY_URL") or "https://identity.xero.com"
    XERO_API_URL = os.environ.get("XERO_API_URL") or "https://api.xero.com"
    XERO_WEBHOOK_KEY = os.environ.get("XERO_WEBHOOK_KEY") or None
    # Seconds for all the Xero calls of one web request (connecting, disconnecting), then for handing back a grant
    # it could not finish with; keep their sum well under the web worker's timeout (WEB_TIMEOUT, 30 s).
    XERO_WEB_BUDGET = float(os.environ.get("XERO_WEB_BUDGET") or 10)
    XERO_WEB_CLEANUP_BUDGET = float(os.environ.get("XERO_WEB_CLEANUP_BUDGET") or 5)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    # Sessions end this long after signing in, and after this long without a request (webapp/security/sessions.py).
    PERMANENT_SESSION_LIFETIME = timedelta(hours=int(os.environ.get("SESSION_LIFETIME_HOURS") or 12))
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES") or 60)
    SESSION_REFRESH_EACH_REQUEST = False  # re-send the cookie only when the session changes (not for every file)
    # Failed sign-ins allowed per account and per client address in each window (webapp/security/throttle.py).
    LOGIN_MAX_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ACCOUNT") or 5)
    LOGIN_MAX_FAILURES_PER_ADDRESS = int(os.environ.get("LOGIN_MAX_FAILURES_PER_ADDRESS") or 20)
    LOGIN_THROTTLE_WINDOW_MINUTES = int(os.environ.get("LOGIN_THROTTLE_WINDOW_MINUTES") or 15)
    # Reverse proxies in front of Socket whose X-Forwarded-For/-Proto to believe; 0 believes none.
    TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT") or 0)
    CLIENTS_PER_PAGE = 25
    # The largest request body Socket reads, in bytes; a bigger one is refused with a 413 (webapp/errors.py) before
    # anything reads it. Without it an urlencoded form is read whole, however large (Flask's MAX_FORM_MEMORY_SIZE
    # caps only multipart text parts).
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH") or 1024 * 1024)
