"""Billing settings, approved billing runs, and the invoices raised in Socket."""
import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Model, Money, Quantity, UTCDateTime, utcnow

if TYPE_CHECKING:
    from webapp.models.client import Client


class XeroPostStatus(str, enum.Enum):
    DRAFT = "DRAFT"
    AUTHORISED = "AUTHORISED"


class InvoiceStatus(str, enum.Enum):
    """Socket's own status for an invoice it raised. Never "approved": that word is Xero's (XeroPostStatus)."""

    RAISED = "raised"  # raised in Socket by approving its month, not yet sent to Xero
    HELD = "held"  # pre-flight held it (e.g. a client to link, a code to choose): a person must act
    POSTING = "posting"  # sent, or being sent, to Xero: the outcome is not yet confirmed
    POSTED = "posted"  # Xero confirmed it
    FAILED = "failed"  # Xero refused it

    @property
    def label(self) -> str:
        """What people see (the status chip, billing/_invoice_status.html)."""
        return INVOICE_STATUS_LABELS[self]


INVOICE_STATUS_LABELS = {
    InvoiceStatus.RAISED: "Raised",
    InvoiceStatus.HELD: "Held",
    InvoiceStatus.POSTING: "Posting to Xero",
    InvoiceStatus.POSTED: "Posted to Xero",
    InvoiceStatus.FAILED: "Failed",
}


class BillingSettings(Model):
    """One row per practice: how invoices are laid out, dated and posted."""

    __tablename__ = "billing_settings"

    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), primary_key=True)
    consolidate_recurring: Mapped[bool] = mapped_column(default=False)
    consolidate_one_off: Mapped[bool] = mapped_column(default=False)
    invoice_day: Mapped[int] = mapped_column(default=1)  # 1-28; a client may have its own (Client.invoice_day)
    payment_terms_days: Mapped[int] = mapped_column(default=14)  # 0-120; likewise Client.payment_terms_days
    xero_post_status: Mapped[str] = mapped_column(String(16), default=XeroPostStatus.DRAFT.value)
    default_branding_theme_id: Mapped[str | None] = mapped_column(String(36))
    recurring_account_code: Mapped[str | None] = mapped_column(String(10))
    one_off_account_code: Mapped[str | None] = mapped_column(String(10))
    # Posting an invoice for a client with no Xero contact and no likely match: create the contact from the
    # client's details (True), or hold the invoice until someone links the client (False).
    # Approve each month's plan on its invoice day in the nightly run, as a person pressing Approve would.
    approve_automatically: Mapped[bool] = mapped_column(default=False, server_default=false())
    create_missing_contacts: Mapped[bool] = mapped_column(default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class BillingRun(Model):
    """An approved month of billing. Unique per practice and period: approving twice raises nothing new."""

    __tablename__ = "billing_runs"
    __table_args__ = (UniqueConstraint("practice_id", "period", name="uq_billing_runs_practice_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    period: Mapped[date]  # first day of the billed month
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    automatic: Mapped[bool] = mapped_column(default=False, server_default=false())  # by the nightly run

    invoices: Mapped[list["Invoice"]] = relationship(back_populates="billing_run", lazy="selectin")


class BillingRunClient(Model):
    """A client in an approval's scope: active when its month was approved.

    Catch-up bills a missed charge from an approved month only for the clients in that month's scope
    (so never for a month the client was archived in). Runs approved before scopes were recorded have
    none, and their months are never caught up.
    """

    __tablename__ = "billing_run_clients"

    billing_run_id: Mapped[int] = mapped_column(ForeignKey("billing_runs.id"), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True, index=True)


class Invoice(Model):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("practice_id", "number", name="uq_invoices_practice_number"),
        UniqueConstraint("billing_run_id", "client_id", name="uq_invoices_run_client"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    billing_run_id: Mapped[int | None] = mapped_column(ForeignKey("billing_runs.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    issue_date: Mapped[date]
    due_date: Mapped[date]
    period: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default=InvoiceStatus.RAISED.value,
                                        server_default=InvoiceStatus.RAISED.value)
    branding_theme_id: Mapped[str | None] = mapped_column(String(36))
    xero_invoice_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    client: Mapped["Client"] = relationship(lazy="joined")
    billing_run: Mapped[BillingRun | None] = relationship(back_populates="invoices")
    lines: Mapped[list["InvoiceLine"]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", lazy="selectin",
        cascade="all, delete-orphan",
    )

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))


class BilledCharge(Model):
    """The ledger: one row per charge an approval invoiced. Its unique key makes double billing impossible.

    `charge_key` is "e<engagement id>:<YYYY-MM>" for a cadence charge (monthly, in advance) and
    "c<completion id>" for a completion. A run with no ledger rows predates the ledger: its month counts
    as billed in full and is never caught up.
    """

    __tablename__ = "billed_charges"
    __table_args__ = (UniqueConstraint("practice_id", "charge_key", name="uq_billed_charges_practice_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    charge_key: Mapped[str] = mapped_column(String(40))
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    completion_id: Mapped[int | None] = mapped_column(ForeignKey("engagement_completions.id"), index=True)
    due_period: Mapped[date]  # first day of the month the charge fell due
    billing_run_id: Mapped[int] = mapped_column(ForeignKey("billing_runs.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    invoice_line_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_lines.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    invoice: Mapped["Invoice"] = relationship()


class InvoiceLine(Model):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id"))
    position: Mapped[int] = mapped_column(default=0)
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_amount: Mapped[Decimal] = mapped_column(Money)
    account_code: Mapped[str | None] = mapped_column(String(10))
    tax_type: Mapped[str | None] = mapped_column(String(50))
    # The VAT worked out at approval with the rate Xero had then; None when the rate was not known.
    tax_amount: Mapped[Decimal | None] = mapped_column(Money)

    invoice: Mapped["Invoice"] = relationship(back_populates="lines")

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_amount).quantize(self.unit_amount)
