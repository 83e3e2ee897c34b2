"""Socket's Xero client: the only code that speaks Xero's HTTP (OAuth, tokens, pacing, retries, typed errors).

No `flask.request` here: everything comes in as arguments or from XeroSettings.
"""
from webapp.xero.client import XeroClient
from webapp.xero.dates import format_xero_date, parse_xero_date, parse_xero_datetime
from webapp.xero.errors import (
    ElementErrors,
    XeroAuthError,
    XeroError,
    XeroNotFound,
    XeroRateLimited,
    XeroUnavailable,
    XeroValidationError,
)
from webapp.xero.settings import XeroSettings

__all__ = [
    "ElementErrors", "XeroAuthError", "XeroClient", "XeroError", "XeroNotFound", "XeroRateLimited",
    "XeroSettings", "XeroUnavailable", "XeroValidationError", "format_xero_date", "parse_xero_date",
    "parse_xero_datetime", "client_for",
]


def client_for(connection, config, **kwargs) -> XeroClient:
    """A client for a stored connection, configured from an app config mapping."""
    return XeroClient.for_connection(connection, XeroSettings.from_config(config), **kwargs)
