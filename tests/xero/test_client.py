"""The API client: tenant header, pacing, retries, 429, typed errors, needs-reconnect, paging, call counts."""
import json
from datetime import UTC, timedelta

import pytest
import requests

from tests.factories import TENANT_ID
from tests.xero.helpers import stored_tokens, token_body
from webapp.xero.client import XeroClient
from webapp.xero.errors import (
    XeroAuthError,
    XeroForbidden,
    XeroNotFound,
    XeroRateLimited,
    XeroScopeError,
    XeroUnavailable,
    XeroValidationError,
)


@pytest.fixture
def client(settings, connection, fake_time):
    return XeroClient.for_connection(connection, settings, sleep=fake_time.sleep, clock=fake_time.clock)


def url(settings, path):
    return f"{settings.accounting_url}/{path}"


def test_get_sends_token_and_tenant_and_counts_the_call(settings, client, mocked):
    mocked.get(url(settings, "Accounts"), json={"Accounts": [{"Code": "200"}]},
               headers={"X-MinLimit-Remaining": "58", "X-DayLimit-Remaining": "4990",
                        "X-AppMinLimit-Remaining": "9000"})
    assert client.get("Accounts") == {"Accounts": [{"Code": "200"}]}
    sent = mocked.calls[0].request.headers
    assert sent["Authorization"] == "Bearer old-access"
    assert sent["xero-tenant-id"] == TENANT_ID
    assert client.calls == 1
    assert (client.rate.minute, client.rate.day, client.rate.app_minute) == (58, 4990, 9000)
    assert client.pacer.calls_in_last_minute() == 1


def test_429_waits_retry_after_then_succeeds(settings, client, mocked, fake_time):
    mocked.get(url(settings, "Accounts"), status=429,
               headers={"Retry-After": "7", "X-Rate-Limit-Problem": "minute"})
    mocked.get(url(settings, "Accounts"), json={"Accounts": []})
    assert client.get("Accounts") == {"Accounts": []}
    assert 7.0 in fake_time.slept
    assert client.calls == 2


def test_429_with_a_long_retry_after_is_handed_to_the_caller_and_pauses_every_process(
        settings, client, connection, mocked, fake_time):
    mocked.get(url(settings, "Accounts"), status=429,
               headers={"Retry-After": "3600", "X-Rate-Limit-Problem": "day"})
    with pytest.raises(XeroRateLimited) as raised:
        client.get("Accounts")
    assert raised.value.retry_after == 3600 and raised.value.problem == "day"
    assert fake_time.slept == []
    # Another process's client for the same organisation does not call Xero at all while paused.
    other = XeroClient.for_connection(connection, settings, sleep=fake_time.sleep, clock=fake_time.clock)
    with pytest.raises(XeroRateLimited) as raised:
        other.get("Accounts")
    assert raised.value.problem == "pause" and raised.value.retry_after == pytest.approx(3600, abs=1)
    assert len(mocked.calls) == 1 and other.calls == 0


def test_an_unreadable_2xx_body_is_retried_then_unavailable_never_empty(settings, client, mocked):
    mocked.get(url(settings, "Accounts"), status=200, body="<html>gateway</html>")
    with pytest.raises(XeroUnavailable, match="could not read"):
        client.get("Accounts")
    assert client.calls == client.max_attempts


def test_an_unreadable_2xx_body_then_a_good_one_succeeds(settings, client, mocked):
    mocked.get(url(settings, "Accounts"), status=200, body="not json")
    mocked.get(url(settings, "Accounts"), json={"Accounts": [{"Code": "200"}]})
    assert client.get("Accounts") == {"Accounts": [{"Code": "200"}]}


def test_an_empty_2xx_body_is_an_empty_result(settings, client, mocked):
    mocked.delete(url(settings, "Items/i1"), status=204)
    assert client.delete("Items/i1") == {}


