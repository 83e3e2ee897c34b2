"""Sync history, a run's own page, the live widget's steps, and the banner every page shows when Xero needs
attention (reconnecting, or a nightly sync that failed)."""
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from tests.factories import make_connection, make_practice, make_sync_run, make_user
from tests.helpers import HTMX, login
from webapp.extensions import db
from webapp.models import Role, SyncRun
from webapp.models.base import utcnow
from webapp.services import sync_history
from webapp.sync.run_presence import WorkerPresence

RUNS = "/settings/integrations/xero/runs"
SYNC = "/settings/integrations/xero/sync"
STATUS = "/settings/integrations/xero/sync-status"
UNKNOWN_STEP = {"name": "post_invoices", "label": "Outstanding invoices posted", "outcome": "failed",
                "error": "Xero refused 2 invoices."}


def runs_of(practice_id):
    db.session.expire_all()
    return list(db.session.execute(
        db.select(SyncRun).filter_by(practice_id=practice_id).order_by(SyncRun.id)).scalars())


def body_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def connected(owner):
    make_connection(practice_id=owner.practice_id)
    return owner.practice_id


# -- the history -----------------------------------------------------------------------------------------------------
def test_the_history_lists_runs_newest_first_with_trigger_outcome_calls_counts_and_error(auth_client, connected):
    started = datetime(2026, 11, 20, 2, 14, tzinfo=UTC)
    make_sync_run(connected, "connect", started_at=started - timedelta(days=2), xero_calls=7)
    make_sync_run(connected, "nightly", started_at=started - timedelta(days=1), took=timedelta(minutes=1, seconds=4))
    failed = make_sync_run(connected, "nightly", status="failed", started_at=started, xero_calls=3)
    make_sync_run(connected, "retry", started_at=started + timedelta(hours=8))
    make_sync_run(connected, "manual", started_at=started + timedelta(hours=9))

    response = auth_client.get(RUNS)
    assert response.status_code == 200
    body = body_of(response)
    rows = re.findall(r'<tr data-run-id="(\d+)">(.*?)</tr>', body, re.S)
    assert [trigger for _, row in rows for trigger in re.findall(r'class="run-trigger nowrap">([^<]+)<', row)] == [
        "Sync now", "Retry", "Nightly", "Nightly", "Connected"]
    by_id = dict(rows)
    failed_row = by_id[str(failed.id)]
    assert "chip-run-failed" in failed_row and "Failed" in failed_row
    assert "Xero is having trouble (HTTP 503)" in failed_row
    assert "20 Nov 2026, 02:14 GMT" in failed_row  # the practice's time (London, GMT in November)
    assert f'href="/settings/integrations/xero/runs/{failed.id}"' in failed_row
    assert re.search(r'class="run-calls num nowrap">3<', failed_row)
    assert "1 min 4 s" in body  # the second night's run took that long
    assert "3 linked, 1 to review" in body and "4 account codes, 2 themes, 2 tax rates" in body
    assert "5 runs" in body
    assert "every 2s" not in body  # nothing is going: no polling


def test_the_history_is_paged_25_at_a_time(auth_client, connected):
    first = make_sync_run(connected)
    for _ in range(25):
        make_sync_run(connected)
    page_one = body_of(auth_client.get(RUNS))
    assert page_one.count("<tr data-run-id=") == 25 and f'data-run-id="{first.id}"' not in page_one
    assert "Page 1 of 2" in page_one and 'rel="next"' in page_one
    page_two = auth_client.get(f"{RUNS}?page=2", headers=HTMX)
    assert "<html" not in body_of(page_two) and "HX-Request" in page_two.headers["Vary"]
    assert re.findall(r'data-run-id="(\d+)"', body_of(page_two)) == [str(first.id)]
    assert 'rel="prev"' in body_of(page_two)
    assert auth_client.get(f"{RUNS}?page=99").status_code == 200  # past the end: the last page
    assert auth_client.get(f"{RUNS}?page=x").status_code == 200  # not a number: the first


def test_the_history_polls_while_a_run_is_going_and_stops_when_it_ends(auth_client, connected):
    run = make_sync_run(connected, "manual", status="running")
    running = body_of(auth_client.get(RUNS, headers=HTMX))
    assert 'hx-trigger="every 2s"' in running and "chip-run-running" in running
    assert re.search(r'<button type="submit" id="sync-action" disabled', running)  # Sync now waits for it
    run.status, run.finished_at = "succeeded", utcnow()
    db.session.commit()
    finished = body_of(auth_client.get(RUNS, headers=HTMX))
    assert "every 2s" not in finished and "chip-run-succeeded" in finished
    assert re.search(r'<button type="submit" id="sync-action"\s*>Sync now', finished)


