"""The ledger of billed charges: every charge invoiced exactly once — catch-up, refusals, the unique key."""
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.factories import make_client, make_completion, make_engagement, make_service, make_theme
from tests.helpers import HTMX, approve_form, invoices_of, plan_descriptions, require_postgresql
from webapp.extensions import db
from webapp.models import (
    BilledCharge,
    BillingMethod,
    BillingRun,
    BillingRunClient,
    Client,
    Engagement,
    EngagementCompletion,
    Invoice,
    InvoiceLine,
)
from webapp.services.billing.approval import Outcome, approve_plan
from webapp.services.billing.plan import build_plan

SEP, OCT, NOV, DEC = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
IN_JANUARY = datetime(2027, 1, 15, 12, 0, tzinfo=UTC)  # every month used here has started


def approve(practice_id, period, user_id=None, **kwargs):
    return approve_plan(practice_id, period, user_id, now=kwargs.pop("now", IN_JANUARY), **kwargs)


def ledger_keys(practice_id):
    db.session.expire_all()
    return sorted(db.session.execute(
        db.select(BilledCharge.charge_key).filter_by(practice_id=practice_id)).scalars())


@pytest.fixture
def practice(owner):
    """One steady monthly client, so every month has something to approve."""
    pid = owner.practice_id
    books = make_service(pid, "Monthly Bookkeeping", BillingMethod.MONTHLY, "250.00")
    make_engagement(make_client(pid, "Steady Ltd", "STE01"), books, start=date(2026, 1, 1))
    return pid


# --- completions recorded after their month was approved ---------------------------------------

def test_completion_in_an_approved_month_is_billed_next_month_exactly_once(practice):
    formation = make_service(practice, "Company Formation", BillingMethod.ONCE, "150.00")
    work = make_engagement(make_client(practice, "Late Ltd", "LAT01"), formation, start=date(2026, 10, 1))
    assert approve(practice, OCT).outcome is Outcome.APPROVED
    completion = make_completion(work, date(2026, 10, 20))  # recorded after October was approved

    october = build_plan(practice, OCT)
    assert [(late.client.code, [i.charge_key for i in late.items]) for late in october.late] == [
        ("LAT01", [f"c{completion.id}"])]
    assert october.next_open_period == NOV
    assert plan_descriptions(practice, NOV, "LAT01") == ["Company Formation — completed October 2026 (catch-up)"]

    assert approve(practice, NOV).outcome is Outcome.APPROVED
    late_invoice = [i for i in invoices_of(practice) if i.client.code == "LAT01"]
    assert len(late_invoice) == 1 and late_invoice[0].period == NOV
    assert late_invoice[0].total == Decimal("150.00")
    assert build_plan(practice, OCT).late == []

    # Re-approving both months, and approving the next, never bills it again.
    assert approve(practice, OCT).outcome is Outcome.ALREADY_APPROVED
    assert approve(practice, NOV).outcome is Outcome.ALREADY_APPROVED
    assert approve(practice, DEC).outcome is Outcome.APPROVED
    assert [i.client.code for i in invoices_of(practice)].count("LAT01") == 1
    assert ledger_keys(practice).count(f"c{completion.id}") == 1


def test_approved_month_page_says_late_charges_go_to_the_next_open_month(auth_client, practice):
    formation = make_service(practice, "Company Formation", BillingMethod.ONCE, "150.00")
    work = make_engagement(make_client(practice, "Late Ltd", "LAT01"), formation, start=date(2026, 10, 1))
    approve(practice, OCT)
    approve(practice, NOV)
    make_completion(work, date(2026, 10, 20))
    body = auth_client.get("/billing/plan?month=2026-10").get_data(as_text=True)
    late = re.search(r'<section id="plan-late">(.*?)</section>', body, re.S).group(1)
    assert "Not yet invoiced" in late and "recorded after October 2026 was approved" in late
    assert "December 2026</a>'s plan" in late
    assert "Late Ltd: Company Formation — completed October 2026, £150.00" in late
    body = auth_client.get("/billing/plan?month=2026-12").get_data(as_text=True)
    assert "catch-up: completed October 2026" in body and '<span class="chip chip-catch-up">catch-up</span>' in body
    late_ltd = db.session.execute(db.select(Client.id).filter_by(code="LAT01")).scalar_one()
    preview = auth_client.get(f"/billing/plan/clients/{late_ltd}/preview?month=2026-12").get_data(as_text=True)
    assert "Company Formation — completed October 2026 (catch-up)" in preview


