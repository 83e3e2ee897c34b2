"""`flask --app wsgi post-invoices PRACTICE_ID [--period YYYY-MM] [--retry-failed]`: posting in the foreground.

For support and operations: runs the same posting as the worker (webapp.sync.invoice_posting.post_outstanding),
recorded as an InvoicePostingRun with trigger "cli", and prints each invoice it posted, held or that Xero refused,
then a summary. Exits 0 when nothing in scope is left outstanding, 1 while anything is (held, refused, not
confirmed, or not reached because the run stopped), and 2 for a bad argument.
"""
import re
from datetime import date

import click
from flask import current_app

from webapp.extensions import db
from webapp.models import InvoicePostingRun, PostingRunStatus, Practice
from webapp.models.base import utcnow
from webapp.sync.invoice_posting import PostingResult, post_outstanding

PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(value: str | None) -> date | None:
    """"2026-11" -> date(2026, 11, 1); click.BadParameter for anything else."""
    if value is None:
        return None
    match = PERIOD.match(value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise click.BadParameter(f"{value!r} is not a month: use YYYY-MM, e.g. 2026-11", param_hint="--period")
    return date(int(match.group(1)), int(match.group(2)), 1)


def report(result: PostingResult) -> list[str]:
    """The lines the command prints for `result`."""
    lines = [f"Posted {o.number} ({o.client_code}) as {o.message}" for o in result.posted]
    lines += [f"Posted {o.number} ({o.client_code}) as {o.message}: found in Xero after an unanswered send"
              for o in result.found]
    lines += [f"Held {o.number} ({o.client_code}): {o.message}" for o in result.held]
    lines += [f"Refused by Xero {o.number} ({o.client_code}): {o.message}" for o in result.failed]
    lines += [f"Not confirmed {o.number} ({o.client_code}): {o.message}" for o in result.unknown]
    lines += [f"Warning: {warning}" for warning in result.warnings]
    if result.stopped:
        lines.append(f"Stopped: {result.stopped}")
    lines.append(f"{len(result.posted) + len(result.found)} posted, {len(result.held)} held, "
                 f"{len(result.failed)} refused by Xero; {result.outstanding} outstanding; "
                 f"{result.contacts_created} contacts created; {result.calls} Xero calls.")
    return lines


@click.command("post-invoices")
@click.argument("practice_id", type=click.IntRange(min=1))
@click.option("--period", "period_text", metavar="YYYY-MM", help="Only this month's invoices.")
@click.option("--retry-failed", is_flag=True, help="Send invoices Xero refused before again.")
def post_invoices_command(practice_id: int, period_text: str | None, retry_failed: bool) -> None:
    """Post PRACTICE_ID's outstanding invoices to Xero now, in the foreground; print what was posted, held and
    refused. Exit status 1 while anything stays outstanding."""
    period = parse_period(period_text)
    practice = db.session.get(Practice, practice_id)
    if practice is None:
        raise click.BadParameter(f"no practice has the id {practice_id}", param_hint="PRACTICE_ID")
    run = InvoicePostingRun(practice_id=practice_id, trigger="cli", period=period, retry_failed=retry_failed,
                            status=PostingRunStatus.RUNNING.value, progress="Starting", counts={}, xero_calls=0,
                            started_at=utcnow())
    db.session.add(run)
    db.session.commit()
    run_id = run.id
    try:
        result = post_outstanding(practice_id, current_app.config, period=period, retry_failed=retry_failed,
                                  progress=lambda message: click.echo(f"... {message}", err=True))
    except Exception as exc:
        db.session.rollback()
        failed = db.session.get_one(InvoicePostingRun, run_id)
        failed.status, failed.finished_at, failed.progress = PostingRunStatus.FAILED.value, utcnow(), "Failed"
        failed.error = f"Unexpected error ({type(exc).__name__})."
        db.session.commit()
        raise
    finished = db.session.get_one(InvoicePostingRun, run_id)
    finished.status = (PostingRunStatus.FAILED if result.stopped else PostingRunStatus.SUCCEEDED).value
    finished.finished_at, finished.error, finished.progress = utcnow(), result.stopped, "Finished"
    finished.counts, finished.xero_calls = result.counts(), result.calls
    db.session.commit()
    for line in report(result):
        click.echo(line)
    if result.outstanding or result.busy:
        raise SystemExit(1)