def test_the_history_is_empty_before_any_sync(auth_client, connected):
    body = body_of(auth_client.get(RUNS))
    assert "No syncs yet" in body and "Sync now" in body


def test_the_integrations_card_links_to_the_history(auth_client, connected):
    make_sync_run(connected)
    body = body_of(auth_client.get("/settings/integrations"))
    assert 'id="xero-sync-history-link"' in body and f'href="{RUNS}"' in body


# -- a run's page ----------------------------------------------------------------------------------------------------
def test_a_runs_page_shows_every_step_its_counts_warnings_calls_and_times(auth_client, connected):
    run = make_sync_run(connected, "nightly", status="failed", started_at=datetime(2026, 7, 2, 1, 5, tzinfo=UTC),
                        took=timedelta(seconds=42), xero_calls=9)
    run.counts = {**run.counts, "steps": [*run.counts["steps"], UNKNOWN_STEP], "contacts_new": 4,
                  "contacts_changed": 2, "contact_updates_sent": 3, "contact_updates_received": 1,
                  "contact_update_conflicts": 1,
                  "warnings": ["Skipped the Xero contact 'Bad Data Ltd': no name.", "... and 7 more."]}
    db.session.commit()
    response = auth_client.get(f"{RUNS}/{run.id}")
    assert response.status_code == 200
    body = body_of(response)
    steps = dict(re.findall(r'data-step="([a-z_]+)">(.*?)</li>', body, re.S))
    assert list(steps) == ["reference", "contacts", "contact_updates", "post_invoices"]
    assert "Failed" in steps["reference"] and "Xero is having trouble (HTTP 503)" in steps["reference"]
    assert "4 account codes, 2 branding themes, 2 tax rates" in steps["reference"]
    assert "Contacts pulled: 4 new, 2 changed" in steps["contacts"]
    assert "Clients: 3 linked, 1 needs review, 0 unmatched" in steps["contacts"]
    assert "3 sent to Xero, 1 received from Xero, 1 conflict" in steps["contact_updates"]
    # A step this page does not know yet: its label, outcome and error, and no counts.
    assert "Outstanding invoices posted" in steps["post_invoices"] and "Failed" in steps["post_invoices"]
    assert "Xero refused 2 invoices." in steps["post_invoices"] and "sync-step-count" not in steps["post_invoices"]
    assert "Skipped the Xero contact &#39;Bad Data Ltd&#39;: no name." in body and "... and 7 more." in body
    assert "8 warnings" in body  # the one listed and the 7 more it says there were
    assert "Why it failed:" in body and run.error in body
    assert "2 Jul 2026, 02:05 BST" in body and "2 Jul 2026, 02:05 BST" in body  # London in summer
    assert "42 s" in body and re.search(r"<dt>Xero calls</dt><dd>9</dd>", body)
    assert "<dt>Trigger</dt><dd>Nightly</dd>" in body
    assert "every 1s" not in body  # it has ended: no polling


def test_a_runs_page_follows_the_run_while_it_goes_and_stops_when_it_ends(auth_client, connected):
    run = make_sync_run(connected, "manual", status="running")
    run.counts = {"steps": [{**run.counts["steps"][0]}, {**run.counts["steps"][1], "outcome": "not run"},
                            {**run.counts["steps"][2], "outcome": "not run"}], "accounts": 4}
    run.progress = "Fetching contacts"
    db.session.commit()
    fragment = auth_client.get(f"{RUNS}/{run.id}", headers=HTMX)
    body = body_of(fragment)
    assert "<html" not in body and "HX-Request" in fragment.headers["Vary"]
    assert 'hx-trigger="every 1s"' in body
    steps = dict(re.findall(r'data-step="([a-z_]+)">(.*?)</li>', body, re.S))
    assert "Done" in steps["reference"]
    assert 'aria-busy="true"' in steps["contacts"] and "Running" in steps["contacts"]
    assert "Fetching contacts" in steps["contacts"]
    assert "Waiting" in steps["contact_updates"] and 'aria-busy' not in steps["contact_updates"]

    run.status, run.finished_at = "succeeded", utcnow()
    run.counts = {**run.counts, "steps": [{**step, "outcome": "done"} for step in run.counts["steps"]]}
    db.session.commit()
    body = body_of(auth_client.get(f"{RUNS}/{run.id}", headers=HTMX))
    assert "every 1s" not in body and "aria-busy" not in body and body.count(">Done<") == 3


