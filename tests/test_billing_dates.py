"""Dates a person would accept: the Billing Plan shows the invoice and due dates before approving; when an invoice
day has already passed (in the practice's time zone) approving asks whether to date the invoices on it or today
(today by default); a client's own invoice day and payment terms win over the practice's everywhere."""
import re
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from tests.factories import make_client, make_engagement, make_service
from tests.helpers import HTMX, approve_form, invoices_of, login
from webapp import clock
from webapp.extensions import db
from webapp.models import BillingRun, BillingSettings, Client, Practice
from webapp.services.billing.approval import Outcome, approve_plan
from webapp.services.billing.dates import InvoiceDating
from webapp.services.billing.plan import build_plan

NOV = date(2026, 11, 1)
PLAN = "/billing/plan?month=2026-11"
APPROVE = "/billing/plan/approve"


@pytest.fixture
def now_is(monkeypatch):
    """Set the practice's clock (webapp.clock): now_is(datetime(..., tzinfo=UTC))."""

    def set_now(instant: datetime):
        class FakeDateTime(datetime):
            @classmethod
            def now(cls, tz=None):
                return instant.astimezone(tz)

        monkeypatch.setattr(clock, "datetime", FakeDateTime)

    return set_now


@pytest.fixture
def book(owner):
    """Three monthly clients: one on the practice's dates (1st, 14 days), one with its own invoice day (25th) and
    terms (30 days), one with its own terms only (0 days: due on the day)."""
    pid = owner.practice_id
    books = make_service(pid, "Monthly Bookkeeping")
    make_engagement(make_client(pid, "Abbott Ltd", "ABB01"), books)
    make_engagement(make_client(pid, "Late Ltd", "LAT01", invoice_day=25, payment_terms_days=30), books)
    make_engagement(make_client(pid, "Prompt Ltd", "PRO01", payment_terms_days=0), books)
    return pid


def dates_by_code(plan):
    return {row.client.code: (row.preview.issue_date, row.preview.due_date) for row in plan.rows}


def stored_dates(practice_id):
    return {invoice.client.code: (invoice.issue_date, invoice.due_date) for invoice in invoices_of(practice_id)}


def set_practice_dates(practice_id, day, terms):
    settings = db.session.get(BillingSettings, practice_id)
    settings.invoice_day, settings.payment_terms_days = day, terms
    db.session.commit()


# --- the plan's dates -------------------------------------------------------------------------------------

def test_each_client_gets_its_own_invoice_day_and_terms_else_the_practices(book):
    plan = build_plan(book, NOV, today=date(2026, 10, 31))
    assert dates_by_code(plan) == {
        "ABB01": (date(2026, 11, 1), date(2026, 11, 15)),
        "LAT01": (date(2026, 11, 25), date(2026, 12, 25)),
        "PRO01": (date(2026, 11, 1), date(2026, 11, 1)),
    }
    assert not plan.dates.ask and plan.dates.own_terms == 2


def test_dated_today_only_invoices_whose_day_has_passed_move(book):
    plan = build_plan(book, NOV, today=date(2026, 11, 20), dating=InvoiceDating.TODAY)
    assert dates_by_code(plan) == {
        "ABB01": (date(2026, 11, 20), date(2026, 12, 4)),
        "LAT01": (date(2026, 11, 25), date(2026, 12, 25)),  # its own day is still to come: kept
        "PRO01": (date(2026, 11, 20), date(2026, 11, 20)),
    }
    assert plan.dates.ask and plan.dates.passed == 2
    on_the_day = build_plan(book, NOV, today=date(2026, 11, 20), dating=InvoiceDating.INVOICE_DAY)
    assert dates_by_code(on_the_day)["ABB01"] == (date(2026, 11, 1), date(2026, 11, 15))


def test_the_fingerprint_is_the_same_whichever_date_is_chosen_but_not_when_the_terms_change(book):
    seen = build_plan(book, NOV, today=date(2026, 11, 20), dating=InvoiceDating.TODAY).fingerprint
    assert build_plan(book, NOV, today=date(2026, 11, 21), dating=InvoiceDating.INVOICE_DAY).fingerprint == seen
    db.session.execute(sa.update(Client).filter_by(code="ABB01").values(payment_terms_days=7))
    db.session.commit()
    assert build_plan(book, NOV, today=date(2026, 11, 20), dating=InvoiceDating.TODAY).fingerprint != seen


def test_a_month_whose_days_are_all_to_come_does_not_ask(book):
    set_practice_dates(book, 15, 14)
    db.session.execute(sa.update(Client).values(invoice_day=None))
    db.session.commit()
    plan = build_plan(book, NOV, today=date(2026, 11, 15))  # the 15th itself has not passed
    assert not plan.dates.ask
    assert (plan.dates.invoice_day, plan.dates.due_date) == (date(2026, 11, 15), date(2026, 11, 29))


def test_one_clients_own_day_having_passed_is_enough_to_ask(book):
    set_practice_dates(book, 28, 14)
    db.session.execute(sa.update(Client).filter_by(code="LAT01").values(invoice_day=2))
    db.session.commit()
    plan = build_plan(book, NOV, today=date(2026, 11, 10))
    assert plan.dates.ask and not plan.dates.practice_day_passed and plan.dates.passed == 1


# --- approving --------------------------------------------------------------------------------------------

def test_approving_dated_today_stores_todays_dates(book, owner):
    result = approve_plan(book, NOV, owner.id, now=datetime(2026, 11, 30, 12, tzinfo=UTC), dating=InvoiceDating.TODAY)
    assert result.outcome is Outcome.APPROVED
    assert stored_dates(book) == {
        "ABB01": (date(2026, 11, 30), date(2026, 12, 14)),
        "LAT01": (date(2026, 11, 30), date(2026, 12, 30)),
        "PRO01": (date(2026, 11, 30), date(2026, 11, 30)),
    }


