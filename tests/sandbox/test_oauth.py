"""OAuth2 end to end over real HTTP: consent, code + PKCE, token, refresh rotation and grace, revocation,
connections, scopes and the Bearer/tenant checks."""
from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs, urlparse

import pytest

from xero_sandbox import DEMO_TENANT_ID, SECOND_TENANT_ID
from xero_sandbox.testing import pkce_pair, run_sandbox

SCOPE = "offline_access accounting.settings.read accounting.contacts accounting.invoices"


def _jwt_claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _location_params(r):
    assert r.status_code == 302, (r.status_code, r.text[:300])
    loc = urlparse(r.headers["Location"])
    return loc, {k: v[0] for k, v in parse_qs(loc.query).items()}


@pytest.fixture
def clocked(clock):
    with run_sandbox({"clock": clock, "SANDBOX_LIMITS": "relaxed"}) as sb:
        sb.clock = clock
        yield sb


def test_consent_page_lists_both_orgs_with_real_checkboxes_and_buttons(sb):
    r = sb.http.get(sb.authorize_url(state="xyz"))
    assert r.status_code == 200
    html = r.text
    for tenant_id, name in ((DEMO_TENANT_ID, "Demo Company (UK)"), (SECOND_TENANT_ID, "Demo Practice Holdings Ltd")):
        assert re.search(rf'<input type="checkbox" name="tenant" value="{tenant_id}" id="tenant-{tenant_id}">', html)
        assert f'<label for="tenant-{tenant_id}">{name}</label>' in html
    assert ">Allow access</button>" in html and ">Cancel</button>" in html
    assert 'name="state" value="xyz"' in html


def test_cancel_redirects_with_access_denied_and_state(sb):
    params = sb.consent(allow=False, state="s-1")
    assert params == {"error": "access_denied", "state": "s-1"}


def test_allow_without_an_org_rerenders_the_page(sb):
    r = sb.http.post(f"{sb.url}/identity/connect/authorize", allow_redirects=False, data={
        "response_type": "code", "client_id": sb.client_id, "redirect_uri": sb.redirect_uri, "scope": SCOPE,
        "state": "s", "action": "allow"})
    assert r.status_code == 400 and "Select at least one organisation" in r.text


def test_code_flow_with_pkce_gives_tokens_and_connection(sb, validate):
    verifier, challenge = pkce_pair()
    params = sb.consent(tenants=[DEMO_TENANT_ID, SECOND_TENANT_ID], code_challenge=challenge, state="st")
    assert params["state"] == "st" and params["code"] and params["scope"] == SCOPE
    tokens = validate(sb.exchange(params["code"], verifier), 200)
    assert tokens["expires_in"] == 1800 and tokens["refresh_token"] and "id_token" not in tokens
    claims = _jwt_claims(tokens["access_token"])
    assert claims["client_id"] == sb.client_id and claims["iss"] == "https://identity.xero.com"
    assert set(claims["scope"]) == set(SCOPE.split()) and claims["exp"] - claims["nbf"] == 1800
    conns = validate(sb.http.get(f"{sb.url}/connections",
                                 headers={"Authorization": f"Bearer {tokens['access_token']}"}), 200)
    assert {c["tenantId"] for c in conns} == {DEMO_TENANT_ID, SECOND_TENANT_ID}
    assert {c["tenantName"] for c in conns} == {"Demo Company (UK)", "Demo Practice Holdings Ltd"}
    assert all(c["authEventId"] == claims["authentication_event_id"] for c in conns)


@pytest.mark.parametrize("verifier", ["wrong-verifier-" + "x" * 40, None])
def test_pkce_failure_is_invalid_grant(sb, validate, verifier):
    _, challenge = pkce_pair()
    code = sb.consent(code_challenge=challenge)["code"]
    body = validate(sb.exchange(code, verifier), 400)
    assert body == {"error": "invalid_grant"}