def test_5xx_is_retried_with_backoff_then_succeeds(settings, client, mocked, fake_time):
    mocked.get(url(settings, "Accounts"), status=503)
    mocked.get(url(settings, "Accounts"), status=500)
    mocked.get(url(settings, "Accounts"), json={"Accounts": []})
    assert client.get("Accounts") == {"Accounts": []}
    assert client.calls == 3
    assert len(fake_time.slept) == 2 and all(s > 0 for s in fake_time.slept)


def test_5xx_exhausted_is_unavailable(settings, client, mocked):
    mocked.get(url(settings, "Accounts"), status=502)
    with pytest.raises(XeroUnavailable):
        client.get("Accounts")
    assert client.calls == client.max_attempts


def test_timeout_on_get_is_retried(settings, client, mocked):
    mocked.get(url(settings, "Accounts"), body=requests.Timeout("slow"))
    mocked.get(url(settings, "Accounts"), json={"Accounts": []})
    assert client.get("Accounts") == {"Accounts": []}


def test_timeout_on_post_without_idempotency_key_is_not_repeated(settings, client, mocked):
    mocked.post(url(settings, "Invoices"), body=requests.Timeout("slow"))
    with pytest.raises(XeroUnavailable):
        client.post("Invoices", json={"Invoices": []})
    assert client.calls == 1


def test_post_with_idempotency_key_is_retried_after_5xx(settings, client, mocked):
    mocked.post(url(settings, "Invoices"), status=503)
    mocked.post(url(settings, "Invoices"), json={"Invoices": [{"InvoiceID": "i1"}]})
    result = client.post("Invoices", json={"Invoices": []}, headers={"Idempotency-Key": "run-1-client-2"})
    assert result["Invoices"][0]["InvoiceID"] == "i1"
    assert mocked.calls[1].request.headers["Idempotency-Key"] == "run-1-client-2"


def test_403_tenant_not_connected_marks_the_connection_needs_reconnect(app, settings, client, connection, mocked):
    mocked.get(url(settings, "Accounts"), status=403,
               json={"Title": "Forbidden", "Status": 403, "Detail": "AuthenticationUnsuccessful"})
    with pytest.raises(XeroAuthError):
        client.get("Accounts")
    _, _, row = stored_tokens(connection.id)
    assert row.status == "needs_reconnect"
    assert "AuthenticationUnsuccessful" in row.last_error


def _reconnect_while_in_flight(app, connection_id, status=403):
    """A Xero answer that arrives after the user reconnected (new grant) while the call was in flight."""
    from datetime import datetime

    from sqlalchemy.orm import Session

    from webapp.extensions import db
    from webapp.models import XeroConnection
    from webapp.xero.crypto import TokenCipher
    from webapp.xero.oauth import TokenSet
    from webapp.xero.token_store import store_token_set

    def answer(request):
        with Session(db.engine) as session:
            row = session.get(XeroConnection, connection_id)
            store_token_set(row, TokenSet("brand-new-access", "brand-new-refresh",
                                          datetime.now(UTC) + timedelta(minutes=30)),
                            TokenCipher(app.config["TOKEN_ENCRYPTION_KEY"]))
            row.status = "connected"
            row.last_error = None
            session.commit()
        return status, {}, json.dumps({"Title": "Forbidden", "Status": status, "Detail": "AuthenticationUnsuccessful"})

    return answer


def test_a_stale_403_after_the_user_reconnected_leaves_the_new_connection_alone(app, settings, client, connection,
                                                                                 mocked, caplog):
    mocked.add_callback("GET", url(settings, "Accounts"), callback=_reconnect_while_in_flight(app, connection.id))
    with pytest.raises(XeroAuthError):
        client.get("Accounts")
    access, refresh, row = stored_tokens(connection.id)
    assert (access, refresh, row.status, row.last_error) == ("brand-new-access", "brand-new-refresh", "connected",
                                                             None)
    assert "not marked needs-reconnect" in caplog.text