# --- back-dated engagements -----------------------------------------------------------------------

def test_back_dated_monthly_engagement_is_caught_up_in_the_next_plan(auth_client, practice):
    approve(practice, SEP)
    approve(practice, OCT)
    payroll = make_service(practice, "Payroll", BillingMethod.MONTHLY, "120.00")
    make_engagement(make_client(practice, "Backdated Ltd", "BAC01"), payroll, start=date(2026, 9, 1))
    assert plan_descriptions(practice, NOV, "BAC01") == [
        "Payroll — September 2026 (catch-up)", "Payroll — October 2026 (catch-up)", "Payroll — November 2026"]
    plan = build_plan(practice, NOV)
    assert plan.catch_up_count == 2 and plan.totals.this_month == Decimal("610.00")
    body = auth_client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert "Raises 2 invoices totalling £610.00 excl. VAT, once,\n" in body
    assert "including 2 catch-up charges missed from earlier approved months" in body
    approve(practice, NOV)
    invoice = next(i for i in invoices_of(practice) if i.client.code == "BAC01")
    assert invoice.total == Decimal("360.00")
    assert plan_descriptions(practice, DEC, "BAC01") == ["Payroll — December 2026"]


def test_no_catch_up_before_the_first_approved_month(practice):
    approve(practice, OCT)  # the practice's first month in Socket
    vat = make_service(practice, "VAT Returns", BillingMethod.QUARTERLY_ADVANCE, "300.00")
    payroll = make_service(practice, "Payroll", BillingMethod.MONTHLY, "120.00")
    client = make_client(practice, "Old Ltd", "OLD01")
    make_engagement(client, payroll, start=date(2025, 6, 1))
    make_engagement(client, vat, start=date(2025, 7, 1))  # due Jul, Oct, Jan, Apr, Jul, Oct 2026 ...
    assert plan_descriptions(practice, NOV, "OLD01") == [
        "Payroll — October 2026 (catch-up)", "VAT Returns — October 2026 – December 2026 (catch-up)",
        "Payroll — November 2026"]


def test_a_completion_before_the_first_approved_month_is_caught_up_once(practice):
    accounts = make_service(practice, "Annual Accounts", BillingMethod.ANNUAL_COMPLETION, "900.00")
    work = make_engagement(make_client(practice, "Golive Ltd", "GOL01"), accounts, start=date(2026, 1, 1))
    completion = make_completion(work, date(2026, 8, 30))  # finished before the practice's first month in Socket
    assert approve(practice, OCT).outcome is Outcome.APPROVED  # August stays history
    assert plan_descriptions(practice, NOV, "GOL01") == ["Annual Accounts — completed August 2026 (catch-up)"]
    assert approve(practice, NOV).outcome is Outcome.APPROVED
    assert f"c{completion.id}" in ledger_keys(practice)
    assert plan_descriptions(practice, DEC, "GOL01") == []


def test_a_completion_recorded_later_but_dated_before_go_live_is_billed_in_the_next_open_month(practice):
    assert approve(practice, OCT).outcome is Outcome.APPROVED  # the practice's first month in Socket
    accounts = make_service(practice, "Annual Accounts", BillingMethod.ANNUAL_COMPLETION, "900.00")
    work = make_engagement(make_client(practice, "Golive Ltd", "GOL01"), accounts, start=date(2026, 1, 1))
    completion = make_completion(work, date(2026, 8, 30))
    assert plan_descriptions(practice, NOV, "GOL01") == ["Annual Accounts — completed August 2026 (catch-up)"]
    assert build_plan(practice, NOV).catch_up_count == 1
    assert approve(practice, NOV).outcome is Outcome.APPROVED
    assert f"c{completion.id}" in ledger_keys(practice)
    assert plan_descriptions(practice, DEC, "GOL01") == []


