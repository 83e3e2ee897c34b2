"""A practice's own details: its name, its time zone and which system is its primary CRM."""
from functools import lru_cache
from zoneinfo import available_timezones

from webapp.extensions import db
from webapp.models import Practice, PrimaryCRM


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    """IANA zone names a practice may choose, Europe/London first (most practices are in the UK)."""
    names = sorted(name for name in available_timezones() if "/" in name and not name.startswith(("Etc/", "SystemV/")))
    return ("Europe/London", *[name for name in names if name != "Europe/London"])


def save_practice_details(practice_id: int, name: str, time_zone: str, primary_crm: PrimaryCRM) -> Practice:
    """Store validated details; the caller has checked the zone is one of time_zone_names()."""
    practice = db.session.get_one(Practice, practice_id)  # the signed-in user's practice: it exists
    practice.name = name.strip()
    practice.time_zone = time_zone
    practice.primary_crm = primary_crm.value
    db.session.commit()
    return practice
