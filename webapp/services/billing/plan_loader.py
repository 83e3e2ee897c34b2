"""Everything the Billing Plan reads from the database, in the same number of statements however many clients
or approved months: the practice's settings and Xero references, its runs, its clients with their engagements
and completions (plain copies: plan_records), the invoices of this month's run and last month's totals, and the
scope and ledger rows the classification looks up (see plan_classifier: an engagement untouched since the
months were approved costs no history reads).
"""
from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, lazyload, noload
from sqlalchemy.orm.attributes import set_committed_value

from webapp.clock import local_today
from webapp.extensions import db
from webapp.models import (
    BilledCharge,
    BillingRun,
    BillingRunClient,
    BillingSettings,
    Client,
    ClientStatus,
    Engagement,
    EngagementCompletion,
    Invoice,
    InvoiceLine,
    Practice,
    Service,
    XeroBrandingTheme,
)
from webapp.models.base import Money
from webapp.services.billing import cadence
from webapp.services.billing.dates import InvoiceDating
from webapp.services.billing.plan_classifier import (
    Billed,
    PlanContext,
    PlanMonths,
    Runs,
    asks_settling_scope,
    plan_months,
    recheck_months,
)
from webapp.services.billing.plan_records import (
    InvoiceTotal,
    PlanClient,
    PlanCompletion,
    PlanEngagement,
    PlanService,
)
from webapp.services.billing.settings import get_billing_settings
from webapp.services.billing.tax import TaxReference, tax_reference
from webapp.sync import reference_data

ZERO = Decimal("0.00")


def _columns(model: Any, record: Any) -> list[Any]:
    """`model`'s columns named as `record`'s positional fields, in their order: a row of them builds the record."""
    return [getattr(model, field.name) for field in fields(record) if not field.kw_only]


CLIENT_COLUMNS = _columns(Client, PlanClient)
ENGAGEMENT_COLUMNS = _columns(Engagement, PlanEngagement)
SERVICE_COLUMNS = _columns(Service, PlanService)
COMPLETION_COLUMNS = _columns(EngagementCompletion, PlanCompletion)

# More ids than this are not bound one by one (the databases cap a statement's parameters): the rows are read
# for every engagement or client instead, a superset.
MANY_IDS = 10_000


@dataclass(frozen=True)
class PlanReads:
    """What a load read from the scopes and the ledger, and how many engagements it checks again: its cost."""

    ledger_rows: int
    scope_rows: int
    rechecked_engagements: int


@dataclass(frozen=True)
class PlanInputs:
    """Everything a plan is built from, read for one practice and month."""

    practice_id: int
    settings: BillingSettings
    today: date  # in the practice's time zone unless given
    dating: InvoiceDating
    theme_names: dict[str, str]  # branding theme id -> name
    xero_default_id: str | None  # Xero's default branding theme (lowest SortOrder)
    tax: TaxReference
    context: PlanContext  # the months, the runs and their scopes, the ledger rows, what is checked again
    clients: list[tuple[PlanClient, list[PlanEngagement]]]  # by name, each with its engagements and completions
    invoices_now: dict[int, Invoice]  # client id -> the invoice the month's run raised, with its lines
    invoices_before: dict[int, InvoiceTotal]  # client id -> the invoice last month's run raised (its total)
    legacy_run: bool  # the month's run predates the ledger (it has no ledger rows)
    reads: PlanReads

    @property
    def months(self) -> PlanMonths:
        return self.context.months


