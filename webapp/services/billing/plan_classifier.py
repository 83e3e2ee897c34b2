"""Which of one client's charges a month's plan bills, shows as late, or notes. Pure: no database.

A month's plan bills the charges that fell due in it and are not yet in the ledger (BilledCharge), plus
catch-up: charges that fell due in an earlier month that was already approved but were missed (a
back-dated engagement, a completion recorded after approval). Catch-up never reaches before the
practice's first approved month (history from before Socket is not billed: an open month's plan notes a
quarterly/annual fee covering it that fell due before then), except for completions, which bill once
whenever they are dated, so one dated before that month is caught up too. It bills a month's missed
charge only to a client in that month's scope — active when it was approved — so never for a month the
client was archived in (see Runs.may_catch_up; months approved before scopes were recorded are not
caught up).

History costs nothing: a charge can only have been missed in an approved month if something that decides
it changed after that month was approved (`changed_at`), and it stays missed only until a later month is
approved with its client in scope (that month's plan caught it up). So an engagement is checked again in
the approved months `recheck_months` names — none for one untouched since — and its other approved months
are skipped without reading their ledger rows.
"""
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from webapp.models import BillingMethod, BillingRun, ClientStatus
from webapp.services.billing import cadence
from webapp.services.billing.plan_records import PlanClient, PlanEngagement, PlanService

# BillingMethod by value, without an Enum call each time (the plan asks per charge).
_METHODS = {method.value: method for method in BillingMethod}


def billing_method(service: PlanService) -> BillingMethod:
    """The service's BillingMethod."""
    return _METHODS.get(service.billing_method) or BillingMethod(service.billing_method)


@dataclass(frozen=True, slots=True)
class Charge:
    """One charge an engagement makes: a calendar month's fee or a completion."""

    key: str
    engagement: PlanEngagement
    due_period: date
    completion_id: int | None = None


def engagement_charges(engagement: PlanEngagement, first: date, last: date,
                       completions_from: date | None = None) -> list[Charge]:
    """The charges `engagement` makes that fall due from month `first` to month `last` (inclusive).

    Completions from month `completions_from` instead, when given (earlier than `first`).
    """
    since = completions_from or first
    return _calendar_charges(engagement, first, last) + [
        charge for charge in _completion_charges(engagement) if since <= charge.due_period <= last]


def _calendar_charges(engagement: PlanEngagement, first: date, last: date) -> list[Charge]:
    method = billing_method(engagement.service)
    return [Charge(cadence.cadence_key(engagement.id, period), engagement, period)
            for period in cadence.due_months(method, engagement.start_date, engagement.end_date, first, last)]


def _calendar_charges_in(engagement: PlanEngagement, months: Iterable[date]) -> list[Charge]:
    """The engagement's calendar charges due in `months` (firsts of months), in their order."""
    method, start, end = billing_method(engagement.service), engagement.start_date, engagement.end_date
    return [Charge(cadence.cadence_key(engagement.id, month), engagement, month)
            for month in months if cadence.bills_in(method, start, end, month)]


def _completion_charges(engagement: PlanEngagement) -> list[Charge]:
    return [Charge(cadence.completion_key(completion.id), engagement, cadence.month_start(completion.completed_on),
                   completion.id)
            for completion in engagement.completions]


@dataclass(frozen=True, slots=True)
class Billed:
    """One ledger row: which run and invoice billed a charge."""

    charge_key: str
    billing_run_id: int
    invoice_id: int
    engagement_id: int
    completion_id: int | None
    due_period: date


@dataclass(frozen=True)
class Runs:
    """The practice's approved months, and of each one's scope (the clients active when it was approved) as
    much as the plan needs: `scopes` holds only the (run, client) pairs that were read."""

    by_period: Mapping[date, BillingRun]
    scoped: frozenset[int] = frozenset()  # the runs that recorded a scope (those approved before scopes had none)
    scopes: Mapping[int, frozenset[int]] = field(default_factory=dict)  # run id -> its scope's clients, as read

    def next_open_after(self, period: date) -> date:
        return cadence.first_month_after(period, self.by_period)

    def in_scope(self, run: BillingRun, client_id: int) -> bool:
        return client_id in self.scopes.get(run.id, ())

    def may_catch_up(self, run: BillingRun, client: PlanClient) -> bool:
        """Whether a charge `run`'s month missed may still be billed to `client` in a later month.

        Only for a client in the run's scope (active when the month was approved), or created after the
        approval (it cannot have been archived then). A run without a recorded scope (approved before
        scopes existed) is never caught up: "everyone active now" could bill a month a client was
        archived in.
        """
        if run.id not in self.scoped:
            return False
        return self.in_scope(run, client.id) or client.created_at > run.approved_at


