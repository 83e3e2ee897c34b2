"""Invoices: list/get, create/update in batches, Xero's validation and status rules, totals."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from flask import Response, g, request

from .accounting import INVOICES_READ, INVOICES_WRITE, accounting_blueprint, ok, requires
from .bodies import _invalid, get_enum, get_list, get_obj, get_str, get_uuid, sub
from .idempotency import idempotent
from .invoice_docs import HAS_PAYMENTS, has_payments, org_today, set_totals
from .invoice_lines import price_lines
from .listing import apply_order, paginate, sql_page
from .params import arg_bool, arg_csv, arg_guids, arg_int, if_modified_since
from .records import CONTACTS, INVOICES
from .sandbox import Sandbox, get_sandbox
from .seed import contact_doc, insert_contact, name_key
from .webhooks import queue_event
from .where import compile_where, sql_filter
from .xerojson import date_string, ms_date, ms_from_date, parse_request_date

bp = accounting_blueprint("invoices", __name__)

TYPES = ("ACCPAY", "ACCPAYCREDIT", "APOVERPAYMENT", "APPREPAYMENT", "ACCREC", "ACCRECCREDIT", "AROVERPAYMENT",
         "ARPREPAYMENT")
STATUSES = ("DRAFT", "SUBMITTED", "DELETED", "AUTHORISED", "PAID", "VOIDED")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
TRANSITIONS = {
    "DRAFT": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "SUBMITTED": {"DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"},
    "AUTHORISED": {"AUTHORISED", "VOIDED"},
    "PAID": {"PAID"},
    "VOIDED": set(),
    "DELETED": set(),
}
INVOICE_FIELDS = {"Type", "InvoiceID", "InvoiceNumber", "Reference", "Status", "Contact", "Date", "DueDate",
                  "LineAmountTypes", "SubTotal", "TotalTax", "Total", "AmountDue", "AmountPaid", "CurrencyCode",
                  "BrandingThemeID", "UpdatedDateUTC", "SentToContact", "HasAttachments"}
NOT_VALID_FOR_MODIFICATION = "Invoice not of valid status for modification"


def _date(el: dict, key: str, path: str) -> dt.date | None:
    v = el.get(key)
    if v is None or v == "":
        return None
    d = parse_request_date(v)
    if d is None:
        raise _invalid(f"Could not convert string to DateTime: {v}.", sub(path, key))
    return d


def _contact_summary(doc: dict) -> dict:
    out = {"ContactID": doc["ContactID"]}
    for k in ("ContactNumber", "AccountNumber", "ContactStatus", "Name", "EmailAddress"):
        if k in doc:
            out[k] = doc[k]
    out["HasValidationErrors"] = False
    return out


@dataclass(frozen=True)
class InvoiceInput:
    """An invoice element's fields, type-checked the way Xero's deserialiser reads them, not yet validated."""

    type: str | None
    status: str | None
    amount_types: str | None
    contact: dict | None
    date: dt.date | None
    due: dt.date | None
    number: str | None
    reference: str | None
    url: str | None
    theme_id: str | None
    currency: str | None
    lines: list | None
    unitdp: int


def _read_input(el: dict, path: str) -> InvoiceInput:
    """The element's fields, read in Xero's order: the first wrongly typed one is a 400 PostDataInvalid."""
    return InvoiceInput(
        type=get_enum(el, "Type", path, TYPES, "InvoiceType"),
        status=get_enum(el, "Status", path, STATUSES, "InvoiceStatus"),
        amount_types=get_str(el, "LineAmountTypes", path),
        contact=get_obj(el, "Contact", path),
        date=_date(el, "Date", path),
        due=_date(el, "DueDate", path),
        number=get_str(el, "InvoiceNumber", path),
        reference=get_str(el, "Reference", path),
        url=get_str(el, "Url", path),
        theme_id=get_uuid(el, "BrandingThemeID", path),
        currency=get_str(el, "CurrencyCode", path),
        lines=get_list(el, "LineItems", path),
        unitdp=4 if request.args.get("unitdp") == "4" else 2,
    )


def _amount_types(inp: InvoiceInput, old: dict | None, errors: list[str]) -> str:
    """The invoice's LineAmountTypes: the element's (any case) or else the old invoice's, Exclusive by default; an
    unknown value is a validation error (and the lines are priced Exclusive meanwhile)."""
    if inp.amount_types is None:
        return old["LineAmountTypes"] if old else "Exclusive"
    for known in LINE_AMOUNT_TYPES:
        if known.lower() == inp.amount_types.strip().lower():
            return known
    errors.append(f"LineAmountTypes '{inp.amount_types}' is not valid: use Exclusive, Inclusive or NoTax.")
    return old["LineAmountTypes"] if old else "Exclusive"


def _echo(inp: InvoiceInput, old: dict | None, amount_types: str) -> dict[str, Any]:
    """What an invalid element reports back: the fields it sent as read (an invalid LineAmountTypes left out) and
    the id of the invoice it updates."""
    echo: dict[str, Any] = {"Type": inp.type, "InvoiceNumber": inp.number, "Reference": inp.reference,
                            "Status": inp.status}
    if inp.amount_types is not None and inp.amount_types.strip().lower() == amount_types.lower():
        echo["LineAmountTypes"] = amount_types
    echo = {k: v for k, v in echo.items() if v is not None}
    if old:
        echo["InvoiceID"] = old["InvoiceID"]
    return echo


def _check_paid_change(inp: InvoiceInput, new_status: str, errors: list[str]) -> None:
    """An invoice with a payment keeps its contact, lines and amounts, and cannot be voided."""
    if new_status == "VOIDED" or inp.lines is not None or inp.contact is not None or inp.amount_types is not None:
        errors.append(HAS_PAYMENTS)


def _type_and_status(inp: InvoiceInput, old: dict | None, errors: list[str]) -> tuple[str | None, str]:
    """The invoice's type and new status: a new invoice needs a supported type and may not start DELETED,
    VOIDED or PAID; an existing one keeps its type and moves only along TRANSITIONS."""
    if old is None:
        inv_type = inp.type or None
        if inv_type is None:
            errors.append("Invoice Type must be specified.")
        elif inv_type not in ("ACCREC", "ACCPAY"):
            errors.append(f"Invoice type {inv_type} is not supported by the sandbox (ACCREC and ACCPAY only).")
        if inp.status in ("DELETED", "VOIDED", "PAID"):
            errors.append(f"Invoice Status {inp.status} is not valid for a new invoice.")
        return inv_type, inp.status or "DRAFT"
    if inp.type and inp.type != old["Type"]:
        errors.append("The Type of an existing invoice cannot be changed.")
    new_status = inp.status or old["Status"]
    if new_status not in TRANSITIONS[old["Status"]]:
        if old["Status"] == "AUTHORISED" and new_status == "DELETED":
            errors.append(f"{NOT_VALID_FOR_MODIFICATION}: an AUTHORISED invoice can be VOIDED, not DELETED.")
        else:
            errors.append(f"{NOT_VALID_FOR_MODIFICATION}: it is {old['Status']}.")
    return old["Type"], new_status


def _resolve_contact(db, tenant_id: str, c: dict, path: str, errors: list[str]) -> tuple[dict | None, str | None]:
    """(contact document, None) by ContactID, ContactNumber or Name, or (None, name) for an unknown Name:
    Xero creates that contact when the invoice is saved."""
    cpath = sub(path, "Contact")
    cid = get_uuid(c, "ContactID", cpath)
    number = get_str(c, "ContactNumber", cpath)
    name = get_str(c, "Name", cpath)
    row = None
    if cid:
        row = CONTACTS.find(db, tenant_id, cid)
        if row is None:
            errors.append("The contact with the specified ContactID could not be found")
            return None, None
    elif number:
        row = CONTACTS.find(db, tenant_id, number)
    if row is None and not cid and name and name.strip():
        row = db.execute("SELECT * FROM contacts WHERE tenant_id=? AND name_key=? ORDER BY status='ACTIVE' DESC",
                         (tenant_id, name_key(name))).fetchone()
        if row is None:
            return None, " ".join(name.split())
    if row is None:
        errors.append("A Contact must be specified for this type of transaction")
        return None, None
    doc = json.loads(row["doc"])
    if doc["ContactStatus"] != "ACTIVE":
        errors.append(f"The contact '{doc['Name']}' is archived and cannot be used on this transaction.")
    return doc, None


def _contact(db, tenant_id: str, inp: InvoiceInput, path: str, old: dict | None, status_change_only: bool,
             errors: list[str]) -> tuple[dict | None, str | None]:
    """The element's contact (see _resolve_contact); a new invoice must name one, an update may keep its own."""
    if inp.contact is not None and not status_change_only:
        return _resolve_contact(db, tenant_id, inp.contact, path, errors)
    if old is None:
        errors.append("A Contact must be specified for this type of transaction")
    return None, None


