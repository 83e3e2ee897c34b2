"""Hypothesis strategies for what a form should never choke on: valid-looking values, mutated.

`mutated(payload, ids)` draws a form post: the payload that would succeed with one to three mutations (a field
left out, its value replaced by a bad one, an extra field, a field repeated) as a list of (name, value) pairs, so
a name may come more than once. Bad values: huge strings, unicode with NUL and control characters, numbers out of
range, negative money, impossible dates, and ids of rows that do not exist or belong to another practice.
"""
from __future__ import annotations

from hypothesis import strategies as st

CONTROL = "".join(map(chr, range(0, 32))) + "\x7f\u0085\u2028\u2029\ufeff\u200b\u202e"

huge_strings = st.sampled_from([1_000, 10_000, 200_000]).flatmap(
    lambda size: st.sampled_from(["x", "é", "🧾", "\x00", "<", "0"]).map(lambda c: c * size))
nasty_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(CONTROL),
                     max_size=40)
numbers = st.sampled_from([
    "0", "-1", "-0", "-120.00", "-0.01", "1e308", "-1e308", "1e-7", "NaN", "Infinity", "-inf", "9" * 40,
    "2147483648", "-2147483649", "9223372036854775808", "1,000.00", "£120", "120.005", "0.001", "12.3.4",
    "１２０", "٣", "²", " 12 ", "0x1F", "1_000", "+5", "00012", "32", "29", "31", "-30", "100000",
]) | st.integers(min_value=-(10 ** 20), max_value=10 ** 20).map(str) | st.decimals(
    allow_nan=True, allow_infinity=True, places=None).map(str)
dates = st.sampled_from([
    "2026-02-30", "2026-13-01", "2026-00-10", "0000-01-01", "0001-01-01", "9999-12-31", "10000-01-01",
    "31/12/2026", "12/31/2026", "2026-1-1", "2026-01-01T00:00:00", "20260101", "today", "yesterday", "2026-11",
    "2026-02-29", "1899-12-31", " 2026-01-01", "2026-01-01\x00", "-2026-01-01", "２０２６-０１-０１",
]) | st.dates().map(str)
months = st.sampled_from(["2026-13", "2026-00", "0000-01", "9999-12", "26-11", "2026/11", "November", "2026-11-01",
                          "-2026-11", "2026-1", "１２"])
choices = st.sampled_from(["", " ", "none", "yes", "true", "1", "on", "AUTHORISED", "DRAFT", "SUBMITTED", "VOIDED",
                           "consolidated", "itemised", "one", "automatic", "manual", "socket", "xero", "Europe/Nowhere",
                           "UTC", "../../etc/passwd", "Europe/London\x00", "t-standard", "t-gone", "200", "999"])


def ids(own: dict, theirs: dict):
    """Ids as a form posts them: another practice's, ones that do not exist, and malformed ones."""
    foreign = sorted({str(value) for value in theirs.values()})
    own_ids = sorted({str(value) for value in own.values()})
    return st.sampled_from(foreign + own_ids + ["0", "-1", "999999999", "99999999999999999999", "1.0", "1e3",
                                                "NaN", "", " ", "null", "[1]", "１"])


def bad_values(own: dict, theirs: dict):
    return st.one_of(nasty_text, huge_strings, numbers, dates, months, choices, ids(own, theirs))


EXTRA_NAMES = st.sampled_from(["practice_id", "id", "client_id", "user_id", "role", "is_active", "status",
                               "next", "context", "csrf_token", "_method", "trigger", "show", "HX-Source"]) | st.text(
    max_size=20)


@st.composite
def mutated(draw, payload: dict[str, str], own: dict, theirs: dict) -> list[tuple[str, str]]:
    """The payload with one to three mutations, as (name, value) pairs."""
    pairs = list(payload.items())
    values = bad_values(own, theirs)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["drop", "replace", "replace", "extra", "repeat"]))
        names = [name for name, _ in pairs]
        if kind == "drop" and pairs:
            name = draw(st.sampled_from(names))
            pairs = [pair for pair in pairs if pair[0] != name]
        elif kind == "replace" and pairs:
            index = draw(st.integers(0, len(pairs) - 1))
            pairs[index] = (pairs[index][0], draw(values))
        elif kind == "repeat" and pairs:
            name = draw(st.sampled_from(names))
            pairs.append((name, draw(values | st.sampled_from([value for n, value in pairs if n == name]))))
        else:
            pairs.append((draw(EXTRA_NAMES), draw(values)))
    return pairs
