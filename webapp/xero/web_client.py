"""A XeroClient for one web request: no retries, and every part of a call bounded by the request's Budget.

A person waiting on a page (e.g. "Create in Xero" on the Billing Plan's review list) must never sit in Xero's
retries: the call is made once, its HTTP timeout is what is left of the budget (webapp.xero.budget), a token
refresh and the wait for a pacing slot are bounded by it too, and a 429 is handed back at once instead of waited
out. A POST sent this way should carry an Idempotency-Key, so that the person trying again after a timeout (when
Xero may have done it after all) does not do it twice. Background jobs use XeroClient itself, with its retries.
"""
import requests

from webapp.xero.budget import Budget
from webapp.xero.client import HTTP_TIMEOUT, XeroClient
from webapp.xero.pacing import Limits
from webapp.xero.settings import XeroSettings
from webapp.xero.token_store import TokenManager

# The longest a web request waits for a pacing slot (Xero's per-minute or concurrent limit) before saying so.
MAX_SLOT_WAIT = 2.0


class BudgetedSession(requests.Session):
    """A requests session whose every request's timeout is bounded by what is left of `budget`
    (XeroTimedOut, before anything is sent, when too little is left)."""

    def __init__(self, budget: Budget):
        super().__init__()
        self.budget = budget

    def request(self, method, url, *args, **kwargs):
        kwargs["timeout"] = self.budget.timeout(kwargs.get("timeout") or HTTP_TIMEOUT)
        return super().request(method, url, *args, **kwargs)


def web_request_client(settings: XeroSettings, connection, budget: Budget) -> XeroClient:
    """A client for the stored XeroConnection `connection`, for calls made while a person waits."""
    return XeroClient.for_connection(
        connection, settings, tokens=TokenManager(settings, budget=budget), http=BudgetedSession(budget),
        limits=Limits(max_wait=min(MAX_SLOT_WAIT, budget.remaining())), max_attempts=1, max_retry_after=0)
