"""A practice's own details: its name, its time zone, which system is its primary CRM and, with Xero primary, which
Xero contacts become clients."""
from datetime import time
from functools import lru_cache
from zoneinfo import available_timezones

from webapp.extensions import db
from webapp.models import Practice, PrimaryCRM
from webapp.models.practice import CRMImportScope


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    """IANA zone names a practice may choose, Europe/London first (most practices are in the UK)."""
    names = sorted(name for name in available_timezones() if "/" in name and not name.startswith(("Etc/", "SystemV/")))
    return ("Europe/London", *[name for name in names if name != "Europe/London"])


def save_practice_details(practice_id: int, name: str, time_zone: str, primary_crm: PrimaryCRM,
                          crm_import_scope: CRMImportScope | None = None, nightly_sync_at: time | None = None
                          ) -> Practice:
    """Store validated details; the caller has checked the zone is one of time_zone_names(). A `crm_import_scope` of
    None keeps the stored one (it matters only with Xero as the primary CRM, and the form requires it then), as
    does a `nightly_sync_at` of None."""
    practice = db.session.get_one(Practice, practice_id)  # the signed-in user's practice: it exists
    practice.name = name.strip()
    practice.time_zone = time_zone
    practice.primary_crm = primary_crm.value
    if crm_import_scope is not None:
        practice.crm_import_scope = crm_import_scope.value
    if nightly_sync_at is not None:
        practice.nightly_sync_at = nightly_sync_at
    db.session.commit()
    return practice
