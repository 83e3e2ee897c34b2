"""The plan's classifier on plain objects, no database: which charges a month bills, catches up, shows as late or
awaiting, and which approved months an engagement is checked again in (history that costs nothing)."""
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

from webapp.models import BillingMethod
from webapp.services.billing import cadence
from webapp.services.billing.plan_classifier import (
    Billed,
    PlanContext,
    Runs,
    _calendar_charges_in,
    asks_settling_scope,
    changed_at,
    classify,
    engagement_charges,
    invoiced_charges,
    plan_months,
    recheck_months,
)

AUG, SEP, OCT, NOV, DEC = (date(2026, m, 1) for m in (8, 9, 10, 11, 12))
CREATED = datetime(2026, 1, 5, tzinfo=UTC)  # when the practice's clients, services and engagements were set up
APPROVED = {AUG: datetime(2026, 9, 2, tzinfo=UTC), SEP: datetime(2026, 10, 2, tzinfo=UTC),
            OCT: datetime(2026, 11, 2, tzinfo=UTC), NOV: datetime(2026, 12, 2, tzinfo=UTC)}
AFTER_OCT = datetime(2026, 11, 20, tzinfo=UTC)  # after October was approved, before November


def make_client(client_id=1, status="active", created_at=CREATED, name="Acme Ltd"):
    return SimpleNamespace(id=client_id, status=status, created_at=created_at, name=name)


def make_service(method=BillingMethod.MONTHLY, name="Payroll", service_id=1, updated_at=CREATED):
    return SimpleNamespace(id=service_id, name=name, billing_method=method.value, updated_at=updated_at, position=0,
                           account_code=None, tax_type=None)


def make_engagement(engagement_id=10, service=None, start=date(2026, 1, 1), end=None, completions=(),
                    updated_at=CREATED, client_id=1):
    service = service or make_service()
    return SimpleNamespace(id=engagement_id, service=service, service_id=service.id, client_id=client_id,
                           price=Decimal("100.00"), start_date=start, end_date=end, completions=list(completions),
                           created_at=CREATED, updated_at=updated_at)


def make_completion(completion_id, completed_on, created_at=CREATED):
    return SimpleNamespace(id=completion_id, completed_on=completed_on, created_at=created_at)


def make_runs(*periods, scopes=None, unscoped=()):
    """Approved runs for `periods` (id = month number), each scoped to client 1 unless `scopes` says otherwise."""
    by_period = {p: SimpleNamespace(id=p.month, period=p, approved_at=APPROVED[p]) for p in periods}
    scopes = {p.month: frozenset({1}) for p in periods} if scopes is None else scopes
    return Runs(by_period, frozenset(p.month for p in periods if p not in unscoped), scopes)


def billed(key, engagement_id=10, due=OCT, run_id=None, invoice_id=1, completion_id=None):
    return Billed(key, run_id or due.month, invoice_id, engagement_id, completion_id, due)


def context(period, runs, engagements, client, ledger=()):
    months = plan_months(period, runs.by_period)
    recheck = {e.id: due for e in engagements if (due := recheck_months(e, client, months, runs))}
    return PlanContext(months, runs, {row.charge_key: row for row in ledger}, recheck)


def keys(pairs):
    return [(charge.key, catch_up) for charge, catch_up in pairs]


# --- the months a plan looks at ------------------------------------------------------------------------------

def test_plan_months_look_back_to_the_first_approved_month_and_list_the_gaps():
    runs = make_runs(AUG, OCT)
    months = plan_months(DEC, runs.by_period)
    assert (months.look_back, months.go_live, months.previous) == (AUG, AUG, NOV)
    assert [run.period for run in months.approved_before] == [AUG, OCT]
    assert months.gaps == (SEP, NOV)
    assert months.settling_run.period == OCT and months.first_approval == APPROVED[AUG]
    before = plan_months(date(2026, 7, 1), runs.by_period)  # before Socket: nothing to look back at
    assert (before.look_back, before.go_live, before.approved_before, before.gaps) == (
        date(2026, 7, 1), None, (), ())


# --- an open month -------------------------------------------------------------------------------------------

def test_an_open_month_bills_what_fell_due_in_it_and_is_not_in_the_ledger():
    client = make_client()
    books = make_engagement(10)
    vat = make_engagement(11, make_service(BillingMethod.QUARTERLY_ADVANCE, "VAT", 2), start=date(2026, 2, 1))
    runs = make_runs(OCT)
    ctx = context(NOV, runs, [books, vat], client, ledger=[billed("e11:2026-11", 11, NOV, run_id=99)])
    classified = classify(client, [books, vat], ctx)
    assert keys(classified.due_here) == [("e10:2026-11", False), ("e11:2026-11", False)]
    assert keys(classified.pending) == [("e10:2026-11", False)]  # VAT is already in the ledger
    assert [charge.key for charge in classified.last_items] == ["e10:2026-10"]
    assert classified.late == () and classified.awaiting == frozenset()


