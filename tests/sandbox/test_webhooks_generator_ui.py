"""Webhooks (signed delivery, intent to receive), the large-org generator, the CLI and the HTML pages."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

import jsonschema
import pytest
import requests
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from xero_sandbox import DEMO_TENANT_ID
from xero_sandbox.testing import run_sandbox

KEY = "webhook-key-for-tests"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def webhook_schema(spec_dir):
    with open(os.path.join(spec_dir, "xero-webhooks.yaml"), encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    registry = Registry().with_resource("urn:xero-webhooks",
                                        Resource.from_contents(doc, default_specification=DRAFT202012))
    return jsonschema.Draft202012Validator({"$ref": "urn:xero-webhooks#/components/schemas/WebhookEvent"},
                                           registry=registry)


class Receiver:
    """A webhook endpoint like Socket's: 200 for a good signature, 401 otherwise, empty body."""

    def __init__(self, key=KEY, always_ok=False):
        self.key, self.always_ok, self.received = key, always_ok, []
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/xero"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def app(self, environ, start_response):
        req = Request(environ)
        body = req.get_data()
        expected = base64.b64encode(hmac.new(self.key.encode(), body, hashlib.sha256).digest()).decode()
        good = hmac.compare_digest(expected, req.headers.get("x-xero-signature", ""))
        self.received.append((good, json.loads(body)))
        return Response(status=200 if good or self.always_ok else 401)(environ, start_response)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_events_are_queued_and_delivered_signed(webhook_schema, validate):
    with Receiver() as rx, run_sandbox({"SANDBOX_WEBHOOK_URL": rx.url, "SANDBOX_WEBHOOK_KEY": KEY,
                                        "SANDBOX_LIMITS": "relaxed"}) as sb:
        token = sb.connect()["access_token"]
        contact = validate(sb.api("PUT", "Contacts", token, json={"Name": "Hook Ltd"}), 200)["Contacts"][0]
        invoice = validate(sb.api("PUT", "Invoices", token, json={
            "Type": "ACCREC", "Contact": {"ContactID": contact["ContactID"]},
            "LineItems": [{"Description": "Work", "UnitAmount": 10, "AccountCode": "200"}]}), 200)["Invoices"][0]
        validate(sb.api("POST", f"Contacts/{contact['ContactID']}", token, json={"EmailAddress": "a@hook.co.uk"}),
                 200)
        assert sb.state()["webhook_events_pending"] == 3
        result = sb.deliver_webhooks()
        assert result == {"delivered": 3, "pending": 0, "status": 200}
        (good, payload), = rx.received
        assert good
        webhook_schema.validate(payload)
        got = [(e["eventCategory"], e["eventType"], e["resourceId"]) for e in payload["events"]]
        assert got == [("CONTACT", "CREATE", contact["ContactID"]), ("INVOICE", "CREATE", invoice["InvoiceID"]),
                       ("CONTACT", "UPDATE", contact["ContactID"])]
        e = payload["events"][0]
        assert e["tenantId"] == DEMO_TENANT_ID and e["tenantType"] == "ORGANISATION"
        assert e["resourceUrl"] == f"{sb.url}/api.xro/2.0/Contacts/{contact['ContactID']}"
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$", e["eventDateUtc"])
        assert payload["lastEventSequence"] - payload["firstEventSequence"] == 2
        assert sb.deliver_webhooks() == {"delivered": 0, "pending": 0, "status": None}


def test_rejected_delivery_stays_queued():
    with Receiver(key="a-different-key") as rx, run_sandbox({"SANDBOX_WEBHOOK_URL": rx.url,
                                                             "SANDBOX_WEBHOOK_KEY": KEY}) as sb:
        sb.archive_contact("f7488d45-ec18-5ff2-9156-b307b4f5f2a9")
        sb.connect()
        result = sb.deliver_webhooks()
        assert result["status"] == 401 and result["delivered"] == 0 and result["pending"] == 1
        assert rx.received[0][0] is False


