"""Sync-run bookkeeping: queueing a practice's sync (one at a time) and finding its latest run.

A SyncRun row is written before the job is queued, so the page can show "Waiting for the worker" at once
and a queue that cannot be reached is recorded as a failed run rather than lost.
"""
import logging
from datetime import timedelta

from redis.exceptions import RedisError

from webapp.extensions import db
from webapp.models import SyncRun, SyncStatus, XeroConnection
from webapp.models.base import utcnow
from webapp.queue import enqueue

log = logging.getLogger(__name__)

SYNC_STALE_AFTER = timedelta(hours=1)
SYNC_JOB = "jobs.sync_reference.run_reference_sync"


class SyncRefused(Exception):
    """A sync could not be started; `message` says why, for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class SyncAlreadyRunning(SyncRefused):
    """Another run is queued or running; `run` is that run."""

    def __init__(self, run: SyncRun):
        super().__init__("A sync is already running; wait for it to finish.")
        self.run = run


def latest_sync_run(practice_id: int) -> SyncRun | None:
    """The practice's most recent SyncRun, or None."""
    return db.session.execute(
        db.select(SyncRun).filter_by(practice_id=practice_id).order_by(SyncRun.id.desc()).limit(1)
    ).scalar_one_or_none()


def _active_run(practice_id: int) -> SyncRun | None:
    return db.session.execute(
        db.select(SyncRun).filter(SyncRun.practice_id == practice_id,
                                  SyncRun.status.in_([SyncStatus.QUEUED.value, SyncStatus.RUNNING.value]))
        .order_by(SyncRun.id.desc()).limit(1)
    ).scalar_one_or_none()


def start_sync(practice_id: int, trigger: str = "manual") -> SyncRun:
    """Queue a reference-data sync; refused while another is queued or running (one that has sat for an hour
    is presumed lost with its worker and recorded as failed)."""
    connection = db.session.execute(
        db.select(XeroConnection).filter_by(practice_id=practice_id).with_for_update()  # one starter at a time
    ).scalar_one_or_none()
    if connection is None or not connection.is_connected:
        db.session.rollback()
        raise SyncRefused("Connect to Xero before syncing.")
    active = _active_run(practice_id)
    if active is not None:
        if utcnow() - (active.started_at or active.queued_at) < SYNC_STALE_AFTER:
            db.session.rollback()
            raise SyncAlreadyRunning(active)
        active.status, active.finished_at = SyncStatus.FAILED.value, utcnow()
        active.error = "The sync stopped without finishing (its worker was lost)."
    run = SyncRun(practice_id=practice_id, trigger=trigger, status=SyncStatus.QUEUED.value,
                  progress="Waiting for the worker", counts={})
    db.session.add(run)
    db.session.commit()
    try:
        job = enqueue(SYNC_JOB, run.id, practice_id=practice_id)
    except RedisError as exc:
        log.error("Could not queue SyncRun %s: %s", run.id, type(exc).__name__)
        run.status, run.finished_at = SyncStatus.FAILED.value, utcnow()
        run.error = "The sync could not be queued (the background worker's queue is unreachable)."
        db.session.commit()
        raise SyncRefused(run.error) from None
    run.rq_job_id = job.id
    db.session.commit()
    return run