def test_code_is_single_use_and_bound_to_redirect_uri(sb, validate):
    code = sb.consent()["code"]
    r = sb.http.post(f"{sb.url}/connect/token", auth=(sb.client_id, sb.client_secret), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://evil.example/cb"})
    assert validate(r, 400) == {"error": "invalid_grant"}
    assert validate(sb.exchange(code), 200)["access_token"]
    assert validate(sb.exchange(code), 400) == {"error": "invalid_grant"}


def test_client_auth_by_form_body_and_bad_secret(sb, validate):
    code = sb.consent()["code"]
    r = sb.http.post(f"{sb.url}/connect/token", auth=(sb.client_id, "not-the-secret"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": sb.redirect_uri})
    assert validate(r, 400) == {"error": "invalid_client"}
    r = sb.http.post(f"{sb.url}/connect/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": sb.redirect_uri,
        "client_id": sb.client_id, "client_secret": sb.client_secret})
    assert validate(r, 200)["token_type"] == "Bearer"
    r = sb.http.post(f"{sb.url}/connect/token", auth=(sb.client_id, sb.client_secret),
                     data={"grant_type": "password"})
    assert validate(r, 400) == {"error": "unsupported_grant_type"}


def test_without_offline_access_there_is_no_refresh_token_and_openid_gives_id_token(sb, validate):
    code = sb.consent(scope="openid profile email accounting.contacts.read")["code"]
    tokens = validate(sb.exchange(code), 200)
    assert "refresh_token" not in tokens
    id_claims = _jwt_claims(tokens["id_token"])
    assert id_claims["aud"] == sb.client_id and id_claims["email"]


def test_refresh_rotates_and_old_token_has_30_minute_grace(clocked, validate):
    sb, clock = clocked, clocked.clock
    r1 = sb.connect()["refresh_token"]
    t2 = validate(sb.refresh(r1), 200)
    r2 = t2["refresh_token"]
    assert r2 != r1
    clock.advance(29 * 60)  # response "lost": the old token still works inside the grace period
    t3 = validate(sb.refresh(r1), 200)
    assert t3["refresh_token"] not in (r1, r2)
    clock.advance(2 * 60)  # 31 minutes after first use: the old token is dead
    assert validate(sb.refresh(r1), 400) == {"error": "invalid_grant"}
    assert validate(sb.refresh(r2), 200)["access_token"]  # the rotated one still works


def test_unused_refresh_token_dies_after_60_days(clocked, validate):
    sb, clock = clocked, clocked.clock
    r1 = sb.connect()["refresh_token"]
    clock.advance(59 * 86400)
    r2 = validate(sb.refresh(r1), 200)["refresh_token"]
    clock.advance(60 * 86400 + 1)
    assert validate(sb.refresh(r2), 400) == {"error": "invalid_grant"}


def test_garbage_refresh_token_is_invalid_grant(sb, validate):
    assert validate(sb.refresh("nope"), 400) == {"error": "invalid_grant"}


def test_access_token_expires_after_ttl(clocked, validate):
    sb, clock = clocked, clocked.clock
    token = sb.connect()["access_token"]
    validate(sb.api("GET", "Organisation", token), 200)
    clock.advance(1801)
    body = validate(sb.api("GET", "Organisation", token), 401)
    assert body["Title"] == "Unauthorized" and body["Detail"].startswith("TokenExpired: token expired at ")


def test_revocation_kills_refresh_and_removes_connections(sb, validate):
    tokens = sb.connect(tenants=[DEMO_TENANT_ID, SECOND_TENANT_ID])
    r = sb.http.post(f"{sb.url}/connect/revocation", auth=(sb.client_id, sb.client_secret),
                     data={"token": tokens["refresh_token"]})
    assert validate(r, 200) is None
    assert validate(sb.refresh(tokens["refresh_token"]), 400) == {"error": "invalid_grant"}
    assert sb.state()["connections"] == []
    body = validate(sb.api("GET", "Organisation", tokens["access_token"]), 401)
    assert body["Detail"] == "AuthenticationUnsuccessful"


def test_connections_filter_by_auth_event_and_delete(sb, validate):
    t1 = sb.connect(tenants=[DEMO_TENANT_ID])["access_token"]
    t2 = sb.connect(tenants=[SECOND_TENANT_ID])["access_token"]
    auth = {"Authorization": f"Bearer {t2}"}
    all_conns = validate(sb.http.get(f"{sb.url}/connections", headers=auth), 200)
    assert len(all_conns) == 2  # connections belong to the user+app, whichever token asks
    event = _jwt_claims(t1)["authentication_event_id"]
    only = validate(sb.http.get(f"{sb.url}/connections", params={"authEventId": event}, headers=auth), 200)
    assert [c["tenantId"] for c in only] == [DEMO_TENANT_ID]
    r = sb.http.delete(f"{sb.url}/connections/{only[0]['id']}", headers=auth)
    assert r.status_code == 204 and r.content == b""
    assert sb.http.delete(f"{sb.url}/connections/{only[0]['id']}", headers=auth).status_code == 404
    body = validate(sb.api("GET", "Organisation", t1, tenant_id=DEMO_TENANT_ID), 403)
    assert body["Detail"] == "AuthenticationUnsuccessful"
    assert validate(sb.api("GET", "Organisation", t1, tenant_id=SECOND_TENANT_ID), 200)


def test_connections_requires_a_bearer_token(sb, validate):
    body = validate(sb.http.get(f"{sb.url}/connections"), 401)
    assert body == {**body, "Type": None, "Title": "Unauthorized", "Status": 401,
                    "Detail": "AuthenticationUnsuccessful", "Extensions": {}}


def test_bearer_and_tenant_header_checks(sb, token, validate):
    assert validate(sb.http.get(f"{sb.url}/api.xro/2.0/Contacts",
                                headers={"xero-tenant-id": DEMO_TENANT_ID}), 401)["Detail"] == \
        "AuthenticationUnsuccessful"
    assert validate(sb.api("GET", "Contacts", "bogus-token"), 401)["Status"] == 401
    r = sb.http.get(f"{sb.url}/api.xro/2.0/Contacts", headers={"Authorization": f"Bearer {token}"})
    assert validate(r, 403) == {**r.json(), "Title": "Forbidden", "Detail": "AuthenticationUnsuccessful"}
    assert validate(sb.api("GET", "Contacts", token, tenant_id=SECOND_TENANT_ID), 403)["Status"] == 403
    assert validate(sb.api("GET", "Contacts", token, tenant_id="not-a-uuid"), 403)["Status"] == 403


def test_scopes_are_enforced_per_endpoint(sb, validate):
    token = sb.connect(scope="accounting.contacts.read")["access_token"]
    assert validate(sb.api("GET", "Contacts", token), 200)["Contacts"]
    for method, path in (("GET", "Accounts"), ("GET", "Invoices"), ("PUT", "Contacts")):
        body = validate(sb.api(method, path, token, json={"Name": "New One"}), 401)
        assert body["Title"] == "Unauthorized" and body["Detail"] == "AuthorizationUnsuccessful"


def test_broad_accounting_transactions_scope_is_accepted_for_invoices(sb, validate):
    token = sb.connect(scope="offline_access accounting.transactions accounting.settings")["access_token"]
    assert validate(sb.api("GET", "Invoices", token), 200)["Invoices"] == []
    assert validate(sb.api("GET", "Accounts", token), 200)["Accounts"]


def test_granular_scope_mode_rejects_broad_scopes_at_authorize():
    with run_sandbox({"SANDBOX_SCOPE_MODE": "granular"}) as sb:
        r = sb.http.get(sb.authorize_url(scope="offline_access accounting.transactions"), allow_redirects=False)
        _, params = _location_params(r)
        assert params == {"error": "invalid_scope", "state": "state-123"}
        assert sb.connect(scope="offline_access accounting.invoices")["refresh_token"]


def test_authorize_rejects_unknown_client_redirect_and_response_type(sb):
    r = sb.http.get(sb.authorize_url().replace(sb.client_id, "nobody"))
    assert r.status_code == 400 and "unauthorized_client" in r.text
    r = sb.http.get(sb.authorize_url(redirect_uri="http://evil.example/cb"))
    assert r.status_code == 400 and "Invalid redirect_uri" in r.text
    r = sb.http.get(sb.authorize_url().replace("response_type=code", "response_type=token"), allow_redirects=False)
    loc, params = _location_params(r)
    assert loc.path == "/settings/integrations/xero/callback"
    assert params == {"error": "unsupported_response_type", "state": "state-123"}
    r = sb.http.get(sb.authorize_url(scope="accounting.everything"), allow_redirects=False)
    assert _location_params(r)[1]["error"] == "invalid_scope"


def test_openid_discovery_and_jwks(sb):
    conf = sb.http.get(f"{sb.url}/.well-known/openid-configuration").json()
    assert conf["token_endpoint"] == f"{sb.url}/connect/token"
    keys = sb.http.get(conf["jwks_uri"]).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"


def test_reconsent_keeps_the_connection_id_and_moves_its_auth_event(sb, validate):
    sb.connect(tenants=[DEMO_TENANT_ID])
    first = sb.state()["connections"]
    token = sb.connect(tenants=[DEMO_TENANT_ID])["access_token"]
    second = sb.state()["connections"]
    assert [c["id"] for c in first] == [c["id"] for c in second]
    assert first[0]["auth_event_id"] != second[0]["auth_event_id"] == _jwt_claims(token)["authentication_event_id"]


def _revoke(sb, refresh_token):
    return sb.http.post(f"{sb.url}/connect/revocation", auth=(sb.client_id, sb.client_secret),
                        data={"token": refresh_token})


def test_reconsent_moves_the_connection_onto_the_new_grant(sb, validate):
    # What Socket relies on when the chooser is cancelled after a re-consent: the connection (same id) now
    # lives on the new grant, so revoking the NEW grant removes it, while revoking the OLD one does not.
    old = sb.connect(tenants=[DEMO_TENANT_ID])
    [connection] = sb.state()["connections"]
    new = sb.connect(tenants=[DEMO_TENANT_ID, SECOND_TENANT_ID])
    assert sorted(c["id"] for c in sb.state()["connections"]).count(connection["id"]) == 1
    assert validate(_revoke(sb, old["refresh_token"]), 200) is None
    assert [c["tenant_id"] for c in sb.state()["connections"]] == [DEMO_TENANT_ID, SECOND_TENANT_ID]
    assert validate(sb.api("GET", "Organisation", new["access_token"]), 200)
    assert validate(sb.refresh(new["refresh_token"]), 200)["access_token"]
    assert validate(_revoke(sb, new["refresh_token"]), 200) is None
    assert sb.state()["connections"] == [] and sb.state()["active_grants"] == 0


def test_public_client_needs_pkce(sb, validate):
    verifier, challenge = pkce_pair()
    code = sb.consent(code_challenge=challenge)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": sb.redirect_uri,
            "client_id": sb.client_id, "code_verifier": verifier}
    assert validate(sb.http.post(f"{sb.url}/connect/token", data=form), 200)["access_token"]
    code = sb.consent()["code"]
    form.update(code=code)
    del form["code_verifier"]
    assert validate(sb.http.post(f"{sb.url}/connect/token", data=form), 400) == {"error": "invalid_client"}