def _branding_theme(db, tenant_id: str, theme_id: str, errors: list[str]) -> dict | None:
    """The organisation's branding theme `theme_id`, or None (and an error) when it has none by that id."""
    row = db.execute("SELECT doc FROM branding_themes WHERE tenant_id=? AND theme_id=?",
                     (tenant_id, theme_id)).fetchone()
    if row is None:
        errors.append(f"BrandingThemeID {theme_id} is not a valid branding theme for this organisation.")
        return None
    return json.loads(row["doc"])


def _unique_number(db, tenant_id: str, number: str, inv_type: str | None, old: dict | None,
                   errors: list[str]) -> str:
    """The InvoiceNumber trimmed; an ACCREC number must not be another ACCREC invoice's."""
    number = number.strip()
    if number and inv_type == "ACCREC":
        clash = db.execute("SELECT 1 FROM invoices WHERE tenant_id=? AND invoice_number=? AND invoice_id != ?"
                           " AND json_extract(doc, '$.Type')='ACCREC'",
                           (tenant_id, number, old["InvoiceID"] if old else "")).fetchone()
        if clash:
            errors.append("Invoice # must be unique.")
    return number


def _check_header(db, tenant_id: str, inp: InvoiceInput, inv_type: str | None, old: dict | None,
                  status_change_only: bool, errors: list[str]) -> tuple[dict | None, str | None]:
    """CurrencyCode, Reference, BrandingThemeID and InvoiceNumber. Returns (theme document, number to store)."""
    if inp.currency and inp.currency.upper() != "GBP":
        errors.append(f"The currency code {inp.currency} is not enabled for this organisation.")
    if inp.reference and len(inp.reference) > 255:
        errors.append("Reference must be 255 characters or less.")
    theme_doc = None
    if inp.theme_id and not status_change_only:
        theme_doc = _branding_theme(db, tenant_id, inp.theme_id, errors)
    number = inp.number
    if number is not None and not status_change_only:
        number = _unique_number(db, tenant_id, number, inv_type, old, errors)
    return theme_doc, number