def test_an_annual_fee_due_before_go_live_is_not_billed_but_the_plan_says_so(auth_client, practice):
    assert approve(practice, OCT).outcome is Outcome.APPROVED
    retainer = make_service(practice, "Annual Retainer", BillingMethod.ANNUAL_ADVANCE, "1200.00")
    make_engagement(make_client(practice, "Backdated Ltd", "BAC01"), retainer, start=date(2026, 9, 1))
    assert plan_descriptions(practice, NOV, "BAC01") == []
    note = ("Annual Retainer for Backdated Ltd fell due in September 2026, before Socket's first approved "
            "month: not billed by Socket")
    assert build_plan(practice, NOV).before_socket == [note]
    assert note.replace("'", "&#39;") in auth_client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert build_plan(practice, date(2027, 9, 1)).before_socket == []  # the next year is billed as usual
    assert plan_descriptions(practice, date(2027, 9, 1), "BAC01") == ["Annual Retainer — September 2027 – August 2028"]


def test_a_run_from_before_the_ledger_counts_as_billed_in_full(practice, owner):
    # Runs approved before this ledger existed have no BilledCharge rows: never catch them up.
    run = BillingRun(practice_id=practice, period=OCT, approved_by_id=owner.id)
    db.session.add(run)
    db.session.flush()
    steady = db.session.execute(db.select(Client).filter_by(code="STE01")).scalar_one()
    invoice = Invoice(practice_id=practice, client_id=steady.id, billing_run_id=run.id, number="OLD-1",
                      issue_date=OCT, due_date=OCT, period=OCT)
    invoice.lines = [InvoiceLine(description="Bookkeeping October", quantity=Decimal("1"),
                                 unit_amount=Decimal("250.00"))]
    db.session.add(invoice)
    db.session.commit()
    [row] = build_plan(practice, OCT).rows
    assert (row.client.code, row.amount, [i.service_name for i in row.items]) == (
        "STE01", Decimal("250.00"), ["Monthly Bookkeeping"])
    assert plan_descriptions(practice, NOV, "STE01") == ["Monthly Bookkeeping — November 2026"]
    assert build_plan(practice, OCT).late == []


def test_later_month_lists_earlier_months_still_awaiting_approval(auth_client, practice):
    approve(practice, SEP)
    plan = build_plan(practice, NOV)
    assert plan.awaiting_periods == [OCT]
    # October is not approved, so its charges are not caught up in November: October bills them.
    assert plan_descriptions(practice, NOV, "STE01") == ["Monthly Bookkeeping — November 2026"]
    body = auth_client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    awaiting = re.search(r'<p id="plan-awaiting".*?</p>', body, re.S).group(0)
    assert 'href="/billing/plan?month=2026-10">October 2026</a>' in awaiting
    approve(practice, OCT)
    assert build_plan(practice, NOV).awaiting_periods == []


# --- each approval's scope: no catch-up for months a client was archived in -----------------------

def scope_of(practice_id, period):
    run = db.session.execute(db.select(BillingRun).filter_by(practice_id=practice_id, period=period)).scalar_one()
    return set(db.session.execute(db.select(BillingRunClient.client_id).filter_by(billing_run_id=run.id)).scalars())


def test_approval_records_every_active_client_as_its_scope(practice):
    idle = make_client(practice, "Idle Ltd", "IDL01")  # active, nothing due: still in scope
    gone = make_client(practice, "Gone Ltd", "GON01", status="archived")
    approve(practice, NOV)
    steady = db.session.execute(db.select(Client).filter_by(code="STE01")).scalar_one()
    assert scope_of(practice, NOV) == {steady.id, idle.id}
    assert gone.id not in scope_of(practice, NOV)


def test_no_catch_up_for_a_month_the_client_was_archived_in(practice):
    payroll = make_service(practice, "Payroll", BillingMethod.MONTHLY, "120.00")
    paused = make_client(practice, "Paused Ltd", "PAU01")
    make_engagement(paused, payroll, start=date(2026, 1, 1))
    approve(practice, SEP)
    paused.status = "archived"
    db.session.commit()
    approve(practice, OCT)  # Paused Ltd was archived all October
    paused.status = "active"
    db.session.commit()
    assert plan_descriptions(practice, NOV, "PAU01") == ["Payroll — November 2026"]
    assert build_plan(practice, OCT).late == []


