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
from webapp.queue import enqueue_many
from webapp.sync.run_presence import run_lost

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


def _active_runs(practice_ids: list[int]) -> dict[int, SyncRun]:
    """Each practice's latest queued or running SyncRun (one statement)."""
    runs = db.session.execute(
        db.select(SyncRun).filter(SyncRun.practice_id.in_(practice_ids),
                                  SyncRun.status.in_([SyncStatus.QUEUED.value, SyncStatus.RUNNING.value]))
        .order_by(SyncRun.id)).scalars()
    return {run.practice_id: run for run in runs}  # the later run of a practice wins


def claim_syncs(practice_ids: list[int], trigger: str,
                attempt: int = 1) -> tuple[dict[int, SyncRun], dict[int, SyncRefused]]:
    """Record a queued SyncRun for each practice that may sync now (committed), without putting it on the queue:
    start_syncs queues them; `flask sync-practice` runs one in its own process.

    Returns the runs recorded and, per practice refused, why: not connected, or a run already queued or running. One
    that has sat for SYNC_STALE_AFTER, a running one whose worker is gone (webapp.sync.run_presence: killed, out of
    memory), or a queued one whose RQ job will not run (failed with a worker that died before it began, removed), is
    recorded as failed, lost with its worker, and does not hold the next one up. Each practice's
    connection row is locked while deciding, so two starters (a click and the dispatcher) never both start one.
    """
    practice_ids = sorted(set(practice_ids))
    if not practice_ids:
        return {}, {}
    connections = {c.practice_id: c for c in db.session.execute(
        db.select(XeroConnection).filter(XeroConnection.practice_id.in_(practice_ids))
        .order_by(XeroConnection.practice_id).with_for_update()).scalars()}
    refused: dict[int, SyncRefused] = {}
    actives = _active_runs(practice_ids)
    now = utcnow()
    for practice_id in practice_ids:
        connection = connections.get(practice_id)
        if connection is None or not connection.is_connected:
            refused[practice_id] = SyncRefused("Connect to Xero before syncing.")
            continue
        active = actives.get(practice_id)
        if active is None:
            continue
        lost = run_lost(active.id, active.status == SyncStatus.RUNNING.value, active.rq_job_id)
        if not lost and now - (active.started_at or active.queued_at) < SYNC_STALE_AFTER:
            refused[practice_id] = SyncAlreadyRunning(active)
            continue
        # Only while it is still unfinished: its worker may have recorded the end a moment ago.
        db.session.execute(db.update(SyncRun).where(SyncRun.id == active.id, SyncRun.status == active.status)
                           .values(status=SyncStatus.FAILED.value, finished_at=now, progress="Failed",
                                   error="The sync stopped without finishing (its worker was lost).")
                           .execution_options(synchronize_session=False))
    runs = {practice_id: SyncRun(practice_id=practice_id, trigger=trigger, status=SyncStatus.QUEUED.value,
                                 progress="Waiting for the worker", counts={"attempt": attempt} if attempt > 1 else {})
            for practice_id in practice_ids if practice_id not in refused}
    db.session.add_all(runs.values())
    db.session.commit()
    return runs, refused


def start_syncs(practice_ids: list[int], trigger: str,
                attempt: int = 1) -> tuple[dict[int, SyncRun], dict[int, SyncRefused]]:
    """Queue a sync for each practice, in a handful of statements and one Redis round trip whatever their number.

    Returns the runs queued and, per practice refused, why (claim_syncs); a queue that cannot be reached fails the
    runs recorded, with the reason.
    """
    runs, refused = claim_syncs(practice_ids, trigger, attempt)
    if not runs:
        return runs, refused
    try:
        jobs = enqueue_many(SYNC_JOB, [((run.id,), {"practice_id": pid}) for pid, run in runs.items()])
    except RedisError as exc:
        log.error("Could not queue %s sync runs: %s", len(runs), type(exc).__name__)
        message = "The sync could not be queued (the background worker's queue is unreachable)."
        for practice_id, run in runs.items():
            run.status, run.finished_at, run.error = SyncStatus.FAILED.value, utcnow(), message
            refused[practice_id] = SyncRefused(message)
        db.session.commit()
        return {}, refused
    for run, job in zip(runs.values(), jobs, strict=True):
        run.rq_job_id = job.id
    db.session.commit()
    return runs, refused


def claim_sync(practice_id: int, trigger: str) -> SyncRun:
    """Record a queued run of one practice's sync without queueing it (claim_syncs), for a caller that runs it
    itself; raises SyncRefused (or SyncAlreadyRunning) saying why not."""
    runs, refused = claim_syncs([practice_id], trigger)
    if practice_id in refused:
        raise refused[practice_id]
    return runs[practice_id]


def start_sync(practice_id: int, trigger: str = "manual") -> SyncRun:
    """Queue a sync of one practice (start_syncs); raises SyncRefused (or SyncAlreadyRunning) saying why not."""
    runs, refused = start_syncs([practice_id], trigger)
    if practice_id in refused:
        raise refused[practice_id]
    return runs[practice_id]
