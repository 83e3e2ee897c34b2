"""Marking one-off and on-completion engagements complete: dates, once per period, undo, and billing."""
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.factories import make_client, make_engagement, make_service
from tests.helpers import HTMX, invoices_of, plan_descriptions, require_postgresql
from webapp import clock
from webapp.clock import local_today
from webapp.extensions import db
from webapp.models import BillingMethod, EngagementCompletion, Practice
from webapp.services import clients as client_service
from webapp.services.billing import completions as engagement_service
from webapp.services.billing.approval import approve_plan
from webapp.services.billing.plan import build_plan


def completions():
    db.session.expire_all()
    return db.session.execute(
        sa.select(EngagementCompletion).order_by(EngagementCompletion.completed_on)).scalars().all()


@pytest.fixture
def work(owner):
    """A client with one-off, quarterly-on-completion, annual-on-completion and monthly engagements."""
    pid = owner.practice_id
    client = make_client(pid, "Busy Ltd", "BUS01")
    services = {
        "once": make_service(pid, "Company Formation", BillingMethod.ONCE, "150.00"),
        "quarterly": make_service(pid, "Management Accounts", BillingMethod.QUARTERLY_COMPLETION, "450.00"),
        "annual": make_service(pid, "Annual Accounts", BillingMethod.ANNUAL_COMPLETION, "1200.00"),
        "monthly": make_service(pid, "Bookkeeping", BillingMethod.MONTHLY, "250.00"),
    }
    starts = {"once": date(2026, 1, 1), "quarterly": date(2026, 1, 15), "annual": date(2025, 4, 1),
              "monthly": date(2026, 1, 1)}
    engagements = {name: make_engagement(client, service, start=starts[name]) for name, service in services.items()}
    return {"client": client, **engagements}


def complete_url(work, name):
    return f"/clients/{work['client'].id}/engagements/{work[name].id}/complete"


