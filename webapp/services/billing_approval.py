"""Approving a month's Billing Plan: raising its invoices in Socket exactly once."""
from dataclasses import dataclass
from datetime import date
from enum import Enum

from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import BillingRun, Invoice, InvoiceLine, InvoiceStatus, Practice, User
from webapp.services import billing_cadence
from webapp.services.billing_plan import build_plan

NUMBER_PREFIX = "SKT-"
NUMBER_DIGITS = 6


class Outcome(str, Enum):
    APPROVED = "approved"
    ALREADY_APPROVED = "already_approved"
    NOTHING_TO_BILL = "nothing_to_bill"


@dataclass(frozen=True)
class ApprovalResult:
    outcome: Outcome
    period: date
    run: BillingRun | None = None
    invoice_count: int = 0


def format_number(sequence: int) -> str:
    return f"{NUMBER_PREFIX}{sequence:0{NUMBER_DIGITS}d}"


def next_invoice_sequence(practice_id: int) -> int:
    """The next number in the practice's own SKT- sequence (call it holding the practice lock)."""
    # Longest first, then highest: "SKT-1000000" sorts below "SKT-999999" as text.
    last = db.session.execute(
        db.select(Invoice.number)
        .filter(Invoice.practice_id == practice_id, Invoice.number.like(f"{NUMBER_PREFIX}%"))
        .order_by(db.func.length(Invoice.number).desc(), Invoice.number.desc())
        .limit(1)
    ).scalar_one_or_none()
    return int(last[len(NUMBER_PREFIX):]) + 1 if last else 1


def find_run(practice_id: int, period: date) -> BillingRun | None:
    return db.session.execute(
        db.select(BillingRun).filter_by(practice_id=practice_id, period=billing_cadence.month_start(period))
    ).scalar_one_or_none()


def approver_name(run: BillingRun) -> str:
    user = db.session.get(User, run.approved_by_id) if run.approved_by_id else None
    return (user.name or user.email) if user else "someone no longer with the practice"


def approve_plan(practice_id: int, period: date, user_id: int | None) -> ApprovalResult:
    """Raise the month's invoices from its plan, once. Commits.

    A second approval (even one racing this one) finds the BillingRun and raises nothing; a month with
    nothing to bill raises nothing and records no run.
    """
    period = billing_cadence.month_start(period)
    # Lock the practice row: one approval per practice at a time, so the run check and the invoice
    # number sequence cannot interleave between two requests (or two processes).
    db.session.execute(db.select(Practice.id).filter_by(id=practice_id).with_for_update()).scalar_one()
    existing = find_run(practice_id, period)
    if existing is not None:
        db.session.rollback()
        return ApprovalResult(Outcome.ALREADY_APPROVED, period, run=existing)

    plan = build_plan(practice_id, period)
    if plan.is_empty:
        db.session.rollback()
        return ApprovalResult(Outcome.NOTHING_TO_BILL, period)

    run = BillingRun(practice_id=practice_id, period=period, approved_by_id=user_id)
    db.session.add(run)
    try:
        db.session.flush()
    except IntegrityError:  # the unique (practice, period) backstop, e.g. on a database without row locks
        db.session.rollback()
        return ApprovalResult(Outcome.ALREADY_APPROVED, period, run=find_run(practice_id, period))

    sequence = next_invoice_sequence(practice_id)
    for offset, row in enumerate(plan.rows):
        preview = row.preview
        invoice = Invoice(
            practice_id=practice_id, client_id=row.client.id, billing_run_id=run.id,
            number=format_number(sequence + offset), issue_date=preview.issue_date, due_date=preview.due_date,
            period=period, status=InvoiceStatus.APPROVED.value, branding_theme_id=preview.branding_theme_id,
        )
        invoice.lines = [
            InvoiceLine(position=position, service_id=line.service_id, description=line.description,
                        quantity=line.quantity, unit_amount=line.unit_amount, account_code=line.account_code,
                        tax_type=line.tax_type)
            for position, line in enumerate(preview.lines)
        ]
        db.session.add(invoice)
    db.session.commit()
    return ApprovalResult(Outcome.APPROVED, period, run=run, invoice_count=len(plan.rows))
