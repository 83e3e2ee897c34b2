"""The nightly schedule: which practices are due in their own local night (GMT, BST, both change-over nights,
other zones), the dispatcher queueing each once however often it runs, registering the schedule idempotently,
and a real rq worker running the dispatcher."""
import uuid
from datetime import UTC, date, datetime, time, timedelta

import pytest
from rq import Queue, SimpleWorker
from rq_scheduler import Scheduler

from jobs.schedule import SCHEDULE, Periodic, register
from tests.factories import make_connection, make_practice
from webapp.extensions import db
from webapp.models import NightlyDispatch, Practice, SyncRun
from webapp.redis_conn import get_redis
from webapp.sync.nightly import (
    CATCH_UP,
    PracticeWindow,
    dispatch_nightly,
    due_night,
    due_practices,
    offset_in_window,
    window_start,
)
from webapp.sync.run_presence import WorkerPresence

LONDON = "Europe/London"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- when a practice is due (pure) ---------------------------------------------------------------------------------
def test_each_practice_has_a_fixed_place_in_the_first_hour_and_neighbours_spread_out():
    offsets = [offset_in_window(practice_id) for practice_id in range(1, 1001)]
    assert all(timedelta(0) <= offset < timedelta(hours=1) for offset in offsets)
    assert offset_in_window(7) == offset_in_window(7)
    per_ten_minutes = [sum(1 for o in offsets if timedelta(minutes=m) <= o < timedelta(minutes=m + 10))
                       for m in range(0, 60, 10)]
    assert min(per_ten_minutes) > 120  # about 167 each: no crowd at 02:00


@pytest.mark.parametrize("night, expected_utc", [
    (date(2027, 1, 15), utc(2027, 1, 15, 2, 0)),  # GMT: 02:00 London is 02:00 UTC
    (date(2027, 7, 15), utc(2027, 7, 15, 1, 0)),  # BST: 02:00 London is 01:00 UTC
    (date(2027, 3, 28), utc(2027, 3, 28, 1, 0)),  # clocks go forward at 01:00 GMT: 02:00 BST is 01:00 UTC
    (date(2027, 10, 31), utc(2027, 10, 31, 2, 0)),  # clocks go back at 02:00 BST: 02:00 GMT is 02:00 UTC
])
def test_the_window_opens_at_two_in_the_morning_london_time_all_year(night, expected_utc):
    window = PracticeWindow(1, LONDON, time(2, 0))
    assert window_start(window, night) == expected_utc + offset_in_window(1)


def test_a_start_time_in_the_skipped_hour_is_the_instant_after_the_gap_and_a_repeated_one_its_first():
    skipped = PracticeWindow(1, LONDON, time(1, 30))  # 01:30 London does not exist on 28 March 2027
    assert window_start(skipped, date(2027, 3, 28)) == utc(2027, 3, 28, 1, 30) + offset_in_window(1)
    repeated = PracticeWindow(1, LONDON, time(1, 30))  # 01:30 London happens twice on 31 October 2027
    assert window_start(repeated, date(2027, 10, 31)) == utc(2027, 10, 31, 0, 30) + offset_in_window(1)


def test_a_practice_is_due_from_its_start_for_the_catch_up_hours_only():
    window = PracticeWindow(1, LONDON, time(2, 0))
    start = window_start(window, date(2027, 1, 15))
    assert due_night(window, start - timedelta(seconds=1)) is None
    assert due_night(window, start) == date(2027, 1, 15)
    assert due_night(window, start + CATCH_UP - timedelta(seconds=1)) == date(2027, 1, 15)
    assert due_night(window, start + CATCH_UP) is None


def test_another_time_zone_and_a_window_crossing_midnight():
    sydney = PracticeWindow(1, "Australia/Sydney", time(2, 0))  # AEDT (UTC+11) in January
    assert due_night(sydney, utc(2027, 1, 14, 15, 0) + offset_in_window(1)) == date(2027, 1, 15)
    late = PracticeWindow(3, LONDON, time(23, 45))
    start = window_start(late, date(2027, 1, 15))
    assert start.date() in (date(2027, 1, 15), date(2027, 1, 16))
    assert due_night(late, start + timedelta(minutes=20)) == date(2027, 1, 15)


def test_due_practices_leaves_out_those_already_dispatched_that_night():
    windows = [PracticeWindow(n, LONDON, time(2, 0)) for n in (1, 2)]
    now = utc(2027, 1, 15, 4, 0)
    assert due_practices(windows, now, set()) == [(1, date(2027, 1, 15)), (2, date(2027, 1, 15))]
    assert due_practices(windows, now, {(1, date(2027, 1, 15))}) == [(2, date(2027, 1, 15))]


# -- the dispatcher against the database and the queue ------------------------------------------------------------
def connected_practice(name: str, time_zone: str = LONDON, status: str = "connected", **fields) -> int:
    practice_id = make_practice(name=name, time_zone=time_zone, **fields).practice_id
    make_connection(practice_id, tenant_id=str(uuid.uuid4()), connection_id=str(uuid.uuid4()), status=status)
    return practice_id


def queued_practices(app) -> list[int]:
    queue = Queue(app.config["RQ_QUEUE"], connection=get_redis(app.config["REDIS_URL"]))
    return sorted(job.meta["practice_id"] for job in queue.jobs if job.func_name.endswith("run_reference_sync"))


