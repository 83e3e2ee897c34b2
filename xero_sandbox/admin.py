"""/_sandbox/: admin JSON endpoints for tests and demos, and a small HTML view of what Socket sent."""
from __future__ import annotations

import json

from flask import Blueprint, abort, render_template, request

from . import invoice_docs, seed, webhooks
from .invoice_docs import Change, ChangeRefused
from .limits import FaultError
from .sandbox import get_sandbox
from .tokens import revoke_grant
from .webhooks import queue_event
from .xerojson import json_response, ms_date

bp = Blueprint("admin", __name__, url_prefix="/_sandbox")


def _json_body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _error(message: str, status: int = 400):
    return json_response({"error": message}, status)


@bp.route("/reset", methods=["POST"])
def reset():
    sandbox = get_sandbox()
    sandbox.reset(keep_connections=bool(_json_body().get("keep_connections")))
    return json_response({"ok": True})


@bp.route("/faults", methods=["GET"])
def faults_list():
    return json_response({"faults": get_sandbox().faults.snapshot()})


@bp.route("/faults", methods=["POST"])
def faults_add():
    try:
        rules = get_sandbox().faults.add(request.get_json(silent=True))
    except FaultError as e:
        return _error(str(e))
    return json_response({"faults": rules})


@bp.route("/connections/<conn_id>/revoke", methods=["POST"])
def revoke_connection(conn_id):
    """The user disconnected the app inside Xero. If it was the grant's last organisation, the grant dies."""
    sandbox = get_sandbox()
    with sandbox.store.tx() as db:
        row = db.execute("SELECT * FROM connections WHERE id=?", (conn_id,)).fetchone()
        if row is None:
            return _error("no such connection", 404)
        db.execute("DELETE FROM connections WHERE id=?", (conn_id,))
        left = db.execute("SELECT 1 FROM connections WHERE client_id=? AND auth_event_id=?",
                          (row["client_id"], row["auth_event_id"])).fetchone()
        revoked = 0
        if left is None:
            for g_row in db.execute("SELECT grant_id FROM grants WHERE client_id=? AND auth_event_id=? AND revoked=0",
                                    (row["client_id"], row["auth_event_id"])).fetchall():
                revoke_grant(db, g_row["grant_id"])
                revoked += 1
    return json_response({"ok": True, "grants_revoked": revoked})


@bp.route("/tokens/expire", methods=["POST"])
def expire_tokens():
    sandbox = get_sandbox()
    with sandbox.store.tx() as db:
        n = db.execute("UPDATE access_tokens SET expires_ms=? WHERE expires_ms > ?",
                       (sandbox.now_ms(), sandbox.now_ms())).rowcount
    return json_response({"ok": True, "expired": n})


def _update_contact(contact_id, mutate):
    sandbox = get_sandbox()
    now = sandbox.now_ms()
    with sandbox.store.tx() as db:
        row = db.execute("SELECT * FROM contacts WHERE contact_id=?", (contact_id.lower(),)).fetchone()
        if row is None:
            return None
        doc = json.loads(row["doc"])
        err = mutate(db, doc)
        if err:
            return err
        doc["UpdatedDateUTC"] = ms_date(now)
        db.execute("UPDATE contacts SET doc=?, status=?, updated_ms=? WHERE contact_id=?",
                   (json.dumps(doc), doc["ContactStatus"], now, doc["ContactID"]))
        queue_event(db, row["tenant_id"], "CONTACT", "UPDATE", doc["ContactID"], now)
        return doc


@bp.route("/contacts/<contact_id>/archive", methods=["POST"])
def archive_contact(contact_id):
    def mutate(db, doc):
        doc["ContactStatus"] = "ARCHIVED"
    doc = _update_contact(contact_id, mutate)
    return json_response({"ok": True, "contact": doc}) if doc else _error("no such contact", 404)


@bp.route("/contacts/<contact_id>/merge", methods=["POST"])
def merge_contact(contact_id):
    into = str(_json_body().get("into", "")).lower()

    def mutate(db, doc):
        target = db.execute("SELECT tenant_id, status FROM contacts WHERE contact_id=?", (into,)).fetchone()
        if target is None or into == doc["ContactID"]:
            return _error("'into' must be another contact of the same organisation")
        doc["ContactStatus"] = "ARCHIVED"
        doc["MergedToContactID"] = into
    doc = _update_contact(contact_id, mutate)
    if doc is None:
        return _error("no such contact", 404)
    if not isinstance(doc, dict):
        return doc
    return json_response({"ok": True, "contact": doc})


