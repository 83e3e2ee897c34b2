"""An invoice's life in Xero: what Socket sent, what Xero answered, and what Xero says about it since.

`invoice_xero_postings` is 1:1 with `invoices` (a row from the first time posting looked at the invoice). It
holds what the posting engine (webapp.sync.invoice_posting) needs never to lose an invoice nor send it twice:
the attempts, the Idempotency-Key and Reference of the last send, and `outcome_unknown` (sent, answer not
received: the next run looks for it in Xero before sending it again). Once Xero confirmed it: its InvoiceID,
number, status and amounts, kept up to date by webapp.sync.invoice_status, and `edited_in_xero` with what
differs from what Socket sent (Socket never overwrites an invoice someone changed in Xero).

`invoice_posting_runs` records each posting run (queued by approval, "Post outstanding invoices", a retry, the
CLI): its counts, Xero calls and how it ended. `xero_invoice_states` keeps, per practice, where reading
invoices back from Xero got to (If-Modified-Since) and the posting lease used where PostgreSQL's advisory
locks are not available (SQLite in local runs).
"""
import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Model, Money, UTCDateTime, utcnow

if TYPE_CHECKING:
    from webapp.models.billing import Invoice


class XeroInvoiceStatus(str, enum.Enum):
    """Xero's status of an invoice (its `Status`)."""

    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    AUTHORISED = "AUTHORISED"
    PAID = "PAID"
    VOIDED = "VOIDED"
    DELETED = "DELETED"


class InvoicePosting(Model):
    """One Socket invoice's posting to Xero (see the module's docstring)."""

    __tablename__ = "invoice_xero_postings"
    __table_args__ = (Index("ix_invoice_xero_postings_practice_xero_invoice", "practice_id", "xero_invoice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), unique=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    # Sending
    attempts: Mapped[int] = mapped_column(default=0)  # sends to Xero (a lookup after an unknown outcome is not one)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))  # the key of the batch it was last sent in
    # Bumped when Xero definitely refused the invoice, so a retry after a fix gets a new key (not Xero's replay).
    refusals: Mapped[int] = mapped_column(default=0)
    sent_reference: Mapped[str | None] = mapped_column(String(255))  # the Reference it was last sent with
    sent: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # what was sent: contact, lines, net total
    outcome_unknown: Mapped[bool] = mapped_column(default=False)  # sent, Xero's answer not received
    last_error: Mapped[str | None] = mapped_column(Text)  # Xero's message, or why the last try did not finish
    held_reason: Mapped[str | None] = mapped_column(Text)  # pre-flight: what is wrong and how to fix it
    # What Xero holds
    xero_invoice_id: Mapped[str | None] = mapped_column(String(36))  # lower case
    xero_number: Mapped[str | None] = mapped_column(String(255))
    xero_status: Mapped[str | None] = mapped_column(String(16))  # XeroInvoiceStatus
    total: Mapped[Decimal | None] = mapped_column(Money)  # Xero's Total (with VAT)
    amount_due: Mapped[Decimal | None] = mapped_column(Money)
    amount_paid: Mapped[Decimal | None] = mapped_column(Money)
    xero_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # UpdatedDateUTC
    edited_in_xero: Mapped[bool] = mapped_column(default=False)
    xero_edits: Mapped[list[Any]] = mapped_column(JSON, default=list)  # what differs from what Socket sent
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when Xero confirmed it
    found_after_unknown: Mapped[bool] = mapped_column(default=False)  # confirmed by a lookup, not by an answer
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    invoice: Mapped["Invoice"] = relationship()


class PostingRunStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # went through every invoice in scope (some may be held or refused: see counts)
    FAILED = "failed"  # stopped early (Xero unavailable, rate limited for long, disconnected, an error)


class InvoicePostingRun(Model):
    """One posting run for a practice: what it was asked to post, what it did, how it ended."""

    __tablename__ = "invoice_posting_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # approval / manual / retry / cli / nightly
    period: Mapped[date | None]  # only this month's invoices (first day of the month)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"))  # only this invoice (a retry)
    retry_failed: Mapped[bool] = mapped_column(default=False)  # send invoices Xero refused before, again
    status: Mapped[str] = mapped_column(String(16), default=PostingRunStatus.QUEUED.value)
    rq_job_id: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[str] = mapped_column(String(200), default="")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    xero_calls: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_active(self) -> bool:
        """Queued or running: the page keeps polling while it is."""
        return self.status in (PostingRunStatus.QUEUED.value, PostingRunStatus.RUNNING.value)


class XeroInvoiceState(Model):
    """Per practice: how far reading invoices back from Xero got, and the posting lease (non-PostgreSQL only)."""

    __tablename__ = "xero_invoice_states"

    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(String(36))  # the organisation `status_read_from` is of
    # Where the last read that went through every page began, less its clock margin: the next one asks for changes
    # since (webapp.sync.invoice_status.next_read_from).
    status_read_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