def load_plan_inputs(practice_id: int, period: date, *, today: date | None = None,
                     dating: InvoiceDating = InvoiceDating.INVOICE_DAY,
                     client_ids: Collection[int] | None = None) -> PlanInputs:
    """Read what the plan for `period` needs: for every active client, plus any client invoiced by the month's or
    last month's run (only those among `client_ids`, when given)."""
    period = cadence.month_start(period)
    settings = get_billing_settings(practice_id)
    if today is None:
        practice = db.session.get(Practice, practice_id)
        today = local_today(practice.time_zone if practice else "UTC")
    xero_default = reference_data.default_branding_theme(practice_id)
    theme_names, tax = _theme_names(practice_id), tax_reference(practice_id)

    by_period, scoped, ledgered = _runs(practice_id)
    months = plan_months(period, by_period)
    approved = [run for run in (months.run, months.previous_run) if run is not None]
    clients = _clients_with_engagements(practice_id, approved, client_ids)
    runs, recheck, scope_rows = _runs_to_check(practice_id, months, Runs(by_period, scoped), clients, client_ids)
    ledger = _ledger(practice_id, months, recheck, client_ids)
    return PlanInputs(
        practice_id=practice_id, settings=settings, today=today, dating=dating, theme_names=theme_names,
        xero_default_id=xero_default.branding_theme_id if xero_default else None, tax=tax,
        context=PlanContext(months, runs, ledger, recheck),
        clients=clients,
        invoices_now=_invoices(months.run, client_ids),
        invoices_before=_invoice_totals(months.previous_run, client_ids),
        legacy_run=months.run is not None and months.run.id not in ledgered,
        reads=PlanReads(ledger_rows=len(ledger), scope_rows=scope_rows, rechecked_engagements=len(recheck)),
    )


def _runs_to_check(practice_id: int, months: PlanMonths, runs: Runs,
                   clients: list[tuple[PlanClient, list[PlanEngagement]]],
                   client_ids: Collection[int] | None) -> tuple[Runs, dict[int, tuple[date, ...]], int]:
    """The runs with the scope rows the classification asks about, the approved months each engagement is checked
    again in (engagement id -> recheck_months, when any), and how many scope rows that read: two statements."""
    active = [(client, engagements) for client, engagements in clients if client.status == ClientStatus.ACTIVE.value]
    # An approved month's own scope decides its late charges; an open month's, the latest approved month's scope
    # settles catch-up for the clients that ask (see recheck_months).
    if months.run is not None:
        first = _scopes(practice_id, [months.run], client_ids)
    else:
        asking = {client.id for client, engagements in active
                  if any(asks_settling_scope(engagement, client, months) for engagement in engagements)}
        first = _scopes(practice_id, [months.settling_run] if months.settling_run else [], asking)
    runs = replace(runs, scopes=first)
    recheck = {engagement.id: due for client, engagements in active for engagement in engagements
               if (due := recheck_months(engagement, client, months, runs))}
    rechecked_clients = {engagement.client_id for _, engagements in active for engagement in engagements
                         if engagement.id in recheck}
    rechecked_runs = [runs.by_period[month] for month in sorted({month for due in recheck.values() for month in due})]
    more = _scopes(practice_id, rechecked_runs, rechecked_clients)
    scope_rows = sum(map(len, first.values())) + sum(map(len, more.values()))
    return replace(runs, scopes=_merged(first, more)), recheck, scope_rows


def _theme_names(practice_id: int) -> dict[str, str]:
    rows = db.session.execute(
        db.select(XeroBrandingTheme.branding_theme_id, XeroBrandingTheme.name).filter_by(practice_id=practice_id)
    )
    return {theme_id: name for theme_id, name in rows}


def _runs(practice_id: int) -> tuple[dict[date, BillingRun], frozenset[int], frozenset[int]]:
    """The practice's runs by month, the ids of those that recorded a scope and of those with ledger rows."""
    has_scope = sa.exists().where(BillingRunClient.billing_run_id == BillingRun.id).label("has_scope")
    has_ledger = sa.exists().where(BilledCharge.billing_run_id == BillingRun.id).label("has_ledger")
    # Not their invoices: _invoices and _invoice_totals read the two runs' that the plan shows.
    rows = db.session.execute(db.select(BillingRun, has_scope, has_ledger)
                              .filter(BillingRun.practice_id == practice_id)
                              .options(lazyload(BillingRun.invoices))).all()
    return ({run.period: run for run, _, _ in rows}, frozenset(run.id for run, scope, _ in rows if scope),
            frozenset(run.id for run, _, billed in rows if billed))


def plan_clients(run_ids: Collection[int]) -> sa.ColumnElement[bool]:
    """Which clients a month's plan has: the active ones, plus any (archived since) invoiced by one of `run_ids`
    (the month's run and last month's)."""
    wanted: sa.ColumnElement[bool] = Client.status == ClientStatus.ACTIVE.value
    if run_ids:
        wanted = wanted | Client.id.in_(db.select(Invoice.client_id).filter(Invoice.billing_run_id.in_(run_ids)))
    return wanted


