"""The Billing Plan: what each active client will be invoiced in a month, and how that changed."""
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo

from webapp.extensions import db
from webapp.models import (
    BillingMethod,
    BillingRun,
    BillingSettings,
    Client,
    ClientStatus,
    Engagement,
    XeroBrandingTheme,
)
from webapp.services import billing_cadence, invoicing
from webapp.services.billing_settings import get_billing_settings
from webapp.sync import reference_data

ZERO = Decimal("0.00")


class Change(str, Enum):
    NEW = "new"
    EXPANDED = "expanded"
    CONTRACTED = "contracted"
    UNCHANGED = "unchanged"
    ENDED = "ended"


@dataclass(frozen=True)
class InvoicePreview:
    """The invoice exactly as approving the plan will raise it."""

    issue_date: date
    due_date: date
    branding_theme_id: str | None
    template_name: str
    lines: list[invoicing.DraftLine]

    @property
    def total(self) -> Decimal:
        return invoicing.lines_total(self.lines)


@dataclass(frozen=True)
class ClientPlan:
    client: Client
    items: list[invoicing.BillableItem]
    amount: Decimal
    last_amount: Decimal
    change: Change
    preview: InvoicePreview | None  # None for a client that ended

    @property
    def difference(self) -> Decimal:
        return self.amount - self.last_amount


@dataclass(frozen=True)
class PlanTotals:
    this_month: Decimal
    last_month: Decimal
    counts: dict[Change, int]

    @property
    def difference(self) -> Decimal:
        return self.this_month - self.last_month


@dataclass(frozen=True)
class BillingPlan:
    practice_id: int
    period: date  # first day of the month
    rows: list[ClientPlan]  # clients billed this month, by name
    ended: list[ClientPlan]  # clients billed last month but not this month
    totals: PlanTotals
    run: BillingRun | None = None
    invoice_ids: dict[int, tuple[int, str]] = field(default_factory=dict)  # client id -> (invoice id, number)

    @property
    def previous_period(self) -> date:
        return billing_cadence.add_months(self.period, -1)

    @property
    def next_period(self) -> date:
        return billing_cadence.add_months(self.period, 1)

    @property
    def is_empty(self) -> bool:
        return not self.rows


def current_period(time_zone: str, now: datetime | None = None) -> date:
    """The first day of the current month in the practice's own time zone."""
    now = now or datetime.now(ZoneInfo("UTC"))
    return now.astimezone(ZoneInfo(time_zone)).date().replace(day=1)


def parse_period(value: str | None) -> date | None:
    """`YYYY-MM` to the first day of that month, or None when it is not one."""
    try:
        parsed = datetime.strptime(value or "", "%Y-%m")
    except ValueError:
        return None
    return parsed.date() if 2000 <= parsed.year <= 2100 else None


def billable_items(engagements: list[Engagement], period: date) -> list[invoicing.BillableItem]:
    """The charges `engagements` make in the month starting `period`, in the services' order."""
    items = []
    ordered = sorted(engagements, key=lambda e: (e.service.position, e.service.name, e.id))
    for engagement in ordered:
        service = engagement.service
        method = BillingMethod(service.billing_method)
        if not billing_cadence.bills_in(method, engagement.start_date, engagement.end_date,
                                        engagement.completed_on, period):
            continue
        items.append(invoicing.BillableItem(
            service_id=service.id,
            service_name=service.name,
            recurring=method.is_recurring,
            amount=engagement.price,
            period_label=billing_cadence.period_label(method, period),
            account_code=service.account_code or None,
            tax_type=service.tax_type or None,
        ))
    return items


def line_rules(settings: BillingSettings, client: Client) -> invoicing.LineRules:
    """The layout rules for one client: its own consolidation choices win over the practice's."""
    return invoicing.LineRules(
        consolidate_recurring=invoicing.effective_consolidation(client.consolidate_recurring,
                                                                settings.consolidate_recurring),
        consolidate_one_off=invoicing.effective_consolidation(client.consolidate_one_off,
                                                              settings.consolidate_one_off),
        recurring_account_code=settings.recurring_account_code,
        one_off_account_code=settings.one_off_account_code,
    )


