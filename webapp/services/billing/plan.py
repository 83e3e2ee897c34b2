"""The Billing Plan: what each active client will be invoiced in a month, and how that changed.

Built in three steps, each in its own module: plan_loader reads everything the plan needs in the same number
of statements however many clients or approved months; plan_classifier sorts each client's charges (billed
this month, caught up, late, awaiting an earlier month: its doc says what catch-up bills); plan_rows makes
each client's row and outcome. This module assembles the outcomes into the BillingPlan and fingerprints it.

A plan is the sum of its clients' outcomes: the outcomes of disjoint sets of clients (build_client_outcomes
with `client_ids`), concatenated in client order, assemble into the same plan as one build of them all.
"""
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from webapp.models import BillingRun
from webapp.services.billing import cadence
from webapp.services.billing.changes import Change
from webapp.services.billing.dates import InvoiceDating, InvoiceTerms, invoice_dates
from webapp.services.billing.plan_classifier import Charge, classify, engagement_charges, invoiced_charges
from webapp.services.billing.plan_loader import PlanReads, load_plan_inputs
from webapp.services.billing.plan_rows import (
    ClientOutcome,
    ClientPlan,
    EndedClientPlan,
    InvoicePreview,
    LateCharges,
    RowContext,
    billable_item,
    client_outcome,
    client_terms,
    effective_theme_id,
    has_own_terms,
    invoice_preview,
    line_rules,
    preview_invoice,
)

__all__ = [
    "ZERO", "BillingPlan", "Change", "Charge", "ClientOutcome", "ClientPlan", "EndedClientPlan", "InvoicePreview",
    "LateCharges", "PlanBuild", "PlanDates", "PlanTotals", "assemble_plan", "billable_item", "build_client_outcomes",
    "build_plan", "client_terms", "effective_theme_id", "engagement_charges", "has_own_terms", "invoice_preview",
    "line_rules", "parse_period", "plan_dates", "plan_fingerprint", "preview_invoice", "row_fingerprint",
]

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PlanTotals:
    this_month: Decimal  # net, before VAT, like last_month
    last_month: Decimal
    counts: dict[Change, int]
    vat: Decimal | None = None  # this month's VAT on the previews, when every line's rate is known

    @property
    def difference(self) -> Decimal:
        return self.this_month - self.last_month


@dataclass(frozen=True)
class PlanDates:
    """An open month's invoice dates: the practice's invoice day and due date, and whether approving must ask
    which date to give invoices whose invoice day has already passed (that day, or today)."""

    today: date  # in the practice's time zone
    invoice_day: date  # the practice's invoice day in the month
    due_date: date  # ... plus the practice's payment terms
    today_due_date: date  # today plus the practice's payment terms
    dating: InvoiceDating  # how the previews are dated
    passed: int = 0  # invoices whose invoice day (the client's, else the practice's) has passed
    own_terms: int = 0  # invoices for clients with their own invoice day or payment terms

    @property
    def practice_day_passed(self) -> bool:
        return self.invoice_day < self.today

    @property
    def ask(self) -> bool:
        """Approving asks "the invoice day or today?": some invoice would otherwise be dated in the past."""
        return self.passed > 0


class PlanMonth:
    """The months either side of a plan's, for its navigation (BillingPlan and the page's PlanPage)."""

    period: date  # first day of the month

    @property
    def previous_period(self) -> date:
        return cadence.add_months(self.period, -1)

    @property
    def next_period(self) -> date:
        return cadence.add_months(self.period, 1)


@dataclass(frozen=True)
class BillingPlan(PlanMonth):
    practice_id: int
    period: date  # first day of the month
    rows: list[ClientPlan]  # clients billed this month, by name
    ended: list[EndedClientPlan]  # clients billed last month but not this month
    totals: PlanTotals
    run: BillingRun | None = None
    late: list[LateCharges] = field(default_factory=list)  # approved month only: due here, not yet invoiced
    next_open_period: date | None = None  # the first month after this one that is not approved
    scope_client_ids: frozenset[int] = frozenset()  # the active clients: approving records them as its scope
    awaiting_periods: list[date] = field(default_factory=list)  # earlier months with charges, not approved
    # Open month: calendar fees covering it that fell due before Socket's first approved month (not billed).
    before_socket: list[str] = field(default_factory=list)
    dates: PlanDates | None = None  # open month only: its invoice dates, and whether approving asks which

    @property
    def is_empty(self) -> bool:
        return not self.rows

    @property
    def invoice_count(self) -> int:
        """Approved month: the invoices its run raised (one row each)."""
        return sum(1 for row in self.rows if row.invoice is not None)

    @property
    def catch_up_count(self) -> int:
        return sum(1 for row in self.rows for item in row.items if item.catch_up)

    @property
    def fingerprint(self) -> str:
        """A digest of every invoice approving will raise: approval refuses if it no longer matches."""
        return plan_fingerprint(self.rows)


