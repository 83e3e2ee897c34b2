"""Back from Xero: the status and amounts of the invoices Socket posted, read at each sync.

GET /Invoices (ACCREC only) with If-Modified-Since from where the last read that went through every page began, a
page of 1,000 at a time (a page carries the line items). Where it began is Xero's own clock when its first answer
said (the envelope's DateTimeUTC) less a few seconds for a change committed as the read began; otherwise Socket's
clock at the start less a minute, in case the clocks differ. Reading an invoice twice is harmless, but after a
night that posted 2,000 invoices a minute's overlap re-read a whole extra page of them the next night.

For each invoice Socket posted (by InvoiceID; any other invoice is ignored) it stores Xero's status, total, amount
due and paid and UpdatedDateUTC. An invoice whose contact, net total or lines differ from what Socket sent is
flagged `edited_in_xero`, with what differs: Socket never overwrites it, and never changes its own invoice to
match. Where the read began is saved only when every page was read, so a read that stopped part way is
repeated from the same point next time; an answer without an Invoices list stores nothing of that page.
"""
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from webapp.extensions import db
from webapp.models import InvoicePosting, XeroInvoiceState, XeroInvoiceStatus
from webapp.models.base import utcnow
from webapp.sync.contacts_pull import if_modified_since
from webapp.xero import XeroClient, XeroUnavailable, parse_xero_datetime
from webapp.xero.amounts import parse_xero_amount

PAGE_SIZE = 1000  # invoices a page (Xero's most; its default, 100, would cost ten times the calls)
IDS_PER_CALL = 50
CLOCK_OVERLAP = timedelta(minutes=1)  # Socket's clock against Xero's, when Xero's answer gave no time
XERO_CLOCK_MARGIN = timedelta(seconds=5)  # Xero's own clock: a change committed just as the read began
STATUSES = {s.value for s in XeroInvoiceStatus}


@dataclass
class StatusReadResult:
    """What one read did: invoices updated, newly flagged as edited in Xero, ignored (not Socket's), unreadable."""

    updated: int = 0
    edited: int = 0
    ignored: int = 0
    skipped: int = 0
    calls: int = 0
    full: bool = False
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """For a sync run's counts."""
        return {"invoices_updated": self.updated, "invoices_edited_in_xero": self.edited,
                "invoices_ignored": self.ignored, "invoices_skipped": self.skipped, "invoices_calls": self.calls,
                "invoices_full_read": self.full}


def _amount(value: Any) -> Decimal | None:
    try:
        return parse_xero_amount(value)
    except ValueError:
        return None  # unreadable: what is stored stays


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _line_differs(sent: dict, item: dict) -> bool:
    if _text(item.get("Description")) != _text(sent.get("description")):
        return True
    if _amount(item.get("Quantity")) != _amount(sent.get("quantity")):
        return True
    if _amount(item.get("UnitAmount")) != _amount(sent.get("unit_amount")):
        return True
    if (sent.get("account_code") or "") != _text(item.get("AccountCode")):
        return True
    return bool(sent.get("tax_type")) and sent.get("tax_type") != _text(item.get("TaxType"))


def differences(sent: dict | None, invoice: dict) -> list[str]:
    """What differs between what Socket sent (InvoicePosting.sent) and Xero's invoice now, in plain English."""
    if not sent:
        return []
    found = []
    contact = invoice.get("Contact")
    contact_id = _text(contact.get("ContactID")).lower() if isinstance(contact, dict) else ""
    if contact_id and contact_id != (sent.get("contact_id") or "").lower():
        found.append("It is invoiced to another contact in Xero.")
    sub_total = _amount(invoice.get("SubTotal"))
    sent_total = _amount(sent.get("sub_total"))
    if sub_total is not None and sent_total is not None and sub_total != sent_total:
        found.append(f"Its total before VAT is £{sub_total:,.2f} in Xero; Socket sent £{sent_total:,.2f}.")
    items = invoice.get("LineItems")
    sent_lines = sent.get("lines") or []
    if isinstance(items, list):
        if len(items) != len(sent_lines):
            found.append(f"It has {len(items)} lines in Xero; Socket sent {len(sent_lines)}.")
        else:
            changed = [n for n, (line, item) in enumerate(zip(sent_lines, items, strict=True), start=1)
                       if not isinstance(item, dict) or _line_differs(line, item)]
            if changed:
                which = ", ".join(str(n) for n in changed)
                found.append(f"Line{'s' if len(changed) > 1 else ''} {which} changed in Xero.")
    return found


def apply_invoice(posting: InvoicePosting, invoice: dict) -> bool:
    """Store Xero's view of one posted invoice on its posting; True when it is newly flagged as edited in Xero."""
    status = invoice.get("Status")
    if isinstance(status, str) and status in STATUSES:
        posting.xero_status = status
    number = invoice.get("InvoiceNumber")
    if isinstance(number, str) and number and len(number) <= 255 and "\x00" not in number:
        posting.xero_number = number
    for key, column in (("Total", "total"), ("AmountDue", "amount_due"), ("AmountPaid", "amount_paid")):
        amount = _amount(invoice.get(key))
        if amount is not None:
            setattr(posting, column, amount)
    try:
        updated = parse_xero_datetime(invoice["UpdatedDateUTC"]) if isinstance(invoice.get("UpdatedDateUTC"), str) \
            else None
    except ValueError:
        updated = None
    posting.xero_updated_at = updated or posting.xero_updated_at
    if status in ("DELETED", "VOIDED"):
        return False  # a voided or deleted invoice is shown as such; its lines no longer matter
    found = differences(posting.sent, invoice)
    newly = bool(found) and not posting.edited_in_xero
    posting.edited_in_xero = bool(found)
    posting.xero_edits = found
    return newly


