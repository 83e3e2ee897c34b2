"""The reference-data sync job, called directly with Xero mocked: rows, SyncRun counts, calls and status."""
import json
from datetime import timedelta

import pytest
import redis

from jobs.sync_reference import run_reference_sync
from tests.factories import make_connection
from tests.xero.helpers import ACCOUNTS, THEMES, mock_reference, stored_tokens, token_body
from webapp.extensions import db
from webapp.models import SyncRun, XeroAccount, XeroBrandingTheme, XeroTaxRate
from webapp.sync import reference_data, reference_sync
from webapp.xero.errors import BACKGROUND_SERVICE_DOWN


def queued_run(practice_id, trigger="connect") -> SyncRun:
    run = SyncRun(practice_id=practice_id, trigger=trigger, status="queued", counts={})
    db.session.add(run)
    db.session.commit()
    return run


def reload(run):
    db.session.expire_all()
    return db.session.get(SyncRun, run.id)


def test_sync_stores_accounts_themes_and_tax_rates_and_records_the_run(settings, connection, mocked):
    run = queued_run(connection.practice_id)
    mock_reference(mocked, settings)
    assert run_reference_sync(run.id) == "succeeded"
    run = reload(run)
    assert run.status == "succeeded" and run.error is None
    assert run.xero_calls == 4  # accounts, branding themes, tax rates, one page of contacts
    assert {key: run.counts[key] for key in ("accounts", "accounts_removed", "branding_themes",
                                             "branding_themes_removed", "tax_rates", "contacts_calls")} == {
        "accounts": 4, "accounts_removed": 0, "branding_themes": 2, "branding_themes_removed": 0, "tax_rates": 2,
        "contacts_calls": 1}
    assert run.started_at and run.finished_at and run.finished_at >= run.started_at
    practice_id = connection.practice_id
    assert [a.label for a in reference_data.revenue_accounts(practice_id)] == ["200 — Sales", "260 — Other Revenue"]
    archived = reference_data.find_account(practice_id, "210")
    assert archived.status == "ARCHIVED"  # stored as Xero says
    assert reference_data.default_branding_theme(practice_id).name == "Standard"
    assert {r.tax_type: r.effective_rate for r in db.session.execute(db.select(XeroTaxRate)).scalars()} == {
        "OUTPUT2": "20.0", "NONE": "0.0"}
    for call in mocked.calls:
        assert call.request.headers["xero-tenant-id"] == connection.tenant_id


def test_a_second_sync_updates_and_marks_what_xero_no_longer_returns(settings, connection, mocked):
    mock_reference(mocked, settings)
    run_reference_sync(queued_run(connection.practice_id).id)
    mocked.replace("GET", f"{settings.accounting_url}/Accounts", json={"Accounts": [
        dict(ACCOUNTS[0], Name="Sales (renamed)"), ACCOUNTS[2], ACCOUNTS[3]]})
    mocked.replace("GET", f"{settings.accounting_url}/BrandingThemes", json={"BrandingThemes": THEMES[:1]})
    run = queued_run(connection.practice_id, trigger="manual")
    run_reference_sync(run.id)
    run = reload(run)
    assert run.counts["accounts_removed"] == 1 and run.counts["branding_themes_removed"] == 1
    practice_id = connection.practice_id
    assert reference_data.find_account(practice_id, "200").name == "Sales (renamed)"
    assert reference_data.find_account(practice_id, "260").status == "DELETED"
    assert "no longer exists" in reference_data.account_problem(practice_id, "260").message
    theme = db.session.execute(db.select(XeroBrandingTheme).filter_by(branding_theme_id="theme-special")).scalar_one()
    assert theme.present_in_xero is False
    assert reference_data.theme_problem(practice_id, "theme-special") is not None
    assert db.session.execute(db.select(db.func.count(XeroAccount.id))).scalar() == 4


