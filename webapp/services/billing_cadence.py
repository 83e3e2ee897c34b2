"""When an engagement is billed: which months, and what period each charge covers. Pure functions."""
from calendar import monthrange
from datetime import date

from webapp.models.pricing import BillingMethod

ADVANCE_EVERY = {BillingMethod.QUARTERLY_ADVANCE: 3, BillingMethod.ANNUAL_ADVANCE: 12}


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=monthrange(day.year, day.month)[1])


def add_months(period: date, months: int) -> date:
    """The first day of the month `months` after (or before, if negative) `period`'s month."""
    index = period.year * 12 + period.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def is_active_in(start: date, end: date | None, period: date) -> bool:
    """True when an engagement running from `start` to `end` (inclusive, open if None) touches the month."""
    return start <= month_end(period) and (end is None or end >= month_start(period))


def bills_in(method: BillingMethod, start: date, end: date | None, completed_on: date | None,
             period: date) -> bool:
    """Whether an engagement is billed in the month starting `period`.

    Monthly: every month from start to end. Quarterly/annual in advance: the start month and every
    3/12 months after, while active. On completion and once: the month `completed_on` falls in.
    """
    if method is BillingMethod.MONTHLY:
        return is_active_in(start, end, period)
    if method in ADVANCE_EVERY:
        elapsed = months_between(start, period)
        return elapsed >= 0 and elapsed % ADVANCE_EVERY[method] == 0 and is_active_in(start, end, period)
    # On completion, and one-off work: billed once, when it is marked complete.
    return completed_on is not None and month_start(completed_on) == month_start(period)


def period_label(method: BillingMethod, period: date) -> str:
    """What a charge billed in `period` covers, for the invoice line."""
    if method in ADVANCE_EVERY:
        last = add_months(period, ADVANCE_EVERY[method] - 1)
        return f"{period:%B %Y} – {last:%B %Y}"
    if method is BillingMethod.MONTHLY:
        return f"{period:%B %Y}"
    return f"completed {period:%B %Y}"
