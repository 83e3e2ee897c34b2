"""One practice's sync run, step by step: what the nightly run, "Sync now" and connecting all do.

The steps, in order (each commits as it goes):
  reference        account codes, branding themes, tax rates (webapp.sync.reference_sync)
  contacts         contacts pulled, clients matched, with Xero as the primary CRM its contacts made clients
  contact_updates  details changed on either side of linked pairs copied across, new links' codes written to Xero
  approval         on the invoice day, with automatic monthly billing chosen, the month approved as a person would
                   (nightly runs only: webapp.services.automatic_billing)
  posting          invoices raised and not yet in Xero posted (held ones checked again; ones Xero refused wait for a
                   person's Retry), as "Post outstanding invoices" does (webapp.sync.invoice_posting)
  invoice_status   invoices Socket posted read back: paid, part paid, voided, edited in Xero
                   (webapp.sync.invoice_status)

A step Xero fails (unreachable after the client's own retries, an unreadable answer, a refusal) is recorded as
failed with Xero's reason and the next step still runs; a step that finds the connection gone (XeroAuthError:
revoked, needs reconnecting) stops the run, as every later step would fail the same way. Anything unexpected is
recorded and raised again for the worker. Counts are flat in SyncRun.counts as before, plus `steps`: each step's
name, label, outcome ("done", "failed", "not run") and error.
"""
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from webapp.extensions import db
from webapp.models import ConnectionStatus, SyncRun, SyncStatus, XeroConnection
from webapp.models.base import utcnow
from webapp.services.automatic_billing import approve_if_due
from webapp.sync import reference_sync
from webapp.sync.invoice_posting import post_outstanding
from webapp.sync.invoice_status import read_invoice_statuses
from webapp.sync.run_presence import WorkerPresence
from webapp.xero import XeroAuthError, XeroClient, XeroError, XeroRateLimited, XeroSettings, XeroUnavailable

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SyncContext:
    practice_id: int
    tenant_id: str
    client: XeroClient
    counts: dict
    progress: Progress
    config: Mapping
    trigger: str = "manual"


@dataclass(frozen=True)
class Step:
    name: str
    label: str  # what the progress widget and the run's page call it
    run: Callable[[SyncContext], None]  # fills ctx.counts


def _reference(ctx: SyncContext) -> None:
    ctx.counts.update(reference_sync.sync_reference_data(ctx.practice_id, ctx.client, ctx.progress))


def _contacts(ctx: SyncContext) -> None:
    reference_sync.pull_and_match_contacts(ctx.practice_id, ctx.tenant_id, ctx.client, ctx.counts, ctx.progress)


def _contact_updates(ctx: SyncContext) -> None:
    reference_sync.write_contact_changes(ctx.practice_id, ctx.tenant_id, ctx.client, ctx.counts, ctx.progress)


def _automatic_approval(ctx: SyncContext) -> None:
    if ctx.trigger == "nightly":
        ctx.counts.update(approve_if_due(ctx.practice_id).counts())


def _posting(ctx: SyncContext) -> None:
    result = post_outstanding(ctx.practice_id, ctx.config, client_factory=lambda connection, settings: ctx.client,
                              progress=ctx.progress)
    counts = result.counts()
    ctx.counts.update({f"posting_{key}": value for key, value in counts.items() if key not in ("calls", "warnings")})
    if result.warnings:
        ctx.counts["warnings"] = ctx.counts.get("warnings", []) + counts["warnings"]
    if result.stopped and not result.busy:
        raise XeroUnavailable(f"{result.stopped} The invoices not posted stay outstanding for the next run.")


def _invoice_status(ctx: SyncContext) -> None:
    ctx.counts.update(read_invoice_statuses(ctx.practice_id, ctx.tenant_id, ctx.client).counts())


STEPS: tuple[Step, ...] = (
    Step("reference", "Account codes, branding themes and tax rates", _reference),
    Step("contacts", "Contacts and matching", _contacts),
    Step("contact_updates", "Contact details both ways", _contact_updates),
    Step("approval", "Automatic monthly billing", _automatic_approval),
    Step("posting", "Outstanding invoices posted", _posting),
    Step("invoice_status", "Invoice status read back", _invoice_status),
)


