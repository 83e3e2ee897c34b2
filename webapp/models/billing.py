"""Billing settings, approved billing runs, and the invoices raised in Socket."""
import enum
from decimal import Decimal

from webapp.extensions import db
from webapp.models.base import Money, Quantity, UTCDateTime, utcnow


class XeroPostStatus(str, enum.Enum):
    DRAFT = "DRAFT"
    AUTHORISED = "AUTHORISED"


class InvoiceStatus(str, enum.Enum):
    DRAFT = "draft"
    APPROVED = "approved"
    POSTED = "posted"
    FAILED = "failed"


class BillingSettings(db.Model):
    """One row per practice: how invoices are laid out, dated and posted."""

    __tablename__ = "billing_settings"

    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), primary_key=True)
    consolidate_recurring = db.Column(db.Boolean, nullable=False, default=False)
    consolidate_one_off = db.Column(db.Boolean, nullable=False, default=False)
    invoice_day = db.Column(db.Integer, nullable=False, default=1)
    payment_terms_days = db.Column(db.Integer, nullable=False, default=14)
    xero_post_status = db.Column(db.String(16), nullable=False, default=XeroPostStatus.DRAFT.value)
    default_branding_theme_id = db.Column(db.String(36))
    recurring_account_code = db.Column(db.String(10))
    one_off_account_code = db.Column(db.String(10))
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class BillingRun(db.Model):
    """An approved month of billing. Unique per practice and period: approving twice raises nothing new."""

    __tablename__ = "billing_runs"
    __table_args__ = (db.UniqueConstraint("practice_id", "period", name="uq_billing_runs_practice_period"),)

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    period = db.Column(db.Date, nullable=False)  # first day of the billed month
    approved_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    approved_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))

    invoices = db.relationship("Invoice", back_populates="billing_run", lazy="selectin")


class BillingRunClient(db.Model):
    """A client in an approval's scope: active when its month was approved.

    Catch-up bills a missed charge from an approved month only for the clients in that month's scope
    (so never for a month the client was archived in). Runs approved before scopes were recorded have
    none, and their months are never caught up.
    """

    __tablename__ = "billing_run_clients"

    billing_run_id = db.Column(db.Integer, db.ForeignKey("billing_runs.id"), primary_key=True)
    client_id = db.Column(db.Integer, db.ForeignKey("clients.id"), primary_key=True, index=True)


class Invoice(db.Model):
    __tablename__ = "invoices"
    __table_args__ = (
        db.UniqueConstraint("practice_id", "number", name="uq_invoices_practice_number"),
        db.UniqueConstraint("billing_run_id", "client_id", name="uq_invoices_run_client"),
    )

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    client_id = db.Column(db.Integer, db.ForeignKey("clients.id"), nullable=False, index=True)
    billing_run_id = db.Column(db.Integer, db.ForeignKey("billing_runs.id"), index=True)
    number = db.Column(db.String(32), nullable=False)
    issue_date = db.Column(db.Date, nullable=False)
    due_date = db.Column(db.Date, nullable=False)
    period = db.Column(db.Date, nullable=False)
    status = db.Column(db.String(16), nullable=False, default=InvoiceStatus.APPROVED.value)
    branding_theme_id = db.Column(db.String(36))
    xero_invoice_id = db.Column(db.String(36))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    client = db.relationship("Client", lazy="joined")
    billing_run = db.relationship("BillingRun", back_populates="invoices")
    lines = db.relationship(
        "InvoiceLine", back_populates="invoice", order_by="InvoiceLine.position", lazy="selectin",
        cascade="all, delete-orphan",
    )

    @property
    def total(self):
        return sum((line.amount for line in self.lines), Decimal("0.00"))


class BilledCharge(db.Model):
    """The ledger: one row per charge an approval invoiced. Its unique key makes double billing impossible.

    `charge_key` is "e<engagement id>:<YYYY-MM>" for a cadence charge (monthly, in advance) and
    "c<completion id>" for a completion. A run with no ledger rows predates the ledger: its month counts
    as billed in full and is never caught up.
    """

    __tablename__ = "billed_charges"
    __table_args__ = (db.UniqueConstraint("practice_id", "charge_key", name="uq_billed_charges_practice_key"),)

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    charge_key = db.Column(db.String(40), nullable=False)
    engagement_id = db.Column(db.Integer, db.ForeignKey("engagements.id"), nullable=False, index=True)
    completion_id = db.Column(db.Integer, db.ForeignKey("engagement_completions.id"), index=True)
    due_period = db.Column(db.Date, nullable=False)  # first day of the month the charge fell due
    billing_run_id = db.Column(db.Integer, db.ForeignKey("billing_runs.id"), nullable=False, index=True)
    invoice_id = db.Column(db.Integer, db.ForeignKey("invoices.id"), nullable=False, index=True)
    invoice_line_id = db.Column(db.Integer, db.ForeignKey("invoice_lines.id"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    invoice = db.relationship("Invoice")


class InvoiceLine(db.Model):
    __tablename__ = "invoice_lines"

    id = db.Column(db.Integer, primary_key=True)
    invoice_id = db.Column(db.Integer, db.ForeignKey("invoices.id"), nullable=False, index=True)
    service_id = db.Column(db.Integer, db.ForeignKey("services.id"))
    position = db.Column(db.Integer, nullable=False, default=0)
    description = db.Column(db.Text, nullable=False)
    quantity = db.Column(Quantity, nullable=False)
    unit_amount = db.Column(Money, nullable=False)
    account_code = db.Column(db.String(10))
    tax_type = db.Column(db.String(50))
    # The VAT worked out at approval with the rate Xero had then; None when the rate was not known.
    tax_amount = db.Column(Money)

    invoice = db.relationship("Invoice", back_populates="lines")

    @property
    def amount(self):
        return (self.quantity * self.unit_amount).quantize(self.unit_amount)
