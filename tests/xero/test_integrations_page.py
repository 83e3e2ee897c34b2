"""The Integrations page: connect (state, PKCE, cancel, choosing the company), disconnect, who may do it."""
import base64
import hashlib
import json
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from tests.factories import TENANT_ID, make_account, make_connection, make_practice, make_user
from tests.helpers import login
from tests.xero.helpers import fake_jwt, stored_tokens, token_body
from webapp.extensions import db
from webapp.models import Role, SyncRun, XeroAccount, XeroConnection
from webapp.redis_conn import get_redis

CALLBACK = "/settings/integrations/xero/callback"
ORG_A = {"id": "conn-a", "tenantId": TENANT_ID, "tenantName": "Demo Company (UK)", "tenantType": "ORGANISATION"}
ORG_B = {"id": "conn-b", "tenantId": "99999999-2222-3333-4444-555555555555", "tenantName": "Second Org Ltd",
         "tenantType": "ORGANISATION"}
ACCESS = fake_jwt({"authentication_event_id": "evt-42", "xero_userid": "u1"})


def start_connect(client) -> str:
    response = client.post("/settings/integrations/xero/connect")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("https://login.xero.com/identity/connect/authorize?")
    return parse_qs(urlparse(location).query)["state"][0]


def mock_grant(mocked, settings, organisations):
    mocked.post(settings.token_url, json=token_body(ACCESS, "refresh-1"))
    mocked.get(settings.connections_url, json=organisations)


def connections(practice_id=None):
    db.session.expire_all()
    query = db.select(XeroConnection)
    if practice_id is not None:
        query = query.filter_by(practice_id=practice_id)
    return list(db.session.execute(query).scalars())


def test_page_offers_connect_to_an_owner(auth_client):
    body = auth_client.get("/settings/integrations").get_data(as_text=True)
    assert "Connect to Xero" in body


def session_cookie(client) -> dict:
    """The session cookie as anyone holding it can read it (Flask signs it but does not encrypt it)."""
    app = client.application
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def sign_in_key(settings, flow_id: str) -> str:
    return settings.redis_key("xero", "sign-in", flow_id)


def test_connect_redirects_to_xero_with_state_and_pkce(auth_client, owner, settings):
    response = auth_client.post("/settings/integrations/xero/connect")
    query = parse_qs(urlparse(response.headers["Location"]).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["redirect_uri"] == ["http://localhost/settings/integrations/xero/callback"]
    # The state and PKCE verifier wait server-side (Redis, 10 minutes) under a random id the session keeps.
    cookie = session_cookie(auth_client)
    key = sign_in_key(settings, cookie["xero_oauth"])
    redis = get_redis(settings.redis_url)
    flow = json.loads(redis.get(key))
    assert flow == {"state": query["state"][0], "verifier": flow["verifier"], "practice_id": owner.practice_id}
    challenge = base64.urlsafe_b64encode(hashlib.sha256(flow["verifier"].encode()).digest()).rstrip(b"=").decode()
    assert challenge == query["code_challenge"][0]
    assert 0 < redis.ttl(key) <= 600
    # Neither is readable in the cookie.
    assert flow["state"] not in json.dumps(cookie) and flow["verifier"] not in json.dumps(cookie)


def test_an_expired_sign_in_is_refused_with_a_clear_message(auth_client, settings, mocked):
    state = start_connect(auth_client)
    get_redis(settings.redis_url).delete(sign_in_key(settings, session_cookie(auth_client)["xero_oauth"]))
    response = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True)
    assert response.status_code == 200
    assert "took longer than 10 minutes" in response.get_data(as_text=True)
    assert len(mocked.calls) == 0 and connections() == []


def test_the_sign_in_is_used_once_even_with_the_same_session_cookie(auth_client, settings, mocked):
    state = start_connect(auth_client)
    saved = auth_client.get_cookie(auth_client.application.config["SESSION_COOKIE_NAME"]).value
    mock_grant(mocked, settings, [ORG_A])
    auth_client.get(f"{CALLBACK}?code=abc&state={state}")
    calls = len(mocked.calls)
    auth_client.set_cookie(auth_client.application.config["SESSION_COOKIE_NAME"], saved)  # the old cookie, replayed
    body = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True).get_data(as_text=True)
    assert "already been used" in body and len(mocked.calls) == calls


