"""Contacts: list/search/page, get one, create and update (with Xero's unique-active-name rule; Addresses and
Phones merge by type, see `addresses`)."""
from __future__ import annotations

import json
import re
import uuid
from typing import Any

from flask import Response, g, request

from .accounting import CONTACTS_READ, CONTACTS_WRITE, accounting_blueprint, ok, requires
from .addresses import ADDRESSES, PHONES, merge_typed, read_typed
from .bodies import get_bool, get_enum, get_str, is_uuid
from .idempotency import idempotent
from .listing import apply_order, paginate, sql_page
from .params import arg_bool, arg_int, if_modified_since
from .records import CONTACTS
from .sandbox import get_sandbox
from .seed import contact_doc, name_key
from .webhooks import queue_event
from .where import compile_where, sql_filter
from .xerojson import XeroError, ms_date

bp = accounting_blueprint("contacts", __name__)

CONTACT_FIELDS = {"ContactID", "MergedToContactID", "ContactNumber", "AccountNumber", "ContactStatus", "Name",
                  "FirstName", "LastName", "CompanyNumber", "EmailAddress", "BankAccountDetails", "TaxNumber",
                  "IsSupplier", "IsCustomer", "UpdatedDateUTC", "HasAttachments", "HasValidationErrors",
                  "Addresses", "Phones", "ContactGroups", "Website", "DefaultCurrency"}
SUMMARY_FIELDS = ("ContactID", "MergedToContactID", "ContactNumber", "AccountNumber", "ContactStatus", "Name",
                  "FirstName", "LastName", "CompanyNumber", "EmailAddress", "TaxNumber", "UpdatedDateUTC",
                  "IsSupplier", "IsCustomer", "HasValidationErrors")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SIMPLE_STRINGS = (("FirstName", 255), ("LastName", 255), ("EmailAddress", 255), ("ContactNumber", 50),
                  ("AccountNumber", 50), ("CompanyNumber", 50), ("TaxNumber", 50), ("BankAccountDetails", None),
                  ("Website", None))


def _summary(doc: dict) -> dict:
    return {k: doc[k] for k in SUMMARY_FIELDS if k in doc}


# `where` comparisons SQLite can answer from plain columns (see where.sql_filter)
CONTACT_COLUMNS = {("ContactStatus",): "status", ("ContactID",): "contact_id"}


@bp.route("/Contacts", methods=["GET"])
@requires(CONTACTS_READ)
def list_contacts() -> Response:
    sandbox = get_sandbox()
    sql, params = "FROM contacts WHERE tenant_id=?", [g.tenant_id]
    ims = if_modified_since()
    if ims is not None:
        sql += " AND updated_ms >= ?"
        params.append(ims)
    ids = request.args.get("IDs") or request.args.get("ids")
    id_set = None
    if ids:
        id_set = {i.strip().strip('"').lower() for i in ids.split(",") if i.strip()}
        if not all(is_uuid(i) for i in id_set):
            raise XeroError(400, {"ErrorNumber": 16, "Type": "QueryParseException",
                                  "Message": "IDs must be a comma separated list of GUIDs"})
        sql += f" AND contact_id IN ({','.join('?' * len(id_set))})"
        params.extend(sorted(id_set))
    pred = compile_where(request.args.get("where"), CONTACT_FIELDS)
    mentions_status = pred is not None and "ContactStatus" in pred.mentions
    if not (arg_bool("includeArchived") or id_set or mentions_status):
        sql += " AND status = 'ACTIVE'"
    term = (request.args.get("searchTerm") or "").strip().casefold()
    order = request.args.get("order")
    pushed = sql_filter(pred, CONTACT_COLUMNS)
    if pushed is not None and not term and not order:
        # Everything is answerable by SQLite: filter, order (the default (name_key, ContactID) order, which
        # is the columns' BINARY order) and page there, and decode only the page's documents.
        rows, pagination = sql_page(sandbox.store, "doc", sql + pushed[0], params + pushed[1],
                                    "name_key, contact_id", arg_int("page"), arg_int("pageSize"))
        docs = [json.loads(r["doc"]) for r in rows]
    else:
        docs = [json.loads(r["doc"]) for r in sandbox.store.query("SELECT doc " + sql, params)]
        if pred:
            docs = [d for d in docs if pred(d)]
        if term:
            docs = [d for d in docs if any(term in (d.get(f) or "").casefold()
                                           for f in ("Name", "FirstName", "LastName", "ContactNumber",
                                                     "EmailAddress"))]
        docs = apply_order(docs, order, lambda d: (name_key(d["Name"]), d["ContactID"]), CONTACT_FIELDS, "Contact")
        docs, pagination = paginate(docs, arg_int("page"), arg_int("pageSize"))
    if arg_bool("summaryOnly"):
        docs = [_summary(d) for d in docs]
    return ok("Contacts", docs, pagination)