def _final_lines(db, tenant_id: str, inv_type: str | None, inp: InvoiceInput, path: str, old: dict | None,
                 final_types: str, status_change_only: bool, errors: list[str]) -> list[dict]:
    """The invoice's lines: the element's, else the old ones re-priced when LineAmountTypes changes, else the
    old ones as they are."""
    if inp.lines is not None and not status_change_only:
        return price_lines(db, tenant_id, inv_type, inp.lines, path, final_types, old.get("LineItems") if old else None,
                      errors, inp.unitdp)
    if old is not None and inp.amount_types and inp.amount_types != old["LineAmountTypes"]:
        return price_lines(db, tenant_id, inv_type, old["LineItems"], path, final_types, old["LineItems"], errors,
                      inp.unitdp)
    return old["LineItems"] if old else []


def _final_dates(sandbox: Sandbox, inp: InvoiceInput, old: dict | None) -> tuple[dt.date, dt.date | None]:
    """(Date, DueDate): the element's, else the old invoice's; Date defaults to the organisation's today."""
    date = inp.date or (dt.date.fromisoformat(old["DateString"][:10]) if old else org_today(sandbox))
    due = inp.due or (dt.date.fromisoformat(old["DueDateString"][:10]) if old and old.get("DueDateString")
                      else None)
    return date, due