def test_back_dated_work_for_a_client_in_scope_is_still_caught_up(practice):
    approve(practice, OCT)
    steady = db.session.execute(db.select(Client).filter_by(code="STE01")).scalar_one()
    make_engagement(steady, make_service(practice, "Payroll", BillingMethod.MONTHLY, "120.00"), start=date(2026, 10, 1))
    assert [late.client.code for late in build_plan(practice, OCT).late] == ["STE01"]
    assert "Payroll — October 2026 (catch-up)" in plan_descriptions(practice, NOV, "STE01")


def test_a_run_without_a_recorded_scope_is_never_caught_up(practice):
    # Approved before scopes were recorded: whom it covered is unknown, so nothing is caught up from it.
    approve(practice, OCT)
    db.session.execute(db.delete(BillingRunClient))
    steady = db.session.execute(db.select(Client).filter_by(code="STE01")).scalar_one()
    make_engagement(steady, make_service(practice, "Payroll", BillingMethod.MONTHLY, "120.00"), start=date(2026, 10, 1))
    db.session.commit()
    assert build_plan(practice, OCT).late == []
    assert plan_descriptions(practice, NOV, "STE01") == [
        "Monthly Bookkeeping — November 2026", "Payroll — November 2026"]


# --- on-completion work ---------------------------------------------------------------------------

def test_quarterly_on_completion_is_billed_once_per_completion(practice):
    accounts = make_service(practice, "Management Accounts", BillingMethod.QUARTERLY_COMPLETION, "450.00")
    work = make_engagement(make_client(practice, "Quarterly Ltd", "QUA01"), accounts, start=date(2026, 7, 1))
    first = make_completion(work, date(2026, 9, 10))
    approve(practice, SEP)
    second = make_completion(work, date(2026, 10, 5))
    approve(practice, OCT)
    approve(practice, NOV)
    billed = [i for i in invoices_of(practice) if i.client.code == "QUA01"]
    assert [(i.period, i.total) for i in billed] == [(SEP, Decimal("450.00")), (OCT, Decimal("450.00"))]
    assert {f"c{first.id}", f"c{second.id}"} <= set(ledger_keys(practice))


# --- refusals ---------------------------------------------------------------------------------------

def test_a_month_that_has_not_started_cannot_be_approved(practice):
    in_november = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # already 1 Dec in Auckland
    result = approve(practice, DEC, now=in_november)
    assert result.outcome is Outcome.FUTURE_MONTH
    assert invoices_of(practice) == [] and db.session.execute(sa.select(sa.func.count(BillingRun.id))).scalar() == 0
    assert approve(practice, NOV, now=in_november).outcome is Outcome.APPROVED


