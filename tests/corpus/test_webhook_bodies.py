"""The bad-input corpus over Xero's webhook deliveries (POST /webhooks/xero, webapp/webhooks/routes.py).

Xero signs the raw body: `x-xero-signature` is the base64 HMAC-SHA256 of it with the webhook key. Bodies drawn: random
bytes, random JSON, deliveries whose events mix good ones with events of the wrong types, missing fields, unknown
organisations, unknown categories, and bodies over the size limit. Properties:
  - a bad signature (none, garbage, another key's, another body's) is a 401 with nothing noted or queued;
  - a good one is a 200, or a 400 for a body that is no delivery, or a 413 for one too large: never a 5xx;
  - in a delivery every readable event for the connected organisation is noted (its id waits in Redis and one
    refresh is queued), whatever else the batch holds; nothing is noted that the body did not name; and the events
    skipped are recorded in the log, with how many.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.factories import TENANT_ID, make_connection, make_practice
from tests.hypothesis_corpus import examples
from tests.test_webhooks import KEY, sign
from webapp.queue import get_queue
from webapp.redis_conn import get_redis
from webapp.services.xero_webhooks import KINDS, MAX_BODY

OTHER_TENANT = "99999999-8888-7777-6666-555555555555"  # connected to no practice
SKIPPED = "webhook events Socket could not read"


@pytest.fixture
def connected(app, app_ctx, monkeypatch):
    """A practice connected to TENANT_ID, the webhook key set, and an empty queue and no ids waiting."""
    monkeypatch.setitem(app.config, "XERO_WEBHOOK_KEY", KEY)
    practice_id = make_connection(make_practice().practice_id).practice_id
    _forget(app)
    yield practice_id
    _forget(app)


def _pending_keys(app) -> list[bytes]:
    return list(get_redis(app.config["REDIS_URL"]).scan_iter(app.config["REDIS_KEY_PREFIX"] + "webhook-pending:*"))


def _forget(app) -> None:
    """Each example starts with nothing queued and no ids waiting."""
    get_queue(app.config).empty()
    keys = _pending_keys(app)
    if keys:
        get_redis(app.config["REDIS_URL"]).delete(*keys)


def _noted(app, practice_id) -> set[tuple[str, str]]:
    redis = get_redis(app.config["REDIS_URL"])
    prefix = app.config["REDIS_KEY_PREFIX"]
    return {(kind, member.decode()) for kind in KINDS.values()
            for member in redis.smembers(f"{prefix}webhook-pending:{practice_id}:{kind}")}


# --- what Xero sends, and what it must not break ----------------------------------------------------------------

def _uuid_forms(value: uuid.UUID):
    """The ways a UUID may be written that mean the same one."""
    return st.sampled_from([str(value), str(value).upper(), value.hex, f"{{{value}}}", f"urn:uuid:{value}"])


json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
wrong_types = json_values | st.sampled_from(["", "not-a-uuid", "x" * 5000, "\x00", "CONTACT\x00", "🧾"])


@st.composite
def good_event(draw, tenant_id=TENANT_ID) -> dict:
    category = draw(st.sampled_from(["CONTACT", "INVOICE", "contact", "Invoice"]))
    resource_id = draw(st.uuids())
    return {"resourceUrl": f"https://api.xero.com/api.xro/2.0/{category.title()}s/{resource_id}",
            "resourceId": draw(_uuid_forms(resource_id)), "eventDateUtc": "2026-12-01T01:00:00.000",
            "eventType": draw(st.sampled_from(["CREATE", "UPDATE"])), "eventCategory": category,
            "tenantId": draw(_uuid_forms(uuid.UUID(tenant_id))), "tenantType": "ORGANISATION"}


@st.composite
def bad_event(draw):
    """An event Socket cannot act on: not an object, a field missing or of the wrong type, an unknown category."""
    base = draw(good_event())
    how = draw(st.sampled_from(["not an object", "missing", "wrong type", "unknown category", "unknown type"]))
    if how == "not an object":
        return draw(json_scalars | st.lists(json_scalars, max_size=3))
    field = draw(st.sampled_from(["resourceId", "tenantId", "eventCategory"]))
    if how == "missing":
        del base[field]
    elif how == "wrong type":
        base[field] = draw(wrong_types.filter(lambda value: not _is_uuid(value)
                                              and not (isinstance(value, str) and value.upper() in KINDS)))
    elif how == "unknown category":
        base["eventCategory"] = draw(st.sampled_from(["SUBSCRIPTION", "CONTACTS", "PAYMENT", " CONTACT", ""]))
    else:
        base["eventType"] = draw(wrong_types)  # not read: the event is still good
    return base


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def readable(item) -> tuple[str, str] | None:
    """(kind, resource id) when an event names a known category and both ids; None when Socket must skip it."""
    if not isinstance(item, dict):
        return None
    kind = KINDS.get(item.get("eventCategory").upper()) if isinstance(item.get("eventCategory"), str) else None
    if kind is None or not _is_uuid(item.get("tenantId")) or not _is_uuid(item.get("resourceId")):
        return None
    return kind, str(uuid.UUID(str(item["resourceId"])))


@st.composite
def delivery(draw) -> tuple[bytes, list]:
    """A delivery of good events, bad ones and events for an organisation nobody here is connected to."""
    events = draw(st.lists(good_event() | bad_event() | good_event(OTHER_TENANT), max_size=12))
    payload = {"events": events, "firstEventSequence": draw(json_values), "lastEventSequence": len(events),
               "entropy": draw(st.text(max_size=20))}
    for name, value in draw(st.dictionaries(st.text(max_size=10), json_values, max_size=3)).items():
        payload.setdefault(name, value)
    return json.dumps(payload).encode(), events


not_deliveries = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(st.sampled_from(["events", "Events", "entropy"]), json_scalars | st.dictionaries(
        st.text(max_size=5), json_scalars), min_size=1).map(lambda value: json.dumps(value).encode()),
    st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth),  # nested deeper than json can read
    st.integers(1, 200_000).map(lambda depth: b'{"events": ' + b"[" * depth + b"]" * depth + b"}"),
    st.sampled_from([b"", b"null", b"{}", b'{"events": null}', b'{"events": {}}', b"\xff\xfe{}", b"\x00" * 10,
                     b'{"events": [1, 2]', "{\"events\": []}".encode("utf-16")]),
)
signatures_of_something_else = st.sampled_from(["", " ", "null", "x" * 44, "=" * 44, "\u00e9", "sha256=abc"])


def _content_type():
    return st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                            "application/octet-stream"])


def _post(client, body: bytes, signature: str | None, content_type: str):
    headers = {"Content-Type": content_type}
    if signature is not None:
        headers["x-xero-signature"] = signature
    return client.post("/webhooks/xero", data=body, headers=headers, csrf=False)


# --- a bad signature ---------------------------------------------------------------------------------------------

@examples(25)
@given(data=st.data())
def test_a_badly_signed_body_is_a_401_and_nothing_is_noted_or_queued(client, app, connected, data):
    """Each body with every kind of bad signature: none, garbage, another key's, another body's, the right one
    reversed, and the right HMAC in hex instead of base64."""
    body = data.draw(delivery().map(lambda drawn: drawn[0]) | not_deliveries, label="body")
    content_type = data.draw(_content_type(), label="content type")
    signatures = {"none": None, "another key": sign(body, "another-key"), "another body": sign(body + b" "),
                  "reversed": sign(body)[::-1], "hex": hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest(),
                  "garbage": data.draw(signatures_of_something_else, label="garbage")}
    for how, signature in signatures.items():
        response = _post(client, body, signature, content_type)
        assert (response.status_code, response.data) == (401, b""), how
        assert get_queue(app.config).count == 0 and not _pending_keys(app), how


# --- a good signature --------------------------------------------------------------------------------------------

@examples(50)
@given(data=st.data())
def test_a_signed_delivery_is_200_and_every_readable_event_is_noted_whatever_else_it_holds(
        client, app, connected, caplog, data):
    body, events = data.draw(delivery(), label="delivery")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="webapp.services.xero_webhooks"):
        response = _post(client, body, sign(body), data.draw(_content_type(), label="content type"))
    assert (response.status_code, response.data) == (200, b"")
    ours = {found for item in events if (found := readable(item)) and uuid.UUID(str(item["tenantId"])) == uuid.UUID(
        TENANT_ID)}
    named = {found for item in events if (found := readable(item))}
    noted = _noted(app, connected)
    assert ours <= noted, f"lost: {ours - noted}"  # nothing lost, whatever else the batch held
    assert noted <= named  # and nothing noted that the body did not name
    assert get_queue(app.config).count == (1 if noted else 0)
    skipped = sum(1 for item in events if readable(item) is None)
    event(f"{len(events)} events, {skipped} skipped, {len(noted)} noted")
    messages = [record.getMessage() for record in caplog.records]
    if skipped:
        assert any(f"Skipped {skipped} of {len(events)} {SKIPPED}" in message for message in messages), messages
    else:
        assert not any(SKIPPED in message for message in messages)
    _forget(app)


@examples(50)
@given(body=not_deliveries, content_type=_content_type())
def test_a_signed_body_that_is_no_delivery_is_a_clear_4xx_never_a_5xx(client, app, connected, body, content_type):
    response = _post(client, body, sign(body), content_type)
    event(str(response.status_code))
    assert response.status_code in (200, 400), response.status_code
    assert response.data == b""
    if response.status_code == 400:
        assert get_queue(app.config).count == 0 and not _pending_keys(app)
    _forget(app)


@examples(6)
@given(extra=st.integers(1, 100_000), signed=st.booleans(), filler=st.sampled_from([b" ", b"[", b"\x00", b"{"]))
def test_a_body_over_the_limit_is_a_413_signed_or_not(client, app, connected, extra, signed, filler):
    body = b'{"events": []}' + filler * (MAX_BODY + extra)
    response = _post(client, body, sign(body) if signed else "x", "application/json")
    assert (response.status_code, response.data) == (413, b"")
    assert get_queue(app.config).count == 0 and not _pending_keys(app)
