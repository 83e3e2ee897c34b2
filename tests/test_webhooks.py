"""Xero's webhooks: the signature (good, bad, missing, no key set), Xero's intent-to-receive check, bad bodies,
unknown organisations, replays coalescing into one refresh job, and a webhook turning into a contact refresh
against the sandbox."""
import base64
import hashlib
import hmac
import json
import uuid

import pytest
from rq import Queue, SimpleWorker

from tests.factories import TENANT_ID, make_connection, make_practice
from webapp.extensions import db
from webapp.redis_conn import get_redis
from webapp.services.xero_webhooks import MAX_BODY, pending_key, take_pending

KEY = "test-webhook-key-" + "x" * 40
CONTACT_ID = "6a1c9e3e-1b7a-4e36-9c0e-0f1d2c3b4a59"
INVOICE_ID = "0b8a7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"


@pytest.fixture
def app_with_key(app, monkeypatch):
    monkeypatch.setitem(app.config, "XERO_WEBHOOK_KEY", KEY)
    queue = Queue(app.config["RQ_QUEUE"], connection=get_redis(app.config["REDIS_URL"]))
    queue.empty()
    yield app
    queue.empty()
    with app.app_context():
        redis = get_redis(app.config["REDIS_URL"])
        for key in redis.scan_iter(app.config["REDIS_KEY_PREFIX"] + "webhook-pending:*"):
            redis.delete(key)


def sign(body: bytes, key: str = KEY) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def delivery(*events) -> bytes:
    return json.dumps({"events": list(events), "firstEventSequence": 1, "lastEventSequence": len(events),
                       "entropy": "ABCDEFGHIJKLMNOPQRST"}).encode()


def event(category="CONTACT", resource_id=CONTACT_ID, tenant_id=TENANT_ID) -> dict:
    return {"resourceUrl": f"https://api.xero.com/api.xro/2.0/{category.title()}s/{resource_id}",
            "resourceId": resource_id, "eventDateUtc": "2026-12-01T01:00:00.000", "eventType": "UPDATE",
            "eventCategory": category, "tenantId": tenant_id, "tenantType": "ORGANISATION"}


def post(client, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["x-xero-signature"] = signature
    return client.post("/webhooks/xero", data=body, headers=headers, csrf=False)


def queued(app) -> list:
    return Queue(app.config["RQ_QUEUE"], connection=get_redis(app.config["REDIS_URL"])).jobs


def test_intent_to_receive_good_signature_is_200_bad_is_401_both_with_empty_bodies(client, app_with_key):
    body = delivery()
    good = post(client, body, sign(body))
    assert (good.status_code, good.data) == (200, b"")
    bad = post(client, body, sign(body, "another-key"))
    assert (bad.status_code, bad.data) == (401, b"")
    assert post(client, body, None).status_code == 401
    assert post(client, body + b" ", sign(body)).status_code == 401  # the signature is of the raw body
    assert "Content-Security-Policy" in good.headers  # security headers on every response


def test_without_a_key_configured_every_delivery_is_refused(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "XERO_WEBHOOK_KEY", None)
    body = delivery()
    assert post(client, body, sign(body)).status_code == 401


def test_an_oversized_or_unreadable_signed_body_is_refused_and_nothing_is_queued(client, app_with_key):
    huge = b"{" + b" " * (MAX_BODY + 1) + b"}"
    assert post(client, huge, sign(huge)).status_code == 413
    for body in (b"not json", b'{"no": "events"}', b'{"events": "nope"}'):
        assert post(client, body, sign(body)).status_code == 400
    assert queued(app_with_key) == []


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000,
                                  b'{"events": [' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"]}"],
                         ids=["nested list", "nested event"])
def test_a_signed_body_nested_deeper_than_json_reads_is_a_400_not_a_500(client, app_with_key, body):
    """Python's json gives up on deep nesting with a RecursionError (not a ValueError): a body well under the size
    limit could be nested that deep (found by tests/corpus/test_webhook_bodies.py)."""
    assert post(client, body, sign(body)).status_code == 400
    assert queued(app_with_key) == []


def test_events_for_a_connected_practice_queue_one_refresh_and_replays_coalesce(client, app_with_key, app_ctx):
    practice_id = make_connection().practice_id
    body = delivery(event(), event("INVOICE", INVOICE_ID), event(resource_id="not-a-guid"))
    assert post(client, body, sign(body)).status_code == 200
    assert post(client, body, sign(body)).status_code == 200  # replayed
    other = delivery(event(resource_id="5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"))
    assert post(client, other, sign(other)).status_code == 200
    [job] = queued(app_with_key)
    assert (job.func_name, job.args) == ("jobs.webhooks.refresh_from_webhooks", (practice_id,))
    assert job.retries_left == 3
    assert take_pending(practice_id, "contacts") == sorted([CONTACT_ID, "5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"])
    assert take_pending(practice_id, "invoices") == [INVOICE_ID]


