"""The identity endpoints: authorization URL with state + PKCE, code exchange, refresh, revocation."""
import base64
import hashlib
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import responses

from tests.xero.helpers import fake_jwt, token_body
from webapp.xero import oauth
from webapp.xero.errors import XeroAuthError, XeroUnavailable


def test_authorization_url_carries_state_pkce_s256_scopes_and_redirect(settings):
    request = oauth.authorization_request(settings)
    url = urlparse(request.url)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://login.xero.com/identity/connect/authorize"
    assert query["state"] == request.state
    assert query["code_challenge_method"] == "S256"
    expected = base64.urlsafe_b64encode(hashlib.sha256(request.code_verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == expected.decode()
    assert query["scope"] == settings.scopes
    assert query["redirect_uri"] == settings.redirect_uri
    assert query["response_type"] == "code"
    assert oauth.authorization_request(settings).state != request.state


def test_exchange_code_sends_verifier_and_returns_tokens(settings, mocked):
    mocked.post(settings.token_url, json=token_body())
    tokens = oauth.exchange_code(settings, "the-code", "the-verifier")
    assert tokens.access_token == "new-access" and tokens.refresh_token == "new-refresh"
    body = parse_qs(mocked.calls[0].request.body)
    assert body["code"] == ["the-code"] and body["code_verifier"] == ["the-verifier"]
    assert body["grant_type"] == ["authorization_code"]
    assert "new-access" not in repr(tokens)


def test_exchange_code_error_from_token_endpoint_is_an_auth_error(settings, mocked):
    mocked.post(settings.token_url, status=400, json={"error": "invalid_grant"})
    with pytest.raises(XeroAuthError, match="invalid_grant"):
        oauth.exchange_code(settings, "used-code", "v")


def test_lost_refresh_response_is_retried_with_the_same_refresh_token(settings, mocked, fake_time):
    mocked.post(settings.token_url, body=requests.ConnectionError("connection reset"))
    mocked.post(settings.token_url, body=requests.Timeout("read timed out"))
    mocked.post(settings.token_url, json=token_body())
    tokens = oauth.refresh_tokens(settings, "old-refresh", sleep=fake_time.sleep)
    assert tokens.refresh_token == "new-refresh"
    sent = [parse_qs(call.request.body)["refresh_token"] for call in mocked.calls]
    assert sent == [["old-refresh"]] * 3
    assert len(fake_time.slept) == 2


def test_refresh_5xx_exhausted_is_unavailable(settings, mocked, fake_time):
    mocked.post(settings.token_url, status=503, body="down")
    with pytest.raises(XeroUnavailable):
        oauth.refresh_tokens(settings, "old-refresh", sleep=fake_time.sleep)
    assert len(mocked.calls) == oauth.REFRESH_ATTEMPTS


def test_refresh_invalid_grant_is_an_auth_error_without_retry(settings, mocked, fake_time):
    mocked.post(settings.token_url, status=400, json={"error": "invalid_grant"})
    with pytest.raises(XeroAuthError, match="invalid_grant"):
        oauth.refresh_tokens(settings, "dead", sleep=fake_time.sleep)
    assert len(mocked.calls) == 1


def test_revocation_posts_the_refresh_token(settings, mocked):
    mocked.post(settings.revocation_url, status=200)
    oauth.revoke_refresh_token(settings, "the-refresh")
    body = parse_qs(mocked.calls[0].request.body)
    assert body["token"] == ["the-refresh"] and body["token_type_hint"] == ["refresh_token"]


def test_auth_event_id_is_read_from_the_jwt_payload():
    assert oauth.auth_event_id(fake_jwt({"authentication_event_id": "evt-1"})) == "evt-1"
    assert oauth.auth_event_id(fake_jwt({"sub": "x"})) is None
    assert oauth.auth_event_id("not-a-jwt") is None
    assert oauth.auth_event_id("a.!!!.c") is None


@responses.activate
def test_connections_listing_filters_by_auth_event(settings):
    from webapp.xero.connections import list_connections

    responses.get(settings.connections_url, json=[
        {"id": "c1", "tenantId": "t1", "tenantName": "One", "tenantType": "ORGANISATION"},
        {"id": "c2", "tenantId": "t2", "tenantName": "Practice", "tenantType": "PRACTICEMANAGER"},
    ])
    rows = list_connections(settings, "tok", auth_event_id="evt-1")
    assert [r.tenant_id for r in rows] == ["t1"]
    assert "authEventId=evt-1" in responses.calls[0].request.url
    assert responses.calls[0].request.headers["Authorization"] == "Bearer tok"


@responses.activate
def test_connections_listing_401_is_an_auth_error(settings):
    from webapp.xero.connections import list_connections

    responses.get(settings.connections_url, status=401, json={"Title": "Unauthorized"})
    with pytest.raises(XeroAuthError):
        list_connections(settings, "tok")


@responses.activate
def test_delete_connection_tolerates_already_gone(settings):
    from webapp.xero.connections import delete_connection

    responses.delete(f"{settings.connections_url}/c1", status=404)
    delete_connection(settings, "tok", "c1")
    assert responses.calls[0].request.method == "DELETE"


def test_a_200_that_is_not_json_is_a_lost_response_and_retried(settings, mocked, fake_time):
    mocked.post(settings.token_url, status=200, body="<html>Service Unavailable</html>",
                content_type="text/html")
    mocked.post(settings.token_url, json=token_body())
    tokens = oauth.refresh_tokens(settings, "old-refresh", sleep=fake_time.sleep)
    assert tokens.access_token == "new-access"
    assert [parse_qs(call.request.body)["refresh_token"] for call in mocked.calls] == [["old-refresh"]] * 2


def test_a_200_that_is_never_json_ends_as_unavailable(settings, mocked, fake_time):
    mocked.post(settings.token_url, status=200, body="garbage")
    with pytest.raises(XeroUnavailable, match="unreadable"):
        oauth.refresh_tokens(settings, "old-refresh", sleep=fake_time.sleep)
    assert len(mocked.calls) == oauth.REFRESH_ATTEMPTS


def test_a_refresh_stops_retrying_at_its_deadline(settings, mocked, monkeypatch):
    import time

    monkeypatch.setattr(oauth, "REFRESH_DEADLINE", 0.5)

    def slow_failure(request):
        time.sleep(0.3)
        raise requests.ConnectionError("reset")

    mocked.add_callback("POST", settings.token_url, callback=slow_failure)
    with pytest.raises(XeroUnavailable):
        oauth.refresh_tokens(settings, "old-refresh", sleep=lambda s: None)
    # 0.3 s spent plus the next backoff (at least 0.5 s) would pass the deadline: no second attempt.
    assert len(mocked.calls) == 1 < oauth.REFRESH_ATTEMPTS


@responses.activate
def test_connections_rows_socket_cannot_store_are_left_out(settings):
    from webapp.xero.connections import list_connections

    responses.get(settings.connections_url, json=[
        None, {"tenantId": "t0"}, {"id": 5, "tenantId": "t5"}, {"id": "c6", "tenantId": "t" * 37},
        {"id": "c7", "tenantId": "t7", "tenantType": ["ORGANISATION"]},
        {"id": "c1", "tenantId": "t1", "tenantName": " Acme\x00 " + "x" * 300}])
    rows = list_connections(settings, "tok")
    assert [(r.id, r.tenant_id, r.tenant_name) for r in rows] == [("c1", "t1", ("Acme " + "x" * 300)[:200])]


@pytest.mark.parametrize("field, value", [("expires_in", 10**12), ("expires_in", True), ("expires_in", -5),
                                          ("expires_in", 0.5), ("refresh_token", 12), ("scope", {"a": 1})])
def test_a_token_field_of_the_wrong_kind_is_read_as_xeros_default(settings, mocked, fake_time, field, value):
    mocked.post(settings.token_url, json={**token_body(), field: value})
    for tokens in (oauth.exchange_code(settings, "the-code", "v"),
                   oauth.refresh_tokens(settings, "old-refresh", sleep=fake_time.sleep)):
        assert tokens.access_token == "new-access"
        assert tokens.refresh_token == (None if field == "refresh_token" else "new-refresh")
        assert tokens.scope == (None if field == "scope" else token_body()["scope"])
        left = (tokens.expires_at - datetime.now(UTC)).total_seconds()
        assert 1790 < left <= 1800


@pytest.mark.parametrize("access", [12345, ["a"], ""])
def test_an_access_token_that_is_not_text_is_refused(settings, mocked, fake_time, access):
    mocked.post(settings.token_url, json={**token_body(), "access_token": access})
    with pytest.raises(XeroAuthError, match="no access token"):
        oauth.exchange_code(settings, "the-code", "v")
    with pytest.raises(XeroUnavailable, match="no access token"):
        oauth.refresh_tokens(settings, "old-refresh", sleep=fake_time.sleep)


@pytest.mark.parametrize("expires_in", ["soon", [1800], {"s": 1}])
def test_an_expiry_the_oauth_library_cannot_read_is_an_unreadable_answer(settings, mocked, fake_time, expires_in):
    mocked.post(settings.token_url, json={**token_body(), "expires_in": expires_in})
    with pytest.raises(XeroUnavailable, match="did not answer properly"):
        oauth.exchange_code(settings, "the-code", "v")
    with pytest.raises(XeroUnavailable, match="unreadable answer"):
        oauth.refresh_tokens(settings, "old-refresh", sleep=fake_time.sleep)