def test_redis_down_when_connecting_is_a_clear_message(auth_client, mocked, monkeypatch):
    _dead_redis(monkeypatch)
    response = auth_client.post("/settings/integrations/xero/connect")
    assert response.status_code == 303 and response.headers["Location"] == "/settings/integrations"
    body = auth_client.get("/settings/integrations").get_data(as_text=True)
    assert "could not start the Xero sign-in" in body and "Redis store is unreachable" in body
    with auth_client.session_transaction() as session:
        assert "xero_oauth" not in session


def test_redis_down_at_the_callback_is_a_clear_message(auth_client, mocked, monkeypatch):
    state = start_connect(auth_client)
    _dead_redis(monkeypatch)
    response = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True)
    assert response.status_code == 200
    assert "could not check your Xero sign-in" in response.get_data(as_text=True)
    assert len(mocked.calls) == 0 and connections() == []


def test_one_organisation_is_connected_and_the_first_sync_queued(app, auth_client, owner, settings, mocked):
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [ORG_A])
    response = auth_client.get(f"{CALLBACK}?code=abc&state={state}")
    assert response.status_code == 303 and response.headers["Location"] == "/settings/integrations"
    assert "authEventId=evt-42" in mocked.calls[1].request.url
    access, refresh, row = stored_tokens(connections(owner.practice_id)[0].id)
    assert (row.tenant_id, row.connection_id, row.status) == (TENANT_ID, "conn-a", "connected")
    assert (access, refresh) == (ACCESS, "refresh-1")
    assert row.connected_by_id == owner.id
    run = db.session.execute(db.select(SyncRun)).scalar_one()
    assert (run.trigger, run.status) == ("connect", "queued") and run.rq_job_id
    with auth_client.session_transaction() as session:
        assert "xero_oauth" not in session and ACCESS not in str(dict(session))
    page = auth_client.get("/settings/integrations").get_data(as_text=True)
    assert 'id="xero-connected"' in page and "Connected to Xero" in page
    assert "Demo Company (UK)" in page and "Test User" in page
    assert 'hx-trigger="every 1s"' in page  # the queued sync is being watched


def test_several_organisations_ask_which_company_then_remove_the_others(auth_client, owner, settings, mocked):
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [ORG_A, ORG_B])
    response = auth_client.get(f"{CALLBACK}?code=abc&state={state}")
    assert response.headers["Location"] == "/settings/integrations/xero/select"
    page = auth_client.get("/settings/integrations/xero/select").get_data(as_text=True)
    assert "Select your Xero company" in page and "Connect this company" in page
    assert "Demo Company (UK)" in page and "Second Org Ltd" in page
    assert connections() == []
    mocked.delete(f"{settings.connections_url}/conn-a", status=204)
    response = auth_client.post("/settings/integrations/xero/select", data={"tenant_connection": "conn-b"})
    assert response.status_code == 303
    [row] = connections(owner.practice_id)
    assert (row.tenant_name, row.connection_id) == ("Second Org Ltd", "conn-b")
    deletes = [call.request.url for call in mocked.calls if call.request.method == "DELETE"]
    assert deletes == [f"{settings.connections_url}/conn-a"]


def test_choosing_an_organisation_not_offered_is_refused(auth_client, settings, mocked):
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [ORG_A, ORG_B])
    auth_client.get(f"{CALLBACK}?code=abc&state={state}")
    response = auth_client.post("/settings/integrations/xero/select", data={"tenant_connection": "conn-zzz"})
    assert response.status_code == 422
    assert "Choose one of the organisations listed" in response.get_data(as_text=True)
    response = auth_client.post("/settings/integrations/xero/select", data={})
    assert response.status_code == 422
    assert connections() == []


def test_the_choice_expires_with_the_session_key(auth_client):
    response = auth_client.get("/settings/integrations/xero/select", follow_redirects=True)
    assert "That choice has expired" in response.get_data(as_text=True)