def test_intent_to_receive():
    with Receiver() as good, Receiver(always_ok=True) as lax, \
            run_sandbox({"SANDBOX_WEBHOOK_URL": good.url, "SANDBOX_WEBHOOK_KEY": KEY}) as sb:
        r = sb.http.post(f"{sb.url}/_sandbox/webhooks/intent-to-receive").json()
        assert r == {"ok": True, "signed_status": 200, "bad_signature_status": 401, "bodies_empty": True}
        assert [p["events"] for _, p in good.received] == [[], []]
        sb.sandbox.settings["SANDBOX_WEBHOOK_URL"] = lax.url
        r = sb.http.post(f"{sb.url}/_sandbox/webhooks/intent-to-receive").json()
        assert r["ok"] is False and r["bad_signature_status"] == 200


def test_large_org_generator_over_admin_endpoint(sb, validate):
    tenant = sb.generate_org("Big Practice Ltd", 2000)
    assert "Big Practice Ltd" in sb.http.get(sb.authorize_url()).text
    token = sb.connect(tenants=[tenant])["access_token"]
    first = validate(sb.api("GET", "Contacts", token, tenant_id=tenant, params={"page": 1, "pageSize": 1000}), 200)
    assert first["pagination"] == {"page": 1, "pageSize": 1000, "pageCount": 2, "itemCount": 1960}
    everyone = validate(sb.api("GET", "Contacts", token, tenant_id=tenant, params={"includeArchived": "true"}), 200)
    assert len(everyone["Contacts"]) == 2000 and len({c["Name"] for c in everyone["Contacts"]}) == 2000
    assert sb.http.post(f"{sb.url}/_sandbox/orgs", json={"name": "Big Practice Ltd", "contacts": 1}).status_code == 409


def _cli(*args, db):
    env = {**os.environ, "SANDBOX_DB_PATH": db}
    return subprocess.run([sys.executable, "-m", "xero_sandbox", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_cli_generate_org_and_reset(tmp_path):
    db = str(tmp_path / "cli.sqlite")
    out = _cli("generate-org", "--contacts", "25", "--name", "Big Practice Ltd", db=db)
    assert out.returncode == 0, out.stderr
    tenant = out.stdout.strip()
    import sqlite3
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM contacts WHERE tenant_id=?", (tenant,)).fetchone()[0] == 25
    con.close()
    assert _cli("generate-org", "--contacts", "1", "--name", "Big Practice Ltd", db=db).returncode == 1
    assert _cli("reset", db=db).returncode == 0
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM orgs").fetchone()[0] == 2
    con.close()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("argv", [["-m", "xero_sandbox"], ["-m", "flask", "--app", "xero_sandbox", "run"]])
def test_runs_as_a_module_and_under_flask_run(tmp_path, argv):
    port = _free_port()
    env = {**os.environ, "SANDBOX_DB_PATH": str(tmp_path / "s.sqlite"), "SANDBOX_PORT": str(port),
           "FLASK_RUN_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/_sandbox/state", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.1)
        assert [o["name"] for o in r.json()["orgs"]] == ["Demo Company (UK)", "Demo Practice Holdings Ltd"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_ui_shows_orgs_contacts_and_invoices_received(sb, validate):
    token = sb.connect()["access_token"]
    validate(sb.api("PUT", "Invoices", token, json={
        "Type": "ACCREC", "Contact": {"ContactID": "f7488d45-ec18-5ff2-9156-b307b4f5f2a9"}, "Status": "AUTHORISED",
        "DueDate": "2026-12-31", "BrandingThemeID": "3761ef2b-6a43-4f6d-9f39-1a1b2c3d4e5f",
        "LineItems": [{"Description": "Annual accounts", "UnitAmount": 900, "AccountCode": "210"}]}), 200)
    index = sb.http.get(f"{sb.url}/_sandbox/").text
    assert "Demo Company (UK)" in index and "Demo Practice Holdings Ltd" in index and sb.client_id in index
    contacts = sb.http.get(f"{sb.url}/_sandbox/orgs/{DEMO_TENANT_ID}/contacts").text
    assert "Kingfisher Hotels Ltd" in contacts and "ARCHIVED" in contacts
    page = sb.http.get(f"{sb.url}/_sandbox/orgs/{DEMO_TENANT_ID}/invoices").text
    for text in ("INV-0001", "Abbott &amp; Sons Ltd", "AUTHORISED", "Annual accounts", "210",
                 "Consulting &amp; Advisory Fees", "Socket Practice", "1080.00"):
        assert text in page, text
    assert sb.http.get(f"{sb.url}/_sandbox/orgs/nope/invoices").status_code == 404
