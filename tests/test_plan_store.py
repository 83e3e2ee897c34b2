"""The stored Billing Plan always equals a full rebuild: after every kind of change, every month, every field.

Each case warms the stored plan of October, November and December, makes one change through the code a person's
action runs, and then compares what the page reads (plan_store + plan_page, every page of it) with
billing.plan.build_plan computed from scratch. A change the flush listener failed to see shows up here as a
stored row that no longer matches.
"""
import threading
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.factories import (
    make_account,
    make_client,
    make_connection,
    make_engagement,
    make_service,
    make_theme,
)
from tests.helpers import require_postgresql
from webapp.extensions import db
from webapp.models import BillingMethod, Engagement, Invoice, XeroTaxRate
from webapp.models.billing_plan import BillingPlanRow, BillingPlanState
from webapp.services import clients as client_service
from webapp.services import pricing as pricing_service
from webapp.services.billing import completions
from webapp.services.billing.approval import Outcome, approve_plan
from webapp.services.billing.dates import InvoiceDating
from webapp.services.billing.plan import build_plan
from webapp.services.billing.plan_page import PlanQuery, plan_page
from webapp.services.billing.plan_store import ensure_stored
from webapp.services.billing.settings import get_billing_settings, save_one_setting

OCT, NOV, DEC = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
TODAY = date(2026, 11, 20)  # November's invoice day (the 1st) has passed: previews are dated today
MONTHS = (OCT, NOV, DEC)


@pytest.fixture
def book(owner):
    """A practice with every cadence, a catch-up, Xero reference data and some history."""
    pid = owner.practice_id
    make_connection(pid)
    make_account(pid, "200", "Sales", tax_type="OUTPUT2")
    make_theme(pid, "t-standard", "Standard", sort_order=0)
    db.session.add(XeroTaxRate(practice_id=pid, tax_type="OUTPUT2", name="20% (VAT on Income)", status="ACTIVE",
                               effective_rate="20.0000"))
    db.session.commit()
    settings = get_billing_settings(pid)
    settings.recurring_account_code = settings.one_off_account_code = "200"  # so previews know their VAT
    db.session.commit()
    s = {
        "books": make_service(pid, "Monthly Bookkeeping", BillingMethod.MONTHLY, "250.00", position=0),
        "payroll": make_service(pid, "Payroll", BillingMethod.MONTHLY, "120.00", account_code="200", position=1),
        "vat": make_service(pid, "VAT Returns", BillingMethod.QUARTERLY_ADVANCE, "300.00", position=2),
        "accounts": make_service(pid, "Annual Accounts", BillingMethod.ANNUAL_COMPLETION, "1200.00", position=3),
        "formation": make_service(pid, "Company Formation", BillingMethod.ONCE, "150.00", position=4),
    }
    clients = {}
    for index, (name, code) in enumerate([("Steady Ltd", "STE01"), ("Grower Ltd", "GRO01"),
                                          ("Shrinker Ltd", "SHR01"), ("Finisher Ltd", "FIN01"),
                                          ("Quarterly Ltd", "QUA01"), ("Zed & Co", "ZED01")]):
        clients[code] = make_client(pid, name, code, email=f"c{index}@example.com")
    make_engagement(clients["STE01"], s["books"])
    make_engagement(clients["GRO01"], s["books"])
    make_engagement(clients["GRO01"], s["vat"], start=date(2026, 11, 10))
    make_engagement(clients["SHR01"], s["books"])
    make_engagement(clients["SHR01"], s["payroll"], end=date(2026, 10, 31))
    make_engagement(clients["FIN01"], s["accounts"], completed_on=date(2026, 10, 5))
    make_engagement(clients["QUA01"], s["vat"], start=date(2026, 7, 1))
    make_engagement(clients["ZED01"], s["formation"], start=date(2026, 9, 1))
    # Its quarterly fee fell due in September, before Socket's first approved month: the plan notes it.
    make_engagement(make_client(pid, "Early Quarter Ltd", "EQU01"), s["vat"], start=date(2026, 9, 1))
    make_engagement(make_client(pid, "Archived Ltd", "ARC01", status="archived"), s["books"])
    # October is approved: November's "last month" is what it invoiced, and a later back-dated charge is caught up.
    result = approve_plan(pid, OCT, owner.id, fingerprint=build_plan(pid, OCT, today=TODAY).fingerprint,
                          dating=InvoiceDating.INVOICE_DAY)
    assert result.outcome is Outcome.APPROVED
    return {"pid": pid, "owner": owner, "services": s, "clients": clients}