def test_an_engagement_changed_after_an_approval_is_caught_up_there():
    client = make_client()
    backdated = make_engagement(10, start=SEP, updated_at=AFTER_OCT)  # added after October was approved
    runs = make_runs(SEP, OCT)
    ctx = context(NOV, runs, [backdated], client)
    assert ctx.recheck == {10: (SEP, OCT)}
    assert keys(classify(client, [backdated], ctx).pending) == [
        ("e10:2026-09", True), ("e10:2026-10", True), ("e10:2026-11", False)]


def test_an_untouched_engagement_is_not_looked_at_in_approved_months():
    client = make_client()
    steady = make_engagement(10, start=date(2025, 1, 1))
    runs = make_runs(AUG, SEP, OCT)
    # Even with no ledger rows read for it, August and September are not billed again: untouched since they
    # were approved, they billed it then.
    ctx = context(NOV, runs, [steady], client)
    assert recheck_months(steady, client, ctx.months, runs) == ()
    classified = classify(client, [steady], ctx)
    assert keys(classified.pending) == [("e10:2026-11", False)]
    assert classified.charges_seen == 2  # last month's (for "last month") and this month's, whatever the history


def test_a_changed_engagement_is_checked_again_only_from_the_month_it_starts():
    client, runs = make_client(), make_runs(AUG, SEP, OCT)
    months = plan_months(NOV, runs.by_period)
    assert recheck_months(make_engagement(10, start=NOV, updated_at=AFTER_OCT), client, months, runs) == ()
    mid_september = make_engagement(11, start=date(2026, 9, 14), updated_at=AFTER_OCT)
    assert recheck_months(mid_september, client, months, runs) == (SEP, OCT)
    completed_earlier = make_engagement(12, start=OCT, updated_at=AFTER_OCT,
                                        completions=[make_completion(1, date(2026, 8, 30))])
    assert recheck_months(completed_earlier, client, months, runs) == (AUG, SEP, OCT)


def test_a_later_approval_with_the_client_in_scope_settles_an_earlier_change():
    client = make_client()
    changed = make_engagement(10, start=date(2026, 1, 1), updated_at=datetime(2026, 10, 20, tzinfo=UTC))
    runs = make_runs(SEP, OCT)  # changed after September's approval, before October's
    months = plan_months(NOV, runs.by_period)
    assert asks_settling_scope(changed, client, months)
    assert recheck_months(changed, client, months, runs) == ()  # October's plan caught September up
    archived_then = make_runs(SEP, OCT, scopes={SEP.month: frozenset({1}), OCT.month: frozenset()})
    assert recheck_months(changed, client, months, archived_then) == (SEP,)


def test_changed_at_is_the_latest_of_engagement_service_completion_and_client():
    completion = make_completion(1, date(2026, 9, 3), created_at=datetime(2026, 11, 9, tzinfo=UTC))
    engagement = make_engagement(10, completions=[completion])
    assert changed_at(engagement, make_client()) == datetime(2026, 11, 9, tzinfo=UTC)
    engagement.service.updated_at = datetime(2026, 11, 10, tzinfo=UTC)
    assert changed_at(engagement, make_client()) == datetime(2026, 11, 10, tzinfo=UTC)
    assert changed_at(engagement, make_client(created_at=datetime(2026, 11, 11, tzinfo=UTC))) == datetime(
        2026, 11, 11, tzinfo=UTC)
    unsaved = make_engagement(11, updated_at=None)
    assert changed_at(unsaved, make_client()) is None
    assert recheck_months(unsaved, make_client(), plan_months(NOV, make_runs(SEP, OCT).by_period),
                          make_runs(SEP, OCT)) == (SEP, OCT)


def test_catch_up_needs_the_client_in_the_months_scope_or_created_after_it():
    runs = make_runs(SEP, OCT, scopes={SEP.month: frozenset({2}), OCT.month: frozenset({2})})
    backdated = make_engagement(10, start=SEP, updated_at=AFTER_OCT)
    archived_then = make_client()
    assert keys(classify(archived_then, [backdated], context(NOV, runs, [backdated], archived_then)).pending) == [
        ("e10:2026-11", False)]
    newcomer = make_client(created_at=AFTER_OCT)
    assert keys(classify(newcomer, [backdated], context(NOV, runs, [backdated], newcomer)).pending) == [
        ("e10:2026-09", True), ("e10:2026-10", True), ("e10:2026-11", False)]
    unscoped = make_runs(SEP, OCT, unscoped=(SEP, OCT))  # approved before scopes were recorded
    assert keys(classify(newcomer, [backdated], context(NOV, unscoped, [backdated], newcomer)).pending) == [
        ("e10:2026-11", False)]


def test_earlier_months_not_approved_are_awaiting_not_caught_up():
    client = make_client()
    books = make_engagement(10)
    runs = make_runs(AUG)
    ctx = context(NOV, runs, [books], client, ledger=[billed("e10:2026-09", due=SEP, run_id=8)])
    classified = classify(client, [books], ctx)
    assert classified.awaiting == {OCT}  # September's charge is billed; October's is not, and not approved
    assert keys(classified.pending) == [("e10:2026-11", False)]


