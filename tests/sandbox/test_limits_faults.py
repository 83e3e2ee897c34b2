"""Xero's API limits (real values where it matters) and every fault knob, over real HTTP."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from xero_sandbox import DEMO_TENANT_ID, SECOND_TENANT_ID
from xero_sandbox.testing import run_sandbox

LIMIT_HEADERS = ("X-MinLimit-Remaining", "X-DayLimit-Remaining", "X-AppMinLimit-Remaining")
ABBOTT = "f7488d45-ec18-5ff2-9156-b307b4f5f2a9"


def _invoice(**extra):
    inv = {"Type": "ACCREC", "Contact": {"ContactID": ABBOTT}, "Date": "2026-11-01", "DueDate": "2026-11-30",
           "LineItems": [{"Description": "Monthly bookkeeping", "Quantity": 1, "UnitAmount": 250,
                          "AccountCode": "200"}]}
    inv.update(extra)
    return {"Invoices": [inv]}


@pytest.fixture
def real(clock):
    with run_sandbox({"clock": clock, "SANDBOX_LIMITS": "real"}) as sb:
        sb.clock = clock
        sb.token = sb.connect(tenants=[DEMO_TENANT_ID, SECOND_TENANT_ID])["access_token"]
        yield sb


def test_minute_limit_real_values(real, validate):
    for i in range(60):
        r = real.api("GET", "Organisation", real.token)
        assert r.status_code == 200
        assert r.headers["X-MinLimit-Remaining"] == str(59 - i)
        assert r.headers["X-DayLimit-Remaining"] == str(4999 - i)
        assert r.headers["X-AppMinLimit-Remaining"] == str(9999 - i)
    r = real.api("GET", "Organisation", real.token)
    body = validate(r, 429)
    assert body["Title"] == "Too Many Requests"
    assert r.headers["X-Rate-Limit-Problem"] == "minute" and r.headers["Retry-After"] == "60"
    assert r.headers["X-MinLimit-Remaining"] == "0"
    # other organisations have their own per-minute allowance
    assert real.api("GET", "Organisation", real.token, tenant_id=SECOND_TENANT_ID).status_code == 200
    real.clock.advance(30)
    assert real.api("GET", "Organisation", real.token).headers["Retry-After"] == "30"
    real.clock.advance(30)
    r = real.api("GET", "Organisation", real.token)
    assert r.status_code == 200 and r.headers["X-DayLimit-Remaining"] == "4939"
    assert real.state()["rate_limited"] == {"minute": 2}


def test_concurrent_limit_real_values(real):
    real.faults(latency_ms=400, count=6)
    results = []

    def call():
        r = real.api("GET", "Organisation", real.token)
        results.append((r.status_code, r.headers.get("X-Rate-Limit-Problem")))
    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
        time.sleep(0.02)
    for t in threads:
        t.join()
    assert sorted(results, key=str) == sorted([(200, None)] * 5 + [(429, "concurrent")], key=str)


def test_day_limit_and_app_minute_limit(clock, validate):
    with run_sandbox({"clock": clock, "SANDBOX_LIMITS": {"day": 3, "app_minute": 5}}) as sb:
        tokens = sb.connect(tenants=[DEMO_TENANT_ID, SECOND_TENANT_ID])
        token = tokens["access_token"]
        for _ in range(3):
            assert sb.api("GET", "Organisation", token).status_code == 200
        r = sb.api("GET", "Organisation", token)
        assert validate(r, 429)["Status"] == 429
        assert r.headers["X-Rate-Limit-Problem"] == "day" and r.headers["X-DayLimit-Remaining"] == "0"
        assert int(r.headers["Retry-After"]) == 86400
        assert sb.api("GET", "Organisation", token, tenant_id=SECOND_TENANT_ID).status_code == 200
        assert sb.api("GET", "Organisation", token, tenant_id=SECOND_TENANT_ID).status_code == 200
        r = sb.api("GET", "Organisation", token, tenant_id=SECOND_TENANT_ID)
        assert r.status_code == 429 and r.headers["X-Rate-Limit-Problem"] == "appminute"
        clock.advance(86400)
        token = sb.refresh(tokens["refresh_token"]).json()["access_token"]  # the old one expired meanwhile
        assert sb.api("GET", "Organisation", token).status_code == 200


def test_limit_headers_on_every_api_response(api):
    for method, path, expect, kw in (("GET", "Contacts", 200, {}), ("GET", "Invoices/nope", 404, {}),
                                     ("POST", "Contacts", 400, {"json": {"Name": ""}})):
        r, _ = api(method, path, expect=expect, raw=True, **kw)
        assert all(h in r.headers for h in LIMIT_HEADERS), (path, dict(r.headers))


@pytest.mark.parametrize("status,title", [(500, "An error occurred"), (503, "Service Unavailable")])
def test_status_faults_for_the_next_n_calls(sb, token, validate, status, title):
    assert sb.faults(status=status, count=2)["faults"][0]["remaining"] == 2
    for _ in range(2):
        body = validate(sb.api("GET", "Organisation", token), status)
        assert body["Title"] == title
    validate(sb.api("GET", "Organisation", token), 200)
    assert sb.state()["faults_fired"] == {f"status_{status}": 2}


def test_injected_429_carries_retry_after_and_problem(sb, token, validate):
    sb.faults(status=429, count=1, problem="day", retry_after=120)
    r = sb.api("GET", "Contacts", token)
    validate(r, 429)
    assert r.headers["Retry-After"] == "120" and r.headers["X-Rate-Limit-Problem"] == "day"
    assert "X-MinLimit-Remaining" in r.headers


def test_percentage_fault_until_cleared(sb, token):
    sb.faults(percent=100, status=503)
    assert [sb.api("GET", "Organisation", token).status_code for _ in range(3)] == [503, 503, 503]
    assert sb.clear_faults()["faults"] == []
    assert sb.api("GET", "Organisation", token).status_code == 200


def test_percentage_fault_is_a_fraction(shared_sandbox):
    with run_sandbox({"SANDBOX_LIMITS": "relaxed", "seed": 7}) as sb:
        token = sb.connect()["access_token"]
        sb.faults(percent=50, status=500)
        codes = [sb.api("GET", "Organisation", token).status_code for _ in range(40)]
        assert 8 < codes.count(500) < 32 and set(codes) == {200, 500}


def test_latency_fault_and_setting(sb, token):
    sb.faults(latency_ms=250, count=1)
    t0 = time.monotonic()
    assert sb.api("GET", "Organisation", token).status_code == 200
    assert time.monotonic() - t0 >= 0.25
    t0 = time.monotonic()
    sb.api("GET", "Organisation", token)
    assert time.monotonic() - t0 < 0.25
    with run_sandbox({"SANDBOX_LATENCY_MS": 150}) as slow:
        tok = slow.connect()["access_token"]
        t0 = time.monotonic()
        slow.api("GET", "Organisation", tok)
        assert time.monotonic() - t0 >= 0.15


def test_lost_response_commits_the_write_and_idempotency_key_recovers(sb, token, validate):
    sb.faults(lose_response=1)
    headers = {"Idempotency-Key": "socket-invoice-42"}
    with pytest.raises(requests.ConnectionError):
        sb.api("PUT", "Invoices", token, json=_invoice(), headers=headers)
    assert sb.state()["invoices_received"] == 1  # committed although the client saw nothing
    body = validate(sb.api("PUT", "Invoices", token, json=_invoice(), headers=headers), 200)
    assert body["Invoices"][0]["InvoiceNumber"] == "INV-0001"
    assert sb.state()["invoices_received"] == 1


def test_lost_token_response_is_survivable_through_the_grace_period(sb, validate):
    refresh = sb.connect()["refresh_token"]
    sb.faults(lose_response=1, on="identity")
    with pytest.raises(requests.ConnectionError):
        sb.refresh(refresh)
    tokens = validate(sb.refresh(refresh), 200)  # the old token is honoured: the retry succeeds
    assert tokens["refresh_token"] != refresh


def test_identity_faults_hit_the_token_endpoint_only(sb, token, validate):
    refresh = sb.connect()["refresh_token"]
    sb.faults(status=503, count=1, on="identity")
    assert sb.api("GET", "Organisation", token).status_code == 200
    r = sb.refresh(refresh)
    assert r.status_code == 503 and r.json()["Status"] == 503
    assert validate(sb.refresh(refresh), 200)["access_token"]


def test_user_revokes_connection_in_xero(sb, validate):
    tokens = sb.connect()
    conn = sb.state()["connections"][0]
    assert sb.revoke(conn["id"])["grants_revoked"] == 1
    assert validate(sb.api("GET", "Organisation", tokens["access_token"]), 401)["Status"] == 401
    assert validate(sb.refresh(tokens["refresh_token"]), 400) == {"error": "invalid_grant"}


def test_revoking_one_of_two_connections_keeps_the_other(sb, validate):
    tokens = sb.connect(tenants=[DEMO_TENANT_ID, SECOND_TENANT_ID])
    demo = [c for c in sb.state()["connections"] if c["tenant_id"] == DEMO_TENANT_ID][0]
    assert sb.revoke(demo["id"])["grants_revoked"] == 0
    assert validate(sb.api("GET", "Organisation", tokens["access_token"]), 403)["Status"] == 403
    validate(sb.api("GET", "Organisation", tokens["access_token"], tenant_id=SECOND_TENANT_ID), 200)
    validate(sb.refresh(tokens["refresh_token"]), 200)


def test_expire_tokens_now(sb, validate):
    tokens = sb.connect()
    assert sb.expire_tokens()["expired"] >= 1
    body = validate(sb.api("GET", "Organisation", tokens["access_token"]), 401)
    assert body["Detail"].startswith("TokenExpired")
    fresh = validate(sb.refresh(tokens["refresh_token"]), 200)
    validate(sb.api("GET", "Organisation", fresh["access_token"]), 200)


@pytest.mark.parametrize("spec", [{"status": 418}, {"percent": 0, "status": 500}, {"latency_ms": -1},
                                  {"lose_response": 0}, {"on": "moon", "status": 500}, {"nothing": 1}])
def test_bad_fault_specs_are_refused(sb, spec):
    r = sb.http.post(f"{sb.url}/_sandbox/faults", json=spec)
    assert r.status_code == 400 and r.json()["error"]
    assert sb.state()["faults"] == []
