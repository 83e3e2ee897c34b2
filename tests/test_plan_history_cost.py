"""History that costs nothing: the plan reads the same statements and rows however many months were approved
before it, and still catches up every charge an approved month missed because something changed after it."""
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa

from tests.factories import make_client, make_completion, make_engagement, make_practice, make_service
from tests.helpers import plan_descriptions
from webapp.extensions import db
from webapp.models import BillingMethod, Engagement, Service
from webapp.services import pricing as pricing_service
from webapp.services.billing import cadence
from webapp.services.billing.approval import Outcome, approve_plan
from webapp.services.billing.plan import build_plan
from webapp.services.billing.plan_classifier import classify
from webapp.services.billing.plan_loader import load_plan_inputs

AUG, SEP, OCT, NOV, DEC = (date(2026, m, 1) for m in (8, 9, 10, 11, 12))
IN_MARCH = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)  # every month used here has started


def approve(practice_id, *periods):
    for period in periods:
        assert approve_plan(practice_id, period, None, now=IN_MARCH).outcome is Outcome.APPROVED


def practice_with_history(months: int) -> int:
    """Three clients with monthly, quarterly and on-completion work since 2020, and the `months` months before
    November 2026 approved, oldest first."""
    pid = make_practice(name=f"History {months}").practice_id
    books = make_service(pid, "Monthly Bookkeeping", BillingMethod.MONTHLY, "250.00")
    vat = make_service(pid, "VAT Returns", BillingMethod.QUARTERLY_ADVANCE, "300.00")
    accounts = make_service(pid, "Annual Accounts", BillingMethod.ANNUAL_COMPLETION, "900.00")
    for n in range(3):
        client = make_client(pid, f"Client {n}", f"CLI{n}")
        make_engagement(client, books, start=date(2020, 1, 1))
        make_engagement(client, vat, start=date(2020, 2, 1))
        make_engagement(client, accounts, start=date(2020, 1, 1),
                        completed_on=date(2026, 10, 3) if n == 0 else None)
    approve(pid, *(cadence.add_months(NOV, offset) for offset in range(-months, 0)))
    return pid


def history_cost(pid, period=NOV):
    """(ledger rows, scope rows, engagements checked again, charges looked at) for the plan of `period`."""
    inputs = load_plan_inputs(pid, period)
    seen = sum(classify(client, engagements, inputs.context).charges_seen for client, engagements in inputs.clients)
    return (inputs.reads.ledger_rows, inputs.reads.scope_rows, inputs.reads.rechecked_engagements, seen)


def steady_practice(owner):
    """One client with monthly work since January, to approve months for."""
    pid = owner.practice_id
    books = make_service(pid, "Monthly Bookkeeping", BillingMethod.MONTHLY, "250.00")
    make_engagement(make_client(pid, "Steady Ltd", "STE01"), books, start=date(2026, 1, 1))
    return pid


def test_the_plan_costs_the_same_whatever_the_history(app_ctx, count_statements):
    statements, costs, totals = {}, {}, {}
    for months in (0, 12, 60):
        pid = practice_with_history(months)
        with count_statements() as seen:
            plan = build_plan(pid, NOV)
        statements[months], totals[months] = len(seen), plan.totals.this_month
        costs[months] = history_cost(pid)
    assert statements[0] == statements[12] == statements[60]
    assert costs[0] == costs[12] == costs[60]
    # Bookkeeping and VAT Returns for each of the three clients, nothing caught up.
    assert totals[0] == totals[12] == totals[60] == Decimal("1650.00")


def test_an_untouched_engagement_reads_no_history(owner):
    pid = steady_practice(owner)
    payroll = make_service(pid, "Payroll", BillingMethod.MONTHLY, "120.00")
    edited = make_engagement(make_client(pid, "Edited Ltd", "EDI01"), payroll, start=date(2026, 1, 1))
    approve(pid, *(date(2026, month, 1) for month in range(1, 11)))  # January to October
    assert history_cost(pid) == (0, 0, 0, 4)  # each engagement: last month's charge and this month's
    edited.price = Decimal("130.00")  # only the edited engagement is checked again, in every approved month
    db.session.commit()
    assert history_cost(pid) == (10, 10, 1, 13)
    assert plan_descriptions(pid, NOV, "EDI01") == ["Payroll — November 2026"]  # nothing was missed


def test_a_back_dated_engagement_added_after_approval_is_caught_up(owner):
    pid = steady_practice(owner)
    payroll = make_service(pid, "Payroll", BillingMethod.MONTHLY, "120.00")
    approve(pid, SEP, OCT)
    steady = db.session.execute(db.select(Engagement)).scalar_one().client
    make_engagement(steady, payroll, start=SEP)  # only the engagement is new: client and service are not
    assert plan_descriptions(pid, NOV, "STE01") == [
        "Payroll — September 2026 (catch-up)", "Payroll — October 2026 (catch-up)",
        "Monthly Bookkeeping — November 2026", "Payroll — November 2026"]