def _clients_with_engagements(practice_id: int, runs: list[BillingRun],
                              client_ids: Collection[int] | None) -> list[tuple[PlanClient, list[PlanEngagement]]]:
    """Active clients, plus any client (archived since) invoiced by one of `runs`, by name, each with its
    engagements (by id), their services and completions: four statements of plain rows however many clients."""
    wanted = plan_clients([run.id for run in runs])
    if client_ids is not None:
        wanted = wanted & Client.id.in_(list(client_ids))
    clients = [PlanClient(*row) for row in db.session.execute(
        db.select(*CLIENT_COLUMNS).filter(Client.practice_id == practice_id, wanted).order_by(Client.name, Client.id))]
    of_clients = Engagement.client_id.in_(db.select(Client.id).filter(Client.practice_id == practice_id, wanted))
    # Only by client (they are the practice's): without table statistics (a bulk import not yet analysed)
    # PostgreSQL also intersects each client's engagements with the whole practice's, 0.15 s at 2,000 clients.
    engagement_rows = db.session.execute(
        db.select(*ENGAGEMENT_COLUMNS).filter(of_clients).order_by(Engagement.id)).all()
    service_ids = sorted({engagement.service_id for engagement in engagement_rows})
    services = {row.id: PlanService(*row) for row in db.session.execute(
        db.select(*SERVICE_COLUMNS).filter(Service.id.in_(service_ids)))}  # each copied once
    completions: dict[int, list[PlanCompletion]] = {}
    for engagement_id, *completion in db.session.execute(
        db.select(EngagementCompletion.engagement_id, *COMPLETION_COLUMNS)
        .join(Engagement, Engagement.id == EngagementCompletion.engagement_id)
        .filter(EngagementCompletion.practice_id == practice_id, of_clients)
        .order_by(EngagementCompletion.completed_on, EngagementCompletion.id)
    ):
        completions.setdefault(engagement_id, []).append(PlanCompletion(*completion))
    by_client: dict[int, list[PlanEngagement]] = {}
    for row in engagement_rows:
        by_client.setdefault(row.client_id, []).append(PlanEngagement(
            *row, service=services[row.service_id], completions=tuple(completions.get(row.id, ()))))
    return [(client, by_client.get(client.id, [])) for client in clients]


def _invoices(run: BillingRun | None, client_ids: Collection[int] | None) -> dict[int, Invoice]:
    """Client id -> the invoice `run` raised, with its lines: two statements however many invoices (even for no
    run)."""
    of_run: sa.ColumnElement[bool] = Invoice.billing_run_id.in_([run.id] if run else [])
    if client_ids is not None:
        of_run = of_run & Invoice.client_id.in_(list(client_ids))
    invoices = db.session.execute(
        # Not its client (a joined load by default): rows show the plan's own copy.
        db.select(Invoice).filter(of_run).options(noload(Invoice.lines), lazyload(Invoice.client))
    ).scalars().all()
    lines: dict[int, list[InvoiceLine]] = {}
    for line in db.session.execute(
        db.select(InvoiceLine).filter(InvoiceLine.invoice_id.in_(db.select(Invoice.id).filter(of_run)))
        .order_by(InvoiceLine.position, InvoiceLine.id)
    ).scalars():
        lines.setdefault(line.invoice_id, []).append(line)
    for invoice in invoices:
        set_committed_value(invoice, "lines", lines.get(invoice.id, []))
    return {invoice.client_id: invoice for invoice in invoices}


def _invoice_totals(run: BillingRun | None, client_ids: Collection[int] | None) -> dict[int, InvoiceTotal]:
    """Client id -> the total of the invoice `run` raised, from plain rows: one statement, even for no run."""
    of_run: sa.ColumnElement[bool] = Invoice.billing_run_id.in_([run.id] if run else [])
    if client_ids is not None:
        of_run = of_run & Invoice.client_id.in_(list(client_ids))
    # Read as Money: the Quantity type sets no cache_ok of its own, and SQLAlchemy warns on a statement selecting
    # it (loading InvoiceLine models does not). Quantity is Money by another name.
    quantity = sa.literal_column(f"{InvoiceLine.__tablename__}.quantity", Money())
    totals: dict[int, Decimal] = {}
    for client_id, line_quantity, unit_amount in db.session.execute(
        db.select(Invoice.client_id, quantity, InvoiceLine.unit_amount)
        .outerjoin(InvoiceLine, InvoiceLine.invoice_id == Invoice.id).filter(of_run)
    ):
        # InvoiceLine.amount, summed as Invoice.total sums it; an invoice without lines totals nothing.
        amount = ZERO if line_quantity is None else (line_quantity * unit_amount).quantize(unit_amount)
        totals[client_id] = totals.get(client_id, ZERO) + amount
    return {client_id: InvoiceTotal(total) for client_id, total in totals.items()}


