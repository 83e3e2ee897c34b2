"""Xero's two date formats: the .NET `/Date(ms+zone)/` in responses and ISO 8601."""
import re
from datetime import UTC, date, datetime, timedelta

_DOTNET = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_xero_datetime(value: str | None) -> datetime | None:
    """An aware UTC datetime from `/Date(1573755038314+0000)/` or an ISO string; None for empty input.

    The .NET form's milliseconds are already UTC (the offset is informational); an ISO string without a
    zone is Xero's UTC (e.g. UpdatedDateUTC).
    """
    if value is None or value == "":
        return None
    try:
        return _parse(value.strip())
    except OverflowError:  # a moment outside the years 1-9999 once in UTC
        raise ValueError(f"not a Xero date: {value!r}") from None


def _parse(value: str) -> datetime:
    match = _DOTNET.match(value)
    if match:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)))
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not a Xero date: {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_xero_date(value: str | None) -> date | None:
    """The calendar date of a Xero date field (e.g. an invoice's `Date`), in either format."""
    parsed = parse_xero_datetime(value)
    return parsed.date() if parsed else None


def format_xero_date(value: date) -> str:
    """A date as Xero wants it in requests: YYYY-MM-DD."""
    return value.strftime("%Y-%m-%d")
