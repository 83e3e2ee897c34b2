"""Posting runs: queued by approval or a person (one waiting at a time), run by the job with counts and an
ending; the foreground command; and what the pages show for each invoice."""
from datetime import timedelta
from unittest import mock

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from jobs.post_invoices import run_posting as job_run_posting
from tests.factories import make_connection
from tests.xero.posting_helpers import (
    FakeXero,
    decided_client,
    invoice_state,
    linked_client,
    make_invoice,
    ready_practice,
)
from webapp.extensions import db
from webapp.models import InvoicePostingRun
from webapp.models.base import utcnow
from webapp.posting_cli import parse_period, post_invoices_command
from webapp.queue import get_queue
from webapp.sync import invoice_posting_runs
from webapp.sync.invoice_posting import post_outstanding
from webapp.sync.invoice_posting_runs import (
    PostingRefused,
    latest_posting_run,
    retry_invoice,
    run_posting,
    start_posting,
)
from webapp.sync.invoice_posting_view import posting_view, posting_views, xero_invoice_url
from webapp.xero import XeroClient


@pytest.fixture
def factory(fake_time):
    def make(connection, xero_settings):
        return XeroClient.for_connection(connection, xero_settings, sleep=fake_time.sleep, clock=fake_time.clock)
    return make


@pytest.fixture
def practice_id(connection):
    ready_practice(connection.practice_id)
    return connection.practice_id


def test_start_posting_queues_one_job_and_reuses_a_waiting_run(app, practice_id):
    run = start_posting(practice_id, "approval")
    assert (run.status, run.progress, run.trigger) == ("queued", "Waiting for the worker", "approval")
    [job] = get_queue().jobs
    assert job.func_name == "jobs.post_invoices.run_posting" and job.args == (run.id,)
    assert job.id == run.rq_job_id == f"post-invoices-{run.id}" and job.meta == {"practice_id": practice_id}
    assert start_posting(practice_id, "manual").id == run.id and len(get_queue().jobs) == 1
    other = start_posting(practice_id, "manual", retry_failed=True)  # a retry of refused ones is another run
    assert other.id != run.id and latest_posting_run(practice_id).id == other.id


def test_start_posting_refuses_without_a_connection_and_records_a_dead_queue(app, app_ctx):
    connection = make_connection(status="needs_reconnect")
    with pytest.raises(PostingRefused, match="Connect to Xero"):
        start_posting(connection.practice_id)
    connection.status = "connected"
    db.session.commit()
    with mock.patch.object(invoice_posting_runs, "enqueue", side_effect=RedisConnectionError()):
        with pytest.raises(PostingRefused, match="could not be queued"):
            start_posting(connection.practice_id)
    run = latest_posting_run(connection.practice_id)
    assert run.status == "failed" and "could not be queued" in run.error
    with pytest.raises(ValueError):
        start_posting(connection.practice_id, "whenever")


def test_a_run_lost_with_its_worker_is_recorded_as_failed_when_the_next_starts(app, practice_id):
    stale = start_posting(practice_id)
    stale.status, stale.started_at = "running", utcnow() - timedelta(hours=3)
    db.session.commit()
    fresh = start_posting(practice_id)
    db.session.expire_all()
    assert db.session.get(InvoicePostingRun, stale.id).status == "failed" and fresh.id != stale.id


def test_the_job_runs_the_queued_run_and_records_what_it_did(app, practice_id, mocked, settings, factory):
    xero = FakeXero(mocked, settings)
    invoice = make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    make_invoice(practice_id, decided_client(practice_id, "REV01", "needs_review", reason="Two contacts."),
                 "SKT-000002")
    run = start_posting(practice_id, "approval")
    assert run_posting(run.id, app.config, client_factory=factory) == "succeeded"
    db.session.expire_all()
    run = db.session.get(InvoicePostingRun, run.id)
    assert run.counts["posted"] == 1 and run.counts["held"] == 1 and run.counts["outstanding"] == 1
    assert (run.xero_calls, run.error, run.progress) == (1, None, "Finished: 1 posted, 1 held, 1 outstanding")
    assert run.started_at and run.finished_at and len(xero.invoices) == 1
    assert run_posting(run.id, app.config) == "succeeded"  # not run twice
    assert run_posting(999999, app.config) == "missing"
    assert invoice_state(invoice.id)[0] == "posted"