def test_a_xero_failure_is_recorded_as_failed_not_finished(app, settings, connection, mocked):
    mocked.get(f"{settings.accounting_url}/Accounts", json={"Accounts": ACCOUNTS})
    mocked.get(f"{settings.accounting_url}/BrandingThemes", status=403,
               json={"Title": "Forbidden", "Detail": "AuthenticationUnsuccessful"})
    run = queued_run(connection.practice_id)
    assert run_reference_sync(run.id) == "failed"
    run = reload(run)
    assert run.status == "failed" and "AuthenticationUnsuccessful" in run.error
    assert run.xero_calls == 2 and run.finished_at is not None
    assert stored_tokens(connection.id)[2].status == "needs_reconnect"
    assert reference_data.find_account(connection.practice_id, "200") is not None  # the part done is kept


def test_an_unexpected_error_is_recorded_and_raised_for_the_worker(settings, connection, mocked, monkeypatch):
    mock_reference(mocked, settings)
    monkeypatch.setattr(reference_sync, "read_account", lambda item: {}["AccountID"])  # a bug of Socket's own
    run = queued_run(connection.practice_id)
    with pytest.raises(KeyError):
        run_reference_sync(run.id)
    run = reload(run)
    assert run.status == "failed" and "Unexpected error (KeyError)" in run.error


def test_without_a_connection_the_run_fails_with_a_reason(app, app_ctx, mocked):
    connection = make_connection(status="needs_reconnect")
    run = queued_run(connection.practice_id)
    assert run_reference_sync(run.id) == "failed"
    assert "not connected" in reload(run).error
    assert len(mocked.calls) == 0


def test_a_run_already_finished_is_not_run_again(connection, mocked):
    run = queued_run(connection.practice_id)
    run.status = "succeeded"
    db.session.commit()
    assert run_reference_sync(run.id) == "succeeded"
    assert len(mocked.calls) == 0


def test_sync_refreshes_an_expiring_token_first(app, app_ctx, settings, mocked):
    connection = make_connection(expires_in=timedelta(seconds=30))
    mocked.post(settings.token_url, json=token_body("access-2", "refresh-2"))
    mock_reference(mocked, settings)
    run = queued_run(connection.practice_id)
    assert run_reference_sync(run.id) == "succeeded"
    assert mocked.calls[1].request.headers["Authorization"] == "Bearer access-2"
    assert reload(run).xero_calls == 4  # the refresh is not an API call


@pytest.mark.parametrize("kind, bad_answer", [
    ("Accounts", {"json": {"Status": "OK"}}),
    ("Accounts", {"body": "<html>proxy error</html>"}),
    ("BrandingThemes", {"json": {"Id": "x"}}),
    ("TaxRates", {"json": {"TaxRates": None}}),
])
def test_an_answer_without_the_collection_marks_nothing_gone(settings, connection, mocked, kind, bad_answer):
    mock_reference(mocked, settings)
    run_reference_sync(queued_run(connection.practice_id).id)
    mocked.replace("GET", f"{settings.accounting_url}/{kind}", status=200, **bad_answer)
    run = queued_run(connection.practice_id, trigger="manual")
    assert run_reference_sync(run.id) == "failed"
    assert "nothing was changed" in reload(run).error
    practice_id = connection.practice_id
    assert reference_data.find_account(practice_id, "200").status == "ACTIVE"
    assert all(theme.present_in_xero for theme in db.session.execute(db.select(XeroBrandingTheme)).scalars())
    assert all(rate.status == "ACTIVE" for rate in db.session.execute(db.select(XeroTaxRate)).scalars())


