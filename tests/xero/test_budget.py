"""A web request's time budget for Xero: each call's timeout bounded by what is left, no retry past it, no call
started once it is spent; background jobs (no budget) keep their retries."""
from datetime import timedelta

import pytest

from tests.factories import make_connection
from tests.xero.helpers import token_body
from webapp.xero import oauth
from webapp.xero.budget import Budget
from webapp.xero.connections import delete_connection, list_connections
from webapp.xero.errors import XeroTimedOut, XeroUnavailable
from webapp.xero.token_store import TokenManager


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_timeouts_are_bounded_by_what_is_left():
    clock = Clock()
    budget = Budget(10, clock=clock)
    assert budget.timeout(20) == 10 and budget.timeout((5, 15)) == (5, 10)
    clock.now += 8
    assert budget.remaining() == 2 and budget.timeout(20) == 2 and budget.timeout((5, 15)) == (2, 2)
    assert budget.wait(60) == 2
    clock.now += 2
    with pytest.raises(XeroTimedOut, match="took too long"):
        budget.timeout(20)
    assert budget.wait(60) == 0


def test_a_spent_budget_makes_no_call(settings, mocked):
    clock = Clock()
    budget = Budget(1, clock=clock)
    clock.now += 5
    with pytest.raises(XeroTimedOut):
        list_connections(settings, "token", budget=budget)
    with pytest.raises(XeroTimedOut):
        oauth.exchange_code(settings, "code", "verifier", budget=budget)
    assert len(mocked.calls) == 0


def test_retries_stop_at_the_budget_but_not_without_one(settings, mocked):
    mocked.get(settings.connections_url, status=503)
    clock = Clock()
    with pytest.raises(XeroUnavailable):
        list_connections(settings, "token", sleep=clock.sleep, budget=Budget(0.3, clock=clock))
    assert len(mocked.calls) == 1 and clock.slept == []  # a backoff of ~0.5 s or more does not fit
    with pytest.raises(XeroUnavailable):
        list_connections(settings, "token", sleep=clock.sleep)  # a job's call: three tries
    assert len(mocked.calls) == 4


def test_each_call_gets_the_remaining_time_as_its_timeout(settings, mocked):
    clock = Clock()
    budget = Budget(4, clock=clock)
    mocked.post(settings.token_url, json=token_body())
    mocked.delete(f"{settings.connections_url}/conn-a", status=204)
    mocked.post(settings.revocation_url, status=200)
    oauth.exchange_code(settings, "code", "verifier", budget=budget)
    clock.now += 1.5
    delete_connection(settings, "token", "conn-a", budget=budget)
    oauth.revoke_refresh_token(settings, "refresh", budget=budget)
    assert [call.request.req_kwargs["timeout"] for call in mocked.calls] == [4, 2.5, 2.5]


def test_a_refresh_in_a_web_request_is_bounded_by_its_budget(app_ctx, settings, mocked):
    connection = make_connection(expires_in=timedelta(seconds=-1))
    mocked.post(settings.token_url, json=token_body())
    clock = Clock()
    TokenManager(settings, sleep=clock.sleep, budget=Budget(3, clock=clock)).access_token(connection.id)
    assert mocked.calls[0].request.req_kwargs["timeout"] == (3, 3)  # not the job's (5, 15)