def test_a_stale_401_after_our_refresh_and_a_reconnect_leaves_the_connection_alone(app, settings, client,
                                                                                      connection, mocked):
    # Our first 401 makes us refresh; before our retry's 401 lands, the user has reconnected.
    mocked.get(url(settings, "Accounts"), status=401, json={"Title": "Unauthorized"})
    mocked.post(settings.token_url, json=token_body("access-2", "refresh-2"))
    mocked.add_callback("GET", url(settings, "Accounts"),
                        callback=_reconnect_while_in_flight(app, connection.id, status=401))
    with pytest.raises(XeroAuthError):
        client.get("Accounts")
    access, _, row = stored_tokens(connection.id)
    assert (access, row.status) == ("brand-new-access", "connected")


def test_a_missing_scope_is_a_configuration_error_that_leaves_the_connection_alone(app, settings, client,
                                                                                   connection, mocked):
    mocked.get(url(settings, "Invoices"), status=401,
               json={"Title": "Unauthorized", "Status": 401, "Detail": "AuthorizationUnsuccessful"})
    with pytest.raises(XeroScopeError) as raised:
        client.get("Invoices")
    assert "XERO_SCOPES" in raised.value.message
    assert not isinstance(raised.value, XeroAuthError)
    assert client.calls == 1  # no refresh-and-retry: a new token has the same scopes
    assert not any(call.request.url == settings.token_url for call in mocked.calls)
    row = stored_tokens(connection.id)[2]
    assert (row.status, row.last_error) == ("connected", None)


def test_another_403_is_refused_without_flipping_the_connection(app, settings, client, connection, mocked):
    mocked.get(url(settings, "Reports/ProfitAndLoss"), status=403, json={"Title": "Forbidden", "Status": 403,
                                                                         "Detail": "Subscription lacks feature"})
    with pytest.raises(XeroForbidden):
        client.get("Reports/ProfitAndLoss")
    assert stored_tokens(connection.id)[2].status == "connected"


def test_401_refreshes_once_then_succeeds(app, settings, client, connection, mocked):
    mocked.get(url(settings, "Accounts"), status=401, json={"Title": "Unauthorized"})
    mocked.post(settings.token_url, json=token_body("access-2", "refresh-2"))
    mocked.get(url(settings, "Accounts"), json={"Accounts": []})
    assert client.get("Accounts") == {"Accounts": []}
    assert mocked.calls[2].request.headers["Authorization"] == "Bearer access-2"
    assert stored_tokens(connection.id)[2].status == "connected"


def test_401_after_a_refresh_marks_needs_reconnect(app, settings, client, connection, mocked):
    mocked.get(url(settings, "Accounts"), status=401, json={"Title": "Unauthorized"})
    mocked.post(settings.token_url, json=token_body("access-2", "refresh-2"))
    with pytest.raises(XeroAuthError):
        client.get("Accounts")
    assert stored_tokens(connection.id)[2].status == "needs_reconnect"


def test_validation_error_carries_per_element_messages(settings, client, mocked):
    body = {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
            "Elements": [
                {"InvoiceNumber": "INV-1", "ValidationErrors": []},
                {"InvoiceNumber": "INV-2", "ValidationErrors": [
                    {"Message": "Account code '999' is not a valid code for this document."},
                    {"Message": "The Contact is archived."}]},
            ]}
    mocked.post(url(settings, "Invoices"), status=400, json=body)
    with pytest.raises(XeroValidationError) as raised:
        client.post("Invoices", json={"Invoices": [{}, {}]})
    error = raised.value
    assert len(error.elements) == 1
    assert error.elements[0].index == 1
    assert error.elements[0].element["InvoiceNumber"] == "INV-2"
    assert error.messages == ["Account code '999' is not a valid code for this document.",
                              "The Contact is archived."]
    assert "archived" in error.message


