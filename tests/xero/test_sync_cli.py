"""`flask sync-practice PRACTICE_ID`: the sync job in the foreground for support (webapp.sync_cli)."""
import pytest

from tests.factories import make_connection, make_practice, make_sync_run
from tests.xero.helpers import mock_reference
from webapp.extensions import db
from webapp.models import SyncRun
from webapp.sync.run_presence import WorkerPresence
from webapp.sync_cli import sync_practice_command


def runs_of(practice_id):
    db.session.expire_all()
    return list(db.session.execute(
        db.select(SyncRun).filter_by(practice_id=practice_id).order_by(SyncRun.id)).scalars())


def sync(app, *args):
    return app.test_cli_runner().invoke(sync_practice_command, list(args))


def test_the_command_is_registered(app):
    assert "sync-practice" in app.cli.list_commands(None)


def test_it_runs_the_sync_in_the_foreground_and_prints_each_step(app, settings, connection, mocked):
    mock_reference(mocked, settings)
    result = sync(app, str(connection.practice_id))
    assert result.exit_code == 0, result.output + result.stderr
    [run] = runs_of(connection.practice_id)
    assert (run.trigger, run.status, run.rq_job_id) == ("support", "succeeded", None)  # never queued
    lines = result.stdout.splitlines()
    assert lines[0] == ("Account codes, branding themes and tax rates: ok - "
                        "4 account codes, 2 branding themes, 2 tax rates")
    assert lines[1].startswith("Contacts and matching: ok - Contacts pulled: 0 new, 0 changed")
    assert lines[2].startswith("Contact details both ways: ok - 0 sent to Xero")
    assert lines[-1].startswith(f"Sync run {run.id} succeeded in ")
    assert lines[-1].endswith(f"with {run.xero_calls} Xero calls.")
    # What it was doing, as it went, on stderr.
    assert "... Account codes, branding themes and tax rates" in result.stderr
    assert "    Fetching tax rates" in result.stderr and "    Fetching contacts" in result.stderr


def test_a_failed_run_prints_why_and_exits_non_zero(app, settings, connection, mocked):
    mock_reference(mocked, settings)
    mocked.replace("GET", f"{settings.accounting_url}/TaxRates", status=503)
    result = sync(app, str(connection.practice_id))
    assert result.exit_code == 1
    [run] = runs_of(connection.practice_id)
    assert run.status == "failed" and run.trigger == "support"
    assert "Account codes, branding themes and tax rates: FAILED" in result.stdout
    assert "Contacts and matching: ok" in result.stdout  # the next steps still ran
    assert f"Sync run {run.id} failed after " in result.stdout and run.error in result.stdout


def test_a_lost_connection_stops_the_run_and_says_which_steps_did_not_run(app, settings, connection, mocked):
    mocked.get(f"{settings.accounting_url}/Accounts", status=403,
               json={"Title": "Forbidden", "Detail": "AuthenticationUnsuccessful"})
    result = sync(app, str(connection.practice_id))
    assert result.exit_code == 1
    assert "Contacts and matching: not run" in result.stdout and "Contact details both ways: not run" in result.stdout


@pytest.mark.parametrize(("args", "exit_code", "words"), [
    (["999999"], 1, "No practice has the id 999999."),
    (["abc"], 2, "'abc' is not a valid integer"),
    (["0"], 2, "0 is not in the range x>=1"),
    ([], 2, "Missing argument 'PRACTICE_ID'"),
])
def test_a_bad_id_is_refused_clearly(app, app_ctx, args, exit_code, words):
    result = sync(app, *args)
    assert result.exit_code == exit_code and words in result.stderr
    assert db.session.execute(db.select(db.func.count(SyncRun.id))).scalar_one() == 0


def test_a_practice_that_never_connected_is_refused(app, app_ctx):
    user = make_practice(name="Offline & Co")
    result = sync(app, str(user.practice_id))
    assert result.exit_code == 1
    assert f"Offline & Co (practice {user.practice_id}) has never connected to Xero" in result.stderr
    assert runs_of(user.practice_id) == []


@pytest.mark.parametrize(("status", "words"), [("needs_reconnect", "needs reconnect"),
                                                ("disconnected", "disconnected")])
def test_a_practice_not_connected_now_is_refused(app, app_ctx, status, words):
    connection = make_connection(status=status)
    result = sync(app, str(connection.practice_id))
    assert result.exit_code == 1
    assert f"is not connected to Xero (its connection is {words})" in result.stderr
    assert runs_of(connection.practice_id) == []


def test_a_run_already_going_is_refused_and_left_alone(app, connection, mocked):
    going = make_sync_run(connection.practice_id, "nightly", status="running")
    with WorkerPresence(going.id):  # its worker is alive
        result = sync(app, str(connection.practice_id))
    assert result.exit_code == 1
    assert f"already has a sync running (run {going.id}, nightly); wait for it to finish." in result.stderr
    assert [run.id for run in runs_of(connection.practice_id)] == [going.id] and len(mocked.calls) == 0


def test_the_run_shows_in_the_practices_history_as_support(app, settings, connection, mocked, client):
    from tests.helpers import login
    from webapp.models import User

    mock_reference(mocked, settings)
    sync(app, str(connection.practice_id))
    owner = db.session.execute(db.select(User).filter_by(practice_id=connection.practice_id)).scalar_one()
    login(client, owner)
    body = client.get("/settings/integrations/xero/runs").get_data(as_text=True)
    assert 'class="run-trigger nowrap">Support<' in body and "chip-run-succeeded" in body