def test_another_practices_run_is_404(auth_client, connected, other_owner):
    theirs = make_sync_run(other_owner.practice_id)
    assert auth_client.get(f"{RUNS}/{theirs.id}").status_code == 404
    assert auth_client.get(f"{RUNS}/{theirs.id}", headers=HTMX).status_code == 404
    assert f'data-run-id="{theirs.id}"' not in body_of(auth_client.get(RUNS))
    assert auth_client.get(f"{RUNS}/999999").status_code == 404


def test_staff_see_the_history_and_a_run_read_only(client, owner, connected):
    run = make_sync_run(connected, status="failed")
    login(client, make_user(owner.practice_id, Role.STAFF))
    for url in (RUNS, f"{RUNS}/{run.id}"):
        body = body_of(client.get(url))
        assert "Only the practice's owner or an admin can start a sync." in body
        assert 'id="sync-action"' not in body and 'action="/settings/integrations/xero/sync"' not in body
    assert client.post(SYNC, data={"show": "run", "trigger": "retry"}).status_code == 403
    assert len(runs_of(connected)) == 1


# -- Sync now and Retry from these pages -----------------------------------------------------------------------------
def test_sync_now_from_the_history_queues_a_run_and_goes_to_its_page(auth_client, connected):
    response = auth_client.post(SYNC, data={"show": "run"})
    [run] = runs_of(connected)
    assert (run.trigger, run.status) == ("manual", "queued")
    assert response.status_code == 303 and response.headers["Location"] == f"{RUNS}/{run.id}"
    body = body_of(auth_client.get(f"{RUNS}/{run.id}"))
    assert "Waiting for the worker" in body and 'hx-trigger="every 1s"' in body


def test_retry_on_a_failed_runs_page_is_recorded_as_a_retry(auth_client, connected):
    failed = make_sync_run(connected, status="failed")
    page = body_of(auth_client.get(f"{RUNS}/{failed.id}"))
    assert 'name="trigger" value="retry"' in page and "Retry sync" in page
    response = auth_client.post(SYNC, data={"show": "run", "trigger": "retry"})
    retry = runs_of(connected)[-1]
    assert retry.trigger == "retry" and response.headers["Location"] == f"{RUNS}/{retry.id}"
    # Once a later run exists, the failed run's page offers Sync now rather than Retry.
    assert "Retry sync" not in body_of(auth_client.get(f"{RUNS}/{failed.id}"))


def test_a_trigger_the_pages_do_not_offer_is_read_as_sync_now(auth_client, connected):
    auth_client.post(SYNC, data={"trigger": "nightly"})
    assert [run.trigger for run in runs_of(connected)] == ["manual"]


def test_sync_now_while_a_run_is_going_is_refused_with_the_reason_and_shows_that_run(auth_client, connected):
    going = make_sync_run(connected, "nightly", status="running")
    with WorkerPresence(going.id):  # its worker is alive
        response = auth_client.post(SYNC, data={"show": "run"})
        htmx = auth_client.post(SYNC, headers=HTMX)
    assert response.status_code == 303 and response.headers["Location"] == f"{RUNS}/{going.id}"
    assert "A sync is already running; wait for it to finish." in body_of(auth_client.get(response.headers["Location"]))
    assert len(runs_of(connected)) == 1
    assert htmx.status_code == 409 and "already running" in body_of(htmx)


# -- the live widget on the Integrations tab -------------------------------------------------------------------------
def test_the_widget_shows_every_step_with_its_counts_and_a_spinner_on_the_running_one(auth_client, connected):
    run = make_sync_run(connected, "manual", status="running")
    run.counts = {"steps": [{**run.counts["steps"][0]}, {**run.counts["steps"][1], "outcome": "not run"},
                            {**run.counts["steps"][2], "outcome": "not run"}],
                  "accounts": 12, "branding_themes": 3, "tax_rates": 8, "contacts_new": 2, "contacts_changed": 0}
    run.progress = "Matching clients to Xero contacts"
    db.session.commit()
    body = body_of(auth_client.get(STATUS, headers=HTMX))
    assert 'hx-trigger="every 1s"' in body
    steps = dict(re.findall(r'data-step="([a-z_]+)">(.*?)</li>', body, re.S))
    assert "12 account codes, 3 branding themes, 8 tax rates" in steps["reference"] and "Done" in steps["reference"]
    assert 'aria-busy="true"' in steps["contacts"] and "Matching clients to Xero contacts" in steps["contacts"]
    assert "Contacts pulled: 2 new, 0 changed" in steps["contacts"]
    assert "Waiting" in steps["contact_updates"] and "sync-step-count" not in steps["contact_updates"]