def stored_plan(pid: int, period: date):
    """Every page of the stored plan, as the page reads it."""
    first = plan_page(pid, period, PlanQuery(), today=TODAY, dating=InvoiceDating.TODAY)
    pages = [first] + [plan_page(pid, period, PlanQuery(page=number), today=TODAY, dating=InvoiceDating.TODAY)
                       for number in range(2, first.pages + 1)]
    return first, [row for page in pages for row in page.rows], [row for page in pages for row in page.ended]


def row_facts(row):
    preview = row.preview
    return {
        "client": row.client.id, "amount": row.amount, "last": row.last_amount, "change": row.change,
        "details": tuple(row.details), "notes": tuple(row.notes), "items": tuple(row.items),
        "invoice": row.invoice.id if row.invoice else None,
        "preview": None if preview is None else (
            preview.issue_date, preview.due_date, preview.branding_theme_id, preview.template_name,
            tuple(preview.lines), preview.tax.net, preview.tax.vat,
            tuple((t.tax_type, t.vat) for t in preview.tax.lines), preview.invoice_day_date,
            preview.invoice_day_due_date, preview.own_terms),
    }


def assert_stored_equals_rebuild(pid: int, period: date) -> None:
    ensure_stored(pid, period)  # so what is compared is read back from the database, not what was just built
    db.session.expire_all()
    page, rows, ended = stored_plan(pid, period)
    full = build_plan(pid, period, today=TODAY, dating=InvoiceDating.TODAY)
    assert [row_facts(row) for row in rows] == [row_facts(row) for row in full.rows], period
    assert [row_facts(row) for row in ended] == [row_facts(row) for row in full.ended], period
    assert page.fingerprint == full.fingerprint
    assert page.totals == full.totals
    assert (page.invoice_count, page.catch_up_count, page.is_empty) == (
        full.invoice_count, full.catch_up_count, full.is_empty)
    assert list(page.awaiting_periods) == full.awaiting_periods
    assert list(page.before_socket) == full.before_socket
    assert [(late.client.id, late.items) for late in page.late] == [(late.client.id, late.items) for late in full.late]
    assert page.next_open_period == full.next_open_period
    assert page.dates == full.dates


def warm(pid: int) -> None:
    for period in MONTHS:
        ensure_stored(pid, period)


def _engagement(book, code, service):
    client = book["clients"][code]
    return db.session.execute(db.select(Engagement).filter_by(client_id=client.id,
                                                              service_id=book["services"][service].id)).scalar_one()


# Each change as a person makes it (the service function their form or button calls).
def add_engagement(book):
    client_service.save_engagement(book["clients"]["STE01"], book["services"]["payroll"], None, date(2026, 9, 1))


def reprice_engagement(book):
    engagement = _engagement(book, "STE01", "books")
    client_service.save_engagement(engagement.client, engagement.service, Decimal("275.00"), engagement.start_date,
                                   engagement=engagement)


def end_engagement(book):
    client_service.end_engagement(_engagement(book, "GRO01", "books"), date(2026, 11, 30))


def complete_engagement(book):
    engagement = make_engagement(book["clients"]["STE01"], book["services"]["accounts"], start=date(2026, 1, 1))
    completions.mark_complete(engagement, date(2026, 11, 3), TODAY, book["owner"].id)


