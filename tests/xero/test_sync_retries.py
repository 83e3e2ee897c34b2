"""A nightly sync that failed for a reason that may pass is tried again after 5 minutes, then 20 (RQ's scheduled
jobs, moved back by the worker's scheduler); not a lost connection, not Sync now, and not when a run is going."""
from datetime import UTC, datetime, timedelta

import pytest
from rq.registry import ScheduledJobRegistry

from jobs.sync_reference import retry_sync, run_reference_sync
from tests.xero.helpers import mock_reference
from webapp.extensions import db
from webapp.models import SyncRun
from webapp.queue import get_queue
from webapp.sync.run_presence import WorkerPresence


@pytest.fixture
def queue(app):
    with app.app_context():
        queue = get_queue(app.config)
    queue.empty()
    registry = ScheduledJobRegistry(queue=queue)
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)
    yield queue
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)
    queue.empty()


def scheduled(queue) -> list[tuple[str, tuple, datetime]]:
    registry = ScheduledJobRegistry(queue=queue)
    return [(job.func_name, job.args, registry.get_scheduled_time(job))
            for job in (queue.fetch_job(job_id) for job_id in registry.get_job_ids())]


def queued_run(practice_id, trigger="nightly", **counts) -> SyncRun:
    run = SyncRun(practice_id=practice_id, trigger=trigger, status="queued", counts=counts)
    db.session.add(run)
    db.session.commit()
    return run


def xero_unreadable(mocked, settings):
    """Xero answering the accounts with no Accounts list: the step fails at once, and may pass."""
    mock_reference(mocked, settings)
    mocked.replace("GET", f"{settings.accounting_url}/Accounts", json={"Status": "OK"})


def test_a_nightly_run_xero_failed_is_tried_again_after_five_minutes_then_twenty(settings, connection, mocked,
                                                                                   queue):
    xero_unreadable(mocked, settings)
    practice_id = connection.practice_id
    before = datetime.now(UTC).replace(microsecond=0)  # RQ keeps whole seconds
    assert run_reference_sync(queued_run(practice_id).id) == "failed"
    [(func, args, when)] = scheduled(queue)
    assert (func, args) == ("jobs.sync_reference.retry_sync", (practice_id, 2))
    assert before + timedelta(minutes=5) <= when.replace(tzinfo=UTC) <= datetime.now(UTC) + timedelta(minutes=5)

    retry_id = retry_sync(practice_id, 2)  # what the worker runs when the time comes
    retry = db.session.get_one(SyncRun, retry_id)
    assert (retry.trigger, retry.status, retry.counts["attempt"]) == ("retry", "queued", 2)
    queue.empty()
    assert run_reference_sync(retry.id) == "failed"
    assert db.session.get_one(SyncRun, retry.id).counts["attempt"] == 2
    later = [entry for entry in scheduled(queue) if entry[1] == (practice_id, 3)]
    assert len(later) == 1 and later[0][2].replace(tzinfo=UTC) >= datetime.now(UTC) + timedelta(minutes=19)

    third = db.session.get_one(SyncRun, retry_sync(practice_id, 3))
    assert run_reference_sync(third.id) == "failed"
    assert not [entry for entry in scheduled(queue) if entry[1] == (practice_id, 4)]  # three tries, then the night


def test_sync_now_and_a_lost_connection_are_not_retried(settings, connection, mocked, queue):
    xero_unreadable(mocked, settings)
    assert run_reference_sync(queued_run(connection.practice_id, trigger="manual").id) == "failed"
    mocked.replace("GET", f"{settings.accounting_url}/Accounts", status=403,
                   json={"Title": "Forbidden", "Detail": "AuthenticationUnsuccessful"})
    assert run_reference_sync(queued_run(connection.practice_id).id) == "failed"
    assert scheduled(queue) == []


def test_a_retry_is_not_started_while_a_run_is_going(connection, queue):
    going = queued_run(connection.practice_id, trigger="manual")
    going.status = "running"
    db.session.commit()
    with WorkerPresence(going.id):  # its worker is alive
        assert retry_sync(connection.practice_id, 2) is None
    assert db.session.execute(db.select(db.func.count(SyncRun.id))).scalar() == 1