def _check_ready(lines: list[dict], due: dt.date | None, errors: list[str]) -> None:
    """What SUBMITTED and AUTHORISED need: line items, a due date and an account code on every line."""
    if not lines:
        errors.append("An invoice must have at least one line item to be submitted or approved.")
    if due is None:
        errors.append("Due Date must be specified.")
    for line in lines:
        if not line.get("AccountCode"):
            errors.append("Account code must be specified for each line item.")
            break


def _with_errors(echo: dict[str, Any], errors: list[str], contact: dict | None) -> dict[str, Any]:
    """The echo of an invalid element: HasErrors, each message once, and the contact it resolved to."""
    echo["HasErrors"] = True
    echo["ValidationErrors"] = [{"Message": m} for m in dict.fromkeys(errors)]
    if contact:
        echo["Contact"] = _contact_summary(contact)
    return echo


def _save_contact(db, tenant_id: str, inv_type: str | None, contact: dict | None, new_name: str | None,
                  now_ms: int) -> dict | None:
    """Create the contact an unknown Name asked for; the contact of an ACCREC invoice becomes a customer."""
    if new_name:
        contact = contact_doc(str(uuid.uuid4()), new_name, now_ms, IsCustomer=inv_type == "ACCREC",
                              IsSupplier=inv_type == "ACCPAY")
        insert_contact(db, tenant_id, contact, now_ms)
        queue_event(db, tenant_id, "CONTACT", "CREATE", contact["ContactID"], now_ms)
    if contact and inv_type == "ACCREC" and not contact.get("IsCustomer"):
        contact["IsCustomer"] = True
        db.execute("UPDATE contacts SET doc=? WHERE contact_id=?", (json.dumps(contact), contact["ContactID"]))
    return contact


def _new_doc(inv_type: str | None) -> dict[str, Any]:
    """A new invoice's document before its fields are set."""
    return {"Type": inv_type, "InvoiceID": str(uuid.uuid4()), "InvoiceNumber": "", "Reference": "", "Payments": [],
            "CreditNotes": [], "Prepayments": [], "Overpayments": [], "AmountDue": 0.0, "AmountPaid": 0.0,
            "AmountCredited": 0.0, "CurrencyRate": 1.0, "IsDiscounted": False, "HasAttachments": False,
            "HasErrors": False, "SentToContact": False}


def _next_number(db, tenant_id: str) -> str:
    """The organisation's next unused INV-nnnn number; advances its sequence."""
    seq = db.execute("SELECT invoice_seq FROM orgs WHERE tenant_id=?", (tenant_id,)).fetchone()[0]
    while True:
        seq += 1
        number = f"INV-{seq:04d}"
        if db.execute("SELECT 1 FROM invoices WHERE tenant_id=? AND invoice_number=?",
                      (tenant_id, number)).fetchone() is None:
            break
    db.execute("UPDATE orgs SET invoice_seq=? WHERE tenant_id=?", (seq, tenant_id))
    return number


def _set_header(doc: dict, number: str | None, inp: InvoiceInput, contact: dict | None, date: dt.date,
                due: dt.date | None) -> None:
    """InvoiceNumber, Reference, Url, Contact, Date and DueDate, each only when there is a value to set."""
    if number is not None:
        doc["InvoiceNumber"] = number
    if inp.reference is not None:
        doc["Reference"] = inp.reference
    if inp.url is not None:
        doc["Url"] = inp.url
    if contact:
        doc["Contact"] = _contact_summary(contact)
    doc["DateString"] = date_string(date)
    doc["Date"] = ms_date(ms_from_date(date))
    if due:
        doc["DueDateString"] = date_string(due)
        doc["DueDate"] = ms_date(ms_from_date(due))


