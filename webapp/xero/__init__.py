"""Socket's Xero client: the only code that speaks Xero's HTTP (OAuth, tokens, pacing, retries, typed errors).

No `flask.request` here: everything comes in as arguments or from XeroSettings.
"""
from webapp.xero.client import XeroClient
from webapp.xero.dates import format_xero_date, parse_xero_date, parse_xero_datetime
from webapp.xero.errors import (
    BackgroundServiceUnavailable,
    ElementErrors,
    XeroAuthError,
    XeroError,
    XeroForbidden,
    XeroNotFound,
    XeroRateLimited,
    XeroScopeError,
    XeroTimedOut,
    XeroUnavailable,
    XeroValidationError,
)
from webapp.xero.settings import XeroSettings

__all__ = [
    "BackgroundServiceUnavailable", "ElementErrors", "XeroAuthError", "XeroClient", "XeroError", "XeroForbidden",
    "XeroNotFound", "XeroRateLimited", "XeroScopeError", "XeroSettings", "XeroTimedOut", "XeroUnavailable",
    "XeroValidationError",
    "format_xero_date", "parse_xero_date", "parse_xero_datetime",
]
