"""What changed in a client's agreed work from one month to the next. Pure functions, no database.

A billing cycle is not a change: a quarterly fee falling due, or an annual one not falling due, moves
the month's amount but not what the client agreed to. The Billing Plan's change is about the agreement:

- The *agreed work* of a month is, per service, the total agreed price of the client's engagements for
  it that are in force at the end of the month (started by then, not ended before its last day); for a
  service whose every engagement ended during the month, those engagements. So work starting on 15
  November is agreed in November, and work ending on 15 November is agreed in November but not December.
- Against the previous month's agreed work, in this order of precedence (a row gets one badge; its
  details list every difference):
  NEW        nothing agreed last month, something this month (a new client, or one coming back);
  ENDED      something agreed last month, nothing this month (every engagement ended, or the client is
             archived);
  EXPANDED   "service added": a service agreed this month that was not last month;
  CONTRACTED "service ended": a service agreed last month that is not this month;
  REPRICED   "re-priced": the same services, a different agreed price for one of them (a new engagement
             replacing the old one at a new price; editing a price in place keeps no history, so it
             cannot show);
  UNCHANGED  the same services at the same prices, whatever the month's amount.
- Cadence differences get a quiet note instead, e.g. "VAT Returns due this quarter".
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Protocol

from webapp.models.pricing import BillingMethod
from webapp.services.billing import cadence

CADENCE_NOTES = {
    BillingMethod.QUARTERLY_ADVANCE: "{name} due this quarter",
    BillingMethod.ANNUAL_ADVANCE: "{name} due this year",
    BillingMethod.QUARTERLY_COMPLETION: "{name} completed",
    BillingMethod.ANNUAL_COMPLETION: "{name} completed",
    BillingMethod.ONCE: "{name} completed",
}


class Change(str, Enum):
    NEW = "new"
    EXPANDED = "expanded"
    CONTRACTED = "contracted"
    REPRICED = "repriced"
    UNCHANGED = "unchanged"
    ENDED = "ended"

    @property
    def label(self) -> str:
        return CHANGE_LABELS[self]

    def count_label(self, count: int) -> str:
        """For the plan's header and its Change type filter, e.g. "6 new clients", "7 with work added"."""
        return COUNT_LABELS[self].format(n=count, s="" if count == 1 else "s")


# They compare agreed work, not amounts: a client on the same work can owe £250 one month and £1,150 the next (an
# annual fee falling due, a completion, a catch-up), and "unchanged" beside those amounts read as if the amount were
# unchanged. So the chips say "Same work" and the plan's Difference column carries the amount.
CHANGE_LABELS = {
    Change.NEW: "New client",
    Change.EXPANDED: "Work added",
    Change.CONTRACTED: "Work reduced",
    Change.REPRICED: "Re-priced",
    Change.UNCHANGED: "Same work",
    Change.ENDED: "Work ended",
}
COUNT_LABELS = {
    Change.NEW: "{n} new client{s}",
    Change.EXPANDED: "{n} with work added",
    Change.CONTRACTED: "{n} with work reduced",
    Change.REPRICED: "{n} re-priced",
    Change.UNCHANGED: "{n} with the same work",
    Change.ENDED: "{n} with all work ended",
}


class Agreement(Protocol):
    """What this module reads of an engagement."""

    service_id: int
    price: Decimal
    start_date: date
    end_date: date | None


def agreed_work(engagements: Iterable[Agreement], period: date) -> dict[int, Decimal]:
    """Service id -> total agreed price of the engagements in force for it in the month (see module doc)."""
    last_day = cadence.month_end(period)
    touching: dict[int, list[Agreement]] = {}
    for engagement in engagements:
        if cadence.is_active_in(engagement.start_date, engagement.end_date, period):
            touching.setdefault(engagement.service_id, []).append(engagement)
    agreed = {}
    for service_id, group in touching.items():
        in_force = [e for e in group if e.end_date is None or e.end_date >= last_day]
        agreed[service_id] = sum((e.price for e in in_force or group), Decimal("0.00"))
    return agreed


@dataclass(frozen=True)
class WorkChange:
    change: Change
    details: tuple[str, ...] = ()  # e.g. ("Payroll added", "VAT Returns re-priced £300.00 → £330.00")


def compare_work(before: dict[int, Decimal], after: dict[int, Decimal], names: dict[int, str],
                 billed_now: bool = True) -> WorkChange:
    """How the agreed work moved from `before` (last month) to `after` (this month).

    `billed_now` is whether the client has an invoice this month: a final catch-up or completion billed
    after every engagement ended reads "service ended", not "all work ended".
    """
    added = [s for s in after if s not in before]
    ended = [s for s in before if s not in after]
    repriced = [s for s in after if s in before and after[s] != before[s]]
    details = tuple([f"{names.get(s, 'A service')} added" for s in added]
                    + [f"{names.get(s, 'A service')} ended" for s in ended]
                    + [f"{names.get(s, 'A service')} re-priced £{before[s]:,.2f} → £{after[s]:,.2f}"
                       for s in repriced])
    if not after:
        if not before:
            return WorkChange(Change.UNCHANGED, details)
        return WorkChange(Change.CONTRACTED if billed_now else Change.ENDED, details)
    if not before:
        return WorkChange(Change.NEW, ())
    if added:
        return WorkChange(Change.EXPANDED, details)
    if ended:
        return WorkChange(Change.CONTRACTED, details)
    if repriced:
        return WorkChange(Change.REPRICED, details)
    return WorkChange(Change.UNCHANGED, details)


@dataclass(frozen=True)
class DueService:
    """A service that fell due in a month, for the cadence notes."""

    service_id: int
    name: str
    method: BillingMethod
    catch_up: bool = False


def cadence_notes(this_month: Iterable[DueService], last_month: Iterable[DueService]) -> tuple[str, ...]:
    """Quiet notes on why the amount moved without the agreement changing.

    A quarterly or annual fee due this month ("VAT Returns due this quarter"), work completed this month
    ("Annual Accounts completed"), and a non-monthly fee billed last month that is not due this month.
    """
    notes: list[str] = []
    billed_now = set()
    for due in this_month:
        billed_now.add(due.service_id)
        if not due.catch_up and due.method in CADENCE_NOTES:
            notes.append(CADENCE_NOTES[due.method].format(name=due.name))
    for due in last_month:
        if due.method is not BillingMethod.MONTHLY and due.service_id not in billed_now:
            billed_on_completion = due.method is BillingMethod.ONCE or due.method.on_completion
            notes.append(f"{due.name} billed last month on completion" if billed_on_completion
                         else f"{due.name} not due this month")
    return tuple(dict.fromkeys(notes))  # once each, in order
