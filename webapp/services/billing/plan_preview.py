"""One client's invoice preview in a month's Billing Plan, read from its stored row (the plan page opens it on
demand instead of carrying every preview in its rows).

Two statements when the month is stored (its summary, then the row), three once approved (the invoice it raised):
never a plan build, unless the month's rows have gone stale, when ensure_stored rebuilds only the missing ones.
"""
from datetime import date

from sqlalchemy import select

from webapp.extensions import db
from webapp.models.billing_plan import BillingPlanRow
from webapp.services.billing import cadence
from webapp.services.billing.dates import InvoiceDating
from webapp.services.billing.plan import ClientPlan
from webapp.services.billing.plan_page import invoices_by_id, shown_row
from webapp.services.billing.plan_store import Section, ensure_stored


def client_preview(practice_id: int, period: date, client_id: int, today: date,
                   dating: InvoiceDating = InvoiceDating.TODAY) -> ClientPlan | None:
    """The client's row of the practice's plan for `period` with its preview dated for `today` (as the plan page
    dates it), or None when the client has no invoice in that month's plan (or is not the practice's)."""
    period = cadence.month_start(period)
    ensure_stored(practice_id, period)
    stored = db.session.execute(
        select(BillingPlanRow).filter(BillingPlanRow.practice_id == practice_id, BillingPlanRow.period == period,
                                      BillingPlanRow.client_id == client_id,
                                      BillingPlanRow.section == Section.BILLED.value)).scalar_one_or_none()
    if stored is None:
        return None
    invoice = invoices_by_id([stored.invoice_id]).get(stored.invoice_id) if stored.invoice_id else None
    row = shown_row(stored, invoice, today, dating)
    return row if isinstance(row, ClientPlan) else None