@pytest.mark.parametrize("body, message", [
    ({"Elements": ["not an element", None, {"ValidationErrors": "not a list"},
                   {"ValidationErrors": [{"Message": ["a", "list"]}, "junk", {"Message": "Bad\x00 code "}]}]},
     "Xero refused the data: Bad code"),
    ({"Elements": {"0": {}}, "Message": ["not", "text"], "Detail": "Detail\x00 only"},
     "Xero refused the data: Detail only"),
    ({"Message": "x" * 100_000}, "Xero refused the data: " + "x" * 999 + "…"),
    (["not", "an", "object"], "Xero refused the data: Xero refused the data."),
])
def test_a_validation_error_of_an_odd_shape_keeps_what_can_be_read(settings, client, mocked, body, message):
    mocked.post(url(settings, "Invoices"), status=400, json=body)
    with pytest.raises(XeroValidationError) as raised:
        client.post("Invoices", json={"Invoices": [{}]})
    assert raised.value.message == message


def test_404_is_not_found(settings, client, mocked):
    mocked.get(url(settings, "Contacts/nope"), status=404, body="")
    with pytest.raises(XeroNotFound):
        client.get("Contacts/nope")


def test_paging_walks_pages_until_a_short_one(settings, client, mocked):
    def page_callback(request):
        page = int(request.params["page"])
        size = {1: 3, 2: 3, 3: 1}[page]
        items = [{"ContactID": f"{page}-{i}"} for i in range(size)]
        return 200, {}, json.dumps({"Contacts": items})

    mocked.add_callback("GET", url(settings, "Contacts"), callback=page_callback)
    items = list(client.paged("Contacts", "Contacts", params={"includeArchived": "true"}, page_size=3,
                              send_page_size=True))
    assert [i["ContactID"] for i in items] == ["1-0", "1-1", "1-2", "2-0", "2-1", "2-2", "3-0"]
    assert client.calls == 3
    assert "pageSize=3" in mocked.calls[0].request.url and "includeArchived=true" in mocked.calls[0].request.url



def test_an_app_minute_429_pauses_every_organisation_for_its_retry_after(settings, connection, mocked, fake_time):
    first = XeroClient.for_connection(connection, settings, sleep=fake_time.sleep, clock=fake_time.clock,
                                      max_retry_after=10)
    mocked.get(url(settings, "Accounts"), status=429,
               headers={"Retry-After": "30", "X-Rate-Limit-Problem": "appminute"})
    mocked.get(url(settings, "Accounts"), json={"Accounts": []})
    with pytest.raises(XeroRateLimited) as raised:
        first.get("Accounts")
    assert raised.value.problem == "appminute"
    # Another organisation's client waits out Xero's Retry-After before its first call.
    other = XeroClient(settings, connection.id, "99999999-0000-0000-0000-000000000000", sleep=fake_time.sleep,
                       clock=fake_time.clock)
    assert other.get("Accounts") == {"Accounts": []}
    assert sum(fake_time.slept) == pytest.approx(30, abs=0.1)
    assert len(mocked.calls) == 2 and other.calls == 1


def test_an_organisations_minute_429_does_not_hold_the_others(settings, connection, mocked, fake_time):
    first = XeroClient.for_connection(connection, settings, sleep=fake_time.sleep, clock=fake_time.clock,
                                      max_retry_after=10)
    mocked.get(url(settings, "Accounts"), status=429, headers={"Retry-After": "30", "X-Rate-Limit-Problem": "minute"})
    mocked.get(url(settings, "Accounts"), json={"Accounts": []})
    with pytest.raises(XeroRateLimited):
        first.get("Accounts")
    other = XeroClient(settings, connection.id, "99999999-0000-0000-0000-000000000000", sleep=fake_time.sleep,
                       clock=fake_time.clock)
    assert other.get("Accounts") == {"Accounts": []}
    assert fake_time.slept == []


def test_redis_failing_after_xero_accepted_a_post_keeps_xeros_answer(settings, client, mocked):
    import redis

    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)

    def accept_then_lose_redis(request):
        client.pacer.redis = dead  # Redis goes down while Xero is answering
        return 200, {"X-MinLimit-Remaining": "0"}, json.dumps({"Invoices": [{"InvoiceID": "i1"}]})

    mocked.add_callback("POST", url(settings, "Invoices"), callback=accept_then_lose_redis)
    assert client.post("Invoices", json={"Invoices": [{}]}) == {"Invoices": [{"InvoiceID": "i1"}]}
    assert client.calls == 1
