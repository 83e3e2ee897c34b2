"""Automatic monthly billing: on the invoice day the nightly run approves the month as a person would (same
fingerprint, ledger and checks), never twice, never before the day, only when the practice chose it; the plan says
who approved it, and its invoices are posted by the run's posting step."""
from datetime import UTC, date, datetime

import pytest

from tests.factories import make_client, make_connection, make_engagement, make_service
from webapp.extensions import db
from webapp.models import BilledCharge, BillingRun, BillingSettings, Invoice, SyncRun
from webapp.services.automatic_billing import approve_if_due

DAY_FIVE = datetime(2026, 11, 5, 3, 0, tzinfo=UTC)  # 03:00 on 5 November in London


@pytest.fixture
def practice(owner):
    practice_id = owner.practice_id
    settings = db.session.get(BillingSettings, practice_id)
    settings.approve_automatically, settings.invoice_day = True, 5
    make_engagement(make_client(practice_id, "Abbott & Sons Ltd", code="ABB01"), make_service(practice_id))
    db.session.commit()
    return practice_id


def runs(practice_id) -> list[BillingRun]:
    db.session.expire_all()
    return db.session.execute(db.select(BillingRun).filter_by(practice_id=practice_id)).scalars().all()


def test_on_the_invoice_day_the_month_is_approved_once(practice):
    result = approve_if_due(practice, DAY_FIVE)
    assert (result.outcome, result.invoices) == ("approved", 1)
    [run] = runs(practice)
    assert (run.period, run.automatic, run.approved_by_id) == (date(2026, 11, 1), True, None)
    [invoice] = db.session.execute(db.select(Invoice).filter_by(practice_id=practice)).scalars()
    assert invoice.issue_date == date(2026, 11, 5) and invoice.status == "raised"
    assert db.session.execute(db.select(db.func.count(BilledCharge.id))).scalar() == 1  # the same ledger

    again = approve_if_due(practice, datetime(2026, 11, 6, 3, 0, tzinfo=UTC))
    assert again.outcome == "already_approved" and len(runs(practice)) == 1


def test_not_before_the_invoice_day_and_not_when_the_practice_reviews_each_month(practice):
    assert approve_if_due(practice, datetime(2026, 11, 4, 3, 0, tzinfo=UTC)).outcome == "not yet"
    db.session.get(BillingSettings, practice).approve_automatically = False
    db.session.commit()
    assert approve_if_due(practice, DAY_FIVE).outcome == "off"
    assert runs(practice) == []


def test_the_plan_says_it_was_approved_automatically(auth_client, practice):
    approve_if_due(practice, DAY_FIVE)
    body = auth_client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert "by automatic monthly billing" in body


def test_the_nightly_run_approves_and_sync_now_does_not(app, practice, monkeypatch):
    from webapp.sync import practice_sync

    make_connection(practice)
    monkeypatch.setattr(practice_sync, "approve_if_due", lambda practice_id: approve_if_due(practice_id, DAY_FIVE))
    approval_only = tuple(step for step in practice_sync.STEPS if step.name == "approval")
    for trigger in ("manual", "nightly"):
        run = SyncRun(practice_id=practice, trigger=trigger, status="queued", counts={})
        db.session.add(run)
        db.session.commit()
        assert practice_sync.run_practice_sync(run.id, app.config, steps=approval_only) == "succeeded"
        assert len(runs(practice)) == (1 if trigger == "nightly" else 0)
    nightly = db.session.execute(db.select(SyncRun).filter_by(trigger="nightly")).scalar_one()
    assert (nightly.counts["automatic_approval"], nightly.counts["automatic_invoices"]) == ("approved", 1)