def test_mark_complete_records_the_date_and_who(auth_client, work, owner):
    response = auth_client.post(complete_url(work, "once"), data={"completed_on": "2026-10-20"}, headers=HTMX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.strip().startswith('<section id="engagements">')
    assert "Completed 20 Oct 2026" in body and ">Undo</button>" in body
    [completion] = completions()
    assert (completion.engagement_id, completion.completed_on, completion.created_by_id) == (
        work["once"].id, date(2026, 10, 20), owner.id)


def test_mark_complete_without_javascript_redirects_to_the_engagements(auth_client, work):
    response = auth_client.post(complete_url(work, "once"), data={"completed_on": "2026-10-20"})
    assert response.status_code == 303 and response.headers["Location"].endswith("#engagements")
    assert len(completions()) == 1


def test_only_completable_engagements_offer_mark_complete(auth_client, work):
    body = auth_client.get(f"/clients/{work['client'].id}").get_data(as_text=True)
    for name in ("once", "quarterly", "annual"):
        assert f'id="engagement-{work[name].id}-completions"' in body
    assert f'id="engagement-{work["monthly"].id}-completions"' not in body
    refused = auth_client.post(complete_url(work, "monthly"), data={"completed_on": "2026-10-20"}, headers=HTMX)
    assert refused.status_code == 422  # no form offers it; a crafted request records nothing
    assert completions() == []


def test_one_off_work_can_be_completed_once(auth_client, work):
    auth_client.post(complete_url(work, "once"), data={"completed_on": "2026-10-20"}, headers=HTMX)
    again = auth_client.post(complete_url(work, "once"), data={"completed_on": "2026-11-02"}, headers=HTMX)
    assert again.status_code == 422
    body = again.get_data(as_text=True)
    error = re.search(r'<small id="[^"]*-error" class="field-error" role="alert">(.*?)</small>', body).group(1)
    assert error == "This one-off work was already marked complete on 20 Oct 2026."
    assert 'value="2026-11-02"' in body  # the user's input is kept
    assert len(completions()) == 1


def test_quarterly_on_completion_once_per_quarter_since_the_start(auth_client, work):
    url = complete_url(work, "quarterly")  # quarters from January: Jan–Mar, Apr–Jun, Jul–Sep, Oct–Dec
    assert auth_client.post(url, data={"completed_on": "2026-07-10"}, headers=HTMX).status_code == 200
    same = auth_client.post(url, data={"completed_on": "2026-09-30"}, headers=HTMX)
    assert same.status_code == 422
    assert ("The quarter July 2026 – September 2026 was already marked complete on 10 Jul 2026; "
            "each quarter is billed once.") in same.get_data(as_text=True)
    assert auth_client.post(url, data={"completed_on": "2026-10-01"}, headers=HTMX).status_code == 200
    assert [c.completed_on for c in completions()] == [date(2026, 7, 10), date(2026, 10, 1)]


def test_annual_on_completion_once_per_year_since_the_start(auth_client, work):
    url = complete_url(work, "annual")  # years from April 2025
    assert auth_client.post(url, data={"completed_on": "2025-12-01"}, headers=HTMX).status_code == 200
    same = auth_client.post(url, data={"completed_on": "2026-03-31"}, headers=HTMX)
    assert same.status_code == 422 and "The year April 2025 – March 2026" in same.get_data(as_text=True)
    assert auth_client.post(url, data={"completed_on": "2026-04-01"}, headers=HTMX).status_code == 200
    assert [c.completed_on for c in completions()] == [date(2025, 12, 1), date(2026, 4, 1)]


def test_a_completion_date_in_the_future_is_refused(auth_client, work, owner):
    tomorrow = local_today(owner.practice.time_zone) + timedelta(days=1)
    response = auth_client.post(complete_url(work, "once"), data={"completed_on": tomorrow.isoformat()},
                                headers=HTMX)
    assert response.status_code == 422
    assert "The completion date cannot be in the future." in response.get_data(as_text=True)
    assert completions() == []


@pytest.mark.parametrize("value, message", [
    ("", "Enter the date the work was completed."),
    ("20/10/2026", "Not a valid date value."),
    ("2025-12-31", "The completion date cannot be before the start date (1 Jan 2026)."),
])
def test_bad_completion_dates_are_refused_beside_the_field(auth_client, work, value, message):
    response = auth_client.post(complete_url(work, "once"), data={"completed_on": value}, headers=HTMX)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert completions() == []


def test_undo_removes_a_completion_not_yet_invoiced(auth_client, work):
    auth_client.post(complete_url(work, "once"), data={"completed_on": "2026-10-20"}, headers=HTMX)
    [completion] = completions()
    url = f"/clients/{work['client'].id}/engagements/{work['once'].id}/completions/{completion.id}/undo"
    response = auth_client.post(url, headers=HTMX)
    assert response.status_code == 200 and "Completed 20 Oct 2026" not in response.get_data(as_text=True)
    assert completions() == []
    # Undone, it can be completed again.
    assert auth_client.post(complete_url(work, "once"), data={"completed_on": "2026-10-21"},
                            headers=HTMX).status_code == 200


def test_an_invoiced_completion_cannot_be_undone(auth_client, work, owner):
    auth_client.post(complete_url(work, "once"), data={"completed_on": "2026-10-20"}, headers=HTMX)
    approve_plan(owner.practice_id, date(2026, 10, 1), owner.id)
    [completion] = completions()
    number = invoices_of(owner.practice_id)[0].number
    page = auth_client.get(f"/clients/{work['client'].id}").get_data(as_text=True)
    assert f"invoiced on {number}" in page
    url = f"/clients/{work['client'].id}/engagements/{work['once'].id}/completions/{completion.id}/undo"
    response = auth_client.post(url, headers=HTMX)
    assert response.status_code == 409
    assert f"Already invoiced on {number}, so it cannot be undone." in response.get_data(as_text=True)
    assert len(completions()) == 1


def test_undo_of_another_engagements_completion_is_404(auth_client, work):
    auth_client.post(complete_url(work, "once"), data={"completed_on": "2026-10-20"}, headers=HTMX)
    [completion] = completions()
    url = f"/clients/{work['client'].id}/engagements/{work['annual'].id}/completions/{completion.id}/undo"
    assert auth_client.post(url, headers=HTMX).status_code == 404
    assert len(completions()) == 1


def test_mark_complete_needs_a_csrf_token(auth_client, work):
    response = auth_client.post(complete_url(work, "once"), data={"completed_on": "2026-10-20"}, csrf=False)
    assert response.status_code == 400 and completions() == []


def test_completion_is_billed_in_its_month(auth_client, work, owner):
    auth_client.post(complete_url(work, "quarterly"), data={"completed_on": "2026-10-02"}, headers=HTMX)
    rows = {row.client.code: row for row in build_plan(owner.practice_id, date(2026, 10, 1)).rows}
    assert [line.description for line in rows["BUS01"].preview.lines] == [
        "Bookkeeping — October 2026", "Management Accounts — completed October 2026"]


# --- the practice's own today ---------------------------------------------------------------------

def test_local_today_is_the_practices_date_not_the_servers():
    noon_utc = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert local_today("Pacific/Kiritimati", noon_utc) == date(2026, 11, 25)  # UTC+14
    assert local_today("Europe/London", noon_utc) == date(2026, 11, 24)


class _FakeDateTime(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 11, 24, 12, 0, tzinfo=UTC).astimezone(tz)


def test_engagement_dates_default_to_the_practices_today(auth_client, work, owner, monkeypatch):
    db.session.get(Practice, owner.practice_id).time_zone = "Pacific/Kiritimati"
    db.session.commit()
    monkeypatch.setattr(clock, "datetime", _FakeDateTime)
    new_form = auth_client.get(f"/clients/{work['client'].id}/engagements/new", headers=HTMX).get_data(as_text=True)
    assert re.search(r'name="start_date"[^>]*value="2026-11-25"', new_form)
    assert 'name="completed_on" max="2026-11-25"' in new_form


def test_demo_seed_records_completions_and_stays_idempotent(app_ctx):
    from webapp.services.demo_seed import seed_demo

    seed_demo(today=date(2026, 11, 15))
    first = [(c.engagement_id, c.completed_on) for c in completions()]
    assert first and all(done == date(2026, 11, 1) for _, done in first)
    seed_demo(today=date(2026, 11, 15))
    assert [(c.engagement_id, c.completed_on) for c in completions()] == first


def test_ending_an_engagement_asks_for_confirmation_first(auth_client, work):
    body = auth_client.get(f"/clients/{work['client'].id}/engagements", headers=HTMX).get_data(as_text=True)
    end_url = f"/clients/{work['client'].id}/engagements/{work['monthly'].id}/end"
    form = re.search(rf'<form method="post" action="{end_url}"[^>]*>', body, re.S).group(0)
    assert ('hx-confirm="End Bookkeeping for Busy Ltd on the date chosen? '
            'Billing for it stops after that date."') in form


# --- an invoiced engagement's service and start date are fixed ------------------------------------

IN_DECEMBER = datetime(2026, 12, 15, 12, tzinfo=UTC)


def _approve(practice_id, period):
    result = approve_plan(practice_id, period, None, now=IN_DECEMBER)
    assert result.outcome.value == "approved"
    return result


def test_moving_an_invoiced_annual_fee_start_date_is_refused_so_it_is_not_billed_again(owner):
    pid = owner.practice_id
    annual = make_service(pid, "Annual Retainer", BillingMethod.ANNUAL_ADVANCE, "1200.00")
    client = make_client(pid, "Annual Ltd", "ANN01")
    engagement = make_engagement(client, annual, start=date(2026, 9, 1))
    _approve(pid, date(2026, 9, 1))
    with pytest.raises(client_service.EngagementLocked) as refused:
        client_service.save_engagement(client, annual, Decimal("1200.00"), date(2026, 10, 1), None,
                                       engagement=engagement)
    assert refused.value.fields == ["start_date"]
    assert str(refused.value) == client_service.INVOICED_ENGAGEMENT_LOCKED
    db.session.refresh(engagement)
    assert engagement.start_date == date(2026, 9, 1)
    assert plan_descriptions(pid, date(2026, 10, 1), "ANN01") == []


def test_switching_an_invoiced_quarterly_fee_to_another_service_is_refused(owner):
    pid = owner.practice_id
    quarterly = make_service(pid, "VAT Quarterly", BillingMethod.QUARTERLY_ADVANCE, "300.00")
    monthly = make_service(pid, "VAT Monthly", BillingMethod.MONTHLY, "100.00")
    client = make_client(pid, "Switch Ltd", "SWI01")
    engagement = make_engagement(client, quarterly, start=date(2026, 10, 1))
    _approve(pid, date(2026, 10, 1))
    with pytest.raises(client_service.EngagementLocked) as refused:
        client_service.save_engagement(client, monthly, Decimal("100.00"), date(2026, 10, 1), None,
                                       engagement=engagement)
    assert refused.value.fields == ["service_id"]
    assert plan_descriptions(pid, date(2026, 11, 1), "SWI01") == []


def test_an_invoiced_completion_fixes_the_start_date_its_quarters_count_from(work, owner):
    pid = owner.practice_id
    quarterly = work["quarterly"]  # quarters from 15 Jan 2026: Jan-Mar, Apr-Jun, Jul-Sep, Oct-Dec
    engagement_service.mark_complete(quarterly, date(2026, 10, 2), date(2026, 10, 2), None)
    _approve(pid, date(2026, 10, 1))
    # Starting in February would put 2 Nov in a new quarter (Nov-Jan) and let it bill Oct-Dec twice.
    with pytest.raises(client_service.EngagementLocked):
        client_service.save_engagement(work["client"], quarterly.service, None, date(2026, 2, 1), None,
                                       engagement=quarterly)
    db.session.refresh(quarterly)
    assert quarterly.start_date == date(2026, 1, 15)


def test_the_edit_form_says_why_beside_the_start_date_and_keeps_the_input(auth_client, owner):
    pid = owner.practice_id
    annual = make_service(pid, "Annual Retainer", BillingMethod.ANNUAL_ADVANCE, "1200.00")
    client = make_client(pid, "Annual Ltd", "ANN01")
    engagement = make_engagement(client, annual, start=date(2026, 9, 1))
    _approve(pid, date(2026, 9, 1))
    url = f"/clients/{client.id}/engagements/{engagement.id}"
    response = auth_client.post(url, headers=HTMX, data={
        "service_id": annual.id, "price": "1200.00", "start_date": "2026-10-01"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    start_label = re.search(r'<label for="start_date">.*?</div>', body, re.S).group(0)
    assert 'value="2026-10-01"' in start_label
    assert ("Already invoiced: end this engagement and add a new one to change its service or start date."
            in start_label)
    db.session.expire_all()
    assert db.session.get(type(engagement), engagement.id).start_date == date(2026, 9, 1)


def test_an_invoiced_engagements_price_and_end_date_stay_editable(auth_client, owner):
    pid = owner.practice_id
    annual = make_service(pid, "Annual Retainer", BillingMethod.ANNUAL_ADVANCE, "1200.00")
    client = make_client(pid, "Annual Ltd", "ANN01")
    engagement = make_engagement(client, annual, start=date(2026, 9, 1))
    _approve(pid, date(2026, 9, 1))
    response = auth_client.post(f"/clients/{client.id}/engagements/{engagement.id}", headers=HTMX, data={
        "service_id": annual.id, "price": "1300.00", "start_date": "2026-09-01", "end_date": "2028-08-31"})
    assert response.status_code == 200
    db.session.expire_all()
    saved = db.session.get(type(engagement), engagement.id)
    assert (saved.price, saved.end_date) == (Decimal("1300.00"), date(2028, 8, 31))
    assert plan_descriptions(pid, date(2027, 9, 1), "ANN01") == [
        "Annual Retainer — September 2027 – August 2028"]


# --- a running approval goes first ----------------------------------------------------------------

@pytest.mark.parametrize("action", ["mark complete", "undo", "edit", "end"])
def test_completions_and_engagement_edits_wait_for_the_practice_billing_lock(work, owner, action):
    """Approval holds the practice row lock from building the plan to committing: these must queue on it."""
    require_postgresql("row locks and lock_timeout (SQLite locks the whole file)")
    completion = engagement_service.mark_complete(work["once"], date(2026, 10, 20), date(2026, 10, 20), None)
    actions = {
        "mark complete": lambda: engagement_service.mark_complete(work["annual"], date(2026, 5, 1),
                                                                 date(2026, 10, 20), None),
        "undo": lambda: engagement_service.undo_completion(completion),
        "edit": lambda: client_service.save_engagement(work["client"], work["monthly"].service, Decimal("260"),
                                                       date(2026, 1, 1), engagement=work["monthly"]),
        "end": lambda: client_service.end_engagement(work["monthly"], date(2026, 12, 31)),
    }
    with db.engine.connect() as approval:  # another request, mid-approval, holding the lock
        approval.execute(sa.select(Practice.id).filter_by(id=owner.practice_id).with_for_update())
        db.session.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
            actions[action]()
        db.session.rollback()
        approval.rollback()
    assert len(completions()) == 1