def test_events_socket_cannot_read_are_skipped_and_recorded_and_the_rest_are_noted(client, app_with_key, app_ctx,
                                                                                  caplog):
    practice_id = make_connection().practice_id
    body = json.dumps({"events": [event(), 7, "CONTACT", event(resource_id="not-a-guid"), {**event(), "tenantId": 5},
                                  event("SUBSCRIPTION"), event("INVOICE", INVOICE_ID)]}).encode()
    with caplog.at_level("WARNING", logger="webapp.services.xero_webhooks"):
        assert post(client, body, sign(body)).status_code == 200
    assert caplog.messages == ["Skipped 5 of 7 webhook events Socket could not read (1 a category Socket does not "
                               "refresh, 2 no tenantId or resourceId Socket can read, 2 not an object)"]
    assert take_pending(practice_id, "contacts") == [CONTACT_ID]
    assert take_pending(practice_id, "invoices") == [INVOICE_ID]
    assert len(queued(app_with_key)) == 1


def test_events_for_an_unknown_or_disconnected_organisation_are_acknowledged_and_ignored(client, app_with_key,
                                                                                        app_ctx):
    make_connection(status="disconnected")
    body = delivery(event(tenant_id=str(uuid.uuid4())), event())
    assert post(client, body, sign(body)).status_code == 200
    assert queued(app_with_key) == []
    redis = get_redis(app_with_key.config["REDIS_URL"])
    assert list(redis.scan_iter(app_with_key.config["REDIS_KEY_PREFIX"] + "webhook-pending:*")) == []


# -- the refresh, against the sandbox --------------------------------------------------------------------------
@pytest.mark.integration
def test_a_contact_edited_in_xero_reaches_its_client_through_a_webhook(client, app_with_key, app_ctx):
    pytest.importorskip("xero_sandbox.testing", reason="the Xero sandbox is not available")
    from datetime import date

    from tests.demo_sandbox import connect_demo_practice, run_sync
    from tests.live_servers import sandbox_for
    from webapp.models import Client, ClientContactLink
    from webapp.services.demo_seed import seed_demo
    from xero_sandbox.constants import DEMO_TENANT_ID
    from xero_sandbox.webhooks import payload

    with sandbox_for(app_with_key, "http://127.0.0.1:9") as sandbox:
        seed_demo(today=date(2026, 11, 15))
        practice_id = connect_demo_practice(sandbox)
        run_sync(practice_id, "connect")
        client_row, contact_id = db.session.execute(
            db.select(Client, ClientContactLink.contact_id).join(ClientContactLink,
                                                                 ClientContactLink.client_id == Client.id)
            .filter(Client.practice_id == practice_id, ClientContactLink.outcome == "linked")
            .order_by(Client.code)).first()
        token = sandbox.connect(tenants=(DEMO_TENANT_ID,))["access_token"]
        edited = sandbox.api("POST", f"Contacts/{contact_id}", token,
                             json={"Contacts": [{"EmailAddress": "changed.in.xero@example.co.uk"}]})
        assert edited.status_code == 200

        body = json.dumps(payload([{"category": "CONTACT", "event_type": "UPDATE", "resource_id": contact_id,
                                    "tenant_id": DEMO_TENANT_ID, "event_ms": 1_780_000_000_000, "seq": 1}],
                                  sandbox.url)).encode()
        assert post(client, body, sign(body)).status_code == 200
        queue = Queue(app_with_key.config["RQ_QUEUE"], connection=get_redis(app_with_key.config["REDIS_URL"]))
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
        db.session.expire_all()
        assert db.session.get(Client, client_row.id).email == "changed.in.xero@example.co.uk"
        assert get_redis(app_with_key.config["REDIS_URL"]).scard(pending_key(practice_id, "contacts")) == 0


def test_a_practice_with_no_complete_pull_drops_contact_ids(app_with_key, app_ctx):
    from webapp.sync.webhook_refresh import refresh_from_webhooks

    practice_id = make_practice().practice_id
    make_connection(practice_id)
    get_redis(app_with_key.config["REDIS_URL"]).sadd(pending_key(practice_id, "contacts"), CONTACT_ID)
    result = refresh_from_webhooks(practice_id, app_with_key.config, client_factory=lambda c, s: _NoCalls())
    assert (result.contacts, result.calls) == (0, 0)
    assert take_pending(practice_id, "contacts") == []


class _NoCalls:
    calls = 0

    def get(self, *args, **kwargs):
        raise AssertionError("no Xero call expected")


@pytest.mark.parametrize("procfile", ["Procfile", "Procfile.dev"])
def test_the_worker_runs_rqs_scheduler_so_retries_after_an_interval_happen(procfile):
    import os

    with open(os.path.join(os.path.dirname(os.path.dirname(__file__)), procfile)) as handle:
        [worker] = [line for line in handle if line.startswith("worker:")]
    assert "--with-scheduler" in worker.split()  # RQ moves a Retry(interval=...) job back only with it