@pytest.fixture
def empty_queue(app):
    queue = Queue(app.config["RQ_QUEUE"], connection=get_redis(app.config["REDIS_URL"]))
    queue.empty()
    yield queue
    queue.empty()


def test_the_dispatcher_queues_exactly_the_practices_due_and_nothing_twice(app, app_ctx, empty_queue):
    london = connected_practice("London & Co")
    new_york = connected_practice("New York LLP", "America/New_York")
    connected_practice("Disconnected Ltd", status="disconnected")
    now = utc(2027, 1, 15, 3, 30)  # 03:30 in London (past everyone's start), 22:30 the evening before in New York

    result = dispatch_nightly(now)
    assert result.queued == [london] and result.skipped == {}
    assert queued_practices(app) == [london]
    [claim] = db.session.execute(db.select(NightlyDispatch)).scalars()
    assert (claim.practice_id, claim.night, claim.outcome) == (london, date(2027, 1, 15), "queued")
    run = db.session.get_one(SyncRun, claim.sync_run_id)
    assert (run.trigger, run.status) == ("nightly", "queued")

    assert dispatch_nightly(now + timedelta(minutes=5)).queued == []  # same night: nothing more
    assert dispatch_nightly(utc(2027, 1, 15, 8, 30)).queued == [new_york]  # 03:30 in New York
    assert queued_practices(app) == sorted([london, new_york])


def test_a_practice_whose_sync_is_already_running_is_skipped_with_the_reason(app, app_ctx, empty_queue):
    practice_id = connected_practice("Busy & Co")
    going = SyncRun(practice_id=practice_id, trigger="manual", status="running", counts={},
                    started_at=utc(2027, 1, 15, 3, 0))
    db.session.add(going)
    db.session.commit()
    with WorkerPresence(going.id):  # its worker is alive
        result = dispatch_nightly(utc(2027, 1, 15, 3, 30))
    assert result.queued == [] and "already running" in result.skipped[practice_id]
    [claim] = db.session.execute(db.select(NightlyDispatch)).scalars()
    assert claim.sync_run_id is None and "already running" in claim.outcome


def test_a_practice_chooses_its_own_window(app, app_ctx, empty_queue):
    practice_id = connected_practice("Early Birds", nightly_sync_at=time(0, 30))
    assert dispatch_nightly(utc(2027, 1, 15, 1, 31)).queued == [practice_id]
    assert db.session.get_one(Practice, practice_id).nightly_sync_at == time(0, 30)


# -- the schedule in Redis, and a real worker ------------------------------------------------------------------
@pytest.fixture
def scheduler(app):
    connection = get_redis(app.config["REDIS_URL"])
    scheduler = Scheduler(queue_name=app.config["RQ_QUEUE"], connection=connection)

    def ours():
        return [job for job in scheduler.get_jobs() if job.origin == app.config["RQ_QUEUE"]]

    scheduler.ours = ours
    yield scheduler
    for job in ours():
        scheduler.cancel(job)


def test_registering_twice_leaves_one_of_each_and_undeclared_jobs_are_cancelled(app, scheduler):
    queue_name = app.config["RQ_QUEUE"]
    first = register(scheduler.connection, queue_name)
    assert first["added"] == [periodic.job_id for periodic in SCHEDULE] and first["cancelled"] == []
    second = register(scheduler.connection, queue_name)
    assert second == {"kept": first["added"], "added": [], "cancelled": []}
    [job] = scheduler.ours()
    assert (job.func_name, job.meta["cron_string"]) == ("jobs.nightly.dispatch_nightly", "*/5 * * * *")

    changed = (Periodic("dispatch-nightly", "jobs.nightly.dispatch_nightly", "*/10 * * * *"),)
    third = register(scheduler.connection, queue_name, changed)
    assert third["cancelled"] == first["added"] and third["added"] == [changed[0].job_id]
    assert [job.meta["cron_string"] for job in scheduler.ours()] == ["*/10 * * * *"]


def test_a_real_worker_runs_the_scheduled_dispatcher_which_queues_the_due_sync(app, app_ctx, scheduler, empty_queue,
                                                                                monkeypatch):
    practice_id = connected_practice("Night Owls")
    # The worker runs the dispatcher at 02:30 UTC on a January night: past this practice's start.
    monkeypatch.setattr("webapp.sync.nightly.datetime", _FrozenDatetime)
    register(scheduler.connection, app.config["RQ_QUEUE"])
    [job] = scheduler.ours()
    scheduler.enqueue_job(job)  # what `rqscheduler` does when the cron time comes
    SimpleWorker([empty_queue], connection=empty_queue.connection).work(burst=True, max_jobs=1)
    assert queued_practices(app) == [practice_id]
    assert db.session.execute(db.select(NightlyDispatch.practice_id)).scalars().all() == [practice_id]


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime(2027, 1, 15, 3, 59, tzinfo=UTC)


def test_the_release_command_registers_the_schedule_and_needs_redis_url(app, scheduler, monkeypatch, capsys):
    from jobs.schedule import main

    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main([]) == 2 and "REDIS_URL is not set" in capsys.readouterr().err
    monkeypatch.setenv("REDIS_URL", app.config["REDIS_URL"])
    monkeypatch.setenv("RQ_QUEUE", app.config["RQ_QUEUE"])
    assert main([]) == 0
    assert capsys.readouterr().out == f"added: {SCHEDULE[0].job_id}\n"
    assert [job.id for job in scheduler.ours()] == [SCHEDULE[0].job_id]
