"""Everything the Xero client needs from configuration, gathered once from the app config."""
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class XeroSettings:
    """Xero's URLs, the app's credentials and scopes, the token key and Redis — read from the app config."""

    client_id: str | None
    client_secret: str | None
    redirect_uri: str | None
    scopes: str
    login_url: str
    identity_url: str
    api_url: str
    token_encryption_key: str | None
    redis_url: str
    redis_key_prefix: str
    # Seconds for all the Xero calls of one web request (connect, choose, cancel, disconnect), and then for
    # handing back a grant the request could not finish with; together well inside the web worker's timeout.
    web_budget: float = 10.0
    web_cleanup_budget: float = 5.0

    @classmethod
    def from_config(cls, config: Mapping) -> "XeroSettings":
        """Settings from a Flask config mapping (XERO_*, TOKEN_ENCRYPTION_KEY, REDIS_URL, REDIS_KEY_PREFIX)."""
        return cls(
            client_id=config.get("XERO_CLIENT_ID"),
            client_secret=config.get("XERO_CLIENT_SECRET"),
            redirect_uri=config.get("XERO_REDIRECT_URI"),
            scopes=config.get("XERO_SCOPES") or "",
            login_url=config["XERO_LOGIN_URL"].rstrip("/"),
            identity_url=config["XERO_IDENTITY_URL"].rstrip("/"),
            api_url=config["XERO_API_URL"].rstrip("/"),
            token_encryption_key=config.get("TOKEN_ENCRYPTION_KEY"),
            redis_url=config["REDIS_URL"],
            redis_key_prefix=config.get("REDIS_KEY_PREFIX") or "socket:",
            web_budget=float(config.get("XERO_WEB_BUDGET") or 10.0),
            web_cleanup_budget=float(config.get("XERO_WEB_CLEANUP_BUDGET") or 5.0),
        )

    @property
    def authorize_url(self) -> str:
        return f"{self.login_url}/identity/connect/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.identity_url}/connect/token"

    @property
    def revocation_url(self) -> str:
        return f"{self.identity_url}/connect/revocation"

    @property
    def connections_url(self) -> str:
        return f"{self.api_url}/connections"

    @property
    def accounting_url(self) -> str:
        return f"{self.api_url}/api.xro/2.0"

    def redis_key(self, *parts) -> str:
        """A Redis key under this app's prefix, e.g. redis_key("xero", "refresh", 7)."""
        return self.redis_key_prefix + ":".join(str(p) for p in parts)
