"""Reading the Accounting API's query parameters and headers the way Xero does: lenient (a bad page, pageSize or
If-Modified-Since is ignored) except for lists of GUIDs, where anything else is a 400."""
from __future__ import annotations

import uuid

from flask import request

from .bodies import is_uuid
from .xerojson import XeroError, parse_if_modified_since, query_parse_error


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


def arg_guids(name: str) -> list[str]:
    """`?name=` as a list of GUIDs in canonical lower case (see `arg_csv`); anything else in the list is Xero's
    400 QueryParseException."""
    values = arg_csv(name)
    if not all(is_uuid(v) for v in values):
        raise XeroError(400, query_parse_error(f"{name} must be a comma separated list of GUIDs"))
    return [str(uuid.UUID(v)) for v in values]


def summarize_errors() -> bool:
    """summarizeErrors, true unless `?summarizeErrors=false`."""
    v = request.args.get("summarizeErrors")
    return not (v is not None and v.strip().lower() == "false")
