"""Socket's local Xero: OAuth2, connections and the Accounting API, with Xero's limits and failure modes.

`webapp` never imports this package; it reaches the sandbox over HTTP only. See README.md.
"""
from .app import create_app
from .constants import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URI,
    DEMO_TENANT_ID,
    DEMO_TENANT_NAME,
    SECOND_TENANT_ID,
    SECOND_TENANT_NAME,
    SOCKET_THEME_ID,
    SPECIAL_PROJECTS_THEME_ID,
    STANDARD_THEME_ID,
)

__all__ = ["create_app", "DEMO_TENANT_ID", "DEMO_TENANT_NAME", "SECOND_TENANT_ID", "SECOND_TENANT_NAME",
           "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "DEFAULT_REDIRECT_URI", "STANDARD_THEME_ID",
           "SOCKET_THEME_ID", "SPECIAL_PROJECTS_THEME_ID"]