def _set_branding_theme(db, tenant_id: str, doc: dict, theme_doc: dict | None) -> None:
    """The given theme, else the one the invoice has, else the organisation's default (lowest SortOrder)."""
    if theme_doc:
        doc["BrandingThemeID"] = theme_doc["BrandingThemeID"]
    elif "BrandingThemeID" not in doc:
        row = db.execute("SELECT theme_id FROM branding_themes WHERE tenant_id=? ORDER BY sort_order LIMIT 1",
                         (tenant_id,)).fetchone()
        if row:
            doc["BrandingThemeID"] = row["theme_id"]


def _persist(db, tenant_id: str, doc: dict, existing, client_id: str, now_ms: int, event: str) -> None:
    """Write the invoice (keeping its creation time and creating app) and queue its webhook event."""
    db.execute("INSERT OR REPLACE INTO invoices (invoice_id, tenant_id, invoice_number, status, contact_id,"
               " created_ms, updated_ms, client_id, doc) VALUES (?,?,?,?,?,?,?,?,?)",
               (doc["InvoiceID"], tenant_id, doc.get("InvoiceNumber"), doc["Status"],
                doc.get("Contact", {}).get("ContactID"), existing["created_ms"] if existing else now_ms, now_ms,
                existing["client_id"] if existing else client_id, json.dumps(doc)))
    queue_event(db, tenant_id, "INVOICE", event, doc["InvoiceID"], now_ms)


def save_invoice(db, sandbox: Sandbox, tenant_id: str, el: dict, path: str, now_ms: int, client_id: str,
                 url_ident: str | None = None) -> tuple[dict, list[str], str | None]:
    """Validate and write one invoice element. Returns (doc, errors, event_type); on errors, doc is the echo
    and nothing is written."""
    errors: list[str] = []
    existing = INVOICES.existing(db, tenant_id, el, path, url_ident, errors)
    old = json.loads(existing["doc"]) if existing else None
    inp = _read_input(el, path)
    inv_type, new_status = _type_and_status(inp, old, errors)
    # Status-only changes (void, delete) leave everything else as it was.
    status_change_only = old is not None and new_status in ("VOIDED", "DELETED")
    if old is not None and has_payments(old):
        _check_paid_change(inp, new_status, errors)
    contact, new_contact_name = _contact(db, tenant_id, inp, path, old, status_change_only, errors)
    theme_doc, number = _check_header(db, tenant_id, inp, inv_type, old, status_change_only, errors)
    final_types = _amount_types(inp, old, errors)
    echo = _echo(inp, old, final_types)
    lines = _final_lines(db, tenant_id, inv_type, inp, path, old, final_types, status_change_only, errors)
    date, due = _final_dates(sandbox, inp, old)
    if new_status in ("SUBMITTED", "AUTHORISED") and not status_change_only:
        _check_ready(lines, due, errors)
    if errors:
        return _with_errors(echo, errors, contact), errors, None

    contact = _save_contact(db, tenant_id, inv_type, contact, new_contact_name, now_ms)
    doc = dict(old) if old else _new_doc(inv_type)
    if old is None and inv_type == "ACCREC" and not number:
        number = _next_number(db, tenant_id)
    _set_header(doc, number, inp, contact, date, due)
    _set_branding_theme(db, tenant_id, doc, theme_doc)
    doc["Status"] = new_status
    doc["LineAmountTypes"] = final_types
    doc["LineItems"] = lines
    set_totals(doc, lines, final_types, new_status)
    doc["CurrencyCode"] = "GBP"
    doc["UpdatedDateUTC"] = ms_date(now_ms)
    event = "UPDATE" if old else "CREATE"
    _persist(db, tenant_id, doc, existing, client_id, now_ms, event)
    return doc, [], event


def _write_invoices(url_ident: str | None = None) -> Response:
    sandbox = get_sandbox()
    return INVOICES.write_response(lambda db, el, path, now: save_invoice(
        db, sandbox, g.tenant_id, el, path, now, g.client_id, url_ident))


@bp.route("/Invoices", methods=["POST", "PUT"])
@requires(INVOICES_WRITE)
@idempotent
def write_invoices() -> Response:
    return _write_invoices()