def test_a_stopped_run_is_failed_with_its_reason(app, practice_id, mocked, settings, factory):
    make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    mocked.put(f"{settings.accounting_url}/Invoices", status=503)
    run = start_posting(practice_id)
    assert run_posting(run.id, app.config, client_factory=factory) == "failed"
    db.session.expire_all()
    run = db.session.get(InvoicePostingRun, run.id)
    assert "posting stopped" in run.error and run.counts["outstanding"] == 1 and run.progress == "Stopped"


def test_an_unexpected_error_is_recorded_and_raised(app, practice_id):
    make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    run = start_posting(practice_id)
    with mock.patch.object(invoice_posting_runs, "post_outstanding", side_effect=RuntimeError("boom")):
        with pytest.raises(RuntimeError):
            run_posting(run.id, app.config)
    db.session.expire_all()
    assert db.session.get(InvoicePostingRun, run.id).status == "failed"


def test_the_job_function_takes_an_id(app, practice_id):
    run = start_posting(practice_id)
    with mock.patch.object(invoice_posting_runs, "post_outstanding") as post:
        post.return_value = invoice_posting_runs.PostingResult()
        assert job_run_posting(run.id) == "succeeded"
    assert post.call_args.kwargs["invoice_ids"] is None


def test_retry_one_invoice(app, practice_id, other_owner):
    invoice = make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001", status="failed")
    run = retry_invoice(practice_id, invoice.id)
    assert (run.trigger, run.invoice_id, run.retry_failed) == ("retry", invoice.id, True)
    with pytest.raises(PostingRefused, match="does not exist"):
        retry_invoice(other_owner.practice_id, invoice.id)
    invoice.status = "posted"
    db.session.commit()
    with pytest.raises(PostingRefused, match="posted to Xero already"):
        retry_invoice(practice_id, invoice.id)


# -- what the pages show ---------------------------------------------------------------------------------------------
def test_posting_views(app, practice_id, mocked, settings, factory, other_owner):
    xero = FakeXero(mocked, settings)
    posted = make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    held = make_invoice(practice_id, decided_client(practice_id, "REV01", "needs_review"), "SKT-000002")
    waiting = make_invoice(practice_id, linked_client(practice_id, "WAI01")[0], "SKT-000003", period=held.period
                           .replace(month=10))
    post_outstanding(practice_id, app.config, client_factory=factory, period=held.period)
    views = posting_views(practice_id, [posted.id, held.id, waiting.id, 999999])
    assert set(views) == {posted.id, held.id, waiting.id}
    assert (views[posted.id].state, views[posted.id].label, views[posted.id].xero_number) == (
        "posted", "Draft in Xero", "INV-0001")
    assert views[posted.id].xero_url() == xero_invoice_url(xero.invoices[0]["InvoiceID"])
    assert xero_invoice_url("abc") == "https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID=abc"
    assert (views[held.id].state, views[held.id].can_retry) == ("held", True)
    assert "needs a person's review" in views[held.id].message
    assert (views[waiting.id].state, views[waiting.id].label, views[waiting.id].message) == (
        "waiting", "Waiting to post", None)
    assert posting_view(other_owner.practice_id, posted.id) is None


# -- the foreground command ------------------------------------------------------------------------------------------
def test_the_command_posts_prints_and_exits_non_zero_while_anything_is_outstanding(app, practice_id, mocked,
                                                                                  settings, fake_time):
    FakeXero(mocked, settings)
    make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    make_invoice(practice_id, decided_client(practice_id, "REV01", "needs_review", reason="Two contacts."),
                 "SKT-000002")
    runner = app.test_cli_runner()
    with mock.patch.object(XeroClient, "for_connection",
                           side_effect=lambda c, s: XeroClient(s, c.id, c.tenant_id, sleep=fake_time.sleep,
                                                               clock=fake_time.clock)):
        result = runner.invoke(post_invoices_command, [str(practice_id), "--period", "2026-11"])
    assert result.exit_code == 1, result.output
    assert "Posted SKT-000001 (ABB01) as INV-0001" in result.output
    assert "Held SKT-000002 (REV01): REV01's Xero contact needs a person's review" in result.output
    assert "1 posted, 1 held, 0 refused by Xero; 1 outstanding; 0 contacts created; 1 Xero calls." in result.output
    run = latest_posting_run(practice_id)
    assert (run.trigger, run.status, run.counts["posted"]) == ("cli", "succeeded", 1)


