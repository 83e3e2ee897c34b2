from datetime import UTC, date, datetime

import pytest

from webapp.xero.dates import format_xero_date, parse_xero_date, parse_xero_datetime


def test_dotnet_date_with_offset_is_utc_milliseconds():
    assert parse_xero_datetime("/Date(1573755038314+0000)/") == datetime(2019, 11, 14, 18, 10, 38, 314000,
                                                                          tzinfo=UTC)


def test_dotnet_date_without_offset():
    assert parse_xero_datetime("/Date(0)/") == datetime(1970, 1, 1, tzinfo=UTC)


def test_iso_without_zone_is_read_as_utc():
    assert parse_xero_datetime("2024-03-31T00:00:00") == datetime(2024, 3, 31, tzinfo=UTC)


def test_iso_with_offset_is_converted_to_utc():
    assert parse_xero_datetime("2024-06-01T10:00:00+01:00") == datetime(2024, 6, 1, 9, tzinfo=UTC)


def test_date_fields_in_both_formats():
    assert parse_xero_date("/Date(1711843200000+0000)/") == date(2024, 3, 31)
    assert parse_xero_date("2024-03-31") == date(2024, 3, 31)


def test_empty_is_none_and_garbage_is_refused():
    assert parse_xero_datetime(None) is None
    assert parse_xero_datetime("") is None
    with pytest.raises(ValueError):
        parse_xero_datetime("yesterday")


@pytest.mark.parametrize("value", ["/Date(99999999999999999999+0000)/", "/Date(253402300800000+0000)/",
                                   "/Date(-62135596800001)/", "0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-01:00"])
def test_a_date_outside_the_years_python_holds_is_refused_as_garbage(value):
    with pytest.raises(ValueError, match="not a Xero date"):
        parse_xero_datetime(value)


def test_format_for_requests():
    assert format_xero_date(date(2024, 4, 1)) == "2024-04-01"