@bp.route("/Invoices/<ident>", methods=["POST"])
@requires(INVOICES_WRITE)
@idempotent
def update_invoice(ident: str) -> Response:
    return _write_invoices(url_ident=ident)


# `where` comparisons SQLite can answer from plain columns (see where.sql_filter)
INVOICE_COLUMNS = {("Status",): "status", ("InvoiceID",): "invoice_id", ("Contact", "ContactID"): "contact_id"}


@bp.route("/Invoices", methods=["GET"])
@requires(INVOICES_READ)
def list_invoices() -> Response:
    sandbox = get_sandbox()
    sql, params = "FROM invoices WHERE tenant_id=?", [g.tenant_id]
    ims = if_modified_since()
    if ims is not None:
        sql += " AND updated_ms >= ?"
        params.append(ims)
    ids = arg_guids("IDs")
    numbers = arg_csv("InvoiceNumbers")
    contact_ids = arg_guids("ContactIDs")
    statuses = [s.upper() for s in arg_csv("Statuses")]
    pred = compile_where(request.args.get("where"), INVOICE_FIELDS)
    term = (request.args.get("searchTerm") or "").strip().casefold()
    order = request.args.get("order")
    page = arg_int("page")
    pushed = sql_filter(pred, INVOICE_COLUMNS)
    if pushed is not None and not term and not order:
        # All filters as SQL (the columns hold the documents' values); the default order is
        # (created_ms, InvoiceNumber), ties in the index scan order the fallback path keeps: (updated_ms, rowid).
        where = sql + pushed[0]
        params = params + pushed[1]
        for column, values in (("invoice_id", sorted(set(ids))),
                               ("invoice_number", numbers), ("contact_id", contact_ids), ("status", statuses)):
            if values:
                where += f" AND {column} IN ({','.join('?' * len(values))})"
                params.extend(values)
        if arg_bool("createdByMyApp"):
            where += " AND client_id IS ?"
            params.append(g.client_id)
        rows, pagination = sql_page(sandbox.store, "doc", where, params,
                                    "created_ms, invoice_number, updated_ms, rowid", page, arg_int("pageSize"))
        docs = [json.loads(r["doc"]) for r in rows]
    else:
        rows = sandbox.store.query("SELECT doc, created_ms, client_id " + sql, params)
        if arg_bool("createdByMyApp"):
            rows = [r for r in rows if r["client_id"] == g.client_id]
        order_key = {}
        docs = []
        for r in rows:
            d = json.loads(r["doc"])
            order_key[d["InvoiceID"]] = r["created_ms"]
            docs.append(d)
        if ids:
            docs = [d for d in docs if d["InvoiceID"] in ids]
        if numbers:
            docs = [d for d in docs if d.get("InvoiceNumber") in numbers]
        if contact_ids:
            docs = [d for d in docs if d.get("Contact", {}).get("ContactID") in contact_ids]
        if statuses:
            docs = [d for d in docs if d["Status"] in statuses]
        if pred:
            docs = [d for d in docs if pred(d)]
        if term:
            docs = [d for d in docs if term in (d.get("InvoiceNumber") or "").casefold()
                    or term in (d.get("Reference") or "").casefold()]
        docs = apply_order(docs, order, lambda d: (order_key[d["InvoiceID"]], d["InvoiceNumber"]), INVOICE_FIELDS,
                           "Invoice")
        docs, pagination = paginate(docs, page, arg_int("pageSize"))
    # Xero leaves line items out of multi-invoice responses unless paging or asking by id/number.
    with_lines = page is not None or bool(ids) or bool(numbers)
    if arg_bool("summaryOnly") or not with_lines:
        docs = [{k: v for k, v in d.items() if k not in ("LineItems", "Payments", "CreditNotes", "Prepayments",
                                                             "Overpayments")} for d in docs]
    return ok("Invoices", docs, pagination)


@bp.route("/Invoices/<ident>", methods=["GET"])
@requires(INVOICES_READ)
def get_invoice(ident: str) -> Response:
    return INVOICES.get_response(ident)
