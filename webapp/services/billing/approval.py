"""Approving a month's Billing Plan: raising its invoices in Socket (status "raised"), each charge exactly once."""
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum

from sqlalchemy.exc import IntegrityError

from webapp.clock import local_today, this_month
from webapp.extensions import db
from webapp.models import BilledCharge, BillingRun, BillingRunClient, Invoice, InvoiceLine, InvoiceStatus, User
from webapp.services.billing import cadence, lock
from webapp.services.billing.dates import InvoiceDating
from webapp.services.billing.plan import build_plan
from webapp.services.bulk_insert import insert_rows, insert_rows_returning_ids

NUMBER_PREFIX = "SKT-"
NUMBER_DIGITS = 6


class Outcome(str, Enum):
    APPROVED = "approved"
    ALREADY_APPROVED = "already_approved"
    NOTHING_TO_BILL = "nothing_to_bill"
    FUTURE_MONTH = "future_month"
    PLAN_CHANGED = "plan_changed"
    DATE_NEEDED = "date_needed"  # some invoice's day has passed and the approver did not say which date to use


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
        db.select(BillingRun).filter_by(practice_id=practice_id, period=cadence.month_start(period))
    ).scalar_one_or_none()


def approver_name(run: BillingRun) -> str:
    if run.automatic:
        return "automatic monthly billing"
    user = db.session.get(User, run.approved_by_id) if run.approved_by_id else None
    return (user.name or user.email) if user else "someone no longer with the practice"


def approve_plan(practice_id: int, period: date, user_id: int | None, fingerprint: str | None = None,
                 now: datetime | None = None,
                 dating: InvoiceDating | None = InvoiceDating.INVOICE_DAY, automatic: bool = False) -> ApprovalResult:
    """Raise the month's invoices from its plan and record each charge in the ledger, once. Commits.

    Each invoice is dated on its invoice day (the client's, else the practice's) and due its payment terms
    later; with `dating` TODAY, one whose invoice day has passed (in the practice's time zone) is dated today.
    `dating` None is an approver who was not asked: DATE_NEEDED, nothing raised, if some invoice day has passed.
    `automatic`: approved by the nightly run for a practice with automatic monthly billing (no user).

    Refuses a month after the current one (in the practice's time zone) and, when `fingerprint` is
    given, a plan that changed since the user saw it. A second approval (even one racing this one)
    finds the BillingRun and raises nothing; a month with nothing to bill raises nothing and records
    no run. The ledger's unique key backs all of this up: no charge can be invoiced twice. The run
    records its scope (the clients active now), which limits later catch-up of this month.

    Anything the database refuses while raising (a charge already in the ledger, a completion undone
    meanwhile by a writer that skipped the lock) rolls everything back: PLAN_CHANGED, nothing raised.
    """
    period = cadence.month_start(period)
    # Lock the practice row: one approval per practice at a time, so the run check, the ledger and the
    # invoice number sequence cannot interleave between two requests (or two processes); completions
    # and engagement edits take the same lock, so they wait for this approval.
    time_zone = lock.lock_practice(practice_id)
    existing = find_run(practice_id, period)
    if existing is not None:
        db.session.rollback()
        return ApprovalResult(Outcome.ALREADY_APPROVED, period, run=existing)
    if period > this_month(time_zone, now):
        db.session.rollback()
        return ApprovalResult(Outcome.FUTURE_MONTH, period)

    plan = build_plan(practice_id, period, today=local_today(time_zone, now),
                      dating=dating or InvoiceDating.INVOICE_DAY)
    if plan.is_empty:
        db.session.rollback()
        return ApprovalResult(Outcome.NOTHING_TO_BILL, period)
    if fingerprint is not None and fingerprint != plan.fingerprint:
        db.session.rollback()
        return ApprovalResult(Outcome.PLAN_CHANGED, period)
    if dating is None and plan.dates is not None and plan.dates.ask:
        db.session.rollback()
        return ApprovalResult(Outcome.DATE_NEEDED, period)

    try:
        run = _raise_invoices(practice_id, period, user_id, plan, automatic)
    except IntegrityError:
        db.session.rollback()
        # The unique (practice, period) backstop, e.g. on a database without row locks.
        existing = find_run(practice_id, period)
        if existing is not None:
            return ApprovalResult(Outcome.ALREADY_APPROVED, period, run=existing)
        return ApprovalResult(Outcome.PLAN_CHANGED, period)
    db.session.commit()
    return ApprovalResult(Outcome.APPROVED, period, run=run, invoice_count=len(plan.rows))


def _raise_invoices(practice_id: int, period: date, user_id: int | None, plan, automatic: bool = False) -> BillingRun:
    """The run, its scope, and every invoice with its lines and ledger rows, flushed (not committed).

    A handful of statements whatever the size (it runs holding the practice lock): the run through the
    session (an ORM flush, so flush listeners see the approval), then the scope, the invoices, their lines
    and the ledger rows in one bulk insert each (webapp.services.bulk_insert).
    """
    run = BillingRun(practice_id=practice_id, period=period, approved_by_id=user_id, automatic=automatic)
    db.session.add(run)
    db.session.flush()
    # The run's scope: catch-up may later bill a charge this month missed only to these clients.
    insert_rows(BillingRunClient, [
        {"billing_run_id": run.id, "client_id": client_id} for client_id in sorted(plan.scope_client_ids)])
    sequence = next_invoice_sequence(practice_id)
    invoice_ids = insert_rows_returning_ids(Invoice, [
        _invoice(practice_id, run, row, format_number(sequence + offset)) for offset, row in enumerate(plan.rows)])
    line_rows = [
        # Each line keeps the tax type and VAT worked out at approval (the service's tax type, else the
        # account's default, at the rate Xero had then), so later changes in Xero do not change the invoice.
        {"invoice_id": invoice_id, "position": position, "service_id": line.service_id,
         "description": line.description, "quantity": line.quantity, "unit_amount": line.unit_amount,
         "account_code": line.account_code, "tax_type": taxed.tax_type, "tax_amount": taxed.vat}
        for invoice_id, row in zip(invoice_ids, plan.rows, strict=True)
        for position, (line, taxed) in enumerate(zip(row.preview.lines, row.preview.tax.lines, strict=True))
    ]
    ids = iter(insert_rows_returning_ids(InvoiceLine, line_rows))
    ledger_rows = []
    for invoice_id, row in zip(invoice_ids, plan.rows, strict=True):
        # `ids` is shared by every row: each row takes only as many ids as it has lines.
        pairs = zip(row.preview.lines, ids, strict=False)
        line_of = {key: line_id for line, line_id in pairs for key in line.charge_keys}
        ledger_rows += [
            {"practice_id": practice_id, "charge_key": item.charge_key, "engagement_id": item.engagement_id,
             "completion_id": item.completion_id, "due_period": item.due_period, "billing_run_id": run.id,
             "invoice_id": invoice_id, "invoice_line_id": line_of.get(item.charge_key)}
            for item in row.items
        ]
    insert_rows(BilledCharge, ledger_rows)
    return run


def _invoice(practice_id: int, run: BillingRun, row, number: str) -> dict:
    """One client's invoice row copied from its preview."""
    preview = row.preview
    return {
        "practice_id": practice_id, "client_id": row.client.id, "billing_run_id": run.id, "number": number,
        "issue_date": preview.issue_date, "due_date": preview.due_date, "period": run.period,
        "status": InvoiceStatus.RAISED.value, "branding_theme_id": preview.branding_theme_id,
    }
