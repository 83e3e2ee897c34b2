"""A posting run whose worker died (SIGKILL, out of memory) is recorded as lost as soon as the next posting run is
started, instead of showing as running for two hours (STALE_AFTER); one whose worker is alive is left alone
(webapp.sync.run_presence)."""
from unittest import mock

import pytest
from rq.job import Job, JobStatus

from tests.helpers import require_postgresql
from tests.xero.posting_helpers import ready_practice
from webapp.extensions import db
from webapp.models import InvoicePostingRun
from webapp.models.base import utcnow
from webapp.queue import get_queue
from webapp.sync import invoice_posting_runs
from webapp.sync.invoice_posting import PostingResult
from webapp.sync.invoice_posting_runs import run_posting, start_posting
from webapp.sync.run_presence import POSTING_RUNS, WorkerPresence, worker_gone


@pytest.fixture
def practice_id(connection):
    require_postgresql("a dead worker is seen through advisory locks")
    ready_practice(connection.practice_id)
    return connection.practice_id


def running_run(practice_id: int) -> InvoicePostingRun:
    run = start_posting(practice_id)
    run.status, run.started_at = "running", utcnow()
    db.session.commit()
    return run


def test_a_running_posting_run_whose_worker_is_gone_is_recorded_as_lost_when_the_next_starts(app, practice_id):
    lost = running_run(practice_id)  # a minute ago its worker was killed: nothing holds it
    fresh = start_posting(practice_id)
    db.session.expire_all()
    old = db.session.get_one(InvoicePostingRun, lost.id)
    assert old.status == "failed" and "worker was lost" in old.error and fresh.id != lost.id


def test_a_running_posting_run_whose_worker_is_alive_is_left_running(app, practice_id):
    going = running_run(practice_id)
    with WorkerPresence(going.id, POSTING_RUNS):
        start_posting(practice_id)
    db.session.expire_all()
    assert db.session.get_one(InvoicePostingRun, going.id).status == "running"


def test_the_posting_worker_is_present_while_it_runs_and_gone_once_it_has_recorded_the_end(app, practice_id):
    run = start_posting(practice_id)
    seen = []

    def post(*args, **kwargs):
        seen.append(worker_gone(run.id, POSTING_RUNS))
        return PostingResult()

    with mock.patch.object(invoice_posting_runs, "post_outstanding", side_effect=post):
        assert run_posting(run.id, app.config) == "succeeded"
    assert seen == [False] and worker_gone(run.id, POSTING_RUNS)


@pytest.mark.parametrize("how", [JobStatus.FAILED, "removed"])
def test_a_queued_posting_run_whose_job_will_not_run_is_recorded_as_lost_and_a_new_one_queued(app, connection, how):
    """Any database: the RQ job's state tells. Before, the lost run was handed back as 'already queued' for two
    hours and nothing posted."""
    ready_practice(connection.practice_id)
    stuck = start_posting(connection.practice_id)
    job = Job.fetch(stuck.rq_job_id, connection=get_queue().connection)
    if how == "removed":
        job.delete()
    else:
        job.set_status(how)
    fresh = start_posting(connection.practice_id)
    db.session.expire_all()
    assert db.session.get_one(InvoicePostingRun, stuck.id).status == "failed"
    assert fresh.id != stuck.id and fresh.status == "queued" and fresh.rq_job_id


def test_a_queued_posting_run_whose_job_still_waits_is_handed_back(app, connection):
    ready_practice(connection.practice_id)
    waiting = start_posting(connection.practice_id)
    assert start_posting(connection.practice_id).id == waiting.id
