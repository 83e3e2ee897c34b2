"""Posting runs: queueing one for a practice (approval, "Post outstanding invoices", "Retry"), running it in the
worker, and finding the latest for the page that shows it.

An InvoicePostingRun row is written before the job is queued, so the page can show "Waiting for the worker" at
once, and a queue that cannot be reached is recorded as a failed run rather than lost. A queued run that has not
started yet is reused by the next request to post everything (it will pick up the newer invoices too). The job
itself is `jobs.post_invoices.run_posting` (thin: ids in, app context, `run_posting` here).
"""
import logging
from collections.abc import Callable, Mapping
from datetime import date, timedelta

from redis.exceptions import RedisError

from webapp.extensions import db
from webapp.models import Invoice, InvoicePostingRun, InvoiceStatus, PostingRunStatus, XeroConnection
from webapp.models.base import utcnow
from webapp.queue import enqueue
from webapp.sync.invoice_posting import PostingResult, post_outstanding
from webapp.sync.run_presence import POSTING_RUNS, WorkerPresence, run_lost
from webapp.xero import XeroClient

log = logging.getLogger(__name__)

POSTING_JOB = "jobs.post_invoices.run_posting"
JOB_TIMEOUT = 3600
LOCK_WAIT = 600.0  # seconds a queued run waits for another run of the practice to finish
STALE_AFTER = timedelta(hours=2)  # a run queued or running this long was lost with its worker
TRIGGERS = ("approval", "manual", "retry", "cli", "nightly")


class PostingRefused(Exception):
    """A posting run could not be started; `message` says why, for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def latest_posting_run(practice_id: int) -> InvoicePostingRun | None:
    """The practice's most recent posting run, or None (for the Billing Plan's live status)."""
    return db.session.execute(db.select(InvoicePostingRun).filter_by(practice_id=practice_id)
                              .order_by(InvoicePostingRun.id.desc()).limit(1)).scalar_one_or_none()


def _expire_stale(practice_id: int) -> None:
    """Record as failed the practice's runs lost with their worker: queued or running for STALE_AFTER, running with
    no worker holding them (webapp.sync.run_presence: killed, out of memory), or queued with an RQ job that will not
    run (webapp.queue.job_over)."""
    cutoff = utcnow() - STALE_AFTER
    for run in db.session.execute(db.select(InvoicePostingRun).filter(
            InvoicePostingRun.practice_id == practice_id,
            InvoicePostingRun.status.in_([PostingRunStatus.QUEUED.value, PostingRunStatus.RUNNING.value]))).scalars():
        lost = run_lost(run.id, run.status == PostingRunStatus.RUNNING.value, run.rq_job_id, POSTING_RUNS)
        if lost or (run.started_at or run.queued_at) < cutoff:
            # Only while it is still unfinished: its worker may have recorded the end a moment ago.
            db.session.execute(
                db.update(InvoicePostingRun).where(InvoicePostingRun.id == run.id,
                                                   InvoicePostingRun.status == run.status)
                .values(status=PostingRunStatus.FAILED.value, finished_at=utcnow(), progress="Failed",
                        error="The posting run stopped without finishing (its worker was lost); the next run carries "
                              "on.")
                .execution_options(synchronize_session=False))


def start_posting(practice_id: int, trigger: str = "approval", *, period: date | None = None,
                  invoice_id: int | None = None, retry_failed: bool = False) -> InvoicePostingRun:
    """Queue a posting run for the practice's outstanding invoices (only `period`'s, or only `invoice_id`; invoices
    Xero refused are sent again with `retry_failed` or when named); commits and returns the run.

    A run already queued (not started) for everything outstanding is returned instead of queueing another.
    Raises PostingRefused when Xero is not connected (nothing is queued: the invoices wait) or the queue is
    unreachable (the run is recorded as failed).
    """
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    connection = db.session.execute(
        db.select(XeroConnection).filter_by(practice_id=practice_id).with_for_update()  # one starter at a time
    ).scalar_one_or_none()
    if connection is None or not connection.is_connected:
        db.session.rollback()
        raise PostingRefused("Connect to Xero (Practice Settings > Integrations) to post invoices; they wait until "
                             "then.")
    _expire_stale(practice_id)
    if period is None and invoice_id is None:
        queued = db.session.execute(db.select(InvoicePostingRun).filter(
            InvoicePostingRun.practice_id == practice_id, InvoicePostingRun.status == PostingRunStatus.QUEUED.value,
            InvoicePostingRun.period.is_(None), InvoicePostingRun.invoice_id.is_(None),
            InvoicePostingRun.retry_failed.is_(True) if retry_failed else db.true())
            .order_by(InvoicePostingRun.id.desc()).limit(1)).scalar_one_or_none()
        if queued is not None:
            db.session.commit()
            return queued
    run = InvoicePostingRun(practice_id=practice_id, trigger=trigger, period=period, invoice_id=invoice_id,
                            retry_failed=retry_failed, status=PostingRunStatus.QUEUED.value,
                            progress="Waiting for the worker", counts={}, xero_calls=0)
    db.session.add(run)
    db.session.commit()
    try:
        job = enqueue(POSTING_JOB, run.id, job_id=f"post-invoices-{run.id}", job_timeout=JOB_TIMEOUT,
                      practice_id=practice_id)
    except RedisError as exc:
        log.error("Could not queue InvoicePostingRun %s: %s", run.id, type(exc).__name__)
        run.status, run.finished_at = PostingRunStatus.FAILED.value, utcnow()
        run.error = "Posting could not be queued (the background worker's queue is unreachable); try again shortly."
        db.session.commit()
        raise PostingRefused(run.error) from None
    run.rq_job_id = job.id
    db.session.commit()
    return run


def retry_invoice(practice_id: int, invoice_id: int) -> InvoicePostingRun:
    """Queue a run that posts this one invoice again (held, refused by Xero, or waiting); PostingRefused when it is
    not the practice's, is posted already, or posting cannot be queued."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None or invoice.practice_id != practice_id:
        raise PostingRefused("That invoice does not exist.")
    if invoice.status == InvoiceStatus.POSTED.value:
        raise PostingRefused(f"Invoice {invoice.number} is posted to Xero already.")
    return start_posting(practice_id, "retry", invoice_id=invoice_id, retry_failed=True)


