"""A client new since the last approved plan is "new", and its catch-up line says which month it covers.

The case a first user met: November approved, then a client added with an engagement starting 30 November. In
December it showed as "unchanged" (£0 → its two charges) while December also billed its November charge as
catch-up: November's agreed work counted an engagement November's plan never had.
"""
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.factories import make_client, make_engagement, make_service
from webapp.extensions import db
from webapp.models import BillingMethod, Client, Service
from webapp.services.billing.approval import Outcome, approve_plan
from webapp.services.billing.changes import Change
from webapp.services.billing.dates import InvoiceDating
from webapp.services.billing.plan import build_plan
from webapp.services.billing.plan_page import PlanQuery, plan_page
from webapp.services.billing.settings import get_billing_settings

OCT, NOV, DEC = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
IN_JANUARY = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)
TODAY = date(2027, 1, 15)


@pytest.fixture
def practice(owner):
    """A steady monthly client, a quarterly one (nothing due in November or December) and November approved."""
    pid = owner.practice_id
    books = make_service(pid, "Bookkeeping", BillingMethod.MONTHLY, "250.00", position=0)
    vat = make_service(pid, "VAT Returns", BillingMethod.QUARTERLY_ADVANCE, "300.00", position=1)
    make_service(pid, "Payroll", BillingMethod.MONTHLY, "120.00", position=2)
    make_engagement(make_client(pid, "Steady Ltd", "STE01"), books, start=date(2026, 1, 1))
    make_engagement(make_client(pid, "Quarterly Ltd", "QUA01"), vat, start=date(2026, 10, 1))
    assert approve_plan(pid, NOV, owner.id, now=IN_JANUARY).outcome is Outcome.APPROVED
    return pid


def service(pid, name):
    return db.session.execute(db.select(Service).filter_by(practice_id=pid, name=name)).scalar_one()


def rows(pid, period):
    plan = build_plan(pid, period, today=TODAY)
    return plan, {row.client.code: row for row in plan.rows + plan.ended}


def test_a_client_added_after_the_last_approval_is_new_and_its_catch_up_names_the_month(practice):
    make_engagement(make_client(practice, "Late Ltd", "LAT01"), service(practice, "Bookkeeping"),
                    start=date(2026, 11, 30))
    plan, by_code = rows(practice, DEC)
    late = by_code["LAT01"]
    assert (late.change, late.last_amount, late.amount) == (Change.NEW, Decimal("0.00"), Decimal("500.00"))
    assert [line.description for line in late.preview.lines] == [
        "Bookkeeping — November 2026 (catch-up)", "Bookkeeping — December 2026"]
    assert by_code["STE01"].change is Change.UNCHANGED
    assert plan.totals.counts[Change.NEW] == 1 and plan.totals.counts[Change.UNCHANGED] == 1


def test_the_stored_page_counts_it_as_new_once_it_is_added(practice):
    first = plan_page(practice, DEC, PlanQuery(), today=TODAY, dating=InvoiceDating.TODAY)  # stored before it
    assert first.totals.counts[Change.NEW] == 0
    make_engagement(make_client(practice, "Late Ltd", "LAT01"), service(practice, "Bookkeeping"),
                    start=date(2026, 11, 30))
    page = plan_page(practice, DEC, PlanQuery(), today=TODAY, dating=InvoiceDating.TODAY)
    assert page.totals.counts[Change.NEW] == 1 and page.totals.counts[Change.UNCHANGED] == 1
    assert {row.client.code: row.change for row in page.rows}["LAT01"] is Change.NEW


def test_it_stays_new_once_december_is_approved(practice, owner):
    make_engagement(make_client(practice, "Late Ltd", "LAT01"), service(practice, "Bookkeeping"),
                    start=date(2026, 11, 30))
    assert approve_plan(practice, DEC, owner.id, now=IN_JANUARY).outcome is Outcome.APPROVED
    _, by_code = rows(practice, DEC)
    assert (by_code["LAT01"].change, by_code["LAT01"].amount) == (Change.NEW, Decimal("500.00"))
    _, january = rows(practice, date(2027, 1, 1))
    assert january["LAT01"].change is Change.UNCHANGED  # December's plan had it


def test_a_service_back_dated_into_an_approved_month_is_a_service_added(practice):
    steady = db.session.execute(db.select(Client).filter_by(practice_id=practice, code="STE01")).scalar_one()
    make_engagement(steady, service(practice, "Payroll"), start=date(2026, 11, 1))
    _, by_code = rows(practice, DEC)
    row = by_code["STE01"]
    assert (row.change, row.details) == (Change.EXPANDED, ("Payroll added",))
    assert "Payroll — November 2026 (catch-up)" in [line.description for line in row.preview.lines]


def test_a_client_with_no_invoice_last_month_but_known_work_is_not_new(practice):
    # Quarterly Ltd had no invoice in November (its fee fell due in October): January's fee is not "new".
    assert approve_plan(practice, DEC, None, now=IN_JANUARY).outcome is Outcome.APPROVED
    _, january = rows(practice, date(2027, 1, 1))
    assert (january["QUA01"].change, january["QUA01"].last_amount, january["QUA01"].amount) == (
        Change.UNCHANGED, Decimal("0.00"), Decimal("300.00"))


def test_a_consolidated_catch_up_names_the_month_it_covers(practice):
    settings = get_billing_settings(practice)
    settings.consolidate_recurring = True
    db.session.commit()
    make_engagement(make_client(practice, "Late Ltd", "LAT01"), service(practice, "Bookkeeping"),
                    start=date(2026, 11, 30))
    _, by_code = rows(practice, DEC)
    assert [line.description for line in by_code["LAT01"].preview.lines] == [
        "Professional services for December 2026: Bookkeeping (November 2026, catch-up), Bookkeeping"]