def undo_completion(book):
    engagement = make_engagement(book["clients"]["STE01"], book["services"]["accounts"], start=date(2026, 1, 1))
    completion = completions.mark_complete(engagement, date(2026, 11, 3), TODAY, book["owner"].id)
    warm(book["pid"])
    completions.undo_completion(completion)


def archive_client(book):
    client_service.set_archived(book["clients"]["SHR01"], True)


def unarchive_client(book):
    client = book["clients"]["SHR01"]
    client_service.set_archived(client, True)
    warm(book["pid"])
    client_service.set_archived(client, False)


def new_client(book):
    client = client_service.create_client(book["pid"], {"name": "Late Joiner Ltd", "code": "LAT01"})
    client_service.save_engagement(client, book["services"]["books"], None, date(2026, 10, 15))


def client_own_terms(book):
    client = book["clients"]["GRO01"]
    client.invoice_day, client.payment_terms_days = 25, 7
    db.session.commit()


def rename_client(book):
    client_service.update_client(book["clients"]["ZED01"], {"name": "Aardvark & Co", "code": "ZED01"})


def recode_service(book):
    make_account(book["pid"], "210", "Payroll income", tax_type="OUTPUT2")
    pricing_service.set_service_account_code(book["services"]["books"], "210")


def change_billing_method(book):
    pricing_service.update_service(book["services"]["vat"], {"billing_method": BillingMethod.MONTHLY.value})


def change_settings(book):
    save_one_setting(book["pid"], "consolidate_recurring", "consolidated")


def change_invoice_day(book):
    save_one_setting(book["pid"], "invoice_day", 25)


def approve_november(book):
    pid = book["pid"]
    result = approve_plan(pid, NOV, book["owner"].id, fingerprint=build_plan(pid, NOV, today=TODAY).fingerprint,
                          dating=InvoiceDating.INVOICE_DAY)
    assert result.outcome is Outcome.APPROVED


def post_invoice(book):
    invoice = db.session.execute(db.select(Invoice).filter_by(practice_id=book["pid"])).scalars().first()
    invoice.status, invoice.xero_invoice_id = "posted", "0b8e6c1c-0000-4000-8000-000000000001"
    db.session.commit()


def rename_theme(book):
    make_theme(book["pid"], "t-plain", "Plain", sort_order=-1)  # Xero's new default template


def change_tax_rate(book):
    rate = db.session.execute(db.select(XeroTaxRate).filter_by(practice_id=book["pid"])).scalar_one()
    rate.effective_rate = "17.5000"
    db.session.commit()


def disconnect_xero(book):
    from webapp.services.xero_connection import _forget_reference_data

    _forget_reference_data(book["pid"])
    db.session.commit()


def contact_details_only(book):
    client = book["clients"]["STE01"]
    client.email, client.phone = "new-address@example.com", "020 7946 0000"
    db.session.commit()


CHANGES = [add_engagement, reprice_engagement, end_engagement, complete_engagement, undo_completion, archive_client,
           unarchive_client, new_client, client_own_terms, rename_client, recode_service, change_billing_method,
           change_settings, change_invoice_day, approve_november, post_invoice, rename_theme, change_tax_rate,
           disconnect_xero, contact_details_only]


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.__name__)
def test_the_stored_plan_equals_a_full_rebuild_after_each_kind_of_change(book, change):
    pid = book["pid"]
    warm(pid)
    for period in MONTHS:
        assert_stored_equals_rebuild(pid, period)
    change(book)
    for period in MONTHS:
        assert_stored_equals_rebuild(pid, period)