def test_future_month_is_refused_by_the_page(auth_client, practice):
    response = auth_client.post("/billing/plan/approve", data=approve_form(practice, "2099-12"), headers=HTMX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "December 2099 has not started yet" in body and "No invoices were raised." in body
    assert invoices_of(practice) == []
    page = auth_client.get("/billing/plan?month=2099-12").get_data(as_text=True)
    assert "Approve plan" not in page and 'id="plan-not-yet"' in page


def test_a_plan_that_changed_since_it_was_shown_is_refused(auth_client, practice):
    seen = approve_form(practice, "2026-11")
    make_engagement(make_client(practice, "Sneaky Ltd", "SNE01"),
           make_service(practice, "Payroll", BillingMethod.MONTHLY, "120.00"), start=date(2026, 11, 1))
    response = auth_client.post("/billing/plan/approve", data=seen, headers=HTMX)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "The plan changed since you opened it — review it and approve again" in body
    assert invoices_of(practice) == []
    assert db.session.execute(sa.select(sa.func.count(BillingRun.id))).scalar() == 0
    assert ">Approve plan</button>" in body  # the current plan, ready to review
    fresh = approve_form(practice, "2026-11")
    assert fresh["fingerprint"] != seen["fingerprint"]
    assert auth_client.post("/billing/plan/approve", data=fresh).status_code == 303
    assert len(invoices_of(practice)) == 2


def test_a_price_change_alone_changes_the_fingerprint(practice):
    before = build_plan(practice, NOV).fingerprint
    engagement = build_plan(practice, NOV).rows[0].client.engagements[0]
    engagement.price = Decimal("251.00")
    db.session.commit()
    assert build_plan(practice, NOV).fingerprint != before


def test_approve_without_a_fingerprint_is_refused(auth_client, practice):
    assert auth_client.post("/billing/plan/approve", data={"month": "2026-11"}).status_code == 400
    assert invoices_of(practice) == []


# --- the ledger itself ------------------------------------------------------------------------------

def test_a_completion_undone_during_approval_refuses_it_as_a_changed_plan(auth_client, practice, monkeypatch):
    from webapp.services.billing import approval as billing_approval

    formation = make_service(practice, "Company Formation", BillingMethod.ONCE, "150.00")
    completion = make_completion(make_engagement(make_client(practice, "Aardvark Ltd", "AAR01"), formation,
                                 start=date(2026, 11, 1)), date(2026, 11, 10))
    completion_id, form = completion.id, approve_form(practice)
    real_build_plan = billing_approval.build_plan

    def build_then_undo(practice_id, period, **options):
        plan = real_build_plan(practice_id, period, **options)
        # A writer that skipped the billing lock commits its delete before the ledger refers to it.
        with db.engine.begin() as other:
            other.execute(sa.delete(EngagementCompletion).filter_by(id=completion_id))
        return plan

    monkeypatch.setattr(billing_approval, "build_plan", build_then_undo)
    response = auth_client.post("/billing/plan/approve", data=form, headers=HTMX)
    assert response.status_code == 409
    assert "The plan changed since you opened it" in response.get_data(as_text=True)
    assert invoices_of(practice) == [] and ledger_keys(practice) == []
    assert db.session.execute(sa.select(sa.func.count()).select_from(BillingRun)).scalar() == 0


def test_approval_records_each_charge_with_its_invoice_and_line(practice):
    payroll = make_service(practice, "Payroll", BillingMethod.MONTHLY, "120.00")
    client = make_client(practice, "Two Ltd", "TWO01", consolidate_recurring=True)
    first = make_engagement(client, payroll, start=date(2026, 1, 1))
    extra = make_service(practice, "Extra", BillingMethod.MONTHLY, "10.00")
    second = make_engagement(client, extra, start=date(2026, 1, 1))
    approve(practice, NOV)
    invoice = next(i for i in invoices_of(practice) if i.client.code == "TWO01")
    rows = db.session.execute(
        db.select(BilledCharge).filter_by(invoice_id=invoice.id).order_by(BilledCharge.charge_key)).scalars().all()
    assert [(r.charge_key, r.engagement_id, r.due_period) for r in rows] == [
        (f"e{first.id}:2026-11", first.id, NOV), (f"e{second.id}:2026-11", second.id, NOV)]
    assert {r.invoice_line_id for r in rows} == {invoice.lines[0].id}  # one consolidated line bills both
    assert all(r.billing_run_id == invoice.billing_run_id for r in rows)


def test_the_unique_key_blocks_a_forced_double_insert(practice):
    approve(practice, NOV)
    billed = db.session.execute(db.select(BilledCharge)).scalar_one()
    db.session.add(BilledCharge(practice_id=practice, charge_key=billed.charge_key, engagement_id=billed.engagement_id,
                                due_period=billed.due_period, billing_run_id=billed.billing_run_id,
                                invoice_id=billed.invoice_id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_same_key_in_another_practice_is_allowed(practice, other_owner):
    # Keys are unique per practice (ids are global anyway, but the constraint must not span practices).
    approve(practice, NOV)
    billed = db.session.execute(db.select(BilledCharge)).scalar_one()
    rival_books = make_service(other_owner.practice_id, "Books", BillingMethod.MONTHLY)
    make_engagement(make_client(other_owner.practice_id, "Rival Client"), rival_books)
    approve(other_owner.practice_id, NOV)
    rival = db.session.execute(db.select(BilledCharge).filter_by(practice_id=other_owner.practice_id)).scalar_one()
    rival.charge_key = billed.charge_key
    db.session.commit()  # the unique key does not refuse it
    db.session.expire_all()
    both = db.session.execute(db.select(BilledCharge.practice_id).filter_by(charge_key=billed.charge_key)).scalars()
    assert sorted(both) == sorted([practice, other_owner.practice_id])


# --- quality ----------------------------------------------------------------------------------------

def test_building_a_plan_takes_the_same_number_of_queries_for_more_clients(practice, count_statements):
    pid = practice
    make_theme(pid, "t-std", "Standard")
    books = make_service(pid, "Books", BillingMethod.MONTHLY)
    with count_statements() as few:
        build_plan(pid, NOV)
    for n in range(6):
        make_engagement(make_client(pid, f"More {n}", f"MOR{n}"), books)
    with count_statements() as more:
        assert len(build_plan(pid, NOV).rows) == 7
    assert len(more) == len(few)


def test_approving_takes_the_same_number_of_statements_for_more_invoices(practice, other_owner, count_statements):
    """Approval holds the practice lock: invoices, lines and ledger rows go in a few bulk statements."""
    other = other_owner.practice_id
    books = make_service(other, "Monthly Bookkeeping", BillingMethod.MONTHLY, "250.00")
    payroll = make_service(other, "Payroll", BillingMethod.MONTHLY, "120.00")
    formation = make_service(other, "Company Formation", BillingMethod.ONCE, "150.00", account_code="260")
    for n in range(7):
        client = make_client(other, f"Client {n}", f"CLI{n}")
        make_engagement(client, books, start=date(2026, 1, 1))
        make_engagement(client, payroll, start=date(2026, 1, 1))
        if n in (2, 5):  # ledger rows with and without a completion, lines with and without an account code
            make_engagement(client, formation, start=date(2026, 11, 1), completed_on=date(2026, 11, 3))

    with count_statements() as seven_invoices:
        assert approve(other, NOV).outcome is Outcome.APPROVED
    with count_statements() as one_invoice:
        assert approve(practice, NOV).outcome is Outcome.APPROVED
    assert len(seven_invoices) == len(one_invoice)
    assert len(ledger_keys(other)) == 16 and len(invoices_of(other)) == 7
    assert all(charge.invoice_line_id is not None for charge in db.session.execute(
        db.select(BilledCharge).filter_by(practice_id=other)).scalars())


def test_approving_sends_one_insert_per_table_however_many_rows(other_owner, count_statements, monkeypatch):
    """Not a batch per 1,000 rows: with SQLAlchemy's batches cut to 2 rows, still one INSERT per table."""
    require_postgresql("one statement per table is PostgreSQL's path (unnest); SQLite's goes in batches")
    other = other_owner.practice_id
    books = make_service(other, "Monthly Bookkeeping", BillingMethod.MONTHLY, "250.00")
    formation = make_service(other, "Company Formation", BillingMethod.ONCE, "150.00")
    for n in range(5):
        client = make_client(other, f"Client {n}", f"CLI{n}")
        make_engagement(client, books, start=date(2026, 1, 1))
        make_engagement(client, formation, start=date(2026, 11, 1), completed_on=date(2026, 11, 3))
    monkeypatch.setattr(db.engine.dialect, "insertmanyvalues_page_size", 2)
    with count_statements() as statements:
        assert approve(other, NOV).outcome is Outcome.APPROVED
    inserts = [re.match(r"INSERT INTO (\w+)", s).group(1) for s in statements if s.startswith("INSERT")]
    # The stored Billing Plan's version row is bumped as the run is flushed (plan_staleness): not the approval's.
    inserts = [table for table in inserts if table != "billing_plan_versions"]
    assert inserts == ["billing_runs", "billing_run_clients", "invoices", "invoice_lines", "billed_charges"]
    assert len(invoices_of(other)) == 5 and len(ledger_keys(other)) == 10


def test_approval_numbers_invoices_and_links_each_charge_to_its_own_line(other_owner):
    """Invoices are inserted in the plan's order with ascending ids and numbers; each ledger row points at the line
    that bills it (bulk inserts hand the ids back in the order of the rows)."""
    other = other_owner.practice_id
    books = make_service(other, "Monthly Bookkeeping", BillingMethod.MONTHLY, "250.00")
    payroll = make_service(other, "Payroll", BillingMethod.MONTHLY, "120.00")
    for n in range(4):
        client = make_client(other, f"Client {n}", f"CLI{n}")
        make_engagement(client, books, start=date(2026, 1, 1))
        make_engagement(client, payroll, start=date(2026, 1, 1))
    assert approve(other, NOV).outcome is Outcome.APPROVED
    invoices = sorted(invoices_of(other), key=lambda invoice: invoice.id)
    assert [i.number for i in invoices] == ["SKT-000001", "SKT-000002", "SKT-000003", "SKT-000004"]
    assert [i.client.code for i in invoices] == ["CLI0", "CLI1", "CLI2", "CLI3"]
    line_ids = [line.id for invoice in invoices for line in invoice.lines]
    assert line_ids == sorted(line_ids)
    for charge in db.session.execute(db.select(BilledCharge).filter_by(practice_id=other)).scalars():
        line = db.session.get(InvoiceLine, charge.invoice_line_id)
        assert line.invoice_id == charge.invoice_id
        assert line.service_id == db.session.get(Engagement, charge.engagement_id).service_id
        assert charge.created_at is not None


def test_an_approved_month_takes_the_same_number_of_queries_for_more_invoices(practice, count_statements):
    approve(practice, OCT)
    approve(practice, NOV)
    with count_statements() as few:
        build_plan(practice, NOV)
    books = make_service(practice, "Books", BillingMethod.MONTHLY)
    formation = make_service(practice, "Formation", BillingMethod.ONCE)
    for n in range(6):
        client = make_client(practice, f"More {n}", f"MOR{n}")
        make_engagement(client, books, start=date(2026, 11, 1))
        make_completion(make_engagement(client, formation, start=date(2026, 11, 1)), date(2026, 11, 2))
    approve(practice, DEC)
    assert len(build_plan(practice, DEC).rows) == 7
    with count_statements() as more:
        build_plan(practice, DEC)
    assert len(more) == len(few)


def test_invoice_list_orders_numbers_by_length_then_value(auth_client, practice):
    approve(practice, NOV)
    invoice = invoices_of(practice)[0]
    other = Invoice(practice_id=practice, client_id=invoice.client_id, number="SKT-1000000", issue_date=NOV,
                    due_date=NOV, period=NOV)
    invoice.number = "SKT-999999"
    db.session.add(other)
    db.session.commit()
    body = auth_client.get("/billing/invoices").get_data(as_text=True)
    assert body.index("SKT-1000000") < body.index("SKT-999999")


# --- the migration --------------------------------------------------------------------------------

BEFORE, LEDGER = "cd5a8dc30b32", "9c74bcb6e285"


def test_migration_moves_completed_on_into_completions_and_back(scratch_database):
    from flask_migrate import downgrade, upgrade

    from webapp import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": scratch_database})
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO practices (id, name, time_zone, primary_crm, created_at) "
                                 "VALUES (1, 'P', 'Europe/London', 'socket', '2026-01-01 00:00:00+00')"))
            conn.execute(sa.text("INSERT INTO clients (id, practice_id, name, code, status, created_at, updated_at) "
                                 "VALUES (1, 1, 'C', 'C01', 'active', '2026-01-01 00:00:00+00', "
                                 "'2026-01-01 00:00:00+00')"))
            conn.execute(sa.text("INSERT INTO pricing_menus (id, practice_id, name, is_active, created_at) "
                                 "VALUES (1, 1, 'M', true, '2026-01-01 00:00:00+00')"))
            conn.execute(sa.text("INSERT INTO services (id, practice_id, pricing_menu_id, name, description, "
                                 "billing_method, price, position) VALUES (1, 1, 1, 'S', '', 'once', 150, 0)"))
            for engagement_id, completed in ((1, "'2026-10-20'"), (2, "NULL")):
                conn.execute(sa.text(
                    "INSERT INTO engagements (id, practice_id, client_id, service_id, price, start_date, "
                    f"completed_on, created_at) VALUES ({engagement_id}, 1, 1, 1, 150, '2026-10-01', {completed}, "
                    "'2026-10-01 00:00:00+00')"))
        upgrade(revision=LEDGER)
        with db.engine.connect() as conn:
            moved = conn.execute(sa.text(
                "SELECT practice_id, engagement_id, completed_on, created_by_id FROM engagement_completions"
            )).all()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("engagements")}
        assert [(p, e, str(d), u) for p, e, d, u in moved] == [(1, 1, "2026-10-20", None)]
        assert "completed_on" not in columns

        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            back = conn.execute(sa.text("SELECT id, completed_on FROM engagements ORDER BY id")).all()
            tables = set(sa.inspect(conn).get_table_names())
        assert [(i, str(d) if d else None) for i, d in back] == [(1, "2026-10-20"), (2, None)]
        assert not {"engagement_completions", "billed_charges"} & tables
        db.session.remove()
        db.engine.dispose()