def test_forged_state_is_refused_and_nothing_changes(auth_client, mocked):
    start_connect(auth_client)
    response = auth_client.get(f"{CALLBACK}?code=abc&state=forged", follow_redirects=True)
    assert "could not verify" in response.get_data(as_text=True)
    assert len(mocked.calls) == 0 and connections() == []


def test_a_callback_without_a_started_sign_in_is_refused(auth_client, mocked):
    response = auth_client.get(f"{CALLBACK}?code=abc&state=whatever", follow_redirects=True)
    assert "not started here or has already been used" in response.get_data(as_text=True)
    assert len(mocked.calls) == 0


def test_a_replayed_callback_is_refused(auth_client, settings, mocked):
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [ORG_A])
    auth_client.get(f"{CALLBACK}?code=abc&state={state}")
    calls = len(mocked.calls)
    response = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True)
    assert "already been used" in response.get_data(as_text=True)
    assert len(mocked.calls) == calls


def test_cancelling_in_xero_brings_a_clear_message(auth_client, mocked):
    state = start_connect(auth_client)
    response = auth_client.get(f"{CALLBACK}?error=access_denied&state={state}", follow_redirects=True)
    assert "You cancelled the connection in Xero" in response.get_data(as_text=True)
    assert connections() == [] and len(mocked.calls) == 0


def test_a_missing_code_is_refused(auth_client, mocked):
    state = start_connect(auth_client)
    response = auth_client.get(f"{CALLBACK}?state={state}", follow_redirects=True)
    assert "did not send an authorisation code" in response.get_data(as_text=True)
    assert connections() == []


def test_an_error_from_the_token_endpoint_is_refused(auth_client, settings, mocked):
    state = start_connect(auth_client)
    mocked.post(settings.token_url, status=400, json={"error": "invalid_grant"})
    response = auth_client.get(f"{CALLBACK}?code=wrong&state={state}", follow_redirects=True)
    assert "Xero refused the authorisation code" in response.get_data(as_text=True)
    assert connections() == []


def test_a_tenant_connected_to_another_practice_is_refused(app, auth_client, owner, settings, mocked):
    rival = make_practice(name="Rival & Co")
    # The same Xero user connected it for the rival: Xero lists the rival's own connection (same id) again.
    make_connection(practice_id=rival.practice_id, tenant_id=TENANT_ID, connection_id=ORG_A["id"])
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [ORG_A])
    response = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True)
    assert "already connected to another Socket practice" in response.get_data(as_text=True)
    assert connections(owner.practice_id) == []
    # The rival's connection is untouched, and so is the grant now holding it (revoking it would remove it).
    assert not any(call.request.method == "DELETE" for call in mocked.calls)
    assert not any(call.request.url == settings.revocation_url for call in mocked.calls)


def test_a_tenant_another_xero_user_connected_elsewhere_is_refused_and_handed_back(app, auth_client, owner,
                                                                                  settings, mocked):
    rival = make_practice(name="Rival & Co")
    make_connection(practice_id=rival.practice_id, tenant_id=TENANT_ID)  # another connection id: not ours to keep
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [ORG_A])
    mocked.delete(f"{settings.connections_url}/conn-a", status=204)
    mocked.post(settings.revocation_url, status=200)
    response = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True)
    assert "already connected to another Socket practice" in response.get_data(as_text=True)
    assert [c.request.url for c in mocked.calls if c.request.method == "DELETE"] == [
        f"{settings.connections_url}/conn-a"]
    assert [parse_qs(c.request.body)["token"] for c in mocked.calls if c.request.url == settings.revocation_url] \
        == [["refresh-1"]]
    assert [row.practice_id for row in connections()] == [rival.practice_id]


