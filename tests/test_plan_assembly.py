"""A plan is the sum of its clients' outcomes: built for some clients at a time and assembled, it is the plan built
for all of them at once; and its fingerprint is made of its rows' own digests."""
import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from tests.factories import make_client, make_completion, make_engagement, make_service
from webapp.extensions import db
from webapp.models import BillingMethod, Client
from webapp.services.billing import plan_loader
from webapp.services.billing.approval import Outcome, approve_plan
from webapp.services.billing.plan import (
    ClientPlan,
    EndedClientPlan,
    assemble_plan,
    build_client_outcomes,
    build_plan,
    plan_fingerprint,
    row_fingerprint,
)

AUG, SEP, OCT, NOV, DEC = (date(2026, m, 1) for m in (8, 9, 10, 11, 12))
IN_MARCH = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)


@pytest.fixture
def practice(owner):
    """Clients for every part of a plan: catch-up, late charges, an archived client's invoice, a month awaiting
    approval, a fee that fell due before Socket, one-off work and a client with its own terms."""
    pid = owner.practice_id
    books = make_service(pid, "Monthly Bookkeeping", BillingMethod.MONTHLY, "250.00")
    vat = make_service(pid, "VAT Returns", BillingMethod.QUARTERLY_ADVANCE, "300.00")
    retainer = make_service(pid, "Annual Retainer", BillingMethod.ANNUAL_ADVANCE, "1200.00")
    formation = make_service(pid, "Company Formation", BillingMethod.ONCE, "150.00")
    payroll = make_service(pid, "Payroll", BillingMethod.MONTHLY, "120.00")
    steady = make_client(pid, "Steady Ltd", "STE01")
    make_engagement(steady, books, start=date(2026, 1, 1))
    make_engagement(make_client(pid, "Quarterly Ltd", "QUA01"), vat, start=date(2026, 2, 1))
    leaving = make_client(pid, "Leaving Ltd", "LEA01")
    make_engagement(leaving, books, start=date(2026, 1, 1))
    make_engagement(make_client(pid, "Retained Ltd", "RET01"), retainer, start=date(2026, 3, 1))
    own_terms = make_client(pid, "Own Terms Ltd", "OWN01", invoice_day=28, payment_terms_days=30)
    make_engagement(own_terms, books, start=date(2026, 6, 1))
    one_off = make_engagement(make_client(pid, "Formed Ltd", "FOR01"), formation, start=date(2026, 9, 1))
    for period in (AUG, SEP, OCT):
        assert approve_plan(pid, period, None, now=IN_MARCH).outcome is Outcome.APPROVED
    leaving.status = "archived"
    make_engagement(steady, payroll, start=SEP)  # back-dated after approval: caught up in November, late in October
    make_completion(one_off, date(2026, 10, 12))
    make_engagement(make_client(pid, "Newcomer Ltd", "NEW01"), payroll, start=date(2026, 11, 1))
    return pid


def summary(plan):
    def row(r):
        preview = None if r.preview is None else (
            r.preview.issue_date, r.preview.due_date, r.preview.template_name,
            [(line.description, line.unit_amount, line.account_code, line.charge_keys) for line in r.preview.lines])
        return (r.client.id, r.amount, r.last_amount, r.change, r.details, r.notes,
                [(item.charge_key, item.catch_up) for item in r.items], r.invoice.id if r.invoice else None, preview)

    return {"rows": [row(r) for r in plan.rows], "ended": [row(r) for r in plan.ended], "totals": plan.totals,
            "late": [(late.client.id, [item.charge_key for item in late.items]) for late in plan.late],
            "scope": plan.scope_client_ids, "awaiting": plan.awaiting_periods, "before_socket": plan.before_socket,
            "next_open": plan.next_open_period, "dates": plan.dates, "fingerprint": plan.fingerprint}


def client_ids(practice_id):
    return db.session.execute(db.select(Client.id).filter_by(practice_id=practice_id).order_by(Client.id)).scalars()


@pytest.mark.parametrize("period", [OCT, NOV, DEC])
def test_outcomes_built_a_few_clients_at_a_time_assemble_into_the_whole_plan(practice, period):
    whole = build_plan(practice, period, today=TODAY)
    ids = list(client_ids(practice))
    parts = [build_client_outcomes(practice, period, today=TODAY, client_ids=ids[start::3]) for start in range(3)]
    outcomes = sorted((outcome for part in parts for outcome in part.outcomes),
                      key=lambda outcome: (outcome.client.name, outcome.client.id))
    assert summary(assemble_plan(parts[0], outcomes)) == summary(whole)
    assert [outcome.client.id for outcome in build_client_outcomes(practice, period, today=TODAY).outcomes] == [
        outcome.client.id for outcome in outcomes]


def test_the_whole_plan_has_every_kind_of_row(practice):
    november, october, december = (build_plan(practice, period, today=TODAY) for period in (NOV, OCT, DEC))
    codes = {row.client.code: row for row in november.rows}
    assert [item.catch_up for item in codes["STE01"].items] == [True, True, False, False]
    assert [row.client.code for row in november.ended] == ["LEA01"]
    assert november.before_socket and december.awaiting_periods == [NOV]
    assert [late.client.code for late in october.late] == ["FOR01", "STE01"]
    assert october.next_open_period == NOV and october.dates is None and november.dates.ask


def test_a_plan_for_some_clients_covers_them_alone(practice):
    steady = db.session.execute(db.select(Client).filter_by(code="STE01")).scalar_one()
    plan = build_plan(practice, NOV, today=TODAY, client_ids=[steady.id])
    assert [row.client.code for row in plan.rows] == ["STE01"] and plan.ended == [] and plan.before_socket == []
    assert plan.scope_client_ids == {steady.id}
    assert plan.totals.this_month == sum(item.amount for item in plan.rows[0].items)
    assert build_plan(practice, NOV, today=TODAY, client_ids=[]).is_empty


def test_without_binding_every_id_the_plan_is_the_same(practice, monkeypatch):
    plans = [summary(build_plan(practice, period, today=TODAY)) for period in (OCT, NOV, DEC)]
    monkeypatch.setattr(plan_loader, "MANY_IDS", 0)  # read whole runs' scopes and every month's ledger rows
    assert [summary(build_plan(practice, period, today=TODAY)) for period in (OCT, NOV, DEC)] == plans
    assert plan_loader.load_plan_inputs(practice, NOV).reads.rechecked_engagements == 2


def test_rows_have_their_own_digest_and_the_plans_is_made_of_them(practice):
    plan = build_plan(practice, NOV, today=TODAY)
    digests = sorted((row.client.id, row_fingerprint(row)) for row in plan.rows)
    assert all(len(digest) == 64 for _, digest in digests)
    expected = hashlib.sha256("".join(digest for _, digest in digests).encode()).hexdigest()[:32]
    assert plan.fingerprint == plan_fingerprint(reversed(plan.rows)) == expected
    moved = replace(plan.rows[0], preview=replace(plan.rows[0].preview, due_date=date(2027, 1, 1),
                                                  invoice_day_due_date=date(2027, 1, 1)))
    assert row_fingerprint(moved) != row_fingerprint(plan.rows[0])
    assert plan.fingerprint != plan_fingerprint([moved, *plan.rows[1:]])


def test_rows_with_an_invoice_always_have_a_preview(practice):
    plan = build_plan(practice, NOV, today=TODAY)
    assert all(isinstance(row, ClientPlan) and row.preview is not None for row in plan.rows)
    assert all(isinstance(row, EndedClientPlan) and row.preview is None for row in plan.ended)
