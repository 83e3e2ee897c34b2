"""The Xero client for calls made while a person waits (webapp.xero.web_client): one try, inside the budget."""
import pytest
import requests

from webapp.xero import XeroTimedOut
from webapp.xero.budget import Budget
from webapp.xero.web_client import MAX_SLOT_WAIT, BudgetedSession, web_request_client


def test_each_request_is_bounded_by_what_is_left_of_the_budget(monkeypatch):
    now = [0.0]
    budget = Budget(10, clock=lambda: now[0])
    timeouts = []
    monkeypatch.setattr(requests.Session, "request",
                        lambda self, method, url, *args, **kwargs: timeouts.append(kwargs["timeout"]))
    session = BudgetedSession(budget)
    session.request("POST", "https://api.xero.test/Contacts", timeout=30)
    now[0] = 7.5
    session.request("POST", "https://api.xero.test/Contacts", timeout=(5, 30))
    now[0] = 9.99
    with pytest.raises(XeroTimedOut):
        session.request("POST", "https://api.xero.test/Contacts", timeout=30)
    assert timeouts == [10, (2.5, 2.5)]  # the last one was never sent


def test_the_client_tries_once_and_hands_back_a_rate_limit_at_once(settings, connection):
    budget = Budget(8)
    client = web_request_client(settings, connection, budget)
    assert (client.max_attempts, client.max_retry_after) == (1, 0)
    assert client.tokens.budget is budget and isinstance(client.http, BudgetedSession)
    assert client.pacer.limits.max_wait <= MAX_SLOT_WAIT
