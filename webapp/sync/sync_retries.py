"""Trying a nightly sync again when it failed for a reason that may pass (Xero unreachable after the client's own
retries, a 429 storm, an unreadable answer): after 5 minutes, then 20, each a new run with trigger "retry".

The retry is an RQ job queued for later (the worker's scheduler, `rq worker --with-scheduler`, moves it back to the
queue), which starts the run only then: a person's "Sync now" meanwhile is not refused by a run that is only
waiting, and when one is going at retry time the retry is not needed. A run that failed because the connection is
gone, or in a way Socket did not expect, is not retried; nor is "Sync now" (the person sees it and can Retry).
"""
import logging
from datetime import timedelta

from redis.exceptions import RedisError
from rq.job import Job

from webapp.extensions import db
from webapp.models import SyncRun, SyncStatus
from webapp.queue import get_queue
from webapp.sync.sync_runs import SyncRefused, start_syncs

log = logging.getLogger(__name__)

RETRY_DELAYS = (timedelta(minutes=5), timedelta(minutes=20))  # before attempt 2, before attempt 3
RETRY_JOB = "jobs.sync_reference.retry_sync"
RETRIED_TRIGGERS = ("nightly", "retry")


def attempt_of(run: SyncRun) -> int:
    return int((run.counts or {}).get("attempt", 1))


def retry_later(sync_run_id: int) -> Job | None:
    """Queue the next attempt of a failed, retryable nightly run after its delay; None when there is none to make
    (or the queue cannot be reached: the next night's run is the safety net)."""
    run = db.session.get(SyncRun, sync_run_id)
    if run is None or run.status != SyncStatus.FAILED.value or not (run.counts or {}).get("retryable"):
        return None
    attempt = attempt_of(run)
    if run.trigger not in RETRIED_TRIGGERS or attempt > len(RETRY_DELAYS):
        return None
    try:
        return get_queue().enqueue_in(RETRY_DELAYS[attempt - 1], RETRY_JOB, run.practice_id, attempt + 1,
                                      meta={"practice_id": run.practice_id})
    except RedisError as exc:
        log.error("Could not queue a retry of SyncRun %s: %s", run.id, type(exc).__name__)
        return None


def start_retry(practice_id: int, attempt: int) -> SyncRun | None:
    """Queue attempt `attempt` now (the retry job); None when the practice cannot sync now (disconnected, or a run
    is going already, which makes this one unneeded)."""
    runs, refused = start_syncs([practice_id], "retry", attempt=attempt)
    if practice_id in refused:
        reason: SyncRefused = refused[practice_id]
        log.info("Retry %s of practice %s's sync not started: %s", attempt, practice_id, reason.message)
        return None
    return runs[practice_id]