def test_a_completion_recorded_after_approval_is_caught_up(owner):
    pid = steady_practice(owner)
    accounts = make_service(pid, "Annual Accounts", BillingMethod.ANNUAL_COMPLETION, "900.00")
    work = make_engagement(make_client(pid, "Annual Ltd", "ANN01"), accounts, start=date(2026, 1, 1))
    approve(pid, SEP, OCT)
    make_completion(work, date(2026, 9, 15))  # the engagement itself is unchanged
    assert plan_descriptions(pid, NOV, "ANN01") == ["Annual Accounts — completed September 2026 (catch-up)"]


def test_a_billing_method_changed_after_approval_is_caught_up(owner):
    pid = steady_practice(owner)
    advisory = make_service(pid, "Advisory", BillingMethod.QUARTERLY_COMPLETION, "100.00")
    make_engagement(make_client(pid, "Advised Ltd", "ADV01"), advisory, start=date(2026, 1, 1))
    approve(pid, SEP, OCT)  # nothing completed: nothing billed
    pricing_service.update_service(advisory, {"billing_method": BillingMethod.MONTHLY.value})
    assert plan_descriptions(pid, NOV, "ADV01") == [
        "Advisory — September 2026 (catch-up)", "Advisory — October 2026 (catch-up)", "Advisory — November 2026"]


def test_an_end_date_extended_after_approval_is_caught_up(owner):
    pid = steady_practice(owner)
    payroll = make_service(pid, "Payroll", BillingMethod.MONTHLY, "120.00")
    ended = make_engagement(make_client(pid, "Extended Ltd", "EXT01"), payroll, start=date(2026, 1, 1),
                            end=date(2026, 8, 31))
    approve(pid, SEP, OCT)
    ended.end_date = None  # an ordinary edit: updated_at moves by itself
    db.session.commit()
    assert plan_descriptions(pid, NOV, "EXT01") == [
        "Payroll — September 2026 (catch-up)", "Payroll — October 2026 (catch-up)", "Payroll — November 2026"]


def test_a_later_approval_settles_an_earlier_change(owner):
    pid = steady_practice(owner)
    approve(pid, AUG, SEP)
    steady = db.session.execute(db.select(Engagement)).scalar_one().client
    make_engagement(steady, make_service(pid, "Payroll", BillingMethod.MONTHLY, "120.00"), start=AUG)
    assert history_cost(pid, OCT)[2] == 1  # October's plan checks the new engagement in August and September
    approve(pid, OCT)  # ... and bills them
    assert history_cost(pid) == (0, 1, 0, 4)  # November's asks only whether the client was in October's scope
    assert plan_descriptions(pid, NOV, "STE01") == ["Monthly Bookkeeping — November 2026", "Payroll — November 2026"]


def test_an_engagement_stamped_in_a_bulk_update_is_checked_again(owner):
    pid = steady_practice(owner)
    approve(pid, SEP, OCT)
    db.session.execute(sa.update(Service).filter_by(practice_id=pid).values(name="Bookkeeping"))
    db.session.commit()
    assert history_cost(pid)[2] == 1  # update() stamps updated_at too (onupdate), so nothing escapes a recheck


# --- the migration ---------------------------------------------------------------------------------------------

BEFORE, STAMPED = "7a9d3e5b1c24", "e4c1a9d7b2f8"


def test_migration_stamps_existing_engagements_and_services_as_changed_now(scratch_database):
    from flask_migrate import downgrade, upgrade

    from webapp import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": scratch_database})
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO practices (id, name, time_zone, primary_crm, crm_import_scope, "
                                 "nightly_sync_at, created_at) VALUES (1, 'P', 'Europe/London', 'socket', "
                                 "'customers', '02:00:00', '2026-01-01 00:00:00+00')"))
            conn.execute(sa.text("INSERT INTO clients (id, practice_id, name, code, status, created_at, updated_at) "
                                 "VALUES (1, 1, 'C', 'C01', 'active', '2026-01-01 00:00:00+00', "
                                 "'2026-01-01 00:00:00+00')"))
            conn.execute(sa.text("INSERT INTO pricing_menus (id, practice_id, name, is_active, created_at) "
                                 "VALUES (1, 1, 'M', true, '2026-01-01 00:00:00+00')"))
            conn.execute(sa.text("INSERT INTO services (id, practice_id, pricing_menu_id, name, description, "
                                 "billing_method, price, position) VALUES (1, 1, 1, 'S', '', 'monthly', 150, 0)"))
            conn.execute(sa.text("INSERT INTO engagements (id, practice_id, client_id, service_id, price, start_date, "
                                 "created_at) VALUES (1, 1, 1, 1, 150, '2026-01-01', '2026-01-01 00:00:00+00')"))
        upgraded_at = datetime.now(UTC).replace(microsecond=0)
        upgrade(revision=STAMPED)
        engagement, service = db.session.get(Engagement, 1), db.session.get(Service, 1)
        assert engagement.updated_at >= upgraded_at and service.updated_at >= upgraded_at
        db.session.remove()
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            for table in ("engagements", "services"):
                assert "updated_at" not in {c["name"] for c in sa.inspect(conn).get_columns(table)}
        db.session.remove()
        db.engine.dispose()
