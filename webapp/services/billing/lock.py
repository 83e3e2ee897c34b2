"""The practice's billing lock: an approval and every change to what a plan bills take turns on it."""
from webapp.extensions import db
from webapp.models import Practice


def lock_practice(practice_id: int) -> str:
    """Lock the practice's row until the transaction ends, and return its time zone.

    Approving a plan holds this lock from building the plan to committing its invoices, so a
    completion marked or undone, or an engagement edited, waits for a running approval instead of
    changing what it is billing.
    """
    return db.session.execute(
        db.select(Practice.time_zone).filter_by(id=practice_id).with_for_update()).scalar_one()
