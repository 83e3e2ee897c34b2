"""Automatic monthly billing: on the practice's invoice day the nightly run approves the month's plan, exactly as a
person pressing Approve would (the same build, fingerprint, ledger and checks in webapp.services.billing.approval),
dated on the invoice day. Its invoices are then posted by the run's posting step like any approved month's; what
pre-flight holds waits on the Billing Plan for a person.

Due when the practice chose it, the month is the current one in its time zone, and its invoice day has come. A
month approved already (by a person or an earlier night) is left as it is, so it never happens twice.
"""
from dataclasses import dataclass
from datetime import datetime

from webapp.clock import local_today, this_month
from webapp.extensions import db
from webapp.models import BillingSettings, Practice
from webapp.services.billing import approval as billing_approval
from webapp.services.billing.dates import InvoiceDating
from webapp.services.billing.plan import build_plan


@dataclass(frozen=True)
class AutomaticApproval:
    outcome: str  # "off", "not yet", or the approval's Outcome value
    invoices: int = 0

    def counts(self) -> dict:
        return {"automatic_approval": self.outcome, "automatic_invoices": self.invoices}


def approve_if_due(practice_id: int, now: datetime | None = None) -> AutomaticApproval:
    """Approve this month's plan when automatic billing is on and its invoice day has come; commits."""
    settings = db.session.get(BillingSettings, practice_id)
    if settings is None or not settings.approve_automatically:
        return AutomaticApproval("off")
    time_zone = db.session.execute(db.select(Practice.time_zone).filter_by(id=practice_id)).scalar_one()
    today = local_today(time_zone, now)
    if today.day < settings.invoice_day:
        return AutomaticApproval("not yet")
    period = this_month(time_zone, now)
    plan = build_plan(practice_id, period, today=today, dating=InvoiceDating.INVOICE_DAY)
    result = billing_approval.approve_plan(practice_id, period, None, fingerprint=plan.fingerprint, now=now,
                                           dating=InvoiceDating.INVOICE_DAY, automatic=True)
    return AutomaticApproval(result.outcome.value, result.invoice_count)
