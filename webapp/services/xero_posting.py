"""Posting invoices to Xero as the Billing Plan and the invoice pages offer it: where a month's invoices stand,
"Post outstanding invoices", "Retry", and posting straight after approval.

The posting itself runs in the worker (webapp.sync.invoice_posting_runs); a page only queues it and shows the
latest run, polling while it is active.
"""
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from flask import url_for

from webapp.extensions import db
from webapp.models import ConnectionStatus, Invoice, InvoicePostingRun, XeroConnection
from webapp.sync.invoice_posting_runs import PostingRefused, latest_posting_run, retry_invoice, start_posting
from webapp.sync.invoice_posting_view import PostingView, posting_state, posting_views

__all__ = ["PostingRefused", "MonthPosting", "month_posting", "post_after_approval", "post_month", "retry",
           "fixes_for", "posting_views"]

STATES = ("posted", "posting", "waiting", "held", "failed")


@dataclass(frozen=True)
class MonthPosting:
    """Where an approved month's invoices stand with Xero, and the practice's latest posting run."""

    period: date
    views: dict[int, PostingView]  # invoice id -> its view, for the invoices shown
    run: InvoicePostingRun | None
    connected: bool
    counts: Counter  # state -> the month's invoices in it (all of them, shown or not)

    @property
    def invoice_count(self) -> int:
        return sum(self.counts.values())

    @property
    def active(self) -> bool:
        return self.run is not None and self.run.is_active

    @property
    def outstanding(self) -> int:
        """Invoices a "Post outstanding invoices" would send (held ones are checked again; refused ones wait
        for their own Retry)."""
        counts = self.counts
        return counts["waiting"] + counts["held"] + counts["posting"]

    @property
    def all_posted(self) -> bool:
        return self.invoice_count > 0 and self.counts["posted"] == self.invoice_count


def _connected(practice_id: int) -> bool:
    status = db.session.execute(db.select(XeroConnection.status).filter_by(practice_id=practice_id)).scalar()
    return status == ConnectionStatus.CONNECTED.value


def month_posting(practice_id: int, period: date, invoice_ids: Iterable[int] | None = None) -> MonthPosting:
    """How many of the month's invoices are in each state, the views of `invoice_ids` (the invoices a page shows;
    every one of the month's when None), the latest posting run and whether Xero is connected: a handful of small
    queries, however many invoices the month has."""
    if invoice_ids is None:
        invoice_ids = db.session.execute(db.select(Invoice.id).filter_by(practice_id=practice_id,
                                                                          period=period)).scalars().all()
    return MonthPosting(period, posting_views(practice_id, invoice_ids), latest_posting_run(practice_id),
                        _connected(practice_id), _month_counts(practice_id, period))


def _month_counts(practice_id: int, period: date) -> Counter:
    counts: Counter = Counter()
    for status, count in db.session.execute(
            db.select(Invoice.status, db.func.count()).filter_by(practice_id=practice_id, period=period)
            .group_by(Invoice.status)):
        counts[posting_state(status)] += count
    return counts


def post_after_approval(practice_id: int, period: date) -> str:
    """Queue the approved month's invoices for Xero; what to tell the person who approved."""
    try:
        start_posting(practice_id, "approval", period=period)
    except PostingRefused as refused:
        return f"They are not posted to Xero yet: {refused.message}"
    return "Posting them to Xero now."


def post_month(practice_id: int, period: date) -> InvoicePostingRun:
    """Queue the month's outstanding invoices ("Post outstanding invoices"); raises PostingRefused."""
    return start_posting(practice_id, "manual", period=period)


def retry(practice_id: int, invoice_id: int) -> InvoicePostingRun:
    """Queue one invoice again ("Retry": held once fixed, or refused by Xero); raises PostingRefused."""
    return retry_invoice(practice_id, invoice_id)


def fixes_for(view: PostingView, client_id: int) -> list[tuple[str, str]]:
    """Where to fix what holds an invoice: (link text, URL) pairs read from its reason."""
    reason = (view.message or "").lower()
    fixes = []
    if view.state == "held" and "contact" in reason:
        fixes.append(("Fix the client's Xero contact", url_for("clients.detail", client_id=client_id) +
                      "#client-xero"))
    if view.state == "held" and "account code" in reason:
        fixes.append(("Services & Pricing", url_for("pricing.index")))
        fixes.append(("Default account codes", url_for("settings.integrations")))
    if view.state == "held" and ("template" in reason or "branding theme" in reason):
        fixes.append(("Billing Settings", url_for("settings.billing")))
    return fixes