@pytest.mark.parametrize("method, url", [
    ("post", "/settings/integrations/xero/connect"),
    ("post", "/settings/integrations/xero/disconnect"),
    ("post", "/settings/integrations/xero/sync"),
    ("post", "/settings/integrations/account-codes"),
    ("get", CALLBACK + "?code=abc&state=x"),
    ("get", "/settings/integrations/xero/select"),
])
def test_staff_cannot_connect_disconnect_or_change(app, client, owner, method, url, mocked):
    make_connection(practice_id=owner.practice_id)
    login(client, make_user(owner.practice_id, Role.STAFF))
    response = getattr(client, method)(url, data={"confirm": "yes", "recurring_account_code": "200"})
    assert response.status_code == 403
    assert len(mocked.calls) == 0
    assert connections()[0].status == "connected"


def test_staff_see_the_page_read_only(app, client, owner):
    make_connection(practice_id=owner.practice_id)
    login(client, make_user(owner.practice_id, Role.STAFF))
    page = client.get("/settings/integrations").get_data(as_text=True)
    assert "Connected to Xero" in page
    assert "Yes, disconnect" not in page and "Sync now" not in page


def test_disconnect_removes_the_connection_revokes_and_keeps_data(app, auth_client, owner, settings, mocked):
    connection = make_connection(practice_id=owner.practice_id)
    make_account(owner.practice_id, "200", "Sales")
    mocked.delete(f"{settings.connections_url}/{connection.connection_id}", status=204)
    mocked.post(settings.revocation_url, status=200)
    response = auth_client.post("/settings/integrations/xero/disconnect", data={"confirm": "yes"},
                                follow_redirects=True)
    body = response.get_data(as_text=True)
    assert "Disconnected from Xero" in body and "kept the data it synced" in body
    assert [call.request.method for call in mocked.calls] == ["DELETE", "POST"]
    assert parse_qs(mocked.calls[1].request.body)["token"] == ["old-refresh"]
    access, refresh, row = stored_tokens(connection.id)
    assert (row.status, access, refresh) == ("disconnected", None, None)
    assert row.disconnected_at is not None
    assert db.session.execute(db.select(XeroAccount)).scalar_one().code == "200"
    assert "Connect to Xero" in body


def test_disconnect_when_xero_is_unreachable_still_disconnects_and_says_so(app, auth_client, owner, settings,
                                                                           mocked):
    connection = make_connection(practice_id=owner.practice_id)
    mocked.delete(f"{settings.connections_url}/{connection.connection_id}", status=401, json={})
    mocked.post(settings.revocation_url, status=400)
    body = auth_client.post("/settings/integrations/xero/disconnect", data={"confirm": "yes"},
                            follow_redirects=True).get_data(as_text=True)
    assert "Connected apps" in body
    assert stored_tokens(connection.id)[2].status == "disconnected"


def test_disconnect_needs_confirmation(app, auth_client, owner, mocked):
    connection = make_connection(practice_id=owner.practice_id)
    body = auth_client.post("/settings/integrations/xero/disconnect", data={},
                            follow_redirects=True).get_data(as_text=True)
    assert "Confirm that you want to disconnect" in body
    assert stored_tokens(connection.id)[2].status == "connected"
    assert len(mocked.calls) == 0


def test_needs_reconnect_shows_a_banner_on_every_page(app, auth_client, owner):
    make_connection(practice_id=owner.practice_id, status="needs_reconnect")
    for url in ("/billing/plan", "/settings/integrations"):
        body = auth_client.get(url).get_data(as_text=True)
        assert 'id="xero-reconnect-banner"' in body
        assert "Reconnect to Xero" in body


def test_no_banner_when_connected(app, auth_client, owner):
    make_connection(practice_id=owner.practice_id)
    assert "xero-reconnect-banner" not in auth_client.get("/billing/plan").get_data(as_text=True)