def row_fingerprint(row: ClientPlan) -> str:
    """A digest (hex) of the invoice approving will raise for one row: its client, dates, template and lines."""
    digest = hashlib.sha256()
    preview = row.preview
    # The invoice-day dates, not the ones the plan was shown with: approving on its invoice day or
    # today is the approver's choice (and "today" moves at midnight), not a change in the plan.
    digest.update(f"client {row.client.id} {preview.invoice_day_date or preview.issue_date} "
                  f"{preview.invoice_day_due_date or preview.due_date} {preview.branding_theme_id}\n".encode())
    for line, taxed in zip(preview.lines, preview.tax.lines, strict=True):
        # The resolved tax type too: approval stores it, so an account's default changing refuses.
        digest.update(repr((line.description, str(line.quantity), str(line.unit_amount), line.account_code,
                            taxed.tax_type, line.service_id, line.charge_keys)).encode() + b"\n")
    return digest.hexdigest()


def plan_fingerprint(rows: Iterable[ClientPlan]) -> str:
    """The plan's digest: of its rows' digests by client id, so it can be made from stored row digests."""
    return combine_fingerprints({row.client.id: row_fingerprint(row) for row in rows})


def combine_fingerprints(digests_by_client: Mapping[int, str]) -> str:
    """The plan's fingerprint from its rows' digests (row_fingerprint) by client id, in any order."""
    joined = "".join(digests_by_client[client_id] for client_id in sorted(digests_by_client))
    return hashlib.sha256(joined.encode()).hexdigest()[:32]


def parse_period(value: str | None) -> date | None:
    """`YYYY-MM` to the first day of that month, or None when it is not one (digits 0-9 only: strptime alone
    would also read "２０２６-11")."""
    if not (value or "").isascii():
        return None
    try:
        parsed = datetime.strptime(value or "", "%Y-%m")
    except ValueError:
        return None
    return parsed.date() if 2000 <= parsed.year <= 2100 else None


class PracticeTerms(Protocol):
    """The practice's invoice day and payment terms (its BillingSettings, or InvoiceTerms)."""

    @property
    def invoice_day(self) -> int: ...

    @property
    def payment_terms_days(self) -> int: ...


def plan_dates(settings: PracticeTerms, period: date, today: date, dating: InvoiceDating,
               rows: Sequence[ClientPlan]) -> PlanDates:
    """The open month's dates (see PlanDates) for the invoices in `rows`."""
    invoice_day, due = invoice_dates(period, settings.invoice_day, settings.payment_terms_days)
    passed = sum(1 for row in rows if row.preview.invoice_day_date and row.preview.invoice_day_date < today)
    return PlanDates(today=today, invoice_day=invoice_day, due_date=due,
                     today_due_date=today + timedelta(days=settings.payment_terms_days), dating=dating,
                     passed=passed, own_terms=sum(1 for row in rows if row.preview.own_terms))


@dataclass(frozen=True)
class PlanBuild:
    """A plan before it is assembled: its month, runs and dating, and every client's outcome in client order."""

    practice_id: int
    period: date  # first day of the month
    run: BillingRun | None  # the month's run, when approved
    previous_run: BillingRun | None
    next_open_period: date | None  # approved month: the first month after it that is not approved
    terms: InvoiceTerms  # the practice's invoice day and payment terms (an open month's PlanDates)
    today: date
    dating: InvoiceDating
    outcomes: list[ClientOutcome]  # by client name, then id
    reads: PlanReads | None = None  # what loading it read (its cost)