def _state(practice_id: int, tenant_id: str) -> XeroInvoiceState:
    state = db.session.get(XeroInvoiceState, practice_id)
    if state is None:
        state = XeroInvoiceState(practice_id=practice_id)
        db.session.add(state)
    if state.tenant_id != tenant_id:
        state.tenant_id, state.status_read_from = tenant_id, None
    return state


def _invoice_id(item: Any) -> str | None:
    """The item's InvoiceID in lower case, or None when it has none that is a Xero id."""
    value = item.get("InvoiceID") if isinstance(item, dict) else None
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def _store_page(practice_id: int, items: list, result: StatusReadResult) -> None:
    ids = {invoice_id: item for item in items
           if (invoice_id := _invoice_id(item)) and item.get("Type", "ACCREC") == "ACCREC"}
    result.skipped += sum(1 for item in items if _invoice_id(item) is None)
    postings = {p.xero_invoice_id: p for p in db.session.execute(db.select(InvoicePosting).filter(
        InvoicePosting.practice_id == practice_id, InvoicePosting.xero_invoice_id.in_(list(ids))))
        .scalars()} if ids else {}
    for invoice_id, item in ids.items():
        posting = postings.get(invoice_id)
        if posting is None:
            result.ignored += 1
            continue
        result.edited += apply_invoice(posting, item)
        result.updated += 1


def read_invoice_statuses(practice_id: int, tenant_id: str, client: XeroClient,
                          now: Callable[[], datetime] = utcnow) -> StatusReadResult:
    """Bring the postings of the practice's invoices up to date with Xero; commits after each page. Raises
    XeroUnavailable (and the other XeroErrors) when a page cannot be read; pages stored before it stay."""
    started = now()
    calls_before = client.calls
    state = _state(practice_id, tenant_id)
    since = state.status_read_from
    result = StatusReadResult(full=since is None)
    has_posted = db.session.execute(db.select(InvoicePosting.id).filter(
        InvoicePosting.practice_id == practice_id, InvoicePosting.xero_invoice_id.is_not(None)).limit(1)).first()
    if has_posted is None:
        db.session.commit()
        return result  # nothing Socket posted to read back: no call
    headers = {"If-Modified-Since": if_modified_since(since)} if since else None
    page = 1
    while True:
        body = client.get("Invoices", params={"where": 'Type=="ACCREC"', "page": page, "pageSize": PAGE_SIZE},
                          headers=headers)
        if page == 1:
            read_from = next_read_from(started, body)
        result.calls = client.calls - calls_before
        items = body.get("Invoices") if isinstance(body, dict) else None
        if not isinstance(items, list):
            db.session.rollback()
            raise XeroUnavailable("Xero's answer for Invoices had no Invoices list, so nothing more was changed; "
                                  "try the sync again shortly.")
        _store_page(practice_id, items, result)
        db.session.commit()
        pagination = body.get("pagination")
        page_count = pagination.get("pageCount") if isinstance(pagination, dict) else None
        if len(items) < PAGE_SIZE or (isinstance(page_count, int) and page >= page_count):
            break
        page += 1
    state = _state(practice_id, tenant_id)
    state.status_read_from, state.status_read_at = read_from, now()
    db.session.commit()
    return result


def next_read_from(started: datetime, first_answer: Any) -> datetime:
    """Where the read that began at `started` (Socket's clock) lets the next one begin: Xero's time in its first
    answer less XERO_CLOCK_MARGIN, but never later than `started` (a time from Xero far ahead of Socket's clock
    would skip changes; one behind it only re-reads some); without a readable time, `started` less a minute."""
    answered = first_answer.get("DateTimeUTC") if isinstance(first_answer, dict) else None
    try:
        xero_now = parse_xero_datetime(answered) if isinstance(answered, str) else None
    except ValueError:
        xero_now = None
    try:
        if xero_now is not None:
            return min(xero_now - XERO_CLOCK_MARGIN, started)
    except OverflowError:  # a time within seconds of the year 1
        pass
    return started - CLOCK_OVERLAP


def refresh_invoices(practice_id: int, invoice_ids: list[str], client: XeroClient) -> dict[str, Any]:
    """Read back the invoices a webhook named (GET /Invoices?IDs=..., 50 a call: line items included), as
    `read_invoice_statuses` stores them; commits after each call; returns counts for the run. Matches
    webapp.sync.webhook_refresh.InvoiceRefresher. XeroUnavailable when an answer has no Invoices list."""
    result = StatusReadResult()
    calls_before = client.calls
    wanted = sorted({str(i).lower() for i in invoice_ids if i})
    for start in range(0, len(wanted), IDS_PER_CALL):
        body = client.get("Invoices", params={"IDs": ",".join(wanted[start:start + IDS_PER_CALL])})
        result.calls = client.calls - calls_before
        items = body.get("Invoices") if isinstance(body, dict) else None
        if not isinstance(items, list):
            db.session.rollback()
            raise XeroUnavailable("Xero's answer for Invoices had no Invoices list; the invoices are read again "
                                  "later.")
        _store_page(practice_id, items, result)
        db.session.commit()
    return result.counts()