def test_the_widget_shows_a_step_that_failed_and_those_a_lost_connection_left_not_run(auth_client, connected):
    run = make_sync_run(connected, "manual", status="failed", error="Xero needs reconnecting.")
    run.counts = {"steps": [{**run.counts["steps"][0], "outcome": "failed", "error": "Xero needs reconnecting."},
                            {**run.counts["steps"][1], "outcome": "not run"},
                            {**run.counts["steps"][2], "outcome": "not run"}]}
    db.session.commit()
    body = body_of(auth_client.get(STATUS, headers=HTMX))
    assert "every 1s" not in body
    steps = dict(re.findall(r'data-step="([a-z_]+)">(.*?)</li>', body, re.S))
    assert "Failed" in steps["reference"] and "Xero needs reconnecting." in steps["reference"]
    assert "Not run" in steps["contacts"] and "Not run" in steps["contact_updates"]


# -- the banner on every page ----------------------------------------------------------------------------------------
PAGES = ("/billing/plan", "/clients/", "/settings/integrations", RUNS)


def test_a_failed_nightly_run_puts_a_banner_on_every_page(auth_client, connected):
    make_sync_run(connected, "nightly", started_at=utcnow() - timedelta(days=1, hours=2))
    failed = make_sync_run(connected, "nightly", status="failed", started_at=utcnow() - timedelta(hours=8),
                           error="Contacts and matching: Xero is having trouble (HTTP 503)")
    for url in PAGES:
        body = body_of(auth_client.get(url))
        assert 'id="xero-sync-failed-banner"' in body, url
        assert "Last night's sync with Xero failed: Contacts and matching: Xero is having trouble (HTTP 503)." in body
        assert f'<a href="{RUNS}/{failed.id}">See what happened</a>' in body
        assert 'Sync now from <a href="/settings/integrations">Integrations</a>' in body
    assert "xero-health" not in body_of(auth_client.get(STATUS, headers=HTMX))  # fragments carry no banner


def test_the_banner_goes_once_a_later_run_succeeds(auth_client, connected):
    make_sync_run(connected, "nightly", status="failed")
    make_sync_run(connected, "manual", status="failed")
    assert "xero-sync-failed-banner" in body_of(auth_client.get("/clients/"))  # a failed retry changes nothing
    make_sync_run(connected, "manual", status="running")
    assert "xero-sync-failed-banner" in body_of(auth_client.get("/clients/"))  # nor one still going
    make_sync_run(connected, "manual", status="succeeded")
    assert "xero-health" not in body_of(auth_client.get("/clients/"))


@pytest.mark.parametrize(("runs", "shown"), [
    ([("nightly", "failed"), ("nightly", "succeeded")], False),  # the next night went through
    ([("nightly", "succeeded"), ("manual", "failed")], False),  # only a nightly failure is worth every page
    ([("nightly", "failed"), ("connect", "succeeded")], False),
    ([("nightly", "failed"), ("nightly", "running")], True),  # tonight's is still going
    ([], False),
])
def test_which_runs_put_up_the_banner(auth_client, connected, runs, shown):
    for trigger, status in runs:
        make_sync_run(connected, trigger, status=status)
    assert ("xero-sync-failed-banner" in body_of(auth_client.get("/billing/plan"))) is shown


def test_an_older_nightly_failure_is_dated_not_last_night(auth_client, connected):
    make_sync_run(connected, "nightly", status="failed", started_at=datetime(2026, 3, 10, 2, 5, tzinfo=UTC))
    body = body_of(auth_client.get("/clients/"))
    assert "The nightly sync with Xero on 10 Mar 2026, 02:05 GMT failed" in body


@pytest.mark.parametrize("status", ["disconnected", "needs_reconnect"])
def test_a_nightly_failure_gives_way_to_the_connections_state(auth_client, owner, status):
    make_connection(practice_id=owner.practice_id, status=status)
    make_sync_run(owner.practice_id, "nightly", status="failed")
    body = body_of(auth_client.get("/billing/plan"))
    assert "xero-sync-failed-banner" not in body
    assert ('id="xero-reconnect-banner"' in body) is (status == "needs_reconnect")


