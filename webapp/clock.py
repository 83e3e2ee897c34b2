"""The practice's own calendar: today and this month in its time zone (the server clock runs on UTC).

The one place that turns "now" into a practice's date, so routes, billing and the demo agree on when a
month starts: a practice in Europe/London at 00:30 BST on the 1st is already in the new month.
"""
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def local_today(time_zone: str, now: datetime | None = None) -> date:
    """Today's date in `time_zone` (`now` is an aware datetime, for tests; default: the current time)."""
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(time_zone)).date()


def this_month(time_zone: str, now: datetime | None = None) -> date:
    """The first day of the current month in `time_zone`."""
    return local_today(time_zone, now).replace(day=1)
