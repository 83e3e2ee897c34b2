"""A sync run whose worker died (SIGKILL, out of memory) is recorded as lost as soon as the next run is claimed,
instead of holding every run up for SYNC_STALE_AFTER and showing as running until then; a run whose worker is alive
still refuses the next one (webapp.sync.run_presence). The real SIGKILL is in tests/integration/test_fault_runs.py."""
from types import SimpleNamespace

import pytest
from rq.job import Job, JobStatus

from tests.factories import make_connection
from tests.helpers import require_postgresql
from webapp.extensions import db
from webapp.models import SyncRun
from webapp.models.base import utcnow
from webapp.queue import get_queue
from webapp.sync import practice_sync
from webapp.sync.run_presence import WorkerPresence, worker_gone
from webapp.sync.sync_runs import SyncAlreadyRunning, claim_sync, start_sync


@pytest.fixture
def practice_id(app_ctx):
    require_postgresql("a dead worker is seen through advisory locks")
    return make_connection().practice_id


def running_run(practice_id: int) -> SyncRun:
    run = SyncRun(practice_id=practice_id, trigger="nightly", status="running", counts={}, started_at=utcnow())
    db.session.add(run)
    db.session.commit()
    return run


def test_a_running_run_whose_worker_is_gone_is_recorded_as_lost_and_the_next_one_starts(practice_id):
    lost = running_run(practice_id)  # a minute ago, its worker was killed: nothing holds it
    new = claim_sync(practice_id, "nightly")
    db.session.expire_all()
    old = db.session.get_one(SyncRun, lost.id)
    assert old.status == "failed" and "worker was lost" in old.error and old.finished_at is not None
    assert new.status == "queued" and new.id != lost.id


def test_a_running_run_whose_worker_is_alive_still_refuses_the_next_one(practice_id):
    going = running_run(practice_id)
    with WorkerPresence(going.id):
        with pytest.raises(SyncAlreadyRunning):
            claim_sync(practice_id, "nightly")
    db.session.expire_all()
    assert db.session.get_one(SyncRun, going.id).status == "running"


def test_the_worker_is_present_while_it_runs_the_run_and_gone_once_it_has_recorded_the_end(app, practice_id):
    seen = []
    step = practice_sync.Step("probe", "Probe", lambda ctx: seen.append(worker_gone(run.id)))
    run = claim_sync(practice_id, "manual")
    client = SimpleNamespace(calls=0)
    status = practice_sync.run_practice_sync(run.id, app.config, client_factory=lambda *a: client, steps=(step,))
    assert status == "succeeded" and seen == [False]
    assert worker_gone(run.id)


def _end_job(job_id: str, how: str) -> None:
    """What RQ leaves of a job whose worker died before the job began (RQ marks it failed), or one removed."""
    job = Job.fetch(job_id, connection=get_queue().connection)
    if how == "removed":
        job.delete()
    else:
        job.set_status(how)


@pytest.mark.parametrize("how", [JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, "removed"])
def test_a_queued_run_whose_job_will_not_run_is_recorded_as_lost_and_the_next_one_starts(app_ctx, how):
    """Any database: the RQ job's state tells, not an advisory lock."""
    practice_id = make_connection().practice_id
    stuck = start_sync(practice_id, "nightly")
    _end_job(stuck.rq_job_id, how)
    new = start_sync(practice_id, "manual")
    db.session.expire_all()
    old = db.session.get_one(SyncRun, stuck.id)
    assert old.status == "failed" and "worker was lost" in old.error
    assert new.status == "queued" and new.id != stuck.id


def test_a_queued_run_whose_job_still_waits_refuses_the_next_one(app_ctx):
    practice_id = make_connection().practice_id
    waiting = start_sync(practice_id, "nightly")
    with pytest.raises(SyncAlreadyRunning):
        start_sync(practice_id, "manual")
    claimed = claim_sync(make_connection(tenant_id="b7a3c9d1-0000-4000-8000-000000000002").practice_id, "manual")
    assert claimed.rq_job_id is None  # a run `flask sync-practice` runs itself has no job: never taken for lost
    with pytest.raises(SyncAlreadyRunning):
        claim_sync(claimed.practice_id, "manual")
    db.session.expire_all()
    assert db.session.get_one(SyncRun, waiting.id).status == "queued"