@bp.route("/accounts/<account_ref>/archive", methods=["POST"])
def archive_account(account_ref):
    """By AccountID, or by Code with ?tenant=<tenant id> (default: the demo organisation)."""
    sandbox = get_sandbox()
    tenant = request.args.get("tenant") or seed.C.DEMO_TENANT_ID
    status = _json_body().get("status", "ARCHIVED")
    if status not in ("ARCHIVED", "DELETED", "ACTIVE"):
        return _error("status must be ARCHIVED, DELETED or ACTIVE")
    now = sandbox.now_ms()
    with sandbox.store.tx() as db:
        row = db.execute("SELECT * FROM accounts WHERE account_id=? OR (tenant_id=? AND code=?)",
                         (account_ref.lower(), tenant, account_ref)).fetchone()
        if row is None:
            return _error("no such account", 404)
        doc = json.loads(row["doc"])
        doc["Status"] = status
        doc["UpdatedDateUTC"] = ms_date(now)
        db.execute("UPDATE accounts SET doc=?, status=?, updated_ms=? WHERE account_id=?",
                   (json.dumps(doc), status, now, row["account_id"]))
    return json_response({"ok": True, "account": doc})


def _change_invoice(invoice_id: str, change: Change):
    try:
        doc = invoice_docs.change_invoice(get_sandbox(), invoice_id, change)
    except ChangeRefused as e:
        return _error(str(e))
    return json_response({"ok": True, "invoice": doc}) if doc else _error("no such invoice", 404)


@bp.route("/invoices", methods=["GET"])
def invoices_list():
    """The invoices of ?tenant= (default: the demo organisation) as stored, oldest first."""
    tenant = request.args.get("tenant") or seed.C.DEMO_TENANT_ID
    rows = get_sandbox().store.query("SELECT doc FROM invoices WHERE tenant_id=? ORDER BY created_ms, rowid",
                                     (tenant,))
    return json_response({"invoices": [json.loads(r["doc"]) for r in rows]})


@bp.route("/invoices/<invoice_id>/pay", methods=["POST"])
def pay_invoice(invoice_id):
    """Body {"amount": "100.00", "date": "YYYY-MM-DD", "reference": "..."}, all optional (amount: all that is due)."""
    body = _json_body()
    return _change_invoice(invoice_id, invoice_docs.pay(get_sandbox(), body.get("amount"), body.get("date"),
                                                        body.get("reference")))


@bp.route("/invoices/<invoice_id>/void", methods=["POST"])
def void_invoice(invoice_id):
    return _change_invoice(invoice_id, invoice_docs.void)


EDIT_FIELDS = ("line", "description", "quantity", "unit_amount", "reference")


@bp.route("/invoices/<invoice_id>/edit", methods=["POST"])
def edit_invoice(invoice_id):
    """Body {"line": 0, "description": ..., "quantity": ..., "unit_amount": ..., "reference": ...}."""
    body = _json_body()
    unknown = sorted(set(body) - set(EDIT_FIELDS))
    if unknown:
        return _error(f"unknown fields {unknown}: use {', '.join(EDIT_FIELDS)}")
    return _change_invoice(invoice_id, invoice_docs.edit(**{k: body[k] for k in EDIT_FIELDS if k in body}))


@bp.route("/orgs", methods=["POST"])
def generate_org():
    body = _json_body()
    name = body.get("name")
    count = body.get("contacts", 0)
    if not isinstance(name, str) or not name.strip() or not isinstance(count, int) or count < 0:
        return _error("body must be {\"name\": str, \"contacts\": int}")
    sandbox = get_sandbox()
    with sandbox.store.tx() as db:
        if db.execute("SELECT 1 FROM orgs WHERE name=?", (name,)).fetchone():
            return _error("an organisation with that name exists", 409)
        tenant_id = seed.generate_org(db, name.strip(), count, body.get("tenant_id"))
    return json_response({"ok": True, "tenant_id": tenant_id})


