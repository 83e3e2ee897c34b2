"""Invoice documents beyond one API element: their totals, the organisation's today, and what a person does to an
invoice inside Xero (pay it, void it, edit a line), each a change that bumps UpdatedDateUTC and queues an
INVOICE UPDATE event."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from .bodies import MAX_DECIMAL
from .invoice_lines import price_lines, q2
from .sandbox import Sandbox
from .webhooks import queue_event
from .xerojson import money, ms_date, ms_from_date, parse_request_date

HAS_PAYMENTS = "This document cannot be edited as it has a payment or credit note allocated to it."


class ChangeRefused(Exception):
    """A change Xero would not let a person make either; the message says why."""


def org_today(sandbox: Sandbox) -> dt.date:
    """Today in the organisation's time zone (Europe/London for every sandbox organisation)."""
    return dt.datetime.fromtimestamp(sandbox.now(), ZoneInfo("Europe/London")).date()


def has_payments(doc: dict) -> bool:
    return bool(doc.get("Payments")) or Decimal(str(doc.get("AmountPaid") or 0)) > 0


def set_totals(doc: dict, lines: list[dict], amount_types: str, status: str) -> None:
    """SubTotal, TotalTax, Total and AmountDue from the lines (Inclusive line amounts contain their tax) and
    AmountPaid; a VOIDED or DELETED invoice has nothing due."""
    sub_total = sum((Decimal(str(line["LineAmount"])) for line in lines), Decimal(0))
    total_tax = sum((Decimal(str(line["TaxAmount"])) for line in lines), Decimal(0))
    if amount_types == "Inclusive":
        sub_total -= total_tax
    total = sub_total + total_tax
    doc["SubTotal"], doc["TotalTax"], doc["Total"] = money(sub_total), money(total_tax), money(total)
    doc["AmountDue"] = money(total - Decimal(str(doc.get("AmountPaid", 0))))
    if status in ("VOIDED", "DELETED"):
        doc["AmountDue"] = 0.0


# change(db, tenant_id, invoice document, now_ms): mutates the document or raises ChangeRefused
Change = Callable[[Any, str, dict, int], None]


def change_invoice(sandbox: Sandbox, invoice_id: str, change: Change) -> dict | None:
    """Apply `change` to the invoice in one transaction, bump its UpdatedDateUTC and queue an INVOICE UPDATE
    event. Returns the new document, or None when there is no such invoice; ChangeRefused writes nothing."""
    now = sandbox.now_ms()
    with sandbox.store.tx() as db:
        row = db.execute("SELECT tenant_id, doc FROM invoices WHERE invoice_id=?",
                         (invoice_id.strip().lower(),)).fetchone()
        if row is None:
            return None
        doc = json.loads(row["doc"])
        change(db, row["tenant_id"], doc, now)
        doc["UpdatedDateUTC"] = ms_date(now)
        db.execute("UPDATE invoices SET doc=?, status=?, invoice_number=?, updated_ms=? WHERE invoice_id=?",
                   (json.dumps(doc), doc["Status"], doc.get("InvoiceNumber"), now, doc["InvoiceID"]))
        queue_event(db, row["tenant_id"], "INVOICE", "UPDATE", doc["InvoiceID"], now)
    return doc


def _decimal(value: object, name: str) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise ChangeRefused(f"{name} must be a number") from None
    if not d.is_finite() or abs(d) >= MAX_DECIMAL:
        raise ChangeRefused(f"{name} must be a number")
    return d


def pay(sandbox: Sandbox, amount: object = None, date: object = None, reference: object = None) -> Change:
    """Record a payment of `amount` (default: all that is due) on an AUTHORISED invoice: a Payments entry,
    AmountPaid and AmountDue; fully paid, the invoice becomes PAID with its FullyPaidOnDate."""
    def change(db, tenant_id: str, doc: dict, now_ms: int) -> None:
        if doc["Status"] != "AUTHORISED":
            raise ChangeRefused(f"only an AUTHORISED invoice can be paid; this one is {doc['Status']}")
        due = Decimal(str(doc["AmountDue"]))
        paid = due if amount is None else q2(_decimal(amount, "amount"))
        if paid <= 0 or paid > due:
            raise ChangeRefused(f"the amount must be more than 0 and at most the {due:.2f} due")
        day = org_today(sandbox) if date is None else parse_request_date(date)
        if day is None:
            raise ChangeRefused("date must be YYYY-MM-DD")
        paid_on = ms_date(ms_from_date(day))
        doc.setdefault("Payments", []).append({
            "PaymentID": str(uuid.uuid4()), "Date": paid_on, "Amount": money(paid),
            "Reference": "" if reference is None else str(reference), "CurrencyRate": 1.0, "HasAccount": False,
            "HasValidationErrors": False})
        doc["AmountPaid"] = money(Decimal(str(doc.get("AmountPaid") or 0)) + paid)
        doc["AmountDue"] = money(due - paid)
        if due == paid:
            doc["Status"] = "PAID"
            doc["FullyPaidOnDate"] = paid_on
    return change


def void(db, tenant_id: str, doc: dict, now_ms: int) -> None:
    """Void an AUTHORISED invoice without payments: VOIDED, nothing due."""
    if doc["Status"] != "AUTHORISED":
        raise ChangeRefused(f"only an AUTHORISED invoice can be voided; this one is {doc['Status']}")
    if has_payments(doc):
        raise ChangeRefused("remove the invoice's payments before voiding it")
    doc["Status"] = "VOIDED"
    doc["AmountDue"] = 0.0


def edit(line: object = 0, description: object = None, quantity: object = None, unit_amount: object = None,
         reference: object = None) -> Change:
    """Edit one line (its description, quantity or unit amount, re-priced with its account and tax type) and/or
    the Reference of a DRAFT, SUBMITTED or AUTHORISED invoice without payments; the status stays."""
    def change(db, tenant_id: str, doc: dict, now_ms: int) -> None:
        if doc["Status"] not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            raise ChangeRefused(f"a {doc['Status']} invoice cannot be edited")
        if has_payments(doc):
            raise ChangeRefused(HAS_PAYMENTS)
        if reference is not None:
            doc["Reference"] = str(reference)
        if description is None and quantity is None and unit_amount is None:
            return
        lines = [dict(item) for item in doc.get("LineItems") or []]
        if not isinstance(line, int) or isinstance(line, bool) or not 0 <= line < len(lines):
            raise ChangeRefused(f"line must be an index from 0 to {len(lines) - 1}")
        target = lines[line]
        for item in lines:
            item.pop("LineAmount", None)  # worked out again from the quantity and unit amount
        if description is not None:
            target["Description"] = str(description)
        if quantity is not None:
            target["Quantity"] = _decimal(quantity, "quantity")
        if unit_amount is not None:
            target["UnitAmount"] = _decimal(unit_amount, "unit_amount")
        errors: list[str] = []
        priced = price_lines(db, tenant_id, doc["Type"], lines, "", doc["LineAmountTypes"], doc["LineItems"],
                             errors, 4)
        if errors:
            raise ChangeRefused("; ".join(dict.fromkeys(errors)))
        doc["LineItems"] = priced
        set_totals(doc, priced, doc["LineAmountTypes"], doc["Status"])
    return change