@bp.route("/Contacts/<ident>", methods=["GET"])
@requires(CONTACTS_READ)
def get_contact(ident: str) -> Response:
    return CONTACTS.get_response(ident)


def duplicate_name_message(name: str) -> str:
    return (f"The contact name {name} is already assigned to another contact. "
            "The contact name must be unique across all active contacts.")


def save_contact(db, tenant_id: str, el: dict, path: str, now_ms: int,
                 url_ident: str | None = None) -> tuple[dict, list[str], str | None]:
    """Validate and write one contact element. Returns (doc, errors, event_type)."""
    errors: list[str] = []
    existing = CONTACTS.existing(db, tenant_id, el, path, url_ident, errors)
    doc = json.loads(existing["doc"]) if existing else None
    echo: dict[str, Any] = {} if doc is None else {"ContactID": doc["ContactID"]}
    name = get_str(el, "Name", path)
    if name is not None:
        name = " ".join(name.split()) if name.strip() else ""
        echo["Name"] = name
    status = get_enum(el, "ContactStatus", path, ("ACTIVE", "ARCHIVED", "GDPRREQUEST"), "ContactStatus")
    if status == "GDPRREQUEST":
        errors.append("ContactStatus GDPRREQUEST cannot be set through the API")
    values: dict[str, str] = {}  # field -> new value ("" removes the field)
    for key, max_len in SIMPLE_STRINGS:
        v = get_str(el, key, path)
        if v is not None:
            v = v.strip()
            values[key] = v
            echo[key] = v
            if max_len and len(v) > max_len:
                errors.append(f"The {key} must be {max_len} characters or less.")
    email = values.get("EmailAddress")
    if email and not EMAIL_RE.match(email):
        errors.append("Email address must be valid.")
    typed = [(spec, changes) for spec in (ADDRESSES, PHONES)
             if (changes := read_typed(el, spec, path, errors)) is not None]
    get_bool(el, "IsCustomer", path)  # read-only in Xero: type-checked, then ignored
    get_bool(el, "IsSupplier", path)
    if doc is None:
        if not name:
            errors.append("The contact name must be specified.")
    elif name == "":
        errors.append("The contact name must be specified.")
    final_name: str = name or (doc["Name"] if doc else "")
    if final_name and len(final_name) > 255:
        errors.append("The contact name must be 255 characters or less.")
    final_status = status or (doc["ContactStatus"] if doc else "ACTIVE")
    if final_name and final_status == "ACTIVE":
        clash = db.execute("SELECT contact_id FROM contacts WHERE tenant_id=? AND name_key=? AND status='ACTIVE'"
                           " AND contact_id != ?", (tenant_id, name_key(final_name),
                                                     doc["ContactID"] if doc else "")).fetchone()
        if clash:
            errors.append(duplicate_name_message(final_name))
    if errors:
        echo.update({"HasValidationErrors": True, "ValidationErrors": [{"Message": m} for m in errors]})
        return echo, errors, None
    if doc is None:
        doc = contact_doc(str(uuid.uuid4()), final_name, now_ms, IsCustomer=False, IsSupplier=False)
        event = "CREATE"
    else:
        event = "UPDATE"
    doc["Name"] = final_name
    doc["ContactStatus"] = final_status
    for key, v in values.items():
        if v == "":
            doc.pop(key, None)
        else:
            doc[key] = v
    for spec, changes in typed:
        doc[spec.key] = merge_typed(doc.get(spec.key) or [], spec, changes)
    doc["UpdatedDateUTC"] = ms_date(now_ms)
    db.execute("INSERT OR REPLACE INTO contacts (contact_id, tenant_id, name_key, status, contact_number,"
               " updated_ms, doc) VALUES (?,?,?,?,?,?,?)",
               (doc["ContactID"], tenant_id, name_key(doc["Name"]), doc["ContactStatus"], doc.get("ContactNumber"),
                now_ms, json.dumps(doc)))
    queue_event(db, tenant_id, "CONTACT", event, doc["ContactID"], now_ms)
    return doc, [], event


def _write_contacts(url_ident: str | None = None) -> Response:
    return CONTACTS.write_response(lambda db, el, path, now: save_contact(
        db, g.tenant_id, el, path, now, url_ident))


@bp.route("/Contacts", methods=["POST", "PUT"])
@requires(CONTACTS_WRITE)
@idempotent
def write_contacts() -> Response:
    return _write_contacts()


@bp.route("/Contacts/<ident>", methods=["POST"])
@requires(CONTACTS_WRITE)
@idempotent
def update_contact(ident: str) -> Response:
    return _write_contacts(url_ident=ident)