def test_no_connection_no_banner(auth_client, owner):
    make_sync_run(owner.practice_id, "nightly", status="failed")
    assert "xero-health" not in body_of(auth_client.get("/billing/plan"))


def test_staff_are_told_who_can_sync_again(client, owner, connected):
    make_sync_run(connected, "nightly", status="failed")
    login(client, make_user(owner.practice_id, Role.STAFF))
    body = body_of(client.get("/clients/"))
    assert "xero-sync-failed-banner" in body and "an owner or admin can sync again from" in body


def test_another_practices_failure_is_not_this_practices_banner(auth_client, connected, other_owner):
    make_connection(practice_id=other_owner.practice_id, tenant_id="99999999-2222-3333-4444-555555555555")
    make_sync_run(other_owner.practice_id, "nightly", status="failed")
    assert "xero-health" not in body_of(auth_client.get("/billing/plan"))


def test_the_banner_costs_one_small_statement(app_ctx, connected):
    make_sync_run(connected, "nightly", status="failed")
    statements = []

    def count(*args):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        alert = sync_history.xero_alert(connected)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert alert is not None and alert.kind == "nightly_failed"
    assert len(statements) == 1


# -- the words -------------------------------------------------------------------------------------------------------
def test_durations_read_as_people_say_them():
    assert [sync_history.format_duration(timedelta(seconds=s)) for s in (0.2, 9, 60, 64, 3600, 3720)] == [
        "under 1 s", "9 s", "1 min", "1 min 4 s", "1 h", "1 h 2 min"]
    assert sync_history.format_duration(None) == ""


def test_a_quiet_nights_summary_leaves_out_what_is_zero_and_puts_reference_data_last(app_ctx):
    user = make_practice()
    run = make_sync_run(user.practice_id)
    assert sync_history.run_summary(run) == "3 linked, 1 to review · 4 account codes, 2 themes, 2 tax rates"
    assert sync_history.run_summary(SyncRun(counts={})) == ""


def test_a_run_recorded_before_steps_shows_the_steps_its_counts_name(app_ctx):
    old = SyncRun(status="succeeded", counts={"accounts": 12, "branding_themes": 3, "tax_rates": 8})
    [step] = sync_history.run_steps(old)
    assert (step.name, step.state, step.counts) == (
        "reference", "done", ["12 account codes, 3 branding themes, 8 tax rates"])


def test_the_invoice_steps_say_what_they_did():
    counts = {"posting_posted": 12, "posting_held": 1, "posting_failed": 0, "posting_outstanding": 1,
              "posting_contacts_created": 0, "invoices_updated": 3, "invoices_edited_in_xero": 1,
              "automatic_approval": "approved", "automatic_invoices": 12}
    assert sync_history.step_counts("posting", counts) == ["12 invoices posted, 1 held, 0 refused by Xero",
                                                          "1 still outstanding"]
    assert sync_history.step_counts("invoice_status", counts) == ["3 invoices updated, 1 edited in Xero"]
    assert sync_history.step_counts("approval", counts) == ["This month approved: 12 invoices raised"]
    assert sync_history.step_counts("approval", {"automatic_approval": "not yet"}) == ["Not the invoice day yet"]
    run = SyncRun(trigger="nightly", status="succeeded", counts={**counts, "steps": [
        {"name": "approval", "label": "Automatic monthly billing", "outcome": "done"},
        {"name": "posting", "label": "Outstanding invoices posted", "outcome": "done"}]})
    assert sync_history.run_summary(run) == "12 invoices raised automatically · 12 invoices posted, 1 held"


def test_a_sync_now_says_only_the_nightly_run_approves_the_month():
    run = SyncRun(trigger="manual", status="succeeded", counts={"steps": [
        {"name": "approval", "label": "Automatic monthly billing", "outcome": "done"}]})
    [step] = sync_history.run_steps(run)
    assert step.counts == ["Only the nightly sync approves the month"]


def test_trigger_and_status_labels():
    assert [sync_history.trigger_label(t) for t in ("connect", "manual", "nightly", "retry", "support", "webhook")] \
        == ["Connected", "Sync now", "Nightly", "Retry", "Support", "Webhook"]
    assert sync_history.status_label("succeeded") == "Succeeded"
