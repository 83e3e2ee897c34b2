"""The time zones a practice may choose (webapp.services.time_zones): common UK zones first, no old aliases."""
from zoneinfo import ZoneInfo

import pytest

from webapp.services import time_zones


def names():
    return [option.name for option in time_zones.offered_time_zones()]


def test_the_zones_a_uk_practice_uses_come_first_in_order():
    assert names()[:6] == ["Europe/London", "Europe/Dublin", "Europe/Isle_of_Man", "Europe/Jersey",
                           "Europe/Guernsey", "Europe/Gibraltar"]
    common = [option for option in time_zones.offered_time_zones() if option.common]
    assert [option.name for option in common] == list(time_zones.COMMON_ZONES)
    assert time_zones.offered_time_zones()[0].place == "Britain (UK)"


def test_the_rest_follow_by_name_once_each():
    rest = names()[len(time_zones.COMMON_ZONES):]
    assert rest == sorted(rest) and len(names()) == len(set(names()))
    assert {"America/Chicago", "Asia/Kolkata", "Europe/Kyiv", "Pacific/Auckland"} <= set(rest)


@pytest.mark.parametrize("alias", ["GB", "GB-Eire", "Europe/Belfast", "US/Eastern", "Etc/GMT+1", "Etc/UTC", "UTC",
                                   "Europe/Kiev", "Asia/Calcutta", "EST5EDT", "Factory"])
def test_old_aliases_and_etc_zones_are_not_offered(alias):
    assert alias not in names()
    assert not time_zones.is_offered(alias)


def test_every_offered_zone_is_an_area_and_location_that_zoneinfo_loads():
    assert len(names()) > 300  # the world, not a hand-picked few
    for name in names():
        assert "/" in name and not name.startswith("Etc/")
        ZoneInfo(name)


def test_a_name_typed_loosely_is_the_zone_the_list_spells():
    assert time_zones.offered_name("europe/isle of man") == "Europe/Isle_of_Man"
    assert time_zones.offered_name("  Europe/London ") == "Europe/London"
    assert time_zones.offered_name("GB") is None
    assert time_zones.offered_name("") is None


def test_an_old_name_is_told_its_current_name():
    assert time_zones.current_name("Europe/Belfast") == "Europe/London"
    assert time_zones.current_name("US/Eastern") == "America/New_York"
    assert time_zones.current_name("Europe/London") is None
    assert time_zones.current_name("Mars/Olympus") is None
