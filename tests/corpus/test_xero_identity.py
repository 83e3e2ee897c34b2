"""Bad answers from Xero's identity service: GET /connections (webapp.xero.connections.list_connections) and the
token endpoint (webapp.xero.oauth exchange_code and refresh_tokens), Xero mocked, no database.

Bodies start from the identity spec's Connection and the token response Xero documents, then are mutated (fields
dropped, added or of the wrong type, odd text, 100k characters), or are not JSON, or of the wrong content type.
Properties: only Socket's own XeroError comes out; what comes back is usable as Socket stores it (ids and names are
text that fits their columns; tokens are text; an expiry in the future); the good rows of a listing are kept."""
import uuid
from datetime import UTC, datetime, timedelta

import responses
from hypothesis import given
from hypothesis import strategies as st

from tests.corpus.xero_bodies import BROKEN_BODIES, Reply, json_reply, mutated, wrong_values
from tests.hypothesis_corpus import examples
from webapp.xero import XeroError, oauth
from webapp.xero.connections import list_connections


def connection_row(n: int) -> dict:
    """A Connection as the identity spec shapes it."""
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"connection/{n}")),
            "authEventId": "d99ecdfe-391d-43d2-b834-17636ba90e8d",
            "tenantId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"tenant/{n}")), "tenantType": "ORGANISATION",
            "tenantName": f"Demo Company {n}", "createdDateUtc": "2019-07-09T23:40:30.1833130",
            "updatedDateUtc": "2020-05-15T01:35:13.8491980"}


@st.composite
def listings(draw):
    good = [connection_row(n) for n in range(draw(st.integers(min_value=0, max_value=3)))]
    broken = [draw(st.one_of(mutated(connection_row(10 + n)), wrong_values))
              for n in range(draw(st.integers(min_value=0, max_value=3)))]
    rows = draw(st.permutations(good + broken))
    reply = draw(st.one_of(st.just(json_reply(rows)), st.just(json_reply(rows)), st.sampled_from(BROKEN_BODIES),
                           wrong_values.map(json_reply)))
    return good, reply, reply.body == json_reply(rows).body


@examples(150)
@given(listing=listings())
def test_a_bad_connections_listing_keeps_the_good_organisations_and_nothing_unusable(settings, listing):
    good, reply, carries_rows = listing
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add_callback("GET", settings.connections_url, callback=lambda request: reply.as_callback_result())
        try:
            found = list_connections(settings, "access-token", sleep=lambda seconds: None)
        except XeroError as error:
            assert error.message
            return
    for organisation in found:
        for value, limit in ((organisation.id, 36), (organisation.tenant_id, 36), (organisation.tenant_name, 200)):
            assert isinstance(value, str) and len(value) <= limit and "\x00" not in value
        assert organisation.id and organisation.tenant_id and organisation.tenant_type == "ORGANISATION"
    if carries_rows:
        assert {row["tenantId"] for row in good} <= {organisation.tenant_id for organisation in found}


def token_response() -> dict:
    """What Xero's token endpoint answers (OAuth 2.0, as Xero documents it)."""
    return {"id_token": "eyJ.id.token", "access_token": "eyJ.access.token", "expires_in": 1800,
            "token_type": "Bearer", "refresh_token": "a1b2c3refresh", "scope": "offline_access accounting.contacts"}


token_replies = st.one_of(
    mutated(token_response()).map(json_reply), mutated(token_response(), keep=("access_token",)).map(json_reply),
    st.sampled_from(BROKEN_BODIES), wrong_values.map(json_reply),
    st.builds(lambda body, status: Reply(body.body, status=status), mutated(token_response()).map(json_reply),
              st.sampled_from([400, 401, 500, 503])),
    st.just(json_reply({"error": "invalid_grant"})).map(lambda r: Reply(r.body, status=400)))


def _usable(tokens: oauth.TokenSet) -> None:
    assert isinstance(tokens.access_token, str) and tokens.access_token
    assert tokens.refresh_token is None or isinstance(tokens.refresh_token, str)
    assert tokens.scope is None or isinstance(tokens.scope, str)
    now = datetime.now(UTC)
    assert now < tokens.expires_at <= now + timedelta(days=1)


@examples(150)
@given(reply=token_replies, refresh=st.booleans())
def test_a_bad_token_response_is_a_xero_error_or_usable_tokens(settings, reply, refresh):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add_callback("POST", settings.token_url, callback=lambda request: reply.as_callback_result())
        try:
            if refresh:
                tokens = oauth.refresh_tokens(settings, "old-refresh", sleep=lambda seconds: None)
            else:
                tokens = oauth.exchange_code(settings, "the-code", "the-verifier")
        except XeroError as error:
            assert error.message and "a1b2c3refresh" not in error.message and "eyJ.access" not in error.message
            return
    _usable(tokens)