def test_a_change_to_one_client_rebuilds_only_that_clients_rows(book):
    pid = book["pid"]
    warm(pid)
    before = dict(db.session.execute(db.select(BillingPlanRow.client_id, BillingPlanRow.built_at)
                                     .filter_by(practice_id=pid, period=NOV)).all())
    changed = book["clients"]["STE01"].id
    reprice_engagement(book)
    assert db.session.execute(db.select(BillingPlanRow).filter_by(practice_id=pid, client_id=changed)).first() is None
    ensure_stored(pid, NOV)
    after = dict(db.session.execute(db.select(BillingPlanRow.client_id, BillingPlanRow.built_at)
                                    .filter_by(practice_id=pid, period=NOV)).all())
    assert after.keys() == before.keys()
    assert [client_id for client_id in after if after[client_id] != before[client_id]] == [changed]


@pytest.mark.parametrize("change", [contact_details_only, post_invoice], ids=lambda change: change.__name__)
def test_changes_the_plan_does_not_read_leave_it_stored(book, change):
    pid = book["pid"]
    warm(pid)
    change(book)
    states = db.session.execute(db.select(BillingPlanState.period).filter_by(practice_id=pid)).scalars().all()
    assert sorted(states) == list(MONTHS)


def test_a_practice_wide_change_marks_every_month_of_that_practice_only(book, other_owner):
    pid, other = book["pid"], other_owner.practice_id
    make_engagement(make_client(other, "Rival Client Ltd", "RIV01"), make_service(other, "Books"))
    warm(pid)
    ensure_stored(other, NOV)
    change_settings(book)
    assert db.session.execute(db.select(BillingPlanRow).filter_by(practice_id=pid)).first() is None
    assert db.session.execute(db.select(BillingPlanState).filter_by(practice_id=other)).first() is not None


def test_the_stored_plan_is_built_on_first_view_at_the_current_time(book):
    """Rows store invoice-day dates: the page dates a preview today only once its invoice day has passed."""
    pid = book["pid"]
    client_own_terms(book)  # Grower's own invoice day: the 25th, after TODAY
    page = plan_page(pid, NOV, PlanQuery(search="Grower"), today=TODAY, dating=InvoiceDating.TODAY)
    assert page.rows[0].preview.issue_date == date(2026, 11, 25)
    later = plan_page(pid, NOV, PlanQuery(search="Grower"), today=date(2026, 11, 27), dating=InvoiceDating.TODAY)
    assert later.rows[0].preview.issue_date == date(2026, 11, 27)
    assert later.rows[0].preview.due_date == date(2026, 12, 4)
    assert later.dates.passed == page.dates.passed + 1


def test_approving_after_a_change_refuses_a_fingerprint_from_before_it(book):
    """The approve form carries the stored plan's fingerprint: a change since the page was shown refuses."""
    pid = book["pid"]
    shown = plan_page(pid, NOV, PlanQuery(), today=TODAY).fingerprint
    assert shown == build_plan(pid, NOV, today=TODAY).fingerprint
    reprice_engagement(book)
    result = approve_plan(pid, NOV, book["owner"].id, fingerprint=shown, dating=InvoiceDating.INVOICE_DAY,
                          now=datetime(2026, 11, 20, 12, tzinfo=UTC))
    assert result.outcome is Outcome.PLAN_CHANGED
    fresh = plan_page(pid, NOV, PlanQuery(), today=TODAY).fingerprint
    assert fresh != shown
    assert approve_plan(pid, NOV, book["owner"].id, fingerprint=fresh, dating=InvoiceDating.INVOICE_DAY,
                        now=datetime(2026, 11, 20, 12, tzinfo=UTC)).outcome is Outcome.APPROVED



