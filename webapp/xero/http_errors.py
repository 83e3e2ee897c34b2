"""Turning a Xero HTTP response into data or a typed error (shared by the API client and /connections)."""
import requests

from webapp.xero.errors import (
    ElementErrors,
    XeroAuthError,
    XeroError,
    XeroForbidden,
    XeroNotFound,
    XeroRateLimited,
    XeroScopeError,
    XeroUnavailable,
    XeroValidationError,
)

SCOPE_FAILURE = "AuthorizationUnsuccessful"  # 401: the token lacks this endpoint's scope
TENANT_FAILURE = "AuthenticationUnsuccessful"  # 403: the organisation is not connected (or the token is bad)


def body_json(response: requests.Response):
    """The body of an error response as JSON, or {} when it has none or is not JSON (errors only: a
    success body goes through `success_json`, which refuses to guess)."""
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        return {}


def success_json(response: requests.Response):
    """The JSON of a 2xx response ({} for an empty one, e.g. 204). An unreadable body is XeroUnavailable —
    never an empty result, which callers would read as "Xero has nothing"."""
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        raise XeroUnavailable(f"Xero answered HTTP {response.status_code} with a body Socket could not read; "
                              "nothing was changed. Try again shortly.", status=response.status_code) from None


def message_text(value: object, limit: int = 1000) -> str:
    """A message of Xero's as Socket shows and stores it: text without NUL characters (PostgreSQL cannot store
    them), stripped, at most `limit` characters; "" for anything that is not text."""
    if not isinstance(value, str):
        return ""
    text = value.replace("\x00", "").strip()
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _detail(response: requests.Response) -> str:
    body = body_json(response)
    if isinstance(body, dict):
        for key in ("Detail", "Message", "Title", "detail", "title"):
            if message_text(body.get(key)):
                return message_text(body.get(key))
    return response.reason or f"HTTP {response.status_code}"


def validation_error(response: requests.Response) -> XeroValidationError:
    """Xero's ValidationException with its per-element messages (Elements[i].ValidationErrors[].Message); parts
    of the body that are not of Xero's shape are left out."""
    body = body_json(response)
    body = body if isinstance(body, dict) else {}
    listed = body.get("Elements")
    elements = []
    for index, element in enumerate(listed if isinstance(listed, list) else []):
        errors = element.get("ValidationErrors") if isinstance(element, dict) else None
        messages = [message_text(e.get("Message")) for e in (errors if isinstance(errors, list) else [])
                    if isinstance(e, dict) and message_text(e.get("Message"))]
        if messages:
            elements.append(ElementErrors(index=index, messages=messages, element=element))
    messages = [m for e in elements for m in e.messages]
    summary = "; ".join(messages) or message_text(body.get("Message")) or message_text(body.get("Detail")) \
        or "Xero refused the data."
    return XeroValidationError(f"Xero refused the data: {summary}", elements=elements, status=response.status_code)


def rate_limited(response: requests.Response) -> XeroRateLimited:
    """The 429's Retry-After (60 s when missing or unreadable) and X-Rate-Limit-Problem."""
    try:
        retry_after = float(response.headers.get("Retry-After", "60"))
    except ValueError:
        retry_after = 60.0
    problem = (response.headers.get("X-Rate-Limit-Problem") or "minute").lower()
    return XeroRateLimited(f"Xero's {problem} limit was reached; it asked Socket to wait {retry_after:g}s.",
                           retry_after=retry_after, problem=problem)


def auth_error(response: requests.Response) -> XeroError:
    """401/403 split as Xero does it: a missing scope (401 AuthorizationUnsuccessful) is configuration, not a
    lost connection; a 403 is a lost connection only when Xero says the tenant is not connected
    (AuthenticationUnsuccessful); any other 401 means the token itself was refused."""
    status, detail = response.status_code, _detail(response)
    if SCOPE_FAILURE in detail:
        return XeroScopeError(f"Xero refused this request for a missing permission ({status}: {detail}). Socket's "
                              "XERO_SCOPES setting (or the app's scopes in Xero's developer portal) must include "
                              "the scope for it; reconnecting will not help until it does.", status=status)
    if status == 403 and TENANT_FAILURE not in detail:
        return XeroForbidden(f"Xero refused this request ({status}: {detail}).", status=status)
    return XeroAuthError(f"Xero refused access ({status}: {detail}). The organisation may have disconnected "
                         "Socket; reconnect to Xero.", status=status)


def error_for(response: requests.Response) -> XeroError:
    """The typed error for a non-2xx response."""
    status = response.status_code
    if status in (401, 403):
        return auth_error(response)
    if status == 404:
        return XeroNotFound(f"Xero has no such record ({_detail(response)}).", status=status)
    if status == 400:
        return validation_error(response)
    if status == 429:
        return rate_limited(response)
    if status >= 500:
        return XeroUnavailable(f"Xero is having trouble (HTTP {status}); try again shortly.", status=status)
    return XeroError(f"Xero answered HTTP {status}: {_detail(response)}", status=status)
