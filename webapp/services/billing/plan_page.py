"""The Billing Plan page: a month's summary and one page of its clients, filtered, searched and sorted in SQL.

Reads the stored plan (plan_store), so a page costs the same handful of statements with 40 clients or 5,000 and
12 approved months or 60: the summary (one row, with the counts the filter needs), the month's runs, the page's
ids in order and then its rows, the page's invoices once approved, and a count only when searching.
"""
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import lazyload

from webapp.extensions import db
from webapp.models import BillingRun, Client, Invoice
from webapp.models.billing_plan import BillingPlanRow
from webapp.services.billing import cadence
from webapp.services.billing.changes import Change
from webapp.services.billing.dates import InvoiceDating, invoice_dates
from webapp.services.billing.plan import (
    ClientPlan,
    EndedClientPlan,
    InvoicePreview,
    LateCharges,
    PlanDates,
    PlanMonth,
    PlanTotals,
)
from webapp.services.billing.plan_store import PlanSummary, Section, StoredPreview, decode_row, ensure_stored

PER_PAGE = 50
MAX_SEARCH = 100


SORTS = {
    "name": "Client name",
    "amount": "This month, highest first",
    "difference": "Largest increase first",
    "decrease": "Largest decrease first",
    "last": "Last month, highest first",
}


@dataclass(frozen=True)
class ShownClient:
    """A row's client as the page shows it: its id, name and code as stored with the row (a rename marks it
    stale), so a page reads no client rows."""

    id: int
    name: str
    code: str


@dataclass(frozen=True)
class PlanQuery:
    """What the person asked for: a change type, a search, an order and a page (bad values fall back)."""

    change: Change | None = None
    search: str = ""
    sort: str = "name"
    page: int = 1

    @classmethod
    def from_args(cls, change: str | None, search: str | None, sort: str | None, page: str | None) -> "PlanQuery":
        try:
            wanted = Change(change) if change else None
        except ValueError:
            wanted = None
        try:
            number = max(1, int(page or 1)) if (page or "1").isascii() else 1
        except ValueError:
            number = 1
        return cls(change=wanted, search=(search or "").strip()[:MAX_SEARCH],
                   sort=sort if sort in SORTS else "name", page=min(number, 100_000))

    @property
    def filtered(self) -> bool:
        return self.change is not None or bool(self.search)

    def args(self, **changes) -> dict[str, str]:
        """Query parameters for a link to this view with `changes` (e.g. page=2), without defaults."""
        values = {"change": self.change.value if self.change else "", "q": self.search, "sort": self.sort,
                  "page": str(self.page)}
        values.update({key: str(value) for key, value in changes.items()})
        return {key: value for key, value in values.items()
                if value and not (key == "sort" and value == "name") and not (key == "page" and value == "1")}


