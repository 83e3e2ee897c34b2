"""Where each invoice stands with Xero, as the Billing Plan and the invoice page show it (read-only).

One `PostingView` per invoice: waiting (raised, not sent yet), posting (sent; being confirmed, or to be looked up
in Xero by the next run), posted (with Xero's number, status, amounts and a link to it in Xero; flagged when
edited in Xero), held (pre-flight's reason with the fix) or failed (Xero's message; "Retry" offered).
"""
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from webapp.extensions import db
from webapp.models import Invoice, InvoicePosting, InvoiceStatus

XERO_GO_URL = "https://go.xero.com"
STATE_LABELS = {"waiting": "Waiting to post", "posting": "Posting to Xero", "posted": "Posted to Xero",
                "held": "Held", "failed": "Refused by Xero"}
XERO_STATUS_LABELS = {"DRAFT": "Draft in Xero", "SUBMITTED": "Awaiting approval in Xero",
                      "AUTHORISED": "Approved in Xero", "PAID": "Paid", "VOIDED": "Voided in Xero",
                      "DELETED": "Deleted in Xero"}


def xero_invoice_url(xero_invoice_id: str, base_url: str = XERO_GO_URL) -> str:
    """The invoice's page in Xero's web app (for the signed-in user's current organisation)."""
    return f"{base_url.rstrip('/')}/AccountsReceivable/View.aspx?InvoiceID={xero_invoice_id}"


@dataclass(frozen=True)
class PostingView:
    invoice_id: int
    state: str  # waiting / posting / posted / held / failed
    message: str | None  # held: the reason and fix; failed: Xero's message; posting: what happens next
    xero_invoice_id: str | None = None
    xero_number: str | None = None
    xero_status: str | None = None
    total: Decimal | None = None
    amount_due: Decimal | None = None
    amount_paid: Decimal | None = None
    edited_in_xero: bool = False
    xero_edits: tuple[str, ...] = ()
    attempts: int = 0

    @property
    def label(self) -> str:
        """"Posted to Xero", "Held", ...; for a posted invoice, what Xero says (paid, part paid, voided...)."""
        if self.state == "posted" and self.xero_status:
            if self.xero_status == "AUTHORISED" and self.amount_paid:
                return "Part paid"
            return XERO_STATUS_LABELS.get(self.xero_status, STATE_LABELS["posted"])
        return STATE_LABELS[self.state]

    @property
    def can_retry(self) -> bool:
        """Whether "Retry" makes sense: held (once fixed) or refused by Xero."""
        return self.state in ("held", "failed")

    def xero_url(self, base_url: str = XERO_GO_URL) -> str | None:
        """The invoice's page in Xero, once Xero has it."""
        return xero_invoice_url(self.xero_invoice_id, base_url) if self.xero_invoice_id else None


STATE_OF_STATUS = {InvoiceStatus.POSTED.value: "posted", InvoiceStatus.HELD.value: "held",
                   InvoiceStatus.FAILED.value: "failed", InvoiceStatus.POSTING.value: "posting"}


def posting_state(status: str) -> str:
    """The view's state for an invoice's stored status: waiting unless it is posted, held, failed or posting."""
    return STATE_OF_STATUS.get(status, "waiting")


def _view(invoice_id: int, status: str, posting: InvoicePosting | None) -> PostingView:
    state = posting_state(status)
    if posting is None:
        return PostingView(invoice_id, state, None)
    message = {"held": posting.held_reason, "failed": posting.last_error,
               "posting": posting.last_error, "waiting": posting.last_error}.get(state)
    return PostingView(invoice_id, state, message, posting.xero_invoice_id, posting.xero_number, posting.xero_status,
                       posting.total, posting.amount_due, posting.amount_paid, posting.edited_in_xero,
                       tuple(posting.xero_edits or ()), posting.attempts)


def posting_views(practice_id: int, invoice_ids: Iterable[int]) -> dict[int, PostingView]:
    """Each of the practice's invoices among `invoice_ids`, by id (two queries); others' invoices are left out."""
    ids = sorted(set(invoice_ids))
    if not ids:
        return {}
    statuses = dict(db.session.execute(db.select(Invoice.id, Invoice.status).filter(
        Invoice.practice_id == practice_id, Invoice.id.in_(ids))).tuples().all())
    postings = {p.invoice_id: p for p in db.session.execute(db.select(InvoicePosting).filter(
        InvoicePosting.practice_id == practice_id, InvoicePosting.invoice_id.in_(list(statuses)))).scalars()}
    return {invoice_id: _view(invoice_id, status, postings.get(invoice_id)) for invoice_id, status in statuses.items()}


def posting_view(practice_id: int, invoice_id: int) -> PostingView | None:
    """One invoice's view (None when it is not the practice's)."""
    return posting_views(practice_id, [invoice_id]).get(invoice_id)
