"""Sync now and its live progress: queued on RQ, a duplicate refused, the fragment polls until finished."""
from datetime import timedelta

from rq import Queue

from tests.factories import make_connection
from tests.helpers import HTMX
from tests.xero.helpers import mock_reference
from webapp.extensions import db
from webapp.models import SyncRun
from webapp.models.base import utcnow
from webapp.redis_conn import get_redis


def runs():
    db.session.expire_all()
    return list(db.session.execute(db.select(SyncRun).order_by(SyncRun.id)).scalars())


def test_sync_now_queues_the_job_on_rq(app, auth_client, owner):
    make_connection(practice_id=owner.practice_id)
    response = auth_client.post("/settings/integrations/xero/sync", headers=HTMX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Sync queued" in body and 'hx-trigger="every 1s"' in body
    [run] = runs()
    assert (run.trigger, run.status) == ("manual", "queued")
    queue = Queue(app.config["RQ_QUEUE"], connection=get_redis(app.config["REDIS_URL"]))
    job = queue.fetch_job(run.rq_job_id)
    assert job.func_name == "jobs.sync_reference.run_reference_sync" and job.args == (run.id,)


def test_a_second_sync_while_one_is_queued_is_refused(app, auth_client, owner):
    make_connection(practice_id=owner.practice_id)
    auth_client.post("/settings/integrations/xero/sync", headers=HTMX)
    response = auth_client.post("/settings/integrations/xero/sync", headers=HTMX)
    assert response.status_code == 409
    assert "already running" in response.get_data(as_text=True)
    assert len(runs()) == 1


def test_a_run_stuck_for_hours_no_longer_blocks_a_new_one(app, auth_client, owner):
    make_connection(practice_id=owner.practice_id)
    db.session.add(SyncRun(practice_id=owner.practice_id, trigger="nightly", status="running", counts={},
                           queued_at=utcnow() - timedelta(hours=3), started_at=utcnow() - timedelta(hours=3)))
    db.session.commit()
    assert auth_client.post("/settings/integrations/xero/sync", headers=HTMX).status_code == 200
    old, new = runs()
    assert old.status == "failed" and "worker was lost" in old.error
    assert new.status == "queued"


def test_sync_without_a_connection_is_refused(auth_client):
    response = auth_client.post("/settings/integrations/xero/sync", headers=HTMX)
    assert response.status_code == 409
    assert "Connect to Xero" in response.get_data(as_text=True)
    assert runs() == []


def test_status_fragment_polls_while_running_and_stops_when_finished(app, auth_client, owner):
    make_connection(practice_id=owner.practice_id)
    run = SyncRun(practice_id=owner.practice_id, trigger="connect", status="running", progress="Fetching tax rates",
                  counts={}, started_at=utcnow())
    db.session.add(run)
    db.session.commit()
    response = auth_client.get("/settings/integrations/xero/sync-status", headers=HTMX)
    body = response.get_data(as_text=True)
    assert "Fetching tax rates" in body and 'hx-trigger="every 1s"' in body
    assert "<html" not in body and "HX-Request" in response.headers["Vary"]
    run.status, run.finished_at = "succeeded", utcnow()
    run.counts, run.xero_calls = {"accounts": 12, "branding_themes": 3, "tax_rates": 8}, 3
    db.session.commit()
    body = auth_client.get("/settings/integrations/xero/sync-status", headers=HTMX).get_data(as_text=True)
    assert "every 1s" not in body
    assert "succeeded" in body and "12 account codes" in body and "3 Xero calls" in body


def test_a_failed_run_shows_its_error(app, auth_client, owner):
    make_connection(practice_id=owner.practice_id)
    db.session.add(SyncRun(practice_id=owner.practice_id, trigger="connect", status="failed", counts={},
                           error="Xero is having trouble (HTTP 503)", finished_at=utcnow()))
    db.session.commit()
    body = auth_client.get("/settings/integrations").get_data(as_text=True)
    assert "failed: Xero is having trouble (HTTP 503)" in body


def test_an_rq_worker_runs_the_queued_sync_to_the_end(app, app_ctx, auth_client, owner, settings, mocked):
    from rq import SimpleWorker

    make_connection(practice_id=owner.practice_id)
    mock_reference(mocked, settings)
    auth_client.post("/settings/integrations/xero/sync", headers=HTMX)
    queue = Queue(app.config["RQ_QUEUE"], connection=get_redis(app.config["REDIS_URL"]))
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    [run] = runs()
    assert run.status == "succeeded" and run.counts["accounts"] == 4 and run.xero_calls == 4
    body = auth_client.get("/settings/integrations/xero/sync-status", headers=HTMX).get_data(as_text=True)
    assert "every 1s" not in body and "4 account codes" in body


def test_the_poll_that_sees_the_sync_finish_tells_the_account_code_selects_to_reload(app, auth_client, owner):
    make_connection(practice_id=owner.practice_id)
    run = SyncRun(practice_id=owner.practice_id, trigger="connect", status="running", counts={})
    db.session.add(run)
    db.session.commit()
    running = auth_client.get("/settings/integrations/xero/sync-status", headers=HTMX)
    assert "HX-Trigger" not in running.headers
    run.status, run.finished_at = "succeeded", utcnow()
    db.session.commit()
    finished = auth_client.get("/settings/integrations/xero/sync-status", headers=HTMX)
    assert finished.headers["HX-Trigger"] == "xero-synced"

    page = auth_client.get("/settings/integrations").get_data(as_text=True)
    assert 'hx-trigger="xero-synced from:body"' in page
    fragment = auth_client.get("/settings/integrations/xero/account-codes", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert 'id="xero-account-codes"' in fragment and 'name="recurring_account_code"' in fragment