def _among(column: sa.ColumnElement[int] | InstrumentedAttribute[int], ids: Collection[int]) -> sa.ColumnElement[bool]:
    """`column IN ids`, or no limit at all when there are too many ids to bind (a superset)."""
    return column.in_(sorted(ids)) if len(ids) <= MANY_IDS else sa.true()


def _scopes(practice_id: int, runs: Iterable[BillingRun],
            client_ids: Collection[int] | None) -> dict[int, frozenset[int]]:
    """Run id -> the clients in its scope (those among `client_ids`, unless None), for `runs`: one statement,
    even for none."""
    of_clients = sa.true() if client_ids is None else _among(BillingRunClient.client_id, client_ids)
    rows = db.session.execute(
        db.select(BillingRunClient.billing_run_id, BillingRunClient.client_id)
        .join(BillingRun, BillingRun.id == BillingRunClient.billing_run_id)
        .filter(BillingRun.practice_id == practice_id, BillingRunClient.billing_run_id.in_([run.id for run in runs]),
                of_clients)
    )
    scopes: dict[int, set[int]] = {}
    for run_id, client_id in rows:
        scopes.setdefault(run_id, set()).add(client_id)
    return {run_id: frozenset(clients) for run_id, clients in scopes.items()}


def _merged(*scopes: dict[int, frozenset[int]]) -> dict[int, frozenset[int]]:
    merged: dict[int, frozenset[int]] = {}
    for part in scopes:
        for run_id, clients in part.items():
            merged[run_id] = merged.get(run_id, frozenset()) | clients
    return merged


def _ledger(practice_id: int, months: PlanMonths, recheck: dict[int, tuple[date, ...]],
            client_ids: Collection[int] | None) -> dict[str, Billed]:
    """Ledger key -> what billed it, for every charge the classification looks up: those due this month, the
    month's own run's, those due in the earlier months not approved, completions dated before Socket (an open
    month catches them up) and, per engagement checked again, those due from its first such month on."""
    wanted = [BilledCharge.due_period == months.period]
    if months.run is not None:
        wanted.append(BilledCharge.billing_run_id == months.run.id)
    if months.gaps:
        wanted.append(BilledCharge.due_period.in_(months.gaps))
    if months.run is None and months.go_live is not None:
        wanted.append(BilledCharge.completion_id.is_not(None) & (BilledCharge.due_period < months.go_live))
    earlier = BilledCharge.due_period < months.period
    if len(recheck) > MANY_IDS:
        wanted.append(earlier & (BilledCharge.due_period >= min(due[0] for due in recheck.values())))
    else:
        by_first: dict[date, list[int]] = {}
        for engagement_id, due in recheck.items():
            by_first.setdefault(due[0], []).append(engagement_id)
        wanted += [earlier & (BilledCharge.due_period >= first) & BilledCharge.engagement_id.in_(sorted(ids))
                   for first, ids in sorted(by_first.items())]
    query = db.select(BilledCharge.charge_key, BilledCharge.billing_run_id, BilledCharge.invoice_id,
                      BilledCharge.engagement_id, BilledCharge.completion_id, BilledCharge.due_period
                      ).filter(BilledCharge.practice_id == practice_id, sa.or_(*wanted))
    if client_ids is not None:
        query = query.filter(BilledCharge.engagement_id.in_(
            db.select(Engagement.id).filter(Engagement.practice_id == practice_id,
                                            Engagement.client_id.in_(list(client_ids)))))
    # In the order approval wrote them: an invoice's charges, and so its notes, come out as they went in.
    return {row.charge_key: Billed(*row) for row in db.session.execute(query.order_by(BilledCharge.id))}