# -- hardening: races, old grants, Redis and Xero failures ------------------------------------------------------
def test_a_race_to_the_same_organisation_is_refused_by_the_unique_index(app, auth_client, owner, settings, mocked,
                                                                         monkeypatch):
    from webapp.services import xero_connection

    rival = make_practice(name="Rival & Co")
    make_connection(practice_id=rival.practice_id, tenant_id=TENANT_ID)
    # The rival's write lands after our read: the check sees nothing, the database still refuses.
    monkeypatch.setattr(xero_connection, "tenant_connected_elsewhere", lambda practice_id, tenant_id: False)
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [ORG_A])
    mocked.delete(f"{settings.connections_url}/conn-a", status=204)
    mocked.post(settings.revocation_url, status=200)
    response = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True)
    assert response.status_code == 200
    assert "already connected to another Socket practice" in response.get_data(as_text=True)
    assert connections(owner.practice_id) == []
    # Not the rival's connection (another id): the grant Socket will not use is handed back.
    assert [c.request.method for c in mocked.calls if c.request.url.startswith(settings.connections_url + "/")] \
        == ["DELETE"]
    assert [parse_qs(c.request.body)["token"] for c in mocked.calls if c.request.url == settings.revocation_url] \
        == [["refresh-1"]]


def test_a_disconnected_connection_does_not_block_another_practice(app, auth_client, owner, settings, mocked):
    rival = make_practice(name="Rival & Co")
    make_connection(practice_id=rival.practice_id, tenant_id=TENANT_ID, status="disconnected")
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [ORG_A])
    auth_client.get(f"{CALLBACK}?code=abc&state={state}")
    assert connections(owner.practice_id)[0].status == "connected"


def test_switching_organisation_removes_and_revokes_the_old_grant(app, auth_client, owner, settings, mocked):
    old_connection_id = make_connection(practice_id=owner.practice_id, refresh="old-refresh").connection_id
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [ORG_B])
    mocked.delete(f"{settings.connections_url}/{old_connection_id}", status=204)
    mocked.post(settings.revocation_url, status=200)
    auth_client.get(f"{CALLBACK}?code=abc&state={state}")
    [row] = connections(owner.practice_id)
    assert row.connection_id == "conn-b"
    deletes = [call.request.url for call in mocked.calls if call.request.method == "DELETE"]
    assert deletes == [f"{settings.connections_url}/{old_connection_id}"]
    revoked = [parse_qs(call.request.body)["token"] for call in mocked.calls
               if call.request.url == settings.revocation_url]
    assert revoked == [["old-refresh"]]


def test_reconnecting_the_same_organisation_revokes_only_the_old_token(app, auth_client, owner, settings, mocked):
    make_connection(practice_id=owner.practice_id, refresh="old-refresh", status="needs_reconnect")
    org = dict(ORG_A, id="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")  # re-consent keeps Xero's connection id
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [org])
    mocked.post(settings.revocation_url, status=503)
    response = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True)
    [row] = connections(owner.practice_id)
    assert (row.status, stored_tokens(row.id)[1]) == ("connected", "refresh-1")
    assert not any(call.request.method == "DELETE" for call in mocked.calls)  # the live connection stays
    assert [parse_qs(c.request.body)["token"] for c in mocked.calls if c.request.url == settings.revocation_url] \
        == [["old-refresh"]]
    assert "did not confirm removing Socket&#39;s previous connection" in response.get_data(as_text=True)


def _dead_redis(monkeypatch):
    import redis

    from webapp.services import xero_connection
    from webapp.xero import token_store

    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(xero_connection, "get_redis", lambda url: dead)
    monkeypatch.setattr(token_store, "get_redis", lambda url: dead)


def _redis_down_when_keeping_the_choice(monkeypatch):
    """Redis answers the sign-in's read, then is gone when the grant waiting for the choice is written."""
    import redis

    from webapp.services import xero_connection

    def refused(*args):
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr(xero_connection, "_save_pending", refused)


def test_redis_down_at_the_callback_gives_the_grant_back_with_a_clear_message(auth_client, settings, mocked,
                                                                               monkeypatch):
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [ORG_A, ORG_B])
    mocked.delete(f"{settings.connections_url}/conn-a", status=204)
    mocked.delete(f"{settings.connections_url}/conn-b", status=204)
    mocked.post(settings.revocation_url, status=200)
    _redis_down_when_keeping_the_choice(monkeypatch)
    response = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True)
    assert response.status_code == 200
    assert "Redis store is unreachable" in response.get_data(as_text=True)
    assert sorted(c.request.url for c in mocked.calls if c.request.method == "DELETE") == [
        f"{settings.connections_url}/conn-a", f"{settings.connections_url}/conn-b"]
    assert [parse_qs(c.request.body)["token"] for c in mocked.calls if c.request.url == settings.revocation_url] \
        == [["refresh-1"]]
    assert connections() == []