def test_unreadable_items_are_skipped_with_a_warning_and_then_nothing_is_marked_gone(settings, connection, mocked):
    mock_reference(mocked, settings)
    run_reference_sync(queued_run(connection.practice_id).id)
    mocked.replace("GET", f"{settings.accounting_url}/Accounts", json={"Accounts": [
        dict(ACCOUNTS[0], Name="Sales (renamed)"), {"Code": "260", "Name": "No id"}, "garbage",
        dict(ACCOUNTS[3], Name="x" * 100_000), dict(ACCOUNTS[2], TaxType=["OUTPUT2"]),
        {"AccountID": "acc-new", "Code": "201", "Name": "New\x00Sales"},
        {"AccountID": "acc-dup", "Code": "202", "Name": "First"},
        {"AccountID": "acc-dup", "Code": "202", "Name": "Second"}]})
    mocked.replace("GET", f"{settings.accounting_url}/BrandingThemes", json={"BrandingThemes": [
        THEMES[0], dict(THEMES[1], SortOrder="first"),
        {"BrandingThemeID": "t-big", "Name": "Big", "SortOrder": 2**40},
        {"BrandingThemeID": "t-credit", "Name": "Credit notes", "Type": "CREDITNOTE"}]})
    mocked.replace("GET", f"{settings.accounting_url}/TaxRates", json={"TaxRates": [
        {"TaxType": "OUTPUT2", "Name": "20%", "EffectiveRate": 0.12345678901234568}, {"TaxType": None, "Name": "?"},
        {"TaxType": "NONE", "Name": "No VAT", "EffectiveRate": {"rate": 0}}]})
    run = queued_run(connection.practice_id, trigger="manual")
    assert run_reference_sync(run.id) == "succeeded"
    run = reload(run)
    practice_id = connection.practice_id
    accounts = {a.account_id: a for a in db.session.execute(db.select(XeroAccount)).scalars()}
    assert accounts["acc-200"].name == "Sales (renamed)" and accounts["acc-dup"].name == "Second"
    assert all(a.status != "DELETED" for a in accounts.values())  # an unreadable item may be any of them
    assert reference_data.find_account(practice_id, "210").tax_type == "OUTPUT2"  # unchanged
    assert all(theme.present_in_xero for theme in db.session.execute(db.select(XeroBrandingTheme)).scalars())
    assert {r.tax_type: r.effective_rate for r in db.session.execute(db.select(XeroTaxRate)).scalars()} == {
        "OUTPUT2": "20.0", "NONE": "0.0"}
    warnings = run.counts["warnings"]
    for expected in (
            "An account from Xero was skipped (Name 'No id'): it has no AccountID.",
            "An account from Xero was skipped (not an object): it is not an object.",
            "its Name is longer than 150 characters", "its TaxType is not text", "its Name contains a NUL character",
            "Because 5 could not be read, no account was marked as gone from Xero this time.",
            "A branding theme from Xero was skipped (BrandingThemeID 'theme-special', Name 'Special projects'): "
            "its SortOrder 'first' is not a whole number Socket can store.",
            "its SortOrder 1099511627776 is not a whole number",
            "its rate 0.12345678901234568 is not a number Socket can store",
            "A tax rate from Xero was skipped (Name '?'): it has no TaxType.", "its rate {'rate': 0} is not a number."):
        assert any(expected in warning for warning in warnings), expected
    assert any("Name 'Credit notes'): its Type 'CREDITNOTE' is not INVOICE." in warning for warning in warnings)


class RedisThatGoesDown(redis.Redis):
    """The real Redis until `down` is set, then every command fails as a lost connection does."""

    down = False

    def execute_command(self, *args, **options):
        if self.down:
            raise redis.ConnectionError("Error 111 connecting to redis:6379. Connection refused.")
        return super().execute_command(*args, **options)


@pytest.fixture
def flaky_redis(app, monkeypatch):
    from webapp.redis_conn import get_redis
    from webapp.xero import client as client_module
    from webapp.xero import token_store

    flaky = RedisThatGoesDown(connection_pool=get_redis(app.config["REDIS_URL"]).connection_pool)
    monkeypatch.setattr(client_module, "get_redis", lambda url: flaky)
    monkeypatch.setattr(token_store, "get_redis", lambda url: flaky)
    return flaky


