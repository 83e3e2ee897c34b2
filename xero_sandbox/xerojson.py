"""Xero's JSON conventions: MS-JSON dates, the response envelope and its error bodies."""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from decimal import Decimal
from typing import Any

from flask import Response

PROVIDER_NAME = "Socket (Xero sandbox)"
NOT_FOUND_TEXT = "The resource you're looking for cannot be found"

UTC = dt.UTC


def ms_date(ms: int) -> str:
    """`/Date(1573755038314+0000)/` as Xero writes UpdatedDateUTC and date fields."""
    return f"/Date({int(ms)}+0000)/"


def ms_from_date(d: dt.date) -> int:
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000)


def date_string(d: dt.date) -> str:
    return f"{d.isoformat()}T00:00:00"


def iso_utc(ms: int) -> str:
    """Identity API style timestamp (connections), e.g. 2019-12-07T18:46:19.5165400."""
    t = dt.datetime.fromtimestamp(ms / 1000, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond:06d}0"


def money(value) -> float:
    return float(Decimal(value).quantize(Decimal("0.01")))


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=_default)


def _default(o):
    if isinstance(o, Decimal):
        return float(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def json_response(obj, status: int = 200, headers=None) -> Response:
    return Response(_dumps(obj), status=status, headers=headers or {},
                    content_type="application/json; charset=utf-8")


def envelope(now_ms: int, key: str, items: list, pagination: dict | None = None, warnings=None) -> dict:
    body: dict[str, Any] = {"Id": str(uuid.uuid4()), "Status": "OK", "ProviderName": PROVIDER_NAME,
                            "DateTimeUTC": f"/Date({int(now_ms)})/"}
    if pagination is not None:
        body["pagination"] = pagination
    if warnings:
        body["Warnings"] = warnings
    body[key] = items
    return body


def problem(status: int, title: str, detail: str) -> dict:
    """The RFC 7807-ish body Xero's gateway returns for 401/403/429/5xx."""
    return {"Type": None, "Title": title, "Status": status, "Detail": detail,
            "Instance": str(uuid.uuid4()), "Extensions": {}}


def problem_response(status: int, title: str, detail: str, headers=None) -> Response:
    return json_response(problem(status, title, detail), status, headers)


def unauthorized(detail: str = "AuthenticationUnsuccessful") -> Response:
    return problem_response(401, "Unauthorized", detail, {"WWW-Authenticate": "Bearer"})


def forbidden(detail: str = "AuthenticationUnsuccessful") -> Response:
    return problem_response(403, "Forbidden", detail)


def not_found() -> Response:
    return Response(NOT_FOUND_TEXT, status=404, content_type="text/plain; charset=utf-8")


def validation_exception(elements: list) -> dict:
    """Xero's 400 for invalid data: each element as sent (or as far as it was read) with its ValidationErrors."""
    return {"ErrorNumber": 10, "Type": "ValidationException",
            "Message": "A validation exception occurred", "Elements": elements}


def request_validation_error(message: str) -> dict:
    """A ValidationException about the request rather than one of its elements (e.g. its Idempotency-Key): one
    element carrying only the message, so clients read it where they read every validation message."""
    return validation_exception([{"ValidationErrors": [{"Message": message}]}])


def post_data_invalid(message: str) -> dict:
    return {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": message}


def query_parse_error(message: str) -> dict:
    return {"ErrorNumber": 16, "Type": "QueryParseException", "Message": message}


class XeroError(Exception):
    """Raised inside handlers; rendered as a Xero-shaped response."""

    def __init__(self, status: int, body, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> Response:
        if isinstance(self.body, str):
            return Response(self.body, status=self.status, headers=self.headers,
                            content_type="text/plain; charset=utf-8")
        return json_response(self.body, self.status, self.headers)


# ---------------------------------------------------------------- parsing request values
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


def parse_request_date(value) -> dt.date | None:
    """Dates in requests: YYYY-MM-DD, an ISO datetime, or /Date(ms)/. None if unparseable."""
    if not isinstance(value, str):
        return None
    v = value.strip()
    try:
        m = _MS_DATE.match(v)
        if m:
            return dt.datetime.fromtimestamp(int(m.group(1)) / 1000, UTC).date()
        return dt.date.fromisoformat(v[:10]) if len(v) >= 10 else None
    except (ValueError, OverflowError, OSError):
        return None


def parse_if_modified_since(value: str | None) -> int | None:
    """If-Modified-Since as epoch ms; accepts RFC 1123 and ISO 8601 (naive = UTC). Raises ValueError."""
    if not value:
        return None
    from email.utils import parsedate_to_datetime

    v = value.strip()
    try:
        t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        t = parsedate_to_datetime(v)  # raises on garbage
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)