def test_redis_down_on_the_choice_page_is_a_clear_message(auth_client, settings, mocked, monkeypatch):
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [ORG_A, ORG_B])
    auth_client.get(f"{CALLBACK}?code=abc&state={state}")
    _dead_redis(monkeypatch)
    for response in (auth_client.get("/settings/integrations/xero/select", follow_redirects=True),
                     auth_client.post("/settings/integrations/xero/select/cancel", follow_redirects=True)):
        assert response.status_code == 200
        assert "Redis store is unreachable" in response.get_data(as_text=True)
    assert connections() == []


def test_disconnect_works_locally_when_redis_is_down(app, auth_client, owner, settings, mocked, monkeypatch):
    from datetime import timedelta

    connection = make_connection(practice_id=owner.practice_id, expires_in=timedelta(seconds=-1))
    mocked.post(settings.revocation_url, status=200)
    _dead_redis(monkeypatch)
    response = auth_client.post("/settings/integrations/xero/disconnect", data={"confirm": "yes"},
                                follow_redirects=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Disconnected from Xero" in body and "background service is unavailable" in body
    access, refresh, row = stored_tokens(connection.id)
    assert (row.status, access, refresh) == ("disconnected", None, None)


def test_disconnect_survives_a_token_endpoint_answering_200_with_garbage(app, auth_client, owner, settings, mocked):
    from datetime import timedelta

    connection = make_connection(practice_id=owner.practice_id, expires_in=timedelta(seconds=-1))
    mocked.post(settings.token_url, status=200, body="<html>oops</html>")
    mocked.post(settings.revocation_url, status=200)
    response = auth_client.post("/settings/integrations/xero/disconnect", data={"confirm": "yes"},
                                follow_redirects=True)
    assert response.status_code == 200 and "Disconnected from Xero" in response.get_data(as_text=True)
    assert stored_tokens(connection.id)[2].status == "disconnected"


def test_disconnect_waits_for_an_in_flight_refresh_lock(app, auth_client, owner, settings, mocked, monkeypatch):
    from webapp.redis_conn import get_redis
    from webapp.xero import token_store

    connection = make_connection(practice_id=owner.practice_id)
    mocked.delete(f"{settings.connections_url}/{connection.connection_id}", status=204)
    mocked.post(settings.revocation_url, status=200)
    lock = token_store.refresh_lock(settings, connection.id, timeout=5)
    assert lock.acquire()
    seen = []
    real = token_store.tokens_locked

    def spy(settings_, connection_id, wait=token_store.LOCK_WAIT):
        seen.append(get_redis(settings.redis_url).get(settings.redis_key("xero", "refresh", connection_id)))
        return real(settings_, connection_id, wait=0.3)

    from webapp.services import xero_connection

    monkeypatch.setattr(xero_connection, "tokens_locked", spy)
    auth_client.post("/settings/integrations/xero/disconnect", data={"confirm": "yes"})
    assert seen and seen[0] is not None  # disconnect went for the same lock a refresh holds
    lock.release()
    assert stored_tokens(connection.id)[2].status == "disconnected"


# -- cancel and choose never remove a connection Socket uses --------------------------------------------------
def to_chooser(auth_client, settings, mocked, organisations=(ORG_A, ORG_B)):
    state = start_connect(auth_client)
    mock_grant(mocked, settings, list(organisations))
    response = auth_client.get(f"{CALLBACK}?code=abc&state={state}")
    assert response.headers["Location"] == "/settings/integrations/xero/select"


def revoked_tokens(mocked, settings) -> list[str]:
    return [parse_qs(c.request.body)["token"][0] for c in mocked.calls if c.request.url == settings.revocation_url]


def deleted(mocked) -> list[str]:
    return [c.request.url.rsplit("/", 1)[1] for c in mocked.calls if c.request.method == "DELETE"]


@pytest.mark.parametrize("status", ["connected", "needs_reconnect"])
def test_cancel_keeps_the_practices_connection_on_the_new_grant(app, auth_client, owner, settings, mocked, status):
    # Connected to the demo organisation as conn-a; the user re-consents to it and a second one, then cancels.
    # Xero kept conn-a's id and moved it onto the new grant: revoking that grant would cut the practice off.
    live = make_connection(practice_id=owner.practice_id, connection_id="conn-a", refresh="old-refresh",
                           status=status)
    to_chooser(auth_client, settings, mocked)
    mocked.delete(f"{settings.connections_url}/conn-b", status=204)
    mocked.post(settings.revocation_url, status=200)
    body = auth_client.post("/settings/integrations/xero/select/cancel", follow_redirects=True).get_data(as_text=True)
    assert "Socket is still connected to Demo Company (UK)" in body and 'id="xero-connected"' in body
    assert deleted(mocked) == ["conn-b"]  # only the organisation nothing in Socket uses
    assert revoked_tokens(mocked, settings) == ["old-refresh"]  # the grant the connection left, not the new one
    access, refresh, row = stored_tokens(live.id)
    assert (row.status, row.connection_id, access, refresh) == ("connected", "conn-a", ACCESS, "refresh-1")
    with auth_client.session_transaction() as session:
        assert "xero_pending" not in session


def test_cancel_without_a_connection_in_use_hands_everything_back(auth_client, settings, mocked):
    to_chooser(auth_client, settings, mocked)
    mocked.delete(f"{settings.connections_url}/conn-a", status=204)
    mocked.delete(f"{settings.connections_url}/conn-b", status=204)
    mocked.post(settings.revocation_url, status=200)
    body = auth_client.post("/settings/integrations/xero/select/cancel", follow_redirects=True).get_data(as_text=True)
    assert "Socket kept no access to those organisations" in body
    assert sorted(deleted(mocked)) == ["conn-a", "conn-b"] and revoked_tokens(mocked, settings) == ["refresh-1"]
    assert connections() == []


def test_cancel_leaves_another_practices_connection_and_its_grant(auth_client, owner, settings, mocked):
    # The same Xero user connected the second organisation for another practice: Xero lists that connection
    # (conn-b) again and moves it onto this grant, so neither it nor this grant may go.
    rival = make_practice(name="Rival & Co")
    make_connection(practice_id=rival.practice_id, tenant_id=ORG_B["tenantId"], connection_id="conn-b")
    to_chooser(auth_client, settings, mocked)
    mocked.delete(f"{settings.connections_url}/conn-a", status=204)
    auth_client.post("/settings/integrations/xero/select/cancel")
    assert deleted(mocked) == ["conn-a"] and revoked_tokens(mocked, settings) == []
    assert [(row.practice_id, row.status) for row in connections()] == [(rival.practice_id, "connected")]


def test_choosing_never_removes_another_practices_connection(auth_client, owner, settings, mocked):
    rival = make_practice(name="Rival & Co")
    make_connection(practice_id=rival.practice_id, tenant_id=ORG_B["tenantId"], connection_id="conn-b")
    to_chooser(auth_client, settings, mocked)
    auth_client.post("/settings/integrations/xero/select", data={"tenant_connection": "conn-a"})
    assert deleted(mocked) == [] and revoked_tokens(mocked, settings) == []
    assert {row.practice_id: row.connection_id for row in connections()} == {
        owner.practice_id: "conn-a", rival.practice_id: "conn-b"}


def test_a_refused_choice_removes_nothing_and_stays_open(auth_client, owner, settings, mocked):
    rival = make_practice(name="Rival & Co")
    make_connection(practice_id=rival.practice_id, tenant_id=ORG_B["tenantId"])  # another Xero user's connection
    to_chooser(auth_client, settings, mocked)
    response = auth_client.post("/settings/integrations/xero/select", data={"tenant_connection": "conn-b"})
    assert response.status_code == 422 and "already connected to another Socket practice" in response.get_data(
        as_text=True)
    assert deleted(mocked) == [] and revoked_tokens(mocked, settings) == []
    mocked.delete(f"{settings.connections_url}/conn-b", status=204)
    auth_client.post("/settings/integrations/xero/select", data={"tenant_connection": "conn-a"})
    assert deleted(mocked) == ["conn-b"]
    assert connections(owner.practice_id)[0].connection_id == "conn-a"


# -- a slow or failing Xero during the callback: a message, and the new grant handed back ------------------------
@pytest.fixture
def no_retry_sleep(monkeypatch):
    from webapp.xero import retry

    slept = []
    monkeypatch.setattr(retry, "_real_sleep", slept.append)
    return slept


@pytest.mark.parametrize("answer, message", [
    ({"status": 503, "json": {"Title": "Service Unavailable"}}, "Xero is having trouble just now"),
    ({"status": 500, "json": {}}, "Xero is having trouble just now"),
    ({"status": 429, "json": {}, "headers": {"Retry-After": "30", "X-Rate-Limit-Problem": "minute"}},
     "Xero is limiting how often Socket may call it just now"),
    ({"body": requests.exceptions.ReadTimeout("read timed out")}, "Xero took too long to answer"),
])
def test_connections_failing_after_the_exchange_revokes_the_new_grant(auth_client, settings, mocked,
                                                                     no_retry_sleep, answer, message):
    state = start_connect(auth_client)
    mocked.post(settings.token_url, json=token_body(ACCESS, "refresh-1"))
    mocked.get(settings.connections_url, **answer)
    mocked.post(settings.revocation_url, status=200)
    response = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert message in body and "could not finish connecting" in body
    assert "Socket handed back the access Xero had just given" in body
    assert revoked_tokens(mocked, settings) == ["refresh-1"]
    assert connections() == []
    if answer.get("status") == 429:  # a web request does not wait out Retry-After
        assert len([c for c in mocked.calls if c.request.url.startswith(settings.connections_url)]) == 1
        assert no_retry_sleep == []


def test_a_failed_hand_back_says_where_to_remove_socket(auth_client, settings, mocked, no_retry_sleep):
    state = start_connect(auth_client)
    mocked.post(settings.token_url, json=token_body(ACCESS, "refresh-1"))
    mocked.get(settings.connections_url, status=503)
    mocked.post(settings.revocation_url, status=503)
    body = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True).get_data(as_text=True)
    assert "Xero did not confirm it" in body and "Settings &gt; Connected apps" in body
    assert connections() == []


