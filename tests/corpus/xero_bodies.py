"""Strategies for the bad-input corpus: Xero answers that start from a valid shape and are then mutated.

`mutated(valid)` draws a copy of one Xero object with fields dropped, added, or given a value of the wrong kind
(null, number for text, list for object, 100k-character or unicode text, dates in both of Xero's formats and
garbage); `page(...)` wraps items in a collection answer that may itself be broken (no collection, the wrong
type, not JSON, the wrong content type). A `Reply` is what the mocked Xero sends back for one call.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

HUGE = "x" * 100_000
# NUL, right-to-left override, emoji, a combining mark, a zero-width joiner: all valid JSON (lone surrogates are not)
ODD_TEXT = ["", " ", "\x00", "A\x00B", "\u202eevil\u202c", "🦄💷", "e\u0301", "a\u200db", "\ufeffBOM", "\n\t",
            HUGE, "É" * 300]
XERO_DATES = ["/Date(1700000000000+0000)/", "/Date(1700000000000)/", "/Date(-62135596800000+0000)/",
              "2026-11-30T10:00:00", "2026-11-30T10:00:00Z", "2026-11-30"]
BAD_DATES = ["/Date(99999999999999999999+0000)/", "/Date(253402300800000+0000)/", "/Date(abc)/", "/Date()/",
             "2026-13-45T99:99:99", "30/11/2026", "yesterday", "0000-00-00T00:00:00", "/Date(1700000000000+ABCD)/"]

texts = st.one_of(st.text(max_size=40), st.sampled_from(ODD_TEXT))
dates = st.one_of(st.sampled_from(XERO_DATES + BAD_DATES),
                  st.integers(min_value=-10**20, max_value=10**20).map(lambda ms: f"/Date({ms}+0000)/"))
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=False), st.sampled_from([1e308, -0.0, 1e-30]), texts, dates)
wrong_values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=5), scalars,
                                                                                   max_size=3))


@st.composite
def mutated(draw, valid: dict, keep: tuple[str, ...] = ()) -> dict:
    """A copy of `valid` with 1-3 mutations; fields in `keep` are never dropped or changed (but may be joined by
    garbage). At least one change is made, so a mutated item is never the valid item itself."""
    item = dict(valid)
    changeable = [key for key in valid if key not in keep]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        kind = draw(st.sampled_from(["drop", "wrong", "extra"] if changeable else ["extra"]))
        if kind == "extra":
            item[draw(st.sampled_from(["Unexpected", "_links", "Id", "Name2"]))] = draw(wrong_values)
            continue
        key = draw(st.sampled_from(changeable))
        if kind == "drop":
            item.pop(key, None)
        else:
            item[key] = draw(wrong_values)
    return item


@dataclass(frozen=True)
class Reply:
    """One answer of the mocked Xero: status, content type and body text."""

    body: str
    content_type: str = "application/json"
    status: int = 200

    def as_callback_result(self) -> tuple[int, dict, str]:
        return self.status, {"Content-Type": self.content_type}, self.body


def json_reply(body: Any) -> Reply:
    return Reply(json.dumps(body))


BROKEN_BODIES = [Reply(""), Reply("<html><body>Xero is down</body></html>", "text/html"),
                 Reply("{\"Contacts\": [", "application/json"), Reply("null"), Reply("[]"), Reply("42"),
                 Reply("\"Contacts\""), Reply("{\"Status\": \"OK\"}", "text/plain"), Reply("\x00\x01\x02", "")]


@st.composite
def page(draw, collection: str, items: list) -> Reply:
    """Usually a well-formed answer carrying `items` (with or without Xero's pagination block); sometimes a broken
    one: no collection, a collection of the wrong type, not JSON, the wrong content type."""
    choice = draw(st.integers(min_value=0, max_value=9))
    if choice <= 6:
        body: dict[str, Any] = {"Id": str(uuid.uuid4()), "Status": "OK", collection: items}
        if draw(st.booleans()):
            body["pagination"] = draw(st.one_of(
                st.just({"page": 1, "pageSize": 1000, "pageCount": 1, "itemCount": len(items)}), wrong_values))
        return Reply(json.dumps(body), draw(st.sampled_from(["application/json", "application/json; charset=utf-8",
                                                             "text/plain"])))
    if choice == 7:
        return json_reply({"Id": "x", collection: draw(st.one_of(st.none(), st.dictionaries(st.text(max_size=3),
                                                                                              scalars, max_size=2),
                                                                 texts, st.integers()))})
    if choice == 8:
        return json_reply(draw(st.one_of(st.dictionaries(st.text(max_size=5), scalars, max_size=3),
                                         st.lists(scalars, max_size=2))))
    return draw(st.sampled_from(BROKEN_BODIES))


class RolledBack:
    """`with RolledBack():` around an example: an unexpected exception rolls the session back before it propagates,
    so the next example (and Hypothesis's shrinking) starts from a clean session instead of a failed transaction."""

    def __enter__(self) -> RolledBack:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None:
            from webapp.extensions import db

            db.session.rollback()