SCOPE = "4f62bdfdcc3c"


def test_scope_migration_adds_the_table_and_leaves_existing_runs_without_a_scope(scratch_database):
    from flask_migrate import downgrade, upgrade

    from webapp import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": scratch_database})
    with app.app_context():
        upgrade(revision="4f1d2a7c9e10")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO practices (id, name, time_zone, primary_crm, created_at) "
                                 "VALUES (1, 'P', 'Europe/London', 'socket', '2026-01-01 00:00:00+00')"))
            conn.execute(sa.text("INSERT INTO billing_runs (id, practice_id, period, approved_at) "
                                 "VALUES (1, 1, '2026-10-01', '2026-10-02 00:00:00+00')"))
        upgrade(revision=SCOPE)
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM billing_run_clients")).scalar() == 0
            columns = {c["name"] for c in sa.inspect(conn).get_columns("billing_run_clients")}
        assert columns == {"billing_run_id", "client_id"}
        downgrade(revision="4f1d2a7c9e10")
        with db.engine.connect() as conn:
            assert "billing_run_clients" not in sa.inspect(conn).get_table_names()
        db.session.remove()
        db.engine.dispose()


# --- the invoice list, a page at a time ------------------------------------------------------------

def _raise_invoices_by_hand(practice_id, client_id, period, numbers):
    for number in numbers:
        invoice = Invoice(practice_id=practice_id, client_id=client_id, number=f"SKT-{number:06d}",
                          issue_date=period, due_date=period, period=period)
        invoice.lines = [InvoiceLine(description="Work", quantity=Decimal("1"), unit_amount=Decimal("10.00"))]
        db.session.add(invoice)
    db.session.commit()


