"""The time zones a practice may choose: the ones a UK practice uses first, then every current IANA zone.

The list is the tz database's own zone.tab (one row per country and region, canonical Area/Location names only),
read from the pinned `tzdata` package so it is the same on every machine. The database's backward-compatible links
("GB", "Europe/Belfast", "US/Eastern") and its Etc/ zones ("Etc/GMT+1", whose sign reads backwards) are not in it.
A link's current name comes from tzdata.zi's "L" lines, so a practice still on an old name is told what it is now.
"""
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from zoneinfo import available_timezones

DEFAULT_ZONE = "Europe/London"

# Offered first, in this order: the UK, Ireland, the Crown Dependencies and Gibraltar, then places a UK practice's
# clients and partners often are.
COMMON_ZONES = (
    "Europe/London", "Europe/Dublin", "Europe/Isle_of_Man", "Europe/Jersey", "Europe/Guernsey", "Europe/Gibraltar",
    "Europe/Paris", "Europe/Madrid", "Europe/Lisbon", "Atlantic/Canary", "Asia/Dubai", "America/New_York",
)


@dataclass(frozen=True)
class TimeZoneOption:
    """One zone on offer: its IANA name (what is stored) and where it is (what a person searches for)."""

    name: str
    place: str
    common: bool


def _tzdata_text(name: str) -> str:
    return (files("tzdata.zoneinfo") / name).read_text(encoding="utf-8")


def _rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def offered_time_zones() -> tuple[TimeZoneOption, ...]:
    """Every zone a practice may choose: COMMON_ZONES first, then the rest of zone.tab by name."""
    countries = {row[0]: row[1] for row in _rows(_tzdata_text("iso3166.tab"))}
    usable = available_timezones()
    places = {row[2]: countries.get(row[0], row[0]) for row in _rows(_tzdata_text("zone.tab")) if row[2] in usable}
    common = [TimeZoneOption(name, places[name], True) for name in COMMON_ZONES]
    rest = [TimeZoneOption(name, place, False) for name, place in sorted(places.items()) if name not in COMMON_ZONES]
    return (*common, *rest)


@lru_cache(maxsize=1)
def offered_names() -> frozenset[str]:
    """The names in offered_time_zones(), for checking a choice."""
    return frozenset(option.name for option in offered_time_zones())


def is_offered(name: str) -> bool:
    """True if `name` is exactly one of the zones on offer (zoneinfo's names are case-sensitive)."""
    return name in offered_names()


@lru_cache(maxsize=1)
def _by_loose_name() -> dict[str, str]:
    return {_loose(name): name for name in offered_names()}


def _loose(text: str) -> str:
    return text.strip().replace(" ", "_").casefold()


def offered_name(text: str) -> str | None:
    """The offered zone a person meant by `text`, ignoring case and spaces for underscores ("europe/isle of man"
    is Europe/Isle_of_Man); None if no zone on offer is called that."""
    return _by_loose_name().get(_loose(text))


@lru_cache(maxsize=1)
def _links() -> dict[str, str]:
    # tzdata.zi lines "L Europe/London Europe/Belfast": the old name (last) is a link to the current one.
    return {parts[2]: parts[1] for line in _tzdata_text("tzdata.zi").splitlines()
            if (parts := line.split()) and parts[0] == "L" and len(parts) == 3}


def current_name(name: str) -> str | None:
    """The name the list offers for an old (linked) zone name such as "Europe/Belfast"; None if there is none."""
    target = _links().get(name)
    return target if target and is_offered(target) else None