def _summary(result: PostingResult) -> str:
    parts = [f"{len(result.posted) + len(result.found)} posted"]
    if result.held:
        parts.append(f"{len(result.held)} held")
    if result.failed:
        parts.append(f"{len(result.failed)} refused by Xero")
    if result.outstanding:
        parts.append(f"{result.outstanding} outstanding")
    return "Finished: " + ", ".join(parts)


def run_posting(posting_run_id: int, config: Mapping, client_factory: Callable[..., XeroClient] | None = None,
                lock_wait: float = LOCK_WAIT) -> str:
    """Run one queued InvoicePostingRun to the end, recording progress, counts, Xero calls and how it ended;
    returns its status. A run that stopped early (Xero unavailable, disconnected, another run kept the lock) is
    "failed" with the reason; anything unexpected is recorded and raised again so the worker records it too."""
    run = db.session.get(InvoicePostingRun, posting_run_id)
    if run is None:
        log.warning("InvoicePostingRun %s does not exist; nothing to do", posting_run_id)
        return "missing"
    if run.status != PostingRunStatus.QUEUED.value:
        log.warning("InvoicePostingRun %s is %s, not queued; not running it again", posting_run_id, run.status)
        return run.status
    with WorkerPresence(posting_run_id, POSTING_RUNS):  # from before it is "running" until it has ended
        run.status, run.started_at, run.progress = PostingRunStatus.RUNNING.value, utcnow(), "Starting"
        db.session.commit()
        return _run(run, config, client_factory, lock_wait)


def _run(run: InvoicePostingRun, config: Mapping, client_factory: Callable[..., XeroClient] | None,
         lock_wait: float) -> str:
    posting_run_id = run_id = run.id
    practice_id = run.practice_id

    def progress(message: str) -> None:
        db.session.execute(db.update(InvoicePostingRun).where(InvoicePostingRun.id == run_id)
                           .values(progress=message[:200]))
        db.session.commit()

    try:
        result = post_outstanding(practice_id, config, period=run.period,
                                  invoice_ids=[run.invoice_id] if run.invoice_id else None,
                                  retry_failed=run.retry_failed, client_factory=client_factory, progress=progress,
                                  lock_wait=lock_wait)
    except Exception as exc:
        db.session.rollback()
        log.exception("InvoicePostingRun %s failed unexpectedly", posting_run_id)
        _finish(run_id, PostingRunStatus.FAILED, error=f"Unexpected error ({type(exc).__name__}); the team has been "
                                                       "told. Nothing sent was lost: the next run checks Xero first.")
        raise
    status = PostingRunStatus.FAILED if result.stopped else PostingRunStatus.SUCCEEDED
    _finish(run_id, status, result=result, error=result.stopped)
    return status.value


def _finish(run_id: int, status: PostingRunStatus, result: PostingResult | None = None,
            error: str | None = None) -> None:
    run = db.session.get_one(InvoicePostingRun, run_id)
    run.status, run.finished_at, run.error = status.value, utcnow(), error
    if result is not None:
        run.counts, run.xero_calls = result.counts(), result.calls
        run.progress = _summary(result) if status is PostingRunStatus.SUCCEEDED else "Stopped"
    else:
        run.progress = "Failed"
    db.session.commit()