@dataclass(frozen=True)
class PlanMonths:
    """The months one plan looks at, and which of them are approved."""

    period: date  # the plan's month (first day)
    look_back: date  # catch-up looks back to here (the first approved month), never before
    go_live: date | None  # Socket's first approved month, once `period` is on or after it
    run: BillingRun | None  # the month's run, when approved
    previous_run: BillingRun | None
    approved_before: tuple[BillingRun, ...]  # the approved months from look_back to the month before, by period
    gaps: tuple[date, ...]  # the months from look_back to the month before that are not approved
    first_approval: datetime | None = None  # when the earliest of approved_before was approved

    @property
    def previous(self) -> date:
        return cadence.add_months(self.period, -1)

    @property
    def settling_run(self) -> BillingRun | None:
        """The latest approved month before this one: its plan caught up every charge missed before it."""
        return self.approved_before[-1] if self.approved_before else None


def plan_months(period: date, by_period: Mapping[date, BillingRun]) -> PlanMonths:
    """The plan's months (see PlanMonths) for `period`, given the practice's runs by month."""
    first_run = min(by_period, default=None)
    look_back = first_run if first_run is not None and first_run < period else period
    go_live = first_run if first_run is not None and first_run <= period else None
    earlier = [look_back]
    while earlier[-1] < period:
        earlier.append(cadence.add_months(earlier[-1], 1))
    earlier.pop()  # `period` itself
    approved_before = tuple(by_period[month] for month in earlier if month in by_period)
    return PlanMonths(
        period=period, look_back=look_back, go_live=go_live, run=by_period.get(period),
        previous_run=by_period.get(cadence.add_months(period, -1)),
        approved_before=approved_before,
        gaps=tuple(month for month in earlier if month not in by_period),
        first_approval=min((run.approved_at for run in approved_before), default=None),
    )


def changed_at(engagement: PlanEngagement, client: PlanClient) -> datetime | None:
    """When anything deciding the engagement's charges last changed: the engagement itself (created, dates,
    price), its service (billing method), a completion recorded, or its client created. None: not known (not
    yet saved), so changed now."""
    times = [engagement.updated_at, engagement.created_at, engagement.service.updated_at, client.created_at,
             *(completion.created_at for completion in engagement.completions)]
    return None if None in times else max(times)


def asks_settling_scope(engagement: PlanEngagement, client: PlanClient, months: PlanMonths) -> bool:
    """Whether recheck_months needs to know if the client is in the latest approved month's scope."""
    settling = months.settling_run
    if months.run is not None or settling is None or months.first_approval is None:
        return False
    changed = changed_at(engagement, client)
    return changed is not None and months.first_approval <= changed < settling.approved_at


def recheck_months(engagement: PlanEngagement, client: PlanClient, months: PlanMonths, runs: Runs) -> tuple[date, ...]:
    """The approved months before an open month in which one of the engagement's charges may have been missed.

    Those approved before it last changed (from the month it started on), unless the latest approved month was
    approved after that change with the client in its scope: its plan saw the engagement as it is and caught up
    whatever was missed. An approved month's plan shows what its run invoiced: none.
    """
    if months.run is not None or months.first_approval is None:
        return ()
    changed = changed_at(engagement, client)
    if changed is not None:
        if changed < months.first_approval:
            return ()
        settling = months.settling_run
        if settling is not None and changed < settling.approved_at and runs.in_scope(settling, client.id):
            return ()
    first_due = min([cadence.month_start(engagement.start_date)]
                    + [cadence.month_start(completion.completed_on) for completion in engagement.completions])
    return tuple(run.period for run in months.approved_before
                 if run.period >= first_due and (changed is None or run.approved_at <= changed))


@dataclass(frozen=True)
class PlanContext:
    """What classifying any client's charges reads: the months, the runs and the ledger."""

    months: PlanMonths
    runs: Runs
    ledger: Mapping[str, Billed]  # charge key -> what billed it, for every charge the classification looks up
    recheck: Mapping[int, tuple[date, ...]] = field(default_factory=dict)  # engagement id -> recheck_months


@dataclass(frozen=True, slots=True)
class Classification:
    """One client's charges, sorted by what the month's plan does with them."""

    due_here: tuple[tuple[Charge, bool], ...] = ()  # fell due this month (catch-up: never)
    pending: tuple[tuple[Charge, bool], ...] = ()  # open month: to bill, with whether each is a catch-up
    late: tuple[tuple[Charge, bool], ...] = ()  # approved month: due here, not invoiced, may still be billed
    last_items: tuple[Charge, ...] = ()  # fell due last month
    awaiting: frozenset[date] = frozenset()  # earlier months, not approved, with a charge not yet billed
    before_socket: tuple[str, ...] = ()  # open month: fees covering it that fell due before Socket
    charges_seen: int = 0  # how many charges were looked at (its cost)


