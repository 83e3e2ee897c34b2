"""The nightly dispatcher job: run by the scheduler every few minutes (jobs/schedule.py)."""
from jobs import app_context


def dispatch_nightly() -> dict:
    """Queue the nightly sync of every connected practice now due; returns what was queued and skipped."""
    from webapp.sync.nightly import dispatch_nightly as dispatch

    with app_context():
        result = dispatch()
        return {"queued": result.queued, "skipped": result.skipped}