def effective_theme_id(practice_id: int, settings: BillingSettings, client: Client) -> str | None:
    """The client's template, else the practice's, else Xero's default (lowest SortOrder), else none."""
    if client.branding_theme_id:
        return client.branding_theme_id
    if settings.default_branding_theme_id:
        return settings.default_branding_theme_id
    default = reference_data.default_branding_theme(practice_id)
    return default.branding_theme_id if default else None


def preview_invoice(practice_id: int, settings: BillingSettings, client: Client,
                    items: list[invoicing.BillableItem], period: date,
                    theme_names: dict[str, str]) -> InvoicePreview:
    issue, due = invoicing.invoice_dates(period, settings.invoice_day, settings.payment_terms_days)
    theme_id = effective_theme_id(practice_id, settings, client)
    return InvoicePreview(
        issue_date=issue,
        due_date=due,
        branding_theme_id=theme_id,
        template_name=theme_names.get(theme_id, "Xero's default template") if theme_id else "Xero's default template",
        lines=invoicing.build_lines(items, line_rules(settings, client), period),
    )


def classify(amount: Decimal | None, last_amount: Decimal | None) -> Change:
    """How a client's bill moved against last month's plan (None = not billed)."""
    if amount is None:
        return Change.ENDED
    if last_amount is None:
        return Change.NEW
    if amount > last_amount:
        return Change.EXPANDED
    if amount < last_amount:
        return Change.CONTRACTED
    return Change.UNCHANGED


def _active_clients(practice_id: int) -> list[Client]:
    return list(db.session.execute(
        db.select(Client).filter_by(practice_id=practice_id, status=ClientStatus.ACTIVE.value)
        .order_by(Client.name, Client.id)
    ).scalars())


def _theme_names(practice_id: int) -> dict[str, str]:
    rows = db.session.execute(
        db.select(XeroBrandingTheme.branding_theme_id, XeroBrandingTheme.name).filter_by(practice_id=practice_id)
    )
    return {theme_id: name for theme_id, name in rows}


def build_plan(practice_id: int, period: date) -> BillingPlan:
    """The plan for one practice and month: per client its lines, amount and change against last month."""
    period = billing_cadence.month_start(period)
    previous = billing_cadence.add_months(period, -1)
    settings = get_billing_settings(practice_id)
    theme_names = _theme_names(practice_id)
    rows, ended = [], []
    counts = {change: 0 for change in Change}
    this_total = last_total = ZERO
    for client in _active_clients(practice_id):
        engagements = [e for e in client.engagements if e.practice_id == practice_id]
        items = billable_items(engagements, period)
        last_items = billable_items(engagements, previous)
        amount = sum((item.amount for item in items), ZERO) if items else None
        last_amount = sum((item.amount for item in last_items), ZERO) if last_items else None
        if amount is None and last_amount is None:
            continue
        change = classify(amount, last_amount)
        counts[change] += 1
        this_total += amount or ZERO
        last_total += last_amount or ZERO
        preview = (preview_invoice(practice_id, settings, client, items, period, theme_names)
                   if items else None)
        row = ClientPlan(client=client, items=items, amount=amount or ZERO, last_amount=last_amount or ZERO,
                         change=change, preview=preview)
        (rows if items else ended).append(row)
    run = db.session.execute(
        db.select(BillingRun).filter_by(practice_id=practice_id, period=period)
    ).scalar_one_or_none()
    invoice_ids = {invoice.client_id: (invoice.id, invoice.number) for invoice in run.invoices} if run else {}
    return BillingPlan(practice_id=practice_id, period=period, rows=rows, ended=ended,
                       totals=PlanTotals(this_month=this_total, last_month=last_total, counts=counts),
                       run=run, invoice_ids=invoice_ids)