def test_invoice_list_is_paged_newest_month_first(auth_client, practice):
    steady = db.session.execute(db.select(Client).filter_by(code="STE01")).scalar_one()
    _raise_invoices_by_hand(practice, steady.id, NOV, range(1, 31))   # November's: SKT-000001..30
    _raise_invoices_by_hand(practice, steady.id, DEC, range(31, 56))  # December's: SKT-000031..55
    first = auth_client.get("/billing/invoices").get_data(as_text=True)
    numbers = re.findall(r">(SKT-\d+)</a>", first)
    assert len(numbers) == 50 and numbers[0] == "SKT-000055" and numbers[24:26] == ["SKT-000031", "SKT-000030"]
    assert "Page 1 of 2 (55 invoices)" in first
    assert 'href="/billing/invoices?page=2" hx-get="/billing/invoices?page=2"' in first
    second = auth_client.get("/billing/invoices?page=2", headers=HTMX)
    body = second.get_data(as_text=True)
    assert body.strip().startswith('<section id="invoice-list">')  # the fragment alone for htmx
    assert re.findall(r">(SKT-\d+)</a>", body) == [f"SKT-{n:06d}" for n in range(5, 0, -1)]
    assert 'rel="prev"' in body and 'rel="next"' not in body


def test_invoice_list_paging_keeps_the_month_and_clamps_bad_pages(auth_client, practice):
    steady = db.session.execute(db.select(Client).filter_by(code="STE01")).scalar_one()
    _raise_invoices_by_hand(practice, steady.id, NOV, range(1, 53))
    _raise_invoices_by_hand(practice, steady.id, DEC, range(53, 56))
    november = auth_client.get("/billing/invoices?month=2026-11").get_data(as_text=True)
    assert "Page 1 of 2 (52 invoices)" in november and "SKT-000053" not in november
    assert 'href="/billing/invoices?month=2026-11&amp;page=2"' in november
    for page in ("99", "0", "x"):
        body = auth_client.get(f"/billing/invoices?month=2026-11&page={page}").get_data(as_text=True)
        assert ("Page 2 of 2" if page == "99" else "Page 1 of 2") in body
    december = auth_client.get("/billing/invoices?month=2026-12").get_data(as_text=True)
    assert "Page 1 of" not in december and len(re.findall(r">(SKT-\d+)</a>", december)) == 3