def test_a_change_committed_while_a_rebuild_runs_is_not_lost(app, book, monkeypatch):
    """The rebuild holds the practice's plan lock: a change waits for it, then marks what it stored stale —
    instead of committing first and having the rebuild store rows from before it."""
    require_postgresql("row locks (SQLite runs one writer at a time)")
    pid = book["pid"]
    from webapp.services.billing import plan_store

    building, release = threading.Event(), threading.Event()
    real_build = plan_store.build_client_outcomes

    def slow_build(*args, **kwargs):
        outcome = real_build(*args, **kwargs)
        building.set()
        release.wait(10)  # the change starts while this rebuild has read everything and not yet written
        return outcome

    monkeypatch.setattr(plan_store, "build_client_outcomes", slow_build)
    engagement_id = _engagement(book, "STE01", "books").id
    errors = []

    def rebuild():
        with app.app_context():
            try:
                ensure_stored(pid, NOV)
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)

    def change():
        with app.app_context():
            try:
                engagement = db.session.get(Engagement, engagement_id)
                client_service.save_engagement(engagement.client, engagement.service, Decimal("999.00"),
                                               engagement.start_date, engagement=engagement)
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)

    rebuilder = threading.Thread(target=rebuild)
    rebuilder.start()
    assert building.wait(10)
    changer = threading.Thread(target=change)
    changer.start()
    time.sleep(0.3)  # the change is now waiting for the rebuild's lock
    release.set()
    rebuilder.join(10)
    changer.join(10)
    assert not errors
    monkeypatch.setattr(plan_store, "build_client_outcomes", real_build)
    assert_stored_equals_rebuild(pid, NOV)
    steady = plan_page(pid, NOV, PlanQuery(search="STE01"), today=TODAY).rows[0]
    assert steady.amount == Decimal("999.00")


def test_the_book_exercises_every_plan_wide_note(book):
    """The equivalence cases above compare late charges, months awaiting approval and before-Socket notes: the book
    has each of them somewhere, or those comparisons would compare empty lists."""
    pid = book["pid"]
    add_engagement(book)  # a back-dated charge: October (approved) shows it as late
    plans = {period: build_plan(pid, period, today=TODAY) for period in MONTHS}
    assert plans[OCT].late and plans[DEC].awaiting_periods == [NOV]
    assert any("before Socket's first approved month" in note for note in plans[NOV].before_socket)
    warm(pid)
    for period in MONTHS:
        assert_stored_equals_rebuild(pid, period)



def test_the_flush_listener_does_not_check_rows_no_plan_reads(owner, monkeypatch):
    """A sync changes thousands of mirrored contacts, links and postings: the listener leaves them unchecked (their
    history scan cost seconds), and still sees a client's change."""
    from sqlalchemy.orm import Session

    from tests.factories import make_xero_contact

    pid = owner.practice_id
    contacts = [make_xero_contact(pid, f"Contact {n}") for n in range(3)]
    client = make_client(pid, "Abbott & Sons Ltd", code="ABB01")
    db.session.commit()
    checked: list[object] = []
    is_modified = Session.is_modified
    monkeypatch.setattr(Session, "is_modified", lambda self, obj, **kw: checked.append(obj) or is_modified(
        self, obj, **kw))
    for contact in contacts:
        contact.email = "new@example.com"
    client.name = "Abbott and Sons Ltd"
    db.session.flush()
    assert checked == [client]
    db.session.rollback()


def test_a_change_counts_only_for_a_column_that_was_set_to_another_value(owner):
    """plan_staleness._changed reads only the attributes set since the row was loaded (committed_state)."""
    from webapp.services.billing import plan_staleness

    client = make_client(owner.practice_id, "Abbott & Sons Ltd", code="ABB01")
    db.session.commit()
    db.session.refresh(client)
    client.email = "new@example.com"  # not a column the plan reads
    client.name = "Abbott & Sons Ltd"  # set, to the same value
    assert not plan_staleness._changed(client, plan_staleness.CLIENT_COLUMNS)
    client.code = "ABB02"
    assert plan_staleness._changed(client, plan_staleness.CLIENT_COLUMNS)
    assert not plan_staleness._changed(client, ignored=frozenset({"code", "email", "name", "updated_at"}))
    db.session.rollback()
