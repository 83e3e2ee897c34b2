"""Settings, read from the environment only (see .env.example for every one)."""
import os


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

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    CLIENTS_PER_PAGE = 25
