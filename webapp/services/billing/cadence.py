"""When an engagement is billed: which months, what each charge covers, and its ledger key. Pure functions."""
from calendar import monthrange
from collections.abc import Container, Iterator
from datetime import date

from webapp.models.pricing import BillingMethod

ADVANCE_EVERY = {BillingMethod.QUARTERLY_ADVANCE: 3, BillingMethod.ANNUAL_ADVANCE: 12}
COMPLETION_EVERY = {BillingMethod.QUARTERLY_COMPLETION: 3, BillingMethod.ANNUAL_COMPLETION: 12}


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=monthrange(day.year, day.month)[1])


def add_months(period: date, months: int) -> date:
    """The first day of the month `months` after (or before, if negative) `period`'s month."""
    index = period.year * 12 + period.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def first_month_after(period: date, taken: Container[date]) -> date:
    """The first month after `period` that is not in `taken` (e.g. the first month after it not yet approved)."""
    candidate = add_months(period, 1)
    while candidate in taken:
        candidate = add_months(candidate, 1)
    return candidate


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def is_active_in(start: date, end: date | None, period: date) -> bool:
    """True when an engagement running from `start` to `end` (inclusive, open if None) touches the month."""
    return start <= month_end(period) and (end is None or end >= month_start(period))


def is_cadence_billed(method: BillingMethod) -> bool:
    """Monthly and in-advance work bills by the calendar; one-off and on-completion work by completions."""
    return method is BillingMethod.MONTHLY or method in ADVANCE_EVERY


def bills_in(method: BillingMethod, start: date, end: date | None, period: date) -> bool:
    """Whether a calendar-billed engagement falls due in the month starting `period`.

    Monthly: every month from start to end. Quarterly/annual in advance: the start month and every
    3/12 months after, while active. One-off and on-completion work never falls due by the calendar.
    """
    if method is BillingMethod.MONTHLY:
        return is_active_in(start, end, period)
    if method in ADVANCE_EVERY:
        elapsed = months_between(start, period)
        return elapsed >= 0 and elapsed % ADVANCE_EVERY[method] == 0 and is_active_in(start, end, period)
    return False


def due_months(method: BillingMethod, start: date, end: date | None, first: date, last: date) -> Iterator[date]:
    """The months from `first` to `last` (inclusive, both firsts of months) a calendar-billed engagement is due."""
    if not is_cadence_billed(method):
        return
    step = ADVANCE_EVERY.get(method, 1)
    period = month_start(start)
    if period < first:  # jump to the first due month on or after `first`
        behind = months_between(period, first)
        period = add_months(period, -(-behind // step) * step)
    while period <= last and (end is None or period <= end):
        yield period
        period = add_months(period, step)


def completion_period(method: BillingMethod, start: date, completed_on: date) -> int:
    """Which cadence period (0 = the first) a completion falls in: each period may be completed once."""
    if method in COMPLETION_EVERY:
        return months_between(month_start(start), month_start(completed_on)) // COMPLETION_EVERY[method]
    return 0  # one-off work: a single period, so a single completion


def cadence_key(engagement_id: int, period: date) -> str:
    """The ledger key of a calendar charge: one per engagement and month."""
    return f"e{engagement_id}:{period:%Y-%m}"


def completion_key(completion_id: int) -> str:
    """The ledger key of a completion's charge."""
    return f"c{completion_id}"


def period_label(method: BillingMethod, period: date) -> str:
    """What a charge due in `period` covers, for the invoice line."""
    if method in ADVANCE_EVERY:
        last = add_months(period, ADVANCE_EVERY[method] - 1)
        return f"{period:%B %Y} – {last:%B %Y}"
    if method is BillingMethod.MONTHLY:
        return f"{period:%B %Y}"
    return f"completed {period:%B %Y}"
