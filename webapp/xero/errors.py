"""Typed failures of a Xero call: callers branch on the class, never on status codes."""
from dataclasses import dataclass, field


class XeroError(Exception):
    """Base of every Xero failure; `message` is safe to show a user (never contains a token)."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


class XeroAuthError(XeroError):
    """The grant is gone (invalid_grant, connection removed in Xero): the practice must reconnect."""


class XeroScopeError(XeroError):
    """Xero refused one endpoint for a missing scope (401 AuthorizationUnsuccessful): a configuration problem
    (XERO_SCOPES, or the app's settings in Xero's developer portal) that reconnecting does not fix, so the
    connection is left as it is."""


class XeroForbidden(XeroError):
    """Xero refused this request (403) for a reason reconnecting does not fix."""


class XeroRateLimited(XeroError):
    """Over a Xero limit for `retry_after` seconds; `problem` is "minute", "day", "concurrent" or "appminute"."""

    def __init__(self, message: str, retry_after: float, problem: str, status: int | None = 429):
        super().__init__(message, status)
        self.retry_after = retry_after
        self.problem = problem


@dataclass(frozen=True)
class ElementErrors:
    """The validation messages Xero gave for one element of a batch (its index and the element itself)."""

    index: int
    messages: list[str]
    element: dict = field(default_factory=dict)


class XeroValidationError(XeroError):
    """Xero refused the data (400 ValidationException); `elements` holds its per-element messages."""

    def __init__(self, message: str, elements: list[ElementErrors] | None = None, status: int | None = 400):
        super().__init__(message, status)
        self.elements = elements or []

    @property
    def messages(self) -> list[str]:
        return [m for element in self.elements for m in element.messages]


class XeroUnavailable(XeroError):
    """Xero could not be reached or kept failing (5xx, timeouts) after retries."""


class XeroTimedOut(XeroUnavailable):
    """Xero did not answer within the time Socket gives it (a web request's budget, or a call's timeout)."""


BACKGROUND_SERVICE_DOWN = ("Socket's background service is unavailable just now, so Xero could not be contacted; "
                           "please try again in a few minutes.")


class BackgroundServiceUnavailable(XeroUnavailable):
    """Socket's own Redis (the pacing every Xero call waits on, the token-refresh lock) could not be reached,
    so no call was made; the message says so in a practice manager's terms (the log names Redis)."""

    def __init__(self, message: str = BACKGROUND_SERVICE_DOWN, status: int | None = None):
        super().__init__(message, status)


class XeroNotFound(XeroError):
    """The record (or endpoint) does not exist in Xero."""