def test_a_failure_while_connected_warns_that_the_live_connection_may_need_reconnecting(
        auth_client, owner, settings, mocked, no_retry_sleep):
    make_connection(practice_id=owner.practice_id)
    state = start_connect(auth_client)
    mocked.post(settings.token_url, json=token_body(ACCESS, "refresh-1"))
    mocked.get(settings.connections_url, status=503)
    mocked.post(settings.revocation_url, status=200)
    body = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True).get_data(as_text=True)
    assert "If you ticked Demo Company (UK), which Socket is already connected to" in body
    assert connections(owner.practice_id)[0].status == "connected"


def test_xero_calls_in_the_callback_share_the_web_budget(app, auth_client, settings, mocked, monkeypatch):
    monkeypatch.setitem(app.config, "XERO_WEB_BUDGET", 3)
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [ORG_A])
    auth_client.get(f"{CALLBACK}?code=abc&state={state}")
    timeouts = [c.request.req_kwargs["timeout"] for c in mocked.calls]
    assert len(timeouts) == 2 and all(0 < t <= 3 for t in timeouts), timeouts


def test_no_organisation_granted_revokes_the_grant(auth_client, settings, mocked):
    state = start_connect(auth_client)
    mock_grant(mocked, settings, [])
    mocked.post(settings.revocation_url, status=200)
    body = auth_client.get(f"{CALLBACK}?code=abc&state={state}", follow_redirects=True).get_data(as_text=True)
    assert "did not give Socket access to any organisation" in body
    assert revoked_tokens(mocked, settings) == ["refresh-1"]