def build_client_outcomes(practice_id: int, period: date, *, today: date | None = None,
                          dating: InvoiceDating = InvoiceDating.INVOICE_DAY,
                          client_ids: Collection[int] | None = None) -> PlanBuild:
    """Every client's outcome in the plan for `period` (see build_plan), or only those among `client_ids`."""
    inputs = load_plan_inputs(practice_id, period, today=today, dating=dating, client_ids=client_ids)
    months = inputs.months
    engagements = {engagement.id: engagement for _, of_client in inputs.clients for engagement in of_client}
    row_context = RowContext(
        settings=inputs.settings, period=months.period, run=months.run, previous_run=months.previous_run,
        legacy_run=inputs.legacy_run, invoices_now=inputs.invoices_now, invoices_before=inputs.invoices_before,
        invoiced_charges=invoiced_charges(inputs.context.ledger, months.run, engagements) if months.run else {},
        theme_names=inputs.theme_names, xero_default_id=inputs.xero_default_id, tax=inputs.tax,
        today=inputs.today, dating=dating,
    )
    outcomes = [client_outcome(client, of_client, classify(client, of_client, inputs.context), row_context)
                for client, of_client in inputs.clients]
    return PlanBuild(
        practice_id=practice_id, period=months.period, run=months.run, previous_run=months.previous_run,
        next_open_period=inputs.context.runs.next_open_after(months.period) if months.run is not None else None,
        terms=InvoiceTerms(inputs.settings.invoice_day, inputs.settings.payment_terms_days),
        today=inputs.today, dating=dating, outcomes=outcomes, reads=inputs.reads,
    )


def _vat_total(rows: list[ClientPlan]) -> Decimal | None:
    """The previews' VAT, when every one's is known (complete)."""
    known = [row.preview.tax.vat for row in rows if row.preview.tax.vat is not None]
    if not rows or len(known) < len(rows):
        return None
    return sum(known, ZERO)


def assemble_plan(build: PlanBuild, outcomes: Sequence[ClientOutcome] | None = None) -> BillingPlan:
    """The BillingPlan of `build`'s month from its clients' outcomes (`outcomes`, in client order, instead of
    the build's own when given: e.g. stored ones)."""
    outcomes = build.outcomes if outcomes is None else outcomes
    rows = [outcome.row for outcome in outcomes if isinstance(outcome.row, ClientPlan)]
    ended = [outcome.row for outcome in outcomes if isinstance(outcome.row, EndedClientPlan)]
    shown = [outcome.row for outcome in outcomes if outcome.row is not None]
    counts = {change: 0 for change in Change}
    for row in shown:
        counts[row.change] += 1
    totals = PlanTotals(this_month=sum((row.amount for row in shown), ZERO),
                        last_month=sum((row.last_amount for row in shown), ZERO), counts=counts,
                        vat=_vat_total(rows))
    return BillingPlan(
        practice_id=build.practice_id, period=build.period, rows=rows, ended=ended, totals=totals, run=build.run,
        late=[outcome.late for outcome in outcomes if outcome.late is not None],
        next_open_period=build.next_open_period,
        scope_client_ids=frozenset(outcome.client.id for outcome in outcomes if outcome.in_scope),
        awaiting_periods=sorted(frozenset[date]().union(*(outcome.awaiting for outcome in outcomes))),
        before_socket=[note for outcome in outcomes for note in outcome.before_socket],
        dates=plan_dates(build.terms, build.period, build.today, build.dating, rows) if build.run is None else None,
    )


def build_plan(practice_id: int, period: date, *, today: date | None = None,
               dating: InvoiceDating = InvoiceDating.INVOICE_DAY,
               client_ids: Collection[int] | None = None) -> BillingPlan:
    """The plan for one practice and month: per client its lines, amount and change against last month.

    An open month's previews are dated by `dating` (each on its invoice day unless TODAY says otherwise for
    one whose day is behind `today`, the practice's today by default); its `dates` say whether approving
    must ask which.

    The change is in the client's agreed work, not its amount (see billing.changes); cadence moves in
    the amount get notes.

    Not yet approved: the charges due this month plus catch-up, none of them in the ledger, for active
    clients. Approved: what WAS invoiced — one row per invoice its run raised, with the invoice's own
    lines and total, whatever changed since (a client archived, an engagement added or edited) — and,
    separately, charges due this month that are still not invoiced (`late`).

    "Last month" is what the previous month's run invoiced when that month is approved, else what would
    fall due in it.

    With `client_ids`, only those clients: the plan's rows, lists, totals and scope cover them alone.
    """
    return assemble_plan(build_client_outcomes(practice_id, period, today=today, dating=dating,
                                               client_ids=client_ids))