def test_the_command_exits_zero_when_nothing_is_left(app, practice_id):
    result = app.test_cli_runner().invoke(post_invoices_command, [str(practice_id)])
    assert result.exit_code == 0 and "0 posted, 0 held" in result.output


@pytest.mark.parametrize("args, message", [
    (["abc"], "'abc' is not a valid integer"),
    (["0"], "0 is not in the range"),
    (["999999"], "no practice has the id 999999"),
    (["1", "--period", "2026-13"], "is not a month: use YYYY-MM"),
    (["1", "--period", "November"], "is not a month: use YYYY-MM"),
])
def test_a_bad_argument_is_a_clear_error(app, app_ctx, args, message):
    result = app.test_cli_runner().invoke(post_invoices_command, args)
    assert result.exit_code == 2 and message in result.output, result.output


def test_parse_period():
    assert parse_period("2026-11").isoformat() == "2026-11-01" and parse_period(None) is None


def test_the_command_is_registered(app):
    assert app.cli.commands["post-invoices"] is post_invoices_command


def test_the_command_reports_found_and_unconfirmed_invoices_and_records_a_crash(app, practice_id, mocked, settings):
    from webapp.posting_cli import report
    from webapp.sync.invoice_posting import InvoiceOutcome, PostingResult

    result = PostingResult(found=[InvoiceOutcome(1, "SKT-000001", "ABB01", "INV-0001")],
                           unknown=[InvoiceOutcome(2, "SKT-000002", "BAK01", "no answer")],
                           failed=[InvoiceOutcome(3, "SKT-000003", "CAR01", "The contact is archived.")],
                           warnings=["Check Xero."], stopped="Xero is down.", outstanding=2)
    assert report(result)[:6] == [
        "Posted SKT-000001 (ABB01) as INV-0001: found in Xero after an unanswered send",
        "Refused by Xero SKT-000003 (CAR01): The contact is archived.",
        "Not confirmed SKT-000002 (BAK01): no answer", "Warning: Check Xero.", "Stopped: Xero is down.",
        "1 posted, 0 held, 1 refused by Xero; 2 outstanding; 0 contacts created; 0 Xero calls."]
    with mock.patch("webapp.posting_cli.post_outstanding", side_effect=RuntimeError("boom")):
        outcome = app.test_cli_runner().invoke(post_invoices_command, [str(practice_id)])
    assert outcome.exit_code == 1 and isinstance(outcome.exception, RuntimeError)
    run = latest_posting_run(practice_id)
    assert (run.status, run.error) == ("failed", "Unexpected error (RuntimeError).")


def test_labels_say_what_xero_says():
    from decimal import Decimal

    from webapp.sync.invoice_posting_view import PostingView

    assert PostingView(1, "posted", None, "x", "INV-1", "AUTHORISED", amount_paid=Decimal("10.00")).label == \
        "Part paid"
    assert PostingView(1, "posted", None, "x", "INV-1", "AUTHORISED", amount_paid=Decimal("0.00")).label == \
        "Approved in Xero"
    assert PostingView(1, "posted", None, "x", "INV-1", "PAID").label == "Paid"
    assert PostingView(1, "posted", None).label == "Posted to Xero"
    assert PostingView(1, "posted", None).xero_url() is None
    assert PostingView(1, "failed", "Refused.").can_retry and not PostingView(1, "posting", None).can_retry


def test_a_run_is_active_while_queued_or_running(app, practice_id):
    run = start_posting(practice_id)
    assert run.is_active
    run.status = "succeeded"
    assert not run.is_active
