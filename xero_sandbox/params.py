"""Reading the Accounting API's query parameters and headers the way Xero does (lenient: bad values are ignored)."""
from __future__ import annotations

from flask import request

from .xerojson import parse_if_modified_since


def if_modified_since() -> int | None:
    """The If-Modified-Since header as epoch ms, or None when absent or unparseable."""
    try:
        return parse_if_modified_since(request.headers.get("If-Modified-Since"))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # Xero ignores an unparseable If-Modified-Since


def arg_bool(name: str) -> bool:
    """True only for `?name=true` (any case)."""
    return (request.args.get(name) or "").strip().lower() == "true"


def arg_int(name: str) -> int | None:
    """`?name=` as an int, or None when absent, empty or not a number."""
    v = request.args.get(name)
    if v is None or v.strip() == "":
        return None
    try:
        return int(v)
    except ValueError:
        return None


def arg_csv(name: str) -> list[str]:
    """`?name=a,"b",c` as ["a", "b", "c"] (quotes and blanks dropped)."""
    v = request.args.get(name)
    return [x.strip().strip('"') for x in v.split(",") if x.strip()] if v else []


def summarize_errors() -> bool:
    """summarizeErrors, true unless `?summarizeErrors=false`."""
    v = request.args.get("summarizeErrors")
    return not (v is not None and v.strip().lower() == "false")
