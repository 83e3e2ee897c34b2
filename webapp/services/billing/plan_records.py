"""What the Billing Plan reads of a practice's clients, engagements, services and completions: copies of the
columns it uses (each positional field a column of the same name), read as plain rows by plan_loader.

Models cost the plan most of its time (loading thousands into the session) and a commit after it more
(expiring them all); these cost a row each, and a service is copied once however many engagements use it. The
classifier and row builder only read attributes, so they take these or models alike. Nothing changes them; they
compare by identity like the models they stand for (not frozen: billing.changes.Agreement, which an engagement
satisfies, declares settable attributes).
"""
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from webapp.extensions import db
from webapp.models import Engagement


@dataclass(slots=True, eq=False)
class PlanClient:
    """A client as the plan sees it (and its rows show it)."""

    id: int
    code: str
    name: str
    status: str
    created_at: datetime
    consolidate_recurring: bool | None
    consolidate_one_off: bool | None
    branding_theme_id: str | None
    invoice_day: int | None
    payment_terms_days: int | None

    @property
    def engagements(self) -> list[Engagement]:
        """The client's Engagement models, read from the session when asked (the plan never asks): for a caller
        that goes on to change one."""
        return list(db.session.execute(
            db.select(Engagement).filter_by(client_id=self.id).order_by(Engagement.id)).scalars())


@dataclass(slots=True, eq=False)
class PlanService:
    id: int
    name: str
    billing_method: str  # a BillingMethod value
    position: int
    account_code: str | None
    tax_type: str | None
    updated_at: datetime


@dataclass(slots=True, eq=False)
class PlanCompletion:
    id: int
    completed_on: date
    created_at: datetime


@dataclass(slots=True, eq=False)
class PlanEngagement:
    id: int
    client_id: int
    service_id: int
    price: Decimal
    start_date: date
    end_date: date | None
    created_at: datetime
    updated_at: datetime
    service: PlanService = field(kw_only=True)
    completions: tuple[PlanCompletion, ...] = field(kw_only=True)  # by date, then id


@dataclass(frozen=True, slots=True)
class InvoiceTotal:
    """An invoice a run raised, as far as the next month's plan reads it: its net total (Invoice.total)."""

    total: Decimal
