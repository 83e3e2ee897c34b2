"""Reading request bodies the way Xero's Json.NET deserialiser does (lenient coercion, strict shapes)."""
from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal, InvalidOperation

from flask import request

from .xerojson import XeroError, post_data_invalid

MAX_DECIMAL = Decimal("1e12")  # keeps every product within decimal precision
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")


def _invalid(msg: str, path: str):
    return XeroError(400, post_data_invalid(f"JSON for post data was invalid,{msg} Path '{path}'."))


def no_data(entity: str):
    return XeroError(400, {"ErrorNumber": 17, "Type": "NoDataProcessedException",
                           "Message": "No data has been processed for this endpoint. This endpoint is expecting "
                                      f"{entity} data to be specifed in the request body."})


def read_elements(root: str, entity: str) -> list[tuple[str, dict]]:
    """[(json path, element)] from {"Root": [...]}, {"Root": {...}} or a bare element."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise no_data(entity)
    try:
        data = json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as e:
        msg = getattr(e, "msg", str(e))
        raise XeroError(400, post_data_invalid(
            f"JSON for post data was invalid,Unexpected character encountered while parsing value: {msg}. "
            f"Path '', line 1, position {getattr(e, 'pos', 0)}.")) from e
    if isinstance(data, list):
        items, prefix = data, ""
    elif isinstance(data, dict) and root in data:
        items, prefix = data[root], root
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            raise _invalid(f"Error converting value {json.dumps(items, default=str)} to type "
                           f"'System.Collections.Generic.List`1[{entity}]'.", root)
    elif isinstance(data, dict):
        items, prefix = [data], None
    else:
        raise _invalid(f"Error converting value {json.dumps(data, default=str)} to type '{entity}'.", "")
    if not items:
        raise no_data(entity)
    out = []
    for i, el in enumerate(items):
        path = f"{prefix}[{i}]" if prefix is not None else ""
        if not isinstance(el, dict):
            raise _invalid(f"Error converting value {json.dumps(el, default=str)} to type '{entity}'.", path)
        out.append((path, el))
    return out


def sub(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def get_str(el: dict, key: str, path: str, max_len: int | None = None) -> str | None:
    if key not in el or el[key] is None:
        return None
    v = el[key]
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, (int, float, Decimal)):
        return str(v)
    if not isinstance(v, str):
        raise _invalid(f"Unexpected character encountered while parsing value for {key}: a {type(v).__name__}.",
                       sub(path, key))
    return v


def get_decimal(el: dict, key: str, path: str) -> Decimal | None:
    if key not in el or el[key] is None:
        return None
    v = el[key]
    if isinstance(v, bool) or isinstance(v, (dict, list)):
        raise _invalid(f"Error converting value {json.dumps(v, default=str)} to type 'System.Decimal'.", sub(path, key))
    try:
        d = Decimal(str(v).strip())
    except InvalidOperation:
        raise _invalid(f"Could not convert string to decimal: {v}.", sub(path, key)) from None
    if not d.is_finite():
        raise _invalid(f"Could not convert string to decimal: {v}.", sub(path, key))
    if abs(d) >= MAX_DECIMAL:
        raise _invalid("Value was either too large or too small for a Decimal.", sub(path, key))
    return d


def get_bool(el: dict, key: str, path: str) -> bool | None:
    if key not in el or el[key] is None:
        return None
    v = el[key]
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise _invalid(f"Could not convert string to boolean: {v}.", sub(path, key))


def get_uuid(el: dict, key: str, path: str) -> str | None:
    if key not in el or el[key] is None or el[key] == "":
        return None
    v = el[key]
    if not isinstance(v, str) or not UUID_RE.match(v.strip()):
        raise _invalid(f"Error converting value {json.dumps(v, default=str)} to type 'System.Guid'.", sub(path, key))
    return str(uuid.UUID(v.strip()))


def get_enum(el: dict, key: str, path: str, allowed, type_name: str) -> str | None:
    v = get_str(el, key, path)
    if v is None:
        return None
    for a in allowed:
        if a.lower() == v.lower():
            return a
    raise _invalid(f"Error converting value \"{v}\" to type '{type_name}'.", sub(path, key))


def get_obj(el: dict, key: str, path: str) -> dict | None:
    if key not in el or el[key] is None:
        return None
    v = el[key]
    if not isinstance(v, dict):
        raise _invalid(f"Error converting value {json.dumps(v, default=str)} to type '{key}'.", sub(path, key))
    return v


def get_list(el: dict, key: str, path: str) -> list | None:
    if key not in el or el[key] is None:
        return None
    v = el[key]
    if not isinstance(v, list):
        raise _invalid(f"Error converting value {json.dumps(v, default=str)} to type 'List`1[{key}]'.",
                       sub(path, key))
    return v


def is_uuid(v: str) -> bool:
    return bool(UUID_RE.match(v or ""))