def test_a_completion_dated_before_socket_is_caught_up_once_in_an_open_month():
    client = make_client()
    accounts = make_service(BillingMethod.ANNUAL_COMPLETION, "Accounts", 3)
    done = make_engagement(10, accounts, completions=[make_completion(7, date(2026, 6, 30))])
    runs = make_runs(OCT)
    assert keys(classify(client, [done], context(NOV, runs, [done], client)).pending) == [("c7", True)]
    billed_already = [billed("c7", due=date(2026, 6, 1), run_id=OCT.month, completion_id=7)]
    assert classify(client, [done], context(NOV, runs, [done], client, ledger=billed_already)).pending == ()
    assert classify(client, [done], context(OCT, runs, [done], client)).pending == ()  # approved: not billed


def test_an_annual_fee_that_fell_due_before_socket_gets_a_note():
    client = make_client()
    retainer = make_engagement(10, make_service(BillingMethod.ANNUAL_ADVANCE, "Retainer", 4), start=SEP)
    classified = classify(client, [retainer], context(NOV, make_runs(OCT), [retainer], client))
    assert classified.before_socket == (
        "Retainer for Acme Ltd fell due in September 2026, before Socket's first approved month: not billed by Socket",)
    assert classified.pending == ()


def test_an_archived_client_only_has_last_months_charges():
    client = make_client(status="archived")
    books = make_engagement(10, updated_at=AFTER_OCT)
    classified = classify(client, [books], context(NOV, make_runs(SEP, OCT), [books], client))
    assert [charge.key for charge in classified.last_items] == ["e10:2026-10"]
    assert (classified.due_here, classified.pending, classified.awaiting, classified.before_socket) == (
        (), (), frozenset(), ())


# --- an approved month ---------------------------------------------------------------------------------------

def test_an_approved_month_lists_charges_due_in_it_not_invoiced_as_late():
    client = make_client()
    books = make_engagement(10)
    late = make_engagement(11, make_service(BillingMethod.MONTHLY, "Payroll", 2), updated_at=AFTER_OCT)
    runs = make_runs(SEP, OCT)
    ctx = context(OCT, runs, [books, late], client, ledger=[billed("e10:2026-10")])
    assert ctx.recheck == {}  # an approved month shows what its run invoiced: nothing is caught up into it
    classified = classify(client, [books, late], ctx)
    assert keys(classified.late) == [("e11:2026-10", False)]
    assert keys(classified.due_here) == [("e10:2026-10", False), ("e11:2026-10", False)]
    assert classified.pending == ()
    out_of_scope = make_runs(SEP, OCT, scopes={SEP.month: frozenset(), OCT.month: frozenset()})
    assert classify(client, [books, late], context(OCT, out_of_scope, [books, late], client)).late == ()


def test_invoiced_charges_are_the_runs_ledger_rows_by_invoice():
    books = make_engagement(10)
    runs = make_runs(OCT)
    ledger = {row.charge_key: row for row in (billed("e10:2026-09", due=SEP, run_id=OCT.month, invoice_id=5),
                                              billed("e10:2026-10", invoice_id=5),
                                              billed("e10:2026-08", due=AUG, run_id=8, invoice_id=4))}
    by_invoice = invoiced_charges(ledger, runs.by_period[OCT], {10: books})
    assert list(by_invoice) == [5]
    assert [(charge.key, catch_up) for charge, catch_up in by_invoice[5]] == [("e10:2026-09", True),
                                                                             ("e10:2026-10", False)]


def test_engagement_charges_lists_calendar_fees_then_completions():
    work = make_engagement(10, make_service(BillingMethod.QUARTERLY_ADVANCE, "VAT", 2), start=AUG,
                           completions=[make_completion(3, date(2026, 5, 4)), make_completion(4, date(2026, 10, 4))])
    assert [c.key for c in engagement_charges(work, SEP, DEC)] == ["e10:2026-11", "c4"]
    assert [c.key for c in engagement_charges(work, SEP, DEC, completions_from=date.min)] == [
        "e10:2026-11", "c3", "c4"]


def test_the_classifiers_month_by_month_check_agrees_with_engagement_charges():
    """The classifier asks of each month it needs whether a fee falls due in it; engagement_charges walks a range
    of months: they agree for every cadence, start, end and month."""
    months = [cadence.add_months(date(2025, 10, 1), n) for n in range(18)]
    for method in BillingMethod:
        for start in (date(2025, 11, 15), date(2026, 2, 1), date(2026, 11, 30)):
            for end in (None, date(2026, 10, 31), date(2026, 11, 1), date(2027, 1, 15)):
                work = make_engagement(10, make_service(method), start=start, end=end)
                expected = [charge.key for month in months for charge in engagement_charges(work, month, month)]
                assert [charge.key for charge in _calendar_charges_in(work, months)] == expected, (method, start, end)
