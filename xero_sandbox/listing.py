"""Ordering and paging lists the way Xero does, in Python (`apply_order`, `paginate`) or in SQLite (`sql_page`)."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .store import Store
from .xerojson import XeroError, query_parse_error


def _order_keys(order: str, fields: set[str] | None, type_name: str) -> list[tuple[list[str], bool]]:
    """`Field [ASC|DESC], ...` as [(field path, descending)]; an unknown field or a stray word is Xero's 400
    QueryParseException. Field names ignore case, as Xero's do."""
    known = {f.lower(): f for f in fields} if fields is not None else None
    keys = []
    for part in (p.strip() for p in order.split(",")):
        if not part:
            continue
        bits = part.split()
        if len(bits) > 2 or (len(bits) == 2 and bits[1].upper() not in ("ASC", "DESC")):
            raise XeroError(400, query_parse_error(f"Syntax error in order: '{part}'"))
        path = bits[0].split(".")
        if known is not None:
            if path[0].lower() not in known:
                raise XeroError(400, query_parse_error(
                    f"No property or field '{path[0]}' exists in type '{type_name}'"))
            path[0] = known[path[0].lower()]
        keys.append((path, len(bits) == 2 and bits[1].upper() == "DESC"))
    return keys


def _sort_value(d: dict, path: list[str]) -> tuple:
    v: Any = d
    for part in path:
        v = v.get(part) if isinstance(v, dict) else None
    if isinstance(v, str):
        if v.startswith("/Date("):
            return (0, int(v[6:].split("+")[0].split(")")[0]))
        return (0, v.casefold())
    return (1, "") if v is None else (0, v)


def apply_order(docs: list[dict], order: str | None, default_key: Callable[[dict], Any],
                fields: set[str] | None = None, type_name: str = "") -> list[dict]:
    """`order=Field [ASC|DESC], ...` over documents (strings ignore case, /Date()/ by time, nulls last), stable
    on `default_key`. With `fields`, a field outside them is a 400 (see `_order_keys`)."""
    docs = sorted(docs, key=default_key)
    if not order:
        return docs
    for path, desc in reversed(_order_keys(order, fields, type_name)):
        docs.sort(key=functools.partial(_sort_value, path=path), reverse=desc)
    return docs


def page_window(page: int, page_size: int | None) -> tuple[int, int]:
    """(page, size) as Xero applies them: page at least 1, pageSize 100 by default and at most 1000."""
    size = page_size if page_size and page_size > 0 else 100
    return max(page, 1), min(size, 1000)


def pagination_block(page: int, size: int, count: int) -> dict:
    """The `pagination` object of a paged response."""
    return {"page": page, "pageSize": size, "pageCount": (count + size - 1) // size, "itemCount": count}


def paginate(docs: list, page: int | None, page_size: int | None) -> tuple[list, dict | None]:
    """Without `page`: every document and no pagination; with it: that page and its pagination block."""
    if page is None:
        return docs, None
    page, size = page_window(page, page_size)
    return docs[(page - 1) * size: page * size], pagination_block(page, size, len(docs))


def sql_page(store: Store, select: str, where: str, params: list, order_by: str, page: int | None,
             page_size: int | None) -> tuple[list, dict | None]:
    """The SQL counterpart of `paginate` over rows filtered and ordered in SQLite.

    `select` is the column list, `where` the FROM/WHERE clause. Without `page`: every row, no pagination.
    With it: COUNT(*) and the one page (LIMIT/OFFSET), read under the store lock so both see the same data.
    """
    sql = f"SELECT {select} {where} ORDER BY {order_by}"
    if page is None:
        return store.query(sql, params), None
    page, size = page_window(page, page_size)
    with store.lock:
        count = store.one(f"SELECT COUNT(*) AS n {where}", params)["n"]
        rows = store.query(sql + " LIMIT ? OFFSET ?", [*params, size, (page - 1) * size])
    return rows, pagination_block(page, size, count)
