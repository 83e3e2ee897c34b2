"""webapp.xero.dates over any text, both of Xero's formats and garbage: an aware UTC datetime, None for empty
input, or ValueError ("not a Xero date") — never another exception, so a caller's `except ValueError` suffices."""
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.corpus.xero_bodies import dates, texts
from tests.hypothesis_corpus import examples
from webapp.xero.dates import parse_xero_date, parse_xero_datetime

iso = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(
    lambda moment: moment.isoformat())
offsets = st.sampled_from(["", "Z", "+00:00", "-01:00", "+14:00", "+0000", "-1200"])


@examples(300)
@given(value=st.one_of(dates, texts, iso, st.tuples(iso, offsets).map("".join),
                       st.integers(min_value=-10**25, max_value=10**25).map(lambda ms: f"/Date({ms})/")))
def test_any_text_is_a_utc_datetime_none_or_a_value_error(value):
    try:
        parsed = parse_xero_datetime(value)
        as_date = parse_xero_date(value)
    except ValueError as error:
        assert "not a Xero date" in str(error)
        return
    if parsed is None:
        assert value == "" and as_date is None
    else:
        assert parsed.tzinfo is not None and parsed.utcoffset() == UTC.utcoffset(None)
        assert as_date == parsed.date()


@examples(100)
@given(milliseconds=st.integers(min_value=-62135596800000, max_value=253402300799999))
def test_dotnet_milliseconds_within_the_calendar_round_trip(milliseconds):
    parsed = parse_xero_datetime(f"/Date({milliseconds}+0000)/")
    assert parsed is not None
    assert round((parsed - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1000) == milliseconds


@pytest.mark.parametrize("value", ["/Date(1700000000000+0000)/", "2026-11-30T10:00:00"])
def test_both_xero_formats_are_read(value):
    assert parse_xero_datetime(value).year in (2023, 2026)