@bp.route("/webhooks/deliver", methods=["POST"])
def deliver_webhooks():
    sandbox = get_sandbox()
    base = sandbox.settings.get("SANDBOX_PUBLIC_URL") or request.host_url
    return json_response(webhooks.deliver(sandbox, base))


@bp.route("/webhooks/intent-to-receive", methods=["POST"])
def intent_to_receive():
    return json_response(webhooks.intent_to_receive(get_sandbox()))


@bp.route("/state", methods=["GET"])
def state():
    sandbox = get_sandbox()
    q = sandbox.store.query
    orgs = []
    for o in q("SELECT tenant_id, name FROM orgs ORDER BY sort"):
        t = o["tenant_id"]
        orgs.append({
            "tenant_id": t, "name": o["name"],
            "contacts": q("SELECT COUNT(*) n FROM contacts WHERE tenant_id=?", (t,))[0]["n"],
            "invoices": q("SELECT COUNT(*) n FROM invoices WHERE tenant_id=?", (t,))[0]["n"],
            "calls": sandbox.limiter.calls.get(t, 0),
        })
    return json_response({
        "orgs": orgs,
        "invoices_received": q("SELECT COUNT(*) n FROM invoices")[0]["n"],
        "calls_per_org": {o["tenant_id"]: o["calls"] for o in orgs},
        "rate_limited": dict(sandbox.limiter.rejected),
        "connections": [dict(r) for r in q("SELECT id, client_id, tenant_id, auth_event_id FROM connections")],
        "active_grants": q("SELECT COUNT(*) n FROM grants WHERE revoked=0")[0]["n"],
        "webhook_events_pending": q("SELECT COUNT(*) n FROM webhook_events WHERE delivered=0")[0]["n"],
        "faults": sandbox.faults.snapshot(),
        "faults_fired": dict(sandbox.faults.fired),
        "limits": sandbox.limiter.limits,
        "now_ms": sandbox.now_ms(),
        "unexpected_errors": sandbox.unexpected_errors,
    })


# ------------------------------------------------------------------------------------ HTML UI
@bp.route("/", methods=["GET"])
def ui_index():
    sandbox = get_sandbox()
    q = sandbox.store.query
    orgs = q("SELECT o.tenant_id, o.name, (SELECT COUNT(*) FROM contacts c WHERE c.tenant_id=o.tenant_id) contacts,"
             " (SELECT COUNT(*) FROM invoices i WHERE i.tenant_id=o.tenant_id) invoices FROM orgs o ORDER BY sort")
    conns = q("SELECT c.*, o.name FROM connections c JOIN orgs o ON o.tenant_id=c.tenant_id")
    return render_template("ui_index.html", orgs=orgs, connections=conns, settings=sandbox.settings)


def _org_or_404(tenant_id):
    row = get_sandbox().store.one("SELECT tenant_id, name FROM orgs WHERE tenant_id=?", (tenant_id,))
    if row is None:
        abort(404)
    return row


@bp.route("/orgs/<tenant_id>/contacts", methods=["GET"])
def ui_contacts(tenant_id):
    org = _org_or_404(tenant_id)
    rows = get_sandbox().store.query("SELECT doc FROM contacts WHERE tenant_id=? ORDER BY name_key LIMIT 2000",
                                     (tenant_id,))
    return render_template("ui_contacts.html", org=org, contacts=[json.loads(r["doc"]) for r in rows])


@bp.route("/orgs/<tenant_id>/invoices", methods=["GET"])
def ui_invoices(tenant_id):
    org = _org_or_404(tenant_id)
    store = get_sandbox().store
    rows = store.query("SELECT doc FROM invoices WHERE tenant_id=? ORDER BY created_ms DESC", (tenant_id,))
    themes = {r["theme_id"]: json.loads(r["doc"])["Name"] for r in
              store.query("SELECT theme_id, doc FROM branding_themes WHERE tenant_id=?", (tenant_id,))}
    accounts = {r["code"]: json.loads(r["doc"])["Name"] for r in
                store.query("SELECT code, doc FROM accounts WHERE tenant_id=?", (tenant_id,))}
    return render_template("ui_invoices.html", org=org, invoices=[json.loads(r["doc"]) for r in rows],
                           themes=themes, accounts=accounts)
