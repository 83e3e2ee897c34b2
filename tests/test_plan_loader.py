"""What the plan reads: plain copies of clients, engagements, services and completions, so building it leaves no
models in the session for a commit to expire, and last month's invoice totals from plain rows."""
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.factories import make_client, make_engagement, make_service
from webapp.extensions import db
from webapp.models import (
    BillingMethod,
    BillingRun,
    Client,
    Engagement,
    EngagementCompletion,
    Invoice,
    InvoiceLine,
    Service,
)
from webapp.services.billing.approval import Outcome, approve_plan
from webapp.services.billing.plan import build_plan
from webapp.services.billing.plan_loader import load_plan_inputs

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
IN_MARCH = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def practice(owner):
    pid = owner.practice_id
    books = make_service(pid, "Monthly Bookkeeping", BillingMethod.MONTHLY, "250.00")
    formation = make_service(pid, "Company Formation", BillingMethod.ONCE, "150.00")
    make_engagement(make_client(pid, "Steady Ltd", "STE01"), books, start=date(2026, 1, 1))
    make_engagement(make_client(pid, "Formed Ltd", "FOR01"), formation, start=date(2026, 9, 1),
                    completed_on=date(2026, 11, 3))
    return pid


def test_building_a_plan_leaves_no_client_or_engagement_models_in_the_session(practice):
    db.session.expunge_all()
    plan = build_plan(practice, NOV)
    assert [(row.client.code, row.client.name, row.client.status) for row in plan.rows] == [
        ("FOR01", "Formed Ltd", "active"), ("STE01", "Steady Ltd", "active")]
    held = {type(model) for model in db.session.identity_map.values()}
    assert not held & {Client, Engagement, EngagementCompletion, Service}
    # A row's client still gives its engagements, as models, to a caller that asks.
    assert [engagement.service.name for engagement in plan.rows[1].client.engagements] == ["Monthly Bookkeeping"]


def test_last_months_amounts_are_its_invoices_totals(practice):
    assert approve_plan(practice, OCT, None, now=IN_MARCH).outcome is Outcome.APPROVED
    run = db.session.execute(db.select(BillingRun).filter_by(practice_id=practice, period=OCT)).scalar_one()
    steady = db.session.execute(db.select(Invoice).filter_by(billing_run_id=run.id)).scalar_one()
    # A line whose amount rounds (1.5 × £33.33), and an invoice of the run with no lines at all.
    steady.lines.append(InvoiceLine(description="Extra", quantity=Decimal("1.50"), unit_amount=Decimal("33.33"),
                                    account_code="200", position=1))
    empty = make_client(practice, "Empty Ltd", "EMP01")
    db.session.add(Invoice(practice_id=practice, client_id=empty.id, billing_run_id=run.id, number="SKT-000900",
                           issue_date=OCT, due_date=OCT, period=OCT))
    db.session.commit()
    invoices = db.session.execute(db.select(Invoice).filter_by(billing_run_id=run.id)).scalars().all()
    totals = {invoice.client_id: invoice.total for invoice in invoices}
    assert totals == {steady.client_id: Decimal("300.00"), empty.id: Decimal("0.00")}

    last_month = load_plan_inputs(practice, NOV).invoices_before
    assert {client_id: str(invoice.total) for client_id, invoice in last_month.items()} == {
        client_id: str(total) for client_id, total in totals.items()}
    assert {row.client.code: row.last_amount for row in build_plan(practice, NOV).rows} == {
        "FOR01": Decimal("0.00"), "STE01": Decimal("300.00")}
