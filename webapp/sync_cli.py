"""`flask --app wsgi sync-practice PRACTICE_ID`: one practice's sync in the foreground, for support.

Runs the job the nightly run and "Sync now" queue (webapp.sync.practice_sync.run_practice_sync) in this process,
recorded as a SyncRun with trigger "support" (so it shows in the practice's sync history), and refused like "Sync
now" when the practice is not connected or a run is already queued or running (webapp.sync.sync_runs.claim_sync).
What each step is doing goes to stderr as it happens; each step's outcome and counts, the warnings and how the run
ended go to stdout. Exit status 0 when the run succeeded, 1 when it failed or was refused, 2 for a bad argument.
"""
import dataclasses

import click
from flask import current_app

from webapp.extensions import db
from webapp.models import Practice, SyncRun, SyncStatus, XeroConnection
from webapp.models.base import utcnow
from webapp.services.sync_history import run_duration, run_steps, run_warnings
from webapp.sync import practice_sync, sync_runs

TRIGGER = "support"
MARKS = {"done": "ok", "failed": "FAILED", "not run": "not run"}


def _echoing(steps: tuple[practice_sync.Step, ...]) -> tuple[practice_sync.Step, ...]:
    """The steps, each saying on stderr when it starts and what it is doing (as well as recording it)."""

    def wrap(step: practice_sync.Step) -> practice_sync.Step:
        def run(ctx: practice_sync.SyncContext) -> None:
            def progress(message: str) -> None:
                if message != step.label:
                    click.echo(f"    {message}", err=True)
                ctx.progress(message)

            click.echo(f"... {step.label}", err=True)
            step.run(dataclasses.replace(ctx, progress=progress))

        return dataclasses.replace(step, run=run)

    return tuple(wrap(step) for step in steps)


def report(run: SyncRun) -> list[str]:
    """The lines the command prints for a finished run."""
    lines = []
    for step in run_steps(run):
        line = f"{step.label}: {MARKS.get(step.state, step.state)}"
        if step.counts:
            line += " - " + "; ".join(step.counts)
        lines.append(line)
        if step.error:
            lines.append(f"    {step.error}")
    lines += [f"Warning: {warning}" for warning in run_warnings(run)]
    took = run_duration(run)
    calls = f"{run.xero_calls} Xero call{'' if run.xero_calls == 1 else 's'}"
    if run.status == SyncStatus.SUCCEEDED.value:
        lines.append(f"Sync run {run.id} succeeded in {took} with {calls}.")
    else:
        lines.append(f"Sync run {run.id} failed after {took or 'no time'} with {calls}: {run.error or 'no reason'}")
    return lines


def _refusal(practice: Practice) -> str | None:
    """Why `practice` cannot be synced, in support's terms; None when it can (claim_sync decides for certain)."""
    connection = db.session.execute(
        db.select(XeroConnection).filter_by(practice_id=practice.id)).scalar_one_or_none()
    if connection is None:
        return f"{practice.name} (practice {practice.id}) has never connected to Xero; nothing to sync."
    if not connection.is_connected:
        return (f"{practice.name} (practice {practice.id}) is not connected to Xero (its connection is "
                f"{connection.status.replace('_', ' ')}); nothing to sync until it connects again.")
    return None


@click.command("sync-practice")
@click.argument("practice_id", type=click.IntRange(min=1))
def sync_practice_command(practice_id: int) -> None:
    """Sync PRACTICE_ID with Xero now, in the foreground (the nightly job, recorded in its sync history); print each
    step's outcome and counts. Exit status 1 when the sync failed or could not start."""
    practice = db.session.get(Practice, practice_id)
    if practice is None:
        raise click.ClickException(f"No practice has the id {practice_id}.")
    refusal = _refusal(practice)
    if refusal:
        raise click.ClickException(refusal)
    try:
        run = sync_runs.claim_sync(practice_id, TRIGGER)
    except sync_runs.SyncAlreadyRunning as exc:
        raise click.ClickException(
            f"{practice.name} (practice {practice_id}) already has a sync {exc.run.status} (run {exc.run.id}, "
            f"{exc.run.trigger}); wait for it to finish.") from None
    except sync_runs.SyncRefused as exc:
        raise click.ClickException(f"{practice.name} (practice {practice_id}): {exc.message}") from None
    run_id = run.id
    click.echo(f"Syncing {practice.name} (practice {practice_id}) with Xero: run {run_id}.", err=True)
    try:
        practice_sync.run_practice_sync(run_id, current_app.config, steps=_echoing(practice_sync.STEPS))
    except KeyboardInterrupt:
        db.session.rollback()
        stopped = db.session.get_one(SyncRun, run_id)
        if stopped.status in (SyncStatus.QUEUED.value, SyncStatus.RUNNING.value):
            stopped.status, stopped.finished_at = SyncStatus.FAILED.value, utcnow()
            stopped.progress, stopped.error = "Failed", "Stopped from the command line before it finished."
            db.session.commit()
        raise
    db.session.expire_all()
    finished = db.session.get_one(SyncRun, run_id)
    for line in report(finished):
        click.echo(line)
    if finished.status != SyncStatus.SUCCEEDED.value:
        raise SystemExit(1)