@dataclass(frozen=True)
class PlanPage(PlanMonth):
    """What the Billing Plan template shows: the month's summary (all clients) and one page of rows.

    Keeps the names of billing.plan.BillingPlan where they mean the same, so the page reads like the plan.
    """

    practice_id: int
    period: date
    run: BillingRun | None
    fingerprint: str
    totals: PlanTotals
    summary: PlanSummary
    rows: list[ClientPlan]  # this page's clients invoiced this month
    ended: list[EndedClientPlan]  # this page's clients billed last month only
    query: PlanQuery
    matching: int  # rows matching the filter and search, over every page
    dates: PlanDates | None = None
    late: list[LateCharges] = field(default_factory=list)
    next_open_period: date | None = None

    @property
    def is_empty(self) -> bool:
        return self.summary.billed == 0

    @property
    def billed_count(self) -> int:
        return self.summary.billed

    @property
    def invoice_count(self) -> int:
        return self.summary.invoice_count

    @property
    def catch_up_count(self) -> int:
        return self.summary.catch_up_count

    @property
    def awaiting_periods(self) -> tuple[date, ...]:
        return self.summary.awaiting_periods

    @property
    def before_socket(self) -> tuple[str, ...]:
        return self.summary.before_socket

    @property
    def pages(self) -> int:
        return max(1, -(-self.matching // PER_PAGE))

    @property
    def first_shown(self) -> int:
        return 0 if not self.matching else (self.query.page - 1) * PER_PAGE + 1

    @property
    def last_shown(self) -> int:
        return min(self.matching, self.query.page * PER_PAGE)


def plan_page(practice_id: int, period: date, query: PlanQuery, today: date,
              dating: InvoiceDating = InvoiceDating.TODAY) -> PlanPage:
    """The month's page: its summary, and the rows of `query`'s page with their previews dated for `today`."""
    period = cadence.month_start(period)
    fingerprint, summary = ensure_stored(practice_id, period)
    runs = {run.period: run for run in db.session.execute(
        select(BillingRun).filter(BillingRun.practice_id == practice_id, BillingRun.period >= period)
        .options(lazyload(BillingRun.invoices)).order_by(BillingRun.period)).scalars()}
    run = runs.get(period)
    matching = _matching(practice_id, period, query, summary)
    last_page = max(1, -(-matching // PER_PAGE))
    if query.page > last_page:  # past the last page (an old link, or rows gone since): show the last one
        query = replace(query, page=last_page)
    found = _page_rows(practice_id, period, query)
    invoices = invoices_by_id([stored.invoice_id for stored in found if stored.invoice_id])
    rows: list[ClientPlan] = []
    ended: list[EndedClientPlan] = []
    for stored in found:
        row = shown_row(stored, invoices.get(stored.invoice_id) if stored.invoice_id else None, today, dating)
        if isinstance(row, ClientPlan):
            rows.append(row)
        else:
            ended.append(row)
    dates = _dates(period, summary, today, dating) if run is None else None
    return PlanPage(
        practice_id=practice_id, period=period, run=run, fingerprint=fingerprint,
        totals=PlanTotals(this_month=summary.this_month, last_month=summary.last_month,
                          counts={change: summary.counts.get(change.value, 0) for change in Change}, vat=summary.vat),
        summary=summary, rows=rows, ended=ended, query=query, matching=matching, dates=dates,
        late=_late(summary) if run is not None else [],
        next_open_period=cadence.first_month_after(period, runs) if run is not None else None,
    )


def shown_row(stored: BillingPlanRow, invoice: Invoice | None, today: date,
              dating: InvoiceDating) -> ClientPlan | EndedClientPlan:
    """A stored row as the page shows it: with its invoice preview dated for `today` when it is invoiced this
    month, else as billed last month only."""
    payload = decode_row(stored.payload)
    # The row types name the plan's client records; the page's rows carry the lighter ShownClient.
    common: dict[str, Any] = dict(
        client=ShownClient(stored.client_id, stored.client_name, stored.client_code), items=list(payload.items),
        amount=stored.amount, last_amount=stored.last_amount, change=Change(stored.change), invoice=invoice,
        details=payload.details, notes=payload.notes)
    if stored.section == Section.BILLED.value and payload.preview is not None:
        return ClientPlan(preview=_preview(payload.preview, today, dating), **common)
    return EndedClientPlan(**common)


def filtered_rows(statement: Select, practice_id: int, period: date, query: PlanQuery) -> Select:
    statement = statement.filter(BillingPlanRow.practice_id == practice_id, BillingPlanRow.period == period,
                                 BillingPlanRow.section != Section.NONE.value)
    if query.change is not None:
        statement = statement.filter(BillingPlanRow.change == query.change.value)
    if query.search:
        pattern = "%" + query.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.filter(or_(BillingPlanRow.client_name.ilike(pattern, escape="\\"),
                                         BillingPlanRow.client_code.ilike(pattern, escape="\\")))
    return statement


def _page_rows(practice_id: int, period: date, query: PlanQuery) -> list[BillingPlanRow]:
    """The page's rows, in order: their ids first, on narrow columns (an index scan in the default order, a small
    sort otherwise), then those 50 rows whole by primary key.

    Two statements, not one with the ids as a subquery: without table statistics (a fresh month's rows) PostgreSQL
    planned that as a nested loop running the subquery once per row of the month (90 ms at 2,000 clients), and
    sorting every row with its JSON payload instead took most of a page's time.
    """
    ids = list(db.session.execute(
        filtered_rows(select(BillingPlanRow.client_id), practice_id, period, query)
        .order_by(*page_ordering(query.sort)).limit(PER_PAGE).offset((query.page - 1) * PER_PAGE)).scalars())
    if not ids:
        return []
    rows = {row.client_id: row for row in db.session.execute(
        select(BillingPlanRow).filter(BillingPlanRow.practice_id == practice_id, BillingPlanRow.period == period,
                                      BillingPlanRow.client_id.in_(ids))).scalars()}
    return [rows[client_id] for client_id in ids if client_id in rows]


def page_ordering(sort: str) -> list[ColumnElement[Any]]:
    difference = BillingPlanRow.amount - BillingPlanRow.last_amount
    order: Sequence[ColumnElement[Any]] = {
        "name": [],
        "amount": [BillingPlanRow.amount.desc()],
        "difference": [difference.desc()],
        "decrease": [difference.asc()],
        "last": [BillingPlanRow.last_amount.desc()],
    }[sort]
    # Invoiced clients first, then those billed last month only (as the full plan lists them).
    return [BillingPlanRow.section_order.asc(), *order, BillingPlanRow.client_name.asc(),
            BillingPlanRow.client_id.asc()]


def _matching(practice_id: int, period: date, query: PlanQuery, summary: PlanSummary) -> int:
    """Rows matching the filter and search: from the summary's counts, or (searching) counted in SQL."""
    if not query.search:
        shown = summary.billed + summary.ended
        return summary.counts.get(query.change.value, 0) if query.change is not None else shown
    statement = select(func.count()).select_from(BillingPlanRow)
    return db.session.execute(filtered_rows(statement, practice_id, period, query)).scalar_one()


def invoices_by_id(invoice_ids: list[int]) -> dict[int, Invoice]:
    """The invoices the stored rows name (ids from the practice's own rows), without their client or lines."""
    if not invoice_ids:
        return {}
    return {invoice.id: invoice for invoice in db.session.execute(
        select(Invoice).filter(Invoice.id.in_(invoice_ids))
        .options(lazyload(Invoice.client), lazyload(Invoice.lines))).scalars()}


def dates_for(preview: StoredPreview, today: date, dating: InvoiceDating) -> tuple[date, date]:
    """A stored open-month preview's invoice and due dates as shown `today`: its invoice day, or today once that
    has passed and `dating` says so (the due date moving with it)."""
    if preview.invoice_day_date is None or preview.invoice_day_due_date is None:
        return preview.issue_date, preview.due_date  # a raised invoice's own dates
    issue, due = preview.invoice_day_date, preview.invoice_day_due_date
    if dating is InvoiceDating.TODAY and issue < today:
        return today, today + (due - issue)
    return issue, due


def _preview(stored: StoredPreview, today: date, dating: InvoiceDating) -> InvoicePreview:
    issue, due = dates_for(stored, today, dating)
    return InvoicePreview(issue_date=issue, due_date=due, branding_theme_id=stored.branding_theme_id,
                          template_name=stored.template_name, lines=list(stored.lines), tax=stored.tax,
                          invoice_day_date=stored.invoice_day_date, invoice_day_due_date=stored.invoice_day_due_date,
                          own_terms=stored.own_terms)


def _dates(period: date, summary: PlanSummary, today: date, dating: InvoiceDating) -> PlanDates:
    """The open month's dates (the practice's invoice day and terms, as the summary was written with them)."""
    day, due = invoice_dates(period, summary.invoice_day, summary.payment_terms_days)
    return PlanDates(today=today, invoice_day=day, due_date=due,
                     today_due_date=today + timedelta(days=summary.payment_terms_days), dating=dating,
                     passed=summary.passed(today), own_terms=summary.own_terms)


def _late(summary: PlanSummary) -> list[LateCharges]:
    if not summary.late:
        return []
    clients = {client.id: client for client in db.session.execute(
        select(Client).filter(Client.id.in_([client_id for client_id, _ in summary.late]))
        .options(lazyload("*"))).scalars()}
    return [LateCharges(clients[client_id], list(items)) for client_id, items in summary.late if client_id in clients]