def run_practice_sync(sync_run_id: int, config: Mapping, client_factory=None,
                      steps: tuple[Step, ...] = STEPS) -> str:
    """Run one queued SyncRun to the end, step by step, recording progress, counts, Xero calls and how it ended;
    returns its status. A run that is not queued (already run, or running elsewhere) is left alone."""
    run = db.session.get(SyncRun, sync_run_id)
    if run is None:
        log.warning("SyncRun %s does not exist; nothing to do", sync_run_id)
        return "missing"
    if run.status != SyncStatus.QUEUED.value:
        log.warning("SyncRun %s is %s, not queued; not running it again", sync_run_id, run.status)
        return run.status
    with WorkerPresence(sync_run_id):  # from before it is "running" until it has ended (sync_runs.claim_syncs)
        run.status, run.started_at, run.progress = SyncStatus.RUNNING.value, utcnow(), "Starting"
        db.session.commit()
        return _run_steps(run, config, client_factory, steps)


def _run_steps(run: SyncRun, config: Mapping, client_factory, steps: tuple[Step, ...]) -> str:
    sync_run_id = run.id
    client: XeroClient | None = None
    counts: dict = {"steps": [{"name": step.name, "label": step.label, "outcome": "not run"} for step in steps]}
    if (run.counts or {}).get("attempt"):
        counts["attempt"] = run.counts["attempt"]  # a retry's number (webapp.sync.sync_retries)

    def progress(message: str) -> None:
        current = db.session.get_one(SyncRun, sync_run_id)
        current.progress = message
        current.xero_calls = client.calls if client else 0
        current.counts = _snapshot(counts)
        db.session.commit()

    connection = db.session.execute(
        db.select(XeroConnection).filter_by(practice_id=run.practice_id)).scalar_one_or_none()
    if connection is None or connection.status != ConnectionStatus.CONNECTED.value or not connection.tenant_id:
        return _finish(sync_run_id, client, counts,
                       "Xero is not connected (or needs reconnecting), so nothing could be synced.")
    client = (client_factory or XeroClient.for_connection)(connection, XeroSettings.from_config(config))
    ctx = SyncContext(run.practice_id, connection.tenant_id, client, counts, progress, config, run.trigger)
    first_error: str | None = None
    for position, step in enumerate(steps):
        record = counts["steps"][position]
        progress(step.label)
        try:
            step.run(ctx)
        except XeroAuthError as exc:
            db.session.rollback()
            record.update(outcome="failed", error=exc.message)
            return _finish(sync_run_id, client, counts, exc.message)
        except XeroError as exc:
            db.session.rollback()
            record.update(outcome="failed", error=exc.message)
            first_error = first_error or f"{step.label}: {exc.message}"
            if isinstance(exc, XeroUnavailable | XeroRateLimited):
                counts["retryable"] = True  # may pass: a nightly run is tried again (webapp.sync.sync_retries)
            continue
        except Exception as exc:
            db.session.rollback()
            log.exception("SyncRun %s failed unexpectedly in step %s", sync_run_id, step.name)
            record.update(outcome="failed", error=f"Unexpected error ({type(exc).__name__})")
            _finish(sync_run_id, client, counts,
                    f"Unexpected error ({type(exc).__name__}); the team has been told.")
            raise
        record["outcome"] = "done"
    return _finish(sync_run_id, client, counts, first_error)


def _snapshot(counts: dict) -> dict:
    """A copy the JSON column sees as a new value (so a change inside `steps` is saved)."""
    return {**counts, "steps": [dict(step) for step in counts["steps"]]}


def _finish(sync_run_id: int, client: XeroClient | None, counts: dict, error: str | None) -> str:
    run = db.session.get_one(SyncRun, sync_run_id)  # loaded again after a rollback; the row is there
    run.status = (SyncStatus.FAILED if error else SyncStatus.SUCCEEDED).value
    run.finished_at = utcnow()
    run.progress = "Failed" if error else "Finished"
    run.xero_calls = client.calls if client else run.xero_calls
    run.counts = _snapshot(counts)
    run.error = error
    db.session.commit()
    return run.status