def test_approving_on_the_invoice_day_keeps_the_past_dates(book, owner):
    approve_plan(book, NOV, owner.id, now=datetime(2026, 11, 30, 12, tzinfo=UTC), dating=InvoiceDating.INVOICE_DAY)
    assert stored_dates(book)["ABB01"] == (date(2026, 11, 1), date(2026, 11, 15))


def test_an_approver_not_asked_raises_nothing_when_a_day_has_passed(book, owner):
    result = approve_plan(book, NOV, owner.id, now=datetime(2026, 11, 30, 12, tzinfo=UTC), dating=None)
    assert result.outcome is Outcome.DATE_NEEDED
    assert invoices_of(book) == [] and db.session.execute(sa.select(sa.func.count(BillingRun.id))).scalar() == 0
    early = approve_plan(book, NOV, owner.id, now=datetime(2026, 11, 1, 9, tzinfo=UTC), dating=None)
    assert early.outcome is Outcome.APPROVED  # nothing had passed: nothing to ask


def test_today_is_the_practices_today(book, owner, now_is):
    db.session.get(Practice, book).time_zone = "Pacific/Kiritimati"  # UTC+14
    set_practice_dates(book, 15, 14)
    db.session.execute(sa.update(Client).values(invoice_day=None))
    db.session.commit()
    now_is(datetime(2026, 11, 15, 12, tzinfo=UTC))  # the 15th in London, already the 16th in Kiritimati
    result = approve_plan(book, NOV, owner.id, dating=InvoiceDating.TODAY)
    assert result.outcome is Outcome.APPROVED
    assert stored_dates(book)["ABB01"] == (date(2026, 11, 16), date(2026, 11, 30))


# --- the Billing Plan page --------------------------------------------------------------------------------

def preview_of(client, code: str) -> str:
    """The November plan's invoice preview of the client with `code` (what its row's "Preview" opens)."""
    client_id = db.session.execute(sa.select(Client.id).filter_by(code=code)).scalar_one()
    response = client.get(f"/billing/plan/clients/{client_id}/preview?month=2026-11", headers=HTMX)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_plan_shows_the_dates_before_approving(auth_client, book, now_is):
    set_practice_dates(book, 20, 14)
    now_is(datetime(2026, 11, 10, 12, tzinfo=UTC))
    body = auth_client.get(PLAN).get_data(as_text=True)
    assert "Invoices are dated 20 November 2026 and due 4 December 2026." in body
    assert "2 clients have their own invoice day or payment terms: see their previews." in body
    assert 'name="invoice_date"' not in body  # nothing has passed: nothing to choose
    abbott = preview_of(auth_client, "ABB01")
    assert "<dt>Invoice date</dt><dd>20 November 2026</dd>" in abbott and "<dd>4 December 2026</dd>" in abbott


def test_when_the_invoice_day_has_passed_approve_offers_it_or_today_today_by_default(auth_client, book, now_is):
    now_is(datetime(2026, 11, 30, 12, tzinfo=UTC))
    body = auth_client.get(PLAN).get_data(as_text=True)
    form = body[body.index('id="approve-plan"'):body.index("</form>", body.index('id="approve-plan"'))]
    day = re.search(r'<input[^>]*value="invoice_day"[^>]*>', form).group(0)
    today = re.search(r'<input[^>]*value="today"[^>]*>', form).group(0)
    assert "checked" in today and "checked" not in day
    assert "Date them 1 November 2026, due 15 November 2026" in form
    assert "Date them today (30 November 2026), due 14 December 2026" in form
    assert "The invoice day, 1 November 2026, has already passed." in form
    # Each preview is dated as approving by default will date it, and says what the invoice day would give.
    abbott = preview_of(auth_client, "ABB01")
    assert "30 November 2026 <small class=\"muted\">(today; 1 November 2026 if dated on its invoice day)" in abbott


@pytest.mark.parametrize("choice, abbott", [("today", (date(2026, 11, 30), date(2026, 12, 14))),
                                            ("invoice_day", (date(2026, 11, 1), date(2026, 11, 15)))])
def test_approving_from_the_page_uses_the_choice(auth_client, book, now_is, choice, abbott):
    now_is(datetime(2026, 11, 30, 12, tzinfo=UTC))
    response = auth_client.post(APPROVE, data=approve_form(book, invoice_date=choice))
    assert response.status_code == 303
    assert stored_dates(book)["ABB01"] == abbott


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["browser", "htmx"])
@pytest.mark.parametrize("posted", [None, "yesterday", ""], ids=["missing", "bad", "empty"])
def test_a_missing_or_bad_date_choice_is_refused_beside_the_control(auth_client, book, now_is, headers, posted):
    now_is(datetime(2026, 11, 30, 12, tzinfo=UTC))
    data = approve_form(book)
    if posted is None:
        del data["invoice_date"]
    else:
        data["invoice_date"] = posted
    response = auth_client.post(APPROVE, data=data, headers=headers)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ('<small id="invoice_date-error" class="field-error" role="alert">Choose the date for these invoices: '
            "their invoice day, or today.</small>") in body
    assert "No invoices were raised." in body
    assert invoices_of(book) == []


def test_staff_see_the_dates_but_no_choice(client, book, now_is):
    from tests.factories import make_user

    now_is(datetime(2026, 11, 30, 12, tzinfo=UTC))
    login(client, make_user(book))
    body = " ".join(client.get(PLAN).get_data(as_text=True).split())
    assert ("Invoices are dated 1 November 2026 and due 15 November 2026, or today (30 November 2026) and due "
            "14 December 2026: approving asks which.") in body
    assert 'name="invoice_date"' not in body
