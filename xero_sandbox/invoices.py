"""Invoices: list/get, create/update in batches, Xero's validation and status rules, totals."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from flask import g, request

from . import seed
from .api import (INVOICES_READ, INVOICES_WRITE, apply_order, arg_bool, arg_int, bp, idempotent,
                  if_modified_since, ok, paginate, queue_event, requires, sql_page)
from .app import get_sandbox
from .bodies import _invalid, get_decimal, get_enum, get_list, get_obj, get_str, get_uuid, is_uuid, sub
from .records import CONTACTS, INVOICES
from .seed import name_key
from .where import compile_where, sql_filter
from .xerojson import XeroError, date_string, money, ms_date, ms_from_date, parse_request_date

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
CENT = Decimal("0.01")
NOT_VALID_FOR_MODIFICATION = "Invoice not of valid status for modification"


def q2(d: Decimal) -> Decimal:
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def org_today(sandbox) -> dt.date:
    return dt.datetime.fromtimestamp(sandbox.now(), ZoneInfo("Europe/London")).date()


def _date(el, key, path):
    v = el.get(key)
    if v is None or v == "":
        return None
    d = parse_request_date(v)
    if d is None:
        raise _invalid(f"Could not convert string to DateTime: {v}.", sub(path, key))
    return d


def _contact_summary(doc):
    out = {"ContactID": doc["ContactID"]}
    for k in ("ContactNumber", "AccountNumber", "ContactStatus", "Name", "EmailAddress"):
        if k in doc:
            out[k] = doc[k]
    out["HasValidationErrors"] = False
    return out


def _resolve_contact(db, tenant_id, c, path, errors):
    """Contact by ContactID, ContactNumber or Name (Xero creates a contact for an unknown name)."""
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
            return None, {"new_name": " ".join(name.split())}
    if row is None:
        errors.append("A Contact must be specified for this type of transaction")
        return None, None
    doc = json.loads(row["doc"])
    if doc["ContactStatus"] != "ACTIVE":
        errors.append(f"The contact '{doc['Name']}' is archived and cannot be used on this transaction.")
    return doc, None


def _lines(db, tenant_id, inv_type, lines, path, amount_types, old_lines, errors, unitdp):
    old_ids = {l.get("LineItemID") for l in old_lines or []}
    out = []
    accounts = {r["code"]: json.loads(r["doc"]) for r in db.execute(
        "SELECT code, doc FROM accounts WHERE tenant_id=?", (tenant_id,)).fetchall()}
    for i, line in enumerate(lines):
        lpath = f"{sub(path, 'LineItems')}[{i}]"
        if not isinstance(line, dict):
            raise _invalid(f"Error converting value {json.dumps(line, default=str)} to type 'LineItem'.", lpath)
        desc = get_str(line, "Description", lpath)
        qty = get_decimal(line, "Quantity", lpath)
        unit = get_decimal(line, "UnitAmount", lpath)
        given_amount = get_decimal(line, "LineAmount", lpath)
        disc = get_decimal(line, "DiscountRate", lpath)
        code = get_str(line, "AccountCode", lpath)
        tax_type = get_str(line, "TaxType", lpath)
        line_id = get_uuid(line, "LineItemID", lpath)
        if not desc or not desc.strip():
            errors.append("The description field is mandatory for each line item.")
        qty = Decimal(1) if qty is None else qty
        unit = Decimal(0) if unit is None else unit
        places = Decimal("0.0001") if unitdp == 4 else CENT
        unit = unit.quantize(places, rounding=ROUND_HALF_UP)
        amount = q2(qty * unit * (1 - (disc or Decimal(0)) / 100))
        if given_amount is not None and unit == 0 and "UnitAmount" not in line and qty:
            unit = (given_amount / qty).quantize(places, rounding=ROUND_HALF_UP)
            amount = q2(given_amount)
        elif given_amount is not None and q2(given_amount) != amount:
            errors.append(f"The line total {q2(given_amount)} does not match the expected line total {amount}")
        account = None
        if code is not None and code.strip():
            code = code.strip()
            account = accounts.get(code)
            if account is None or account["Type"] == "BANK":
                errors.append(f"Account code '{code}' is not a valid code for this document.")
                account = None
            elif account["Status"] != "ACTIVE":
                errors.append(f"Account code '{code}' has been archived, or deleted. "
                              "Each line item must reference a valid account.")
                account = None
            elif inv_type == "ACCREC" and account["Class"] != "REVENUE":
                errors.append(f"Account code '{code}' is not a valid code for this document.")
                account = None
        if amount_types == "NoTax":
            tax_type = "NONE"
        if tax_type is not None and tax_type.strip():
            tax_type = tax_type.strip().upper()
            rate_row = seed.TAX_BY_TYPE.get(tax_type)
            applies = rate_row[4] if rate_row else set()
            klass = account["Class"] if account else ("REVENUE" if inv_type == "ACCREC" else "EXPENSE")
            if rate_row is None or klass not in applies:
                errors.append(f"The TaxType code '{tax_type}' does not exist or cannot be used for this type "
                              "of transaction.")
                rate_row = None
        else:
            tax_type = account["TaxType"] if account else "NONE"
            rate_row = seed.TAX_BY_TYPE.get(tax_type)
        rate = Decimal(rate_row[2]) / 100 if rate_row else Decimal(0)
        if amount_types == "Inclusive":
            tax = q2(amount * rate / (1 + rate))
        else:
            tax = q2(amount * rate)
        item = {"LineItemID": line_id if line_id in old_ids else str(uuid.uuid4()),
                "Description": desc or "", "UnitAmount": float(unit), "TaxType": tax_type,
                "TaxAmount": money(tax), "LineAmount": money(amount), "Tracking": [], "Quantity": float(qty)}
        if code:
            item["AccountCode"] = code
        if account:
            item["AccountID"] = account["AccountID"]
        if disc:
            item["DiscountRate"] = float(disc)
        out.append(item)
    return out


def save_invoice(db, sandbox, tenant_id, el, path, now_ms, client_id, url_ident=None):
    errors = []
    existing = INVOICES.existing(db, tenant_id, el, path, url_ident, errors)
    old = json.loads(existing["doc"]) if existing else None
    inv_type = get_enum(el, "Type", path, TYPES, "InvoiceType")
    status = get_enum(el, "Status", path, STATUSES, "InvoiceStatus")
    amount_types = get_enum(el, "LineAmountTypes", path, LINE_AMOUNT_TYPES, "LineAmountType")
    contact_in = get_obj(el, "Contact", path)
    date = _date(el, "Date", path)
    due = _date(el, "DueDate", path)
    number = get_str(el, "InvoiceNumber", path)
    reference = get_str(el, "Reference", path)
    url = get_str(el, "Url", path)
    theme_id = get_uuid(el, "BrandingThemeID", path)
    currency = get_str(el, "CurrencyCode", path)
    lines_in = get_list(el, "LineItems", path)
    unitdp = 4 if request.args.get("unitdp") == "4" else 2

    echo = {k: el[k] for k in ("Type", "InvoiceNumber", "Reference", "Status", "LineAmountTypes")
            if isinstance(el.get(k), str)}
    if old:
        echo["InvoiceID"] = old["InvoiceID"]

    if old is None:
        inv_type = inv_type or None
        if inv_type is None:
            errors.append("Invoice Type must be specified.")
        elif inv_type not in ("ACCREC", "ACCPAY"):
            errors.append(f"Invoice type {inv_type} is not supported by the sandbox (ACCREC and ACCPAY only).")
        if status in ("DELETED", "VOIDED", "PAID"):
            errors.append(f"Invoice Status {status} is not valid for a new invoice.")
        new_status = status or "DRAFT"
    else:
        if inv_type and inv_type != old["Type"]:
            errors.append("The Type of an existing invoice cannot be changed.")
        inv_type = old["Type"]
        new_status = status or old["Status"]
        if new_status not in TRANSITIONS[old["Status"]]:
            if old["Status"] == "AUTHORISED" and new_status == "DELETED":
                errors.append(f"{NOT_VALID_FOR_MODIFICATION}: an AUTHORISED invoice can be VOIDED, not DELETED.")
            else:
                errors.append(f"{NOT_VALID_FOR_MODIFICATION}: it is {old['Status']}.")
    # Status-only changes (void, delete) leave everything else as it was.
    status_change_only = old is not None and new_status in ("VOIDED", "DELETED")

    contact = None
    new_contact = None
    if contact_in is not None and not status_change_only:
        contact, new_contact = _resolve_contact(db, tenant_id, contact_in, path, errors)
    elif old is None:
        errors.append("A Contact must be specified for this type of transaction")

    if currency and currency.upper() != "GBP":
        errors.append(f"The currency code {currency} is not enabled for this organisation.")
    if reference and len(reference) > 255:
        errors.append("Reference must be 255 characters or less.")
    theme_doc = None
    if theme_id and not status_change_only:
        row = db.execute("SELECT doc FROM branding_themes WHERE tenant_id=? AND theme_id=?",
                         (tenant_id, theme_id)).fetchone()
        if row is None:
            errors.append(f"BrandingThemeID {theme_id} is not a valid branding theme for this organisation.")
        else:
            theme_doc = json.loads(row["doc"])
    if number is not None and not status_change_only:
        number = number.strip()
        if number and inv_type == "ACCREC":
            clash = db.execute("SELECT 1 FROM invoices WHERE tenant_id=? AND invoice_number=? AND invoice_id != ?"
                               " AND json_extract(doc, '$.Type')='ACCREC'",
                               (tenant_id, number, old["InvoiceID"] if old else "")).fetchone()
            if clash:
                errors.append("Invoice # must be unique.")

    final_types = amount_types or (old["LineAmountTypes"] if old else "Exclusive")
    if lines_in is not None and not status_change_only:
        lines = _lines(db, tenant_id, inv_type, lines_in, path, final_types, old and old.get("LineItems"),
                       errors, unitdp)
    elif old is not None and amount_types and amount_types != old["LineAmountTypes"]:
        lines = _lines(db, tenant_id, inv_type, old["LineItems"], path, final_types, old["LineItems"], errors,
                       unitdp)
    else:
        lines = old["LineItems"] if old else []

    final_date = date or (dt.date.fromisoformat(old["DateString"][:10]) if old else org_today(sandbox))
    final_due = due or (dt.date.fromisoformat(old["DueDateString"][:10]) if old and old.get("DueDateString")
                        else None)
    if new_status in ("SUBMITTED", "AUTHORISED") and not status_change_only:
        if not lines:
            errors.append("An invoice must have at least one line item to be submitted or approved.")
        if final_due is None:
            errors.append("Due Date must be specified.")
        for line in lines:
            if not line.get("AccountCode"):
                errors.append("Account code must be specified for each line item.")
                break

    if errors:
        echo["HasErrors"] = True
        echo["ValidationErrors"] = [{"Message": m} for m in dict.fromkeys(errors)]
        if contact:
            echo["Contact"] = _contact_summary(contact)
        return echo, errors, None

    if new_contact:
        from .seed import contact_doc, insert_contact
        contact = contact_doc(str(uuid.uuid4()), new_contact["new_name"], now_ms, IsCustomer=inv_type == "ACCREC",
                              IsSupplier=inv_type == "ACCPAY")
        insert_contact(db, tenant_id, contact, now_ms)
        queue_event(db, tenant_id, "CONTACT", "CREATE", contact["ContactID"], now_ms)
    if contact and inv_type == "ACCREC" and not contact.get("IsCustomer"):
        contact["IsCustomer"] = True
        db.execute("UPDATE contacts SET doc=? WHERE contact_id=?", (json.dumps(contact), contact["ContactID"]))

    doc = dict(old) if old else {"Type": inv_type, "InvoiceID": str(uuid.uuid4()), "InvoiceNumber": "",
                                 "Reference": "", "Payments": [], "CreditNotes": [], "Prepayments": [],
                                 "Overpayments": [], "AmountDue": 0.0, "AmountPaid": 0.0, "AmountCredited": 0.0,
                                 "CurrencyRate": 1.0, "IsDiscounted": False, "HasAttachments": False,
                                 "HasErrors": False, "SentToContact": False}
    event = "UPDATE" if old else "CREATE"
    if old is None and inv_type == "ACCREC" and not number:
        seq = db.execute("SELECT invoice_seq FROM orgs WHERE tenant_id=?", (tenant_id,)).fetchone()[0]
        while True:
            seq += 1
            number = f"INV-{seq:04d}"
            if db.execute("SELECT 1 FROM invoices WHERE tenant_id=? AND invoice_number=?",
                          (tenant_id, number)).fetchone() is None:
                break
        db.execute("UPDATE orgs SET invoice_seq=? WHERE tenant_id=?", (seq, tenant_id))
    if number is not None:
        doc["InvoiceNumber"] = number
    if reference is not None:
        doc["Reference"] = reference
    if url is not None:
        doc["Url"] = url
    if contact:
        doc["Contact"] = _contact_summary(contact)
    doc["DateString"] = date_string(final_date)
    doc["Date"] = ms_date(ms_from_date(final_date))
    if final_due:
        doc["DueDateString"] = date_string(final_due)
        doc["DueDate"] = ms_date(ms_from_date(final_due))
    if theme_doc:
        doc["BrandingThemeID"] = theme_doc["BrandingThemeID"]
    elif "BrandingThemeID" not in doc:
        row = db.execute("SELECT theme_id FROM branding_themes WHERE tenant_id=? ORDER BY sort_order LIMIT 1",
                         (tenant_id,)).fetchone()
        if row:
            doc["BrandingThemeID"] = row["theme_id"]
    doc["Status"] = new_status
    doc["LineAmountTypes"] = final_types
    doc["LineItems"] = lines
    sub_total = sum(Decimal(str(l["LineAmount"])) for l in lines)
    total_tax = sum(Decimal(str(l["TaxAmount"])) for l in lines)
    if final_types == "Inclusive":
        sub_total -= total_tax
    total = sub_total + total_tax
    doc["SubTotal"], doc["TotalTax"], doc["Total"] = money(sub_total), money(total_tax), money(total)
    doc["AmountDue"] = money(total - Decimal(str(doc.get("AmountPaid", 0))))
    if new_status in ("VOIDED", "DELETED"):
        doc["AmountDue"] = 0.0
    doc["CurrencyCode"] = "GBP"
    doc["UpdatedDateUTC"] = ms_date(now_ms)
    db.execute("INSERT OR REPLACE INTO invoices (invoice_id, tenant_id, invoice_number, status, contact_id,"
               " created_ms, updated_ms, client_id, doc) VALUES (?,?,?,?,?,?,?,?,?)",
               (doc["InvoiceID"], tenant_id, doc.get("InvoiceNumber"), new_status,
                doc.get("Contact", {}).get("ContactID"), existing["created_ms"] if existing else now_ms, now_ms,
                existing["client_id"] if existing else client_id, json.dumps(doc)))
    queue_event(db, tenant_id, "INVOICE", event, doc["InvoiceID"], now_ms)
    return doc, [], event


def _write_invoices(url_ident=None):
    sandbox = get_sandbox()
    return INVOICES.write_response(lambda db, el, path, now: save_invoice(
        db, sandbox, g.tenant_id, el, path, now, g.client_id, url_ident))


@bp.route("/Invoices", methods=["POST", "PUT"])
@requires(INVOICES_WRITE)
@idempotent
def write_invoices():
    return _write_invoices()


@bp.route("/Invoices/<ident>", methods=["POST"])
@requires(INVOICES_WRITE)
@idempotent
def update_invoice(ident):
    return _write_invoices(url_ident=ident)


def _csv(name):
    v = request.args.get(name)
    return [x.strip().strip('"') for x in v.split(",") if x.strip()] if v else []


# `where` comparisons SQLite can answer from plain columns (see where.sql_filter)
INVOICE_COLUMNS = {("Status",): "status", ("InvoiceID",): "invoice_id", ("Contact", "ContactID"): "contact_id"}


@bp.route("/Invoices", methods=["GET"])
@requires(INVOICES_READ)
def list_invoices():
    sandbox = get_sandbox()
    sql, params = "FROM invoices WHERE tenant_id=?", [g.tenant_id]
    ims = if_modified_since()
    if ims is not None:
        sql += " AND updated_ms >= ?"
        params.append(ims)
    ids = _csv("IDs")
    if ids and not all(is_uuid(i) for i in ids):
        raise XeroError(400, {"ErrorNumber": 16, "Type": "QueryParseException",
                              "Message": "IDs must be a comma separated list of GUIDs"})
    numbers = _csv("InvoiceNumbers")
    contact_ids = [c.lower() for c in _csv("ContactIDs")]
    statuses = [s.upper() for s in _csv("Statuses")]
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
        for column, values in (("invoice_id", sorted({str(uuid.UUID(i)) for i in ids})),
                               ("invoice_number", numbers), ("contact_id", contact_ids), ("status", statuses)):
            if values:
                where += " AND %s IN (%s)" % (column, ",".join("?" * len(values)))
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
            wanted = {str(uuid.UUID(i)) for i in ids}
            docs = [d for d in docs if d["InvoiceID"] in wanted]
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
        docs = apply_order(docs, order, lambda d: (order_key[d["InvoiceID"]], d["InvoiceNumber"]))
        docs, pagination = paginate(docs, page, arg_int("pageSize"))
    # Xero leaves line items out of multi-invoice responses unless paging or asking by id/number.
    with_lines = page is not None or bool(ids) or bool(numbers)
    if arg_bool("summaryOnly") or not with_lines:
        docs = [{k: v for k, v in d.items() if k not in ("LineItems", "Payments", "CreditNotes", "Prepayments",
                                                             "Overpayments")} for d in docs]
    return ok("Invoices", docs, pagination)


@bp.route("/Invoices/<ident>", methods=["GET"])
@requires(INVOICES_READ)
def get_invoice(ident):
    return INVOICES.get_response(ident)