def test_redis_going_down_mid_sync_fails_the_run_with_a_clear_message(settings, connection, mocked, flaky_redis):
    def accounts_then_redis_dies(request):
        flaky_redis.down = True
        return 200, {}, json.dumps({"Accounts": ACCOUNTS})

    mocked.add_callback("GET", f"{settings.accounting_url}/Accounts", callback=accounts_then_redis_dies)
    mock_reference(mocked, settings)
    run = queued_run(connection.practice_id)
    assert run_reference_sync(run.id) == "failed"
    run = reload(run)
    assert run.status == "failed" and run.finished_at is not None
    assert run.error == f"Account codes, branding themes and tax rates: {BACKGROUND_SERVICE_DOWN}"
    # Every step ran; those that needed Xero failed without calling it: no call is made without pacing.
    assert [(step["name"], step["outcome"]) for step in run.counts["steps"]] == [
        ("reference", "failed"), ("contacts", "failed"), ("contact_updates", "done"),  # nothing to send
        ("approval", "done"), ("posting", "done"), ("invoice_status", "done")]  # nothing raised or posted
    assert run.xero_calls == 1 and len(mocked.calls) == 1
    assert reference_data.find_account(connection.practice_id, "200") is not None  # the part done is kept


def test_redis_down_when_the_token_needs_refreshing_fails_the_run_with_a_clear_message(app, app_ctx, mocked,
                                                                                     flaky_redis):
    flaky_redis.down = True
    connection = make_connection(expires_in=timedelta(seconds=-1))
    run = queued_run(connection.practice_id)
    assert run_reference_sync(run.id) == "failed"
    assert reload(run).error.endswith(BACKGROUND_SERVICE_DOWN)
    assert len(mocked.calls) == 0


def test_a_step_xero_fails_is_recorded_and_the_next_steps_still_run(settings, connection, mocked):
    mock_reference(mocked, settings)
    refused = {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred"}
    mocked.replace("GET", f"{settings.accounting_url}/TaxRates", status=400, json=refused)  # no retries to wait for
    run = queued_run(connection.practice_id)
    assert run_reference_sync(run.id) == "failed"
    run = reload(run)
    steps = {step["name"]: step for step in run.counts["steps"]}
    assert steps["reference"]["outcome"] == "failed" and "Xero" in steps["reference"]["error"]
    assert steps["contacts"]["outcome"] == "done" and steps["contact_updates"]["outcome"] == "done"
    assert run.counts["contacts_calls"] == 1  # the contacts were pulled after the reference data failed
    assert run.error.startswith("Account codes, branding themes and tax rates: ")


def test_a_lost_connection_stops_the_run_at_that_step(settings, connection, mocked):
    mocked.get(f"{settings.accounting_url}/Accounts", status=403,
               json={"Title": "Forbidden", "Detail": "AuthenticationUnsuccessful"})
    run = queued_run(connection.practice_id)
    assert run_reference_sync(run.id) == "failed"
    run = reload(run)
    assert [(step["name"], step["outcome"]) for step in run.counts["steps"]] == [
        ("reference", "failed"), ("contacts", "not run"), ("contact_updates", "not run"), ("approval", "not run"),
        ("posting", "not run"), ("invoice_status", "not run")]
    assert len(mocked.calls) >= 1 and all("/Contacts" not in call.request.url for call in mocked.calls)


@pytest.mark.parametrize("kind, what", [("Accounts", "accounts"), ("BrandingThemes", "branding themes"),
                                        ("TaxRates", "tax rates")])
def test_an_empty_list_marks_nothing_gone_and_says_so(settings, connection, mocked, kind, what):
    """Every organisation has accounts, a theme and tax rates: an empty list is Xero's glitch, and marking them all
    gone would stop every invoice posting."""
    mock_reference(mocked, settings)
    run_reference_sync(queued_run(connection.practice_id).id)
    mocked.replace("GET", f"{settings.accounting_url}/{kind}", json={kind: []})
    run = queued_run(connection.practice_id, trigger="manual")
    assert run_reference_sync(run.id) == "succeeded"
    assert f"Xero listed no {what}, which an organisation always has, so none was marked as gone from Xero this " \
           "time." in reload(run).counts["warnings"]
    assert reference_data.find_account(connection.practice_id, "200").status == "ACTIVE"
    assert all(theme.present_in_xero for theme in db.session.execute(db.select(XeroBrandingTheme)).scalars())
    assert all(rate.status == "ACTIVE" for rate in db.session.execute(db.select(XeroTaxRate)).scalars())
