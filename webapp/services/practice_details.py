"""A practice's own details: its name, its time zone, which system is its primary CRM and, with Xero primary, which
Xero contacts become clients, and when the nightly sync starts."""
from datetime import time

from webapp.extensions import db
from webapp.models import Practice, PrimaryCRM
from webapp.models.practice import CRMImportScope

# The details Practice Settings > Practice saves one at a time as each control changes.
DETAIL_FIELDS = ("name", "time_zone", "nightly_sync_at", "primary_crm", "crm_import_scope")


def save_practice_details(practice_id: int, name: str, time_zone: str, primary_crm: PrimaryCRM,
                          crm_import_scope: CRMImportScope | None = None, nightly_sync_at: time | None = None
                          ) -> Practice:
    """Store validated details; the caller has checked the zone is one offered (webapp.services.time_zones) or the
    practice's own. A `crm_import_scope` of None keeps the stored one (it matters only with Xero as the primary
    CRM, and the form requires it then), as does a `nightly_sync_at` of None."""
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


def save_practice_detail(practice_id: int, field: str, value: str | time | PrimaryCRM | CRMImportScope) -> Practice:
    """Store one validated detail (one of DETAIL_FIELDS), leaving the others as they are."""
    if field not in DETAIL_FIELDS:
        raise ValueError(f"not a practice detail: {field}")
    practice = db.session.get_one(Practice, practice_id)
    if isinstance(value, PrimaryCRM | CRMImportScope):
        value = value.value
    elif isinstance(value, str):
        value = value.strip()
    setattr(practice, field, value)
    db.session.commit()
    return practice