@dataclass(slots=True)
class _Sorting:
    due_here: list[tuple[Charge, bool]] = field(default_factory=list)
    pending: list[tuple[Charge, bool]] = field(default_factory=list)
    late: list[tuple[Charge, bool]] = field(default_factory=list)
    last_items: list[Charge] = field(default_factory=list)
    awaiting: set[date] = field(default_factory=set)
    before_socket: list[str] = field(default_factory=list)
    seen: int = 0


def classify(client: PlanClient, engagements: Iterable[PlanEngagement], ctx: PlanContext) -> Classification:
    """Sort one client's charges for the month's plan (see Classification and the module doc)."""
    months = ctx.months
    active = client.status == ClientStatus.ACTIVE.value
    sorting = _Sorting()
    gaps = frozenset(months.gaps)
    for engagement in engagements:
        if active and months.run is None and months.go_live is not None:
            sorting.before_socket += unbilled_before_socket(client, engagement, months.go_live, months.period)
        recheck = ctx.recheck.get(engagement.id, ()) if active else ()
        checked = gaps.union(recheck)  # earlier months whose ledger rows were read
        for charge in _charges_to_sort(engagement, months, checked):
            sorting.seen += 1
            _sort(charge, client, active, checked, ctx, sorting)
    return Classification(
        due_here=tuple(sorting.due_here), pending=tuple(sorting.pending), late=tuple(sorting.late),
        last_items=tuple(sorting.last_items), awaiting=frozenset(sorting.awaiting),
        before_socket=tuple(sorting.before_socket), charges_seen=sorting.seen,
    )


def _charges_to_sort(engagement: PlanEngagement, months: PlanMonths, checked: frozenset[date]) -> list[Charge]:
    """The engagement's charges due this month, last month and in `checked`, and its completions in any of them
    or dated before Socket: calendar charges by month, then completions (as engagement_charges lists them)."""
    wanted = checked | {months.previous, months.period}
    charges = _calendar_charges_in(engagement, sorted(wanted))
    for charge in _completion_charges(engagement):
        before_socket = months.go_live is not None and charge.due_period < months.go_live
        if charge.due_period in wanted or before_socket:
            charges.append(charge)
    return charges


def _sort(charge: Charge, client: PlanClient, active: bool, checked: frozenset[date], ctx: PlanContext,
          sorting: _Sorting) -> None:
    months, due = ctx.months, charge.due_period
    if due == months.previous:
        sorting.last_items.append(charge)
    if not active:
        return
    billed = ctx.ledger.get(charge.key)
    if charge.completion_id is not None and months.go_live is not None and due < months.go_live:
        # Completed before the first approved month: its key bills it once, so unlike calendar history it
        # is caught up in the next open month.
        if billed is None and months.run is None:
            sorting.pending.append((charge, True))
        return
    if due == months.period:
        sorting.due_here.append((charge, False))
        if billed is None and months.run is None:
            sorting.pending.append((charge, False))
        elif billed is None and months.run is not None and ctx.runs.may_catch_up(months.run, client):
            sorting.late.append((charge, False))
        return
    # An earlier month: one not approved, or approved before the engagement last changed. In any other
    # approved month the charge was billed (or its client was out of scope, so it never will be).
    if due not in checked or billed is not None:
        return
    earlier_run = ctx.runs.by_period.get(due)
    if earlier_run is None:
        sorting.awaiting.add(due)
    elif months.run is None and ctx.runs.may_catch_up(earlier_run, client):
        sorting.pending.append((charge, True))


def unbilled_before_socket(client: PlanClient, engagement: PlanEngagement, go_live: date, period: date) -> list[str]:
    """Notes for the quarterly/annual in-advance fee covering `period` when it fell due before `go_live`
    (Socket's first approved month): history from before Socket is not billed, so say so."""
    method = billing_method(engagement.service)
    months = cadence.ADVANCE_EVERY.get(method)
    if months is None:
        return []
    first_covering = cadence.add_months(period, 1 - months)
    last_before = cadence.add_months(go_live, -1)
    if last_before < first_covering:
        return []
    return [f"{engagement.service.name} for {client.name} fell due in {due:%B %Y}, before Socket's first "
            "approved month: not billed by Socket"
            for due in cadence.due_months(method, engagement.start_date, engagement.end_date,
                                          first_covering, last_before)]


def invoiced_charges(ledger: Mapping[str, Billed], run: BillingRun,
                     engagements: Mapping[int, PlanEngagement]) -> dict[int, list[tuple[Charge, bool]]]:
    """Invoice id -> the charges `run` billed on it, each with whether it was a catch-up."""
    by_invoice: dict[int, list[tuple[Charge, bool]]] = {}
    for billed in ledger.values():
        engagement = engagements.get(billed.engagement_id)
        if billed.billing_run_id == run.id and engagement is not None:
            charge = Charge(billed.charge_key, engagement, billed.due_period, billed.completion_id)
            by_invoice.setdefault(billed.invoice_id, []).append((charge, billed.due_period < run.period))
    return by_invoice
