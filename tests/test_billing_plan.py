"""The Billing Plan: cadence per client, change against last month, previews, approving once, invoices."""
import re
import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.factories import (
    make_account,
    make_client,
    make_connection,
    make_engagement,
    make_practice,
    make_service,
    make_theme,
    make_user,
)
from tests.helpers import HTMX, approve_form, invoices_of, login, require_postgresql
from webapp.clock import this_month
from webapp.extensions import db
from webapp.models import BillingMethod, BillingRun, BillingSettings, Client, Role
from webapp.services.billing.approval import Outcome, approve_plan
from webapp.services.billing.plan import Change, build_plan

NOV = date(2026, 11, 1)
OCT = date(2026, 10, 1)


# --- a practice's book ---------------------------------------------------------------------------------

@pytest.fixture
def book(owner):
    """A practice whose November shows every change type against October."""
    pid = owner.practice_id
    s = {
        "books": make_service(pid, "Monthly Bookkeeping", BillingMethod.MONTHLY, "250.00", position=0),
        "payroll": make_service(pid, "Payroll", BillingMethod.MONTHLY, "120.00", account_code="210", position=1),
        "vat": make_service(pid, "VAT Returns", BillingMethod.QUARTERLY_ADVANCE, "300.00", position=2),
        "accounts": make_service(pid, "Annual Accounts", BillingMethod.ANNUAL_COMPLETION, "1200.00", position=3),
        "formation": make_service(pid, "Company Formation", BillingMethod.ONCE, "150.00", position=4),
    }
    steady = make_client(pid, "Steady Ltd", "STE01")
    make_engagement(steady, s["books"])
    grower = make_client(pid, "Grower Ltd", "GRO01")
    make_engagement(grower, s["books"])
    make_engagement(grower, s["vat"], start=date(2026, 11, 10))
    make_engagement(grower, s["formation"], start=date(2026, 11, 1), completed_on=date(2026, 11, 20))
    shrinker = make_client(pid, "Shrinker Ltd", "SHR01")
    make_engagement(shrinker, s["books"])
    make_engagement(shrinker, s["payroll"], end=date(2026, 10, 31))
    make_engagement(make_client(pid, "Newcomer Ltd", "NEW01"), s["books"], price="199.99", start=date(2026, 11, 15))
    make_engagement(make_client(pid, "Leaver Ltd", "LEA01"), s["books"], end=date(2026, 10, 31))
    # On-completion work completed in October only.
    make_engagement(make_client(pid, "Finisher Ltd", "FIN01"), s["accounts"], completed_on=date(2026, 10, 5))
    make_engagement(make_client(pid, "Archived Ltd", "ARC01", status="archived"), s["books"])
    make_engagement(make_client(pid, "Idle Ltd", "IDL01"), s["accounts"])  # never completed: never billed
    return {"services": s, "steady": steady, "grower": grower, "shrinker": shrinker, "practice_id": pid}


def rows_by_code(plan):
    return {row.client.code: row for row in plan.rows + plan.ended}


# --- change against last month ---------------------------------------------------------------------

def test_each_client_gets_its_change_type_and_amounts(book):
    plan = build_plan(book["practice_id"], NOV)
    rows = rows_by_code(plan)
    assert {code: row.change for code, row in rows.items()} == {
        "STE01": Change.UNCHANGED, "GRO01": Change.EXPANDED, "SHR01": Change.CONTRACTED,
        "NEW01": Change.NEW, "LEA01": Change.ENDED, "FIN01": Change.UNCHANGED,
    }
    assert rows["GRO01"].details == ("VAT Returns added", "Company Formation added")
    assert rows["SHR01"].details == ("Payroll ended",)
    assert rows["GRO01"].notes == ("VAT Returns due this quarter", "Company Formation completed")
    # Finisher's agreement did not change: its annual work was billed on completion last month.
    assert rows["FIN01"].notes == ("Annual Accounts billed last month on completion",)
    assert (rows["GRO01"].last_amount, rows["GRO01"].amount) == (Decimal("250.00"), Decimal("700.00"))
    assert (rows["SHR01"].last_amount, rows["SHR01"].amount) == (Decimal("370.00"), Decimal("250.00"))
    assert (rows["NEW01"].last_amount, rows["NEW01"].amount) == (Decimal("0.00"), Decimal("199.99"))
    assert rows["SHR01"].difference == Decimal("-120.00")
    assert [row.client.code for row in plan.ended] == ["FIN01", "LEA01"]
    assert all(row.preview is None for row in plan.ended)


def test_totals_and_counts(book):
    totals = build_plan(book["practice_id"], NOV).totals
    assert totals.this_month == Decimal("1399.99")  # 250 + 700 + 250 + 199.99
    assert totals.last_month == Decimal("2320.00")  # 250 + 250 + 370 + 250 + 1200
    assert totals.difference == Decimal("-920.01")
    assert {change.value: count for change, count in totals.counts.items()} == {
        "new": 1, "expanded": 1, "contracted": 1, "repriced": 0, "unchanged": 2, "ended": 1}


def test_archived_clients_and_unbilled_work_are_left_out(book):
    codes = rows_by_code(build_plan(book["practice_id"], NOV))
    assert "ARC01" not in codes and "IDL01" not in codes


def test_plan_is_scoped_to_its_practice(book, other_owner):
    rival = make_client(other_owner.practice_id, "Rival Client")
    make_engagement(rival, make_service(other_owner.practice_id, "Rival Books", BillingMethod.MONTHLY))
    assert "RIV01" not in rows_by_code(build_plan(book["practice_id"], NOV))
    assert list(rows_by_code(build_plan(other_owner.practice_id, NOV))) == ["RIV01"]


def test_billing_cycles_are_not_changes_in_agreed_work(book):
    # December: the VAT quarter is not due, bookkeeping is; formation was one-off in November.
    rows = rows_by_code(build_plan(book["practice_id"], date(2026, 12, 1)))
    assert rows["GRO01"].change is Change.UNCHANGED and rows["GRO01"].amount == Decimal("250.00")
    assert rows["GRO01"].notes == (
        "VAT Returns not due this month", "Company Formation billed last month on completion")
    rows = rows_by_code(build_plan(book["practice_id"], date(2027, 2, 1)))
    assert rows["GRO01"].change is Change.UNCHANGED and rows["GRO01"].amount == Decimal("550.00")
    assert rows["GRO01"].notes == ("VAT Returns due this quarter",)


def test_a_new_engagement_at_a_new_price_for_the_same_service_is_re_priced(book):
    steady = book["steady"]
    old = steady.engagements[0]
    old.end_date = date(2026, 10, 31)
    make_engagement(steady, book["services"]["books"], price="275.00", start=date(2026, 11, 1))
    db.session.commit()
    row = rows_by_code(build_plan(book["practice_id"], NOV))["STE01"]
    assert (row.change, row.details) == (Change.REPRICED, ("Monthly Bookkeeping re-priced £250.00 → £275.00",))
    assert (row.last_amount, row.amount) == (Decimal("250.00"), Decimal("275.00"))


def test_current_period_is_the_month_in_the_practices_time_zone():
    # 23:30 UTC on 30 September is already 1 October in London (BST).
    assert this_month("Europe/London", datetime(2026, 9, 30, 23, 30, tzinfo=UTC)) == OCT
    assert this_month("UTC", datetime(2026, 9, 30, 23, 30, tzinfo=UTC)) == date(2026, 9, 1)


def test_demo_plan_shows_every_change_type(app_ctx):
    from webapp.models import Practice
    from webapp.services.demo_seed import DEMO_PRACTICE_NAME, seed_demo

    seed_demo(today=date(2026, 11, 15))
    practice = db.session.execute(db.select(Practice).filter_by(name=DEMO_PRACTICE_NAME)).scalar_one()
    plan = build_plan(practice.id, NOV)
    shown = {Change.NEW, Change.EXPANDED, Change.CONTRACTED, Change.UNCHANGED, Change.ENDED}
    assert all(plan.totals.counts[change] > 0 for change in shown), plan.totals.counts
    assert plan.totals.this_month == sum((row.preview.total for row in plan.rows), Decimal("0"))


# --- previews ----------------------------------------------------------------------------------------

def test_preview_dates_come_from_billing_settings(book):
    settings = db.session.get(BillingSettings, book["practice_id"])
    settings.invoice_day, settings.payment_terms_days = 20, 30
    db.session.commit()
    preview = rows_by_code(build_plan(book["practice_id"], NOV))["STE01"].preview
    assert (preview.issue_date, preview.due_date) == (date(2026, 11, 20), date(2026, 12, 20))


def test_preview_itemised_by_default_with_account_codes(book):
    settings = db.session.get(BillingSettings, book["practice_id"])
    settings.recurring_account_code, settings.one_off_account_code = "200", "260"
    db.session.commit()
    preview = rows_by_code(build_plan(book["practice_id"], NOV))["GRO01"].preview
    assert [(line.description, line.unit_amount, line.account_code) for line in preview.lines] == [
        ("Monthly Bookkeeping — November 2026", Decimal("250.00"), "200"),
        ("VAT Returns — November 2026 – January 2027", Decimal("300.00"), "200"),
        ("Company Formation — completed November 2026", Decimal("150.00"), "260"),
    ]
    assert preview.total == Decimal("700.00")


def test_on_completion_work_uses_the_recurring_default_code(book):
    settings = db.session.get(BillingSettings, book["practice_id"])
    settings.recurring_account_code, settings.one_off_account_code = "200", "260"
    db.session.commit()
    preview = rows_by_code(build_plan(book["practice_id"], OCT))["FIN01"].preview
    assert [(line.description, line.account_code) for line in preview.lines] == [
        ("Annual Accounts — completed October 2026", "200")]


def test_practice_consolidation_applies_to_recurring_and_one_off_separately(book):
    settings = db.session.get(BillingSettings, book["practice_id"])
    settings.consolidate_recurring, settings.consolidate_one_off = True, False
    db.session.commit()
    preview = rows_by_code(build_plan(book["practice_id"], NOV))["GRO01"].preview
    assert [line.description for line in preview.lines] == [
        "Professional services for November 2026: Monthly Bookkeeping, VAT Returns",
        "Company Formation — completed November 2026",
    ]


def test_client_override_beats_the_practice_setting(book):
    settings = db.session.get(BillingSettings, book["practice_id"])
    settings.consolidate_recurring = True
    book["grower"].consolidate_recurring = False
    book["shrinker"].consolidate_recurring = None
    db.session.commit()
    rows = rows_by_code(build_plan(book["practice_id"], NOV))
    assert len(rows["GRO01"].preview.lines) == 3  # itemised, its own choice
    assert rows["SHR01"].preview.lines[0].description.startswith("Professional services")


def test_consolidation_groups_by_per_service_account_code(book):
    settings = db.session.get(BillingSettings, book["practice_id"])
    settings.consolidate_recurring, settings.recurring_account_code = True, "200"
    db.session.commit()
    # October for the shrinker: bookkeeping (default 200) and payroll (its own 210).
    preview = rows_by_code(build_plan(book["practice_id"], OCT))["SHR01"].preview
    assert [(line.account_code, line.unit_amount) for line in preview.lines] == [
        ("200", Decimal("250.00")), ("210", Decimal("120.00"))]


def test_template_is_the_clients_else_the_practices_else_xeros_default(book):
    pid = book["practice_id"]
    for theme_id, name, order in (("t-std", "Standard", 0), ("t-prac", "Practice brand", 1), ("t-cli", "Client", 2)):
        make_theme(pid, theme_id, name, order)
    rows = rows_by_code(build_plan(pid, NOV))
    assert rows["STE01"].preview.template_name == "Standard"
    db.session.get(BillingSettings, pid).default_branding_theme_id = "t-prac"
    book["grower"].branding_theme_id = "t-cli"
    db.session.commit()
    rows = rows_by_code(build_plan(pid, NOV))
    steady, grower = rows["STE01"].preview, rows["GRO01"].preview
    assert (steady.branding_theme_id, steady.template_name) == ("t-prac", "Practice brand")
    assert (grower.branding_theme_id, grower.template_name) == ("t-cli", "Client")


# --- VAT ---------------------------------------------------------------------------------------------

def connect_xero(practice_id, rates=(("OUTPUT2", "20% (VAT on Income)", "20.0000"),)):
    from webapp.models import XeroTaxRate

    make_connection(practice_id, tenant_id=f"t-{practice_id}")
    make_account(practice_id, "200", "Sales", tax_type="OUTPUT2")
    for tax_type, name, rate in rates:
        db.session.add(XeroTaxRate(practice_id=practice_id, tax_type=tax_type, name=name, status="ACTIVE",
                                   effective_rate=rate))
    db.session.get(BillingSettings, practice_id).recurring_account_code = "200"
    db.session.commit()


def test_preview_shows_vat_from_the_accounts_default_tax_type(book):
    connect_xero(book["practice_id"])
    plan = build_plan(book["practice_id"], NOV)
    steady = rows_by_code(plan)["STE01"].preview.tax
    assert (steady.net, steady.vat, steady.total) == (Decimal("250.00"), Decimal("50.00"), Decimal("300.00"))
    assert steady.lines[0].rate.name == "20% (VAT on Income)"
    # Grower's one-off formation has no account code, so no tax type: Xero decides, and the plan says so.
    assert rows_by_code(plan)["GRO01"].preview.tax.complete is False
    assert plan.totals.vat is None


def preview_of(client, client_id, month="2026-11", headers=None):
    """The plan's invoice preview of one client (what a row's "Preview" loads into the plan's dialog)."""
    return client.get(f"/billing/plan/clients/{client_id}/preview?month={month}", headers=headers or {})


def test_plan_and_invoice_pages_show_net_vat_and_total(auth_client, book, owner):
    connect_xero(book["practice_id"])
    plan = auth_client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert "invoice-lines" not in plan  # the plan's rows carry no previews: each opens on demand
    body = preview_of(auth_client, book["steady"].id).get_data(as_text=True)
    assert re.search(r'Subtotal \(net\)</th><td class="num invoice-net">£250.00</td>', body)
    assert '<td class="num invoice-vat">£50.00</td>' in body and '<th class="num invoice-total">£300.00</th>' in body
    approve_plan(book["practice_id"], NOV, owner.id)
    steady = next(i for i in invoices_of(book["practice_id"]) if i.client.code == "STE01")
    page = auth_client.get(f"/billing/invoices/{steady.id}").get_data(as_text=True)
    assert "20% (VAT on Income)" in page and '<td class="num invoice-vat">£50.00</td>' in page
    assert '<th class="num invoice-total">£300.00</th>' in page


def test_without_xero_totals_say_excl_vat(auth_client, book, owner):
    body = preview_of(auth_client, book["steady"].id).get_data(as_text=True)
    assert "Total excl. VAT" in body and "VAT will be added by Xero (connect Xero to see it here)." in body
    assert "Subtotal (net)" not in body
    approve_plan(book["practice_id"], NOV, owner.id)
    invoice = invoices_of(book["practice_id"])[0]
    page = auth_client.get(f"/billing/invoices/{invoice.id}").get_data(as_text=True)
    assert "Total excl. VAT" in page and "VAT will be added by Xero" in page


def test_plan_total_vat_when_every_rate_is_known(book):
    connect_xero(book["practice_id"])
    settings = db.session.get(BillingSettings, book["practice_id"])
    settings.one_off_account_code = "200"
    db.session.commit()
    totals = build_plan(book["practice_id"], NOV).totals
    assert (totals.this_month, totals.vat) == (Decimal("1399.99"), Decimal("280.00"))  # 50+140+50+40.00 (199.99)


# --- approving ---------------------------------------------------------------------------------------

def test_approving_raises_one_invoice_per_billed_client_copied_from_the_preview(book, owner):
    plan = build_plan(book["practice_id"], NOV)
    result = approve_plan(book["practice_id"], NOV, owner.id)
    assert (result.outcome, result.invoice_count) == (Outcome.APPROVED, 4)
    invoices = invoices_of(book["practice_id"])
    assert [i.number for i in invoices] == ["SKT-000001", "SKT-000002", "SKT-000003", "SKT-000004"]
    by_client = {i.client.code: i for i in invoices}
    assert set(by_client) == {"GRO01", "NEW01", "SHR01", "STE01"}
    grower, preview = by_client["GRO01"], rows_by_code(plan)["GRO01"].preview
    assert (grower.issue_date, grower.due_date, grower.period) == (preview.issue_date, preview.due_date, NOV)
    assert grower.status == "raised"
    def shape(lines):
        return [(line.description, line.quantity, line.unit_amount, line.account_code, line.tax_type) for line in lines]

    assert shape(grower.lines) == shape(preview.lines)
    assert grower.total == Decimal("700.00")
    run = db.session.execute(db.select(BillingRun)).scalar_one()
    assert (run.period, run.approved_by_id) == (NOV, owner.id)


def test_approving_twice_raises_invoices_once(book, owner):
    assert approve_plan(book["practice_id"], NOV, owner.id).outcome is Outcome.APPROVED
    second = approve_plan(book["practice_id"], date(2026, 11, 17), owner.id)
    assert second.outcome is Outcome.ALREADY_APPROVED
    assert second.run.approved_by_id == owner.id
    assert len(invoices_of(book["practice_id"])) == 4
    assert db.session.execute(db.select(db.func.count(BillingRun.id))).scalar_one() == 1


def race(app, *calls):
    """Run each call in its own thread and app context (its own session), released together."""
    barrier, results, errors = threading.Barrier(len(calls)), [], []

    def run(call):
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results.append(call())
                db.session.remove()
        except Exception as error:  # surfaced below; a thread's exception would otherwise vanish
            errors.append(error)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return results


def test_two_approvals_racing_raise_invoices_once(app, book, owner):
    require_postgresql("two sessions racing on row locks (the in-memory SQLite database has one shared connection)")
    practice_id, user_id = book["practice_id"], owner.id
    results = race(app, *[lambda: approve_plan(practice_id, NOV, user_id).outcome] * 2)
    assert sorted(results) == sorted([Outcome.APPROVED, Outcome.ALREADY_APPROVED])
    assert len(invoices_of(practice_id)) == 4


def test_two_months_approved_at_once_get_distinct_numbers(app, book, owner):
    practice_id, user_id = book["practice_id"], owner.id
    results = race(app, lambda: approve_plan(practice_id, OCT, user_id).outcome,
                   lambda: approve_plan(practice_id, NOV, user_id).outcome)
    assert results == [Outcome.APPROVED, Outcome.APPROVED]
    assert sorted(i.number for i in invoices_of(practice_id)) == [f"SKT-{n:06d}" for n in range(1, 10)]


def test_numbers_continue_per_practice_across_months(book, owner, other_owner):
    approve_plan(book["practice_id"], OCT, owner.id)
    approve_plan(book["practice_id"], NOV, owner.id)
    numbers = [i.number for i in invoices_of(book["practice_id"])]
    assert numbers == [f"SKT-{n:06d}" for n in range(1, 10)]  # 5 in October, 4 in November
    rival = make_client(other_owner.practice_id, "Rival Client")
    make_engagement(rival, make_service(other_owner.practice_id, "Rival Books", BillingMethod.MONTHLY))
    approve_plan(other_owner.practice_id, NOV, other_owner.id)
    assert [i.number for i in invoices_of(other_owner.practice_id)] == ["SKT-000001"]


def test_approving_an_empty_month_raises_nothing_and_records_no_run(owner):
    result = approve_plan(owner.practice_id, NOV, owner.id)
    assert result.outcome is Outcome.NOTHING_TO_BILL
    assert db.session.execute(db.select(db.func.count(BillingRun.id))).scalar_one() == 0


def test_invoice_uses_the_client_theme_override(book, owner):
    make_theme(book["practice_id"], "t-std", "Standard")
    book["steady"].branding_theme_id = "t-client"
    db.session.commit()
    approve_plan(book["practice_id"], NOV, owner.id)
    themes = {i.client.code: i.branding_theme_id for i in invoices_of(book["practice_id"])}
    assert themes["STE01"] == "t-client" and themes["GRO01"] == "t-std"


# --- an approved month shows what was invoiced ----------------------------------------------------

def test_approved_month_keeps_showing_its_invoices_whatever_changes_afterwards(book, owner):
    approve_plan(book["practice_id"], NOV, owner.id)
    approved = build_plan(book["practice_id"], NOV)
    invoiced = {i.client.code: i for i in invoices_of(book["practice_id"])}
    # After approval: a client is archived, another's price changes, a new client starts this month.
    book["steady"].status = "archived"
    book["grower"].engagements[0].price = Decimal("999.00")
    make_engagement(make_client(book["practice_id"], "Latecomer Ltd", "LAT01"), book["services"]["books"],
           start=date(2026, 11, 20))
    db.session.commit()
    plan = build_plan(book["practice_id"], NOV)
    assert {row.client.code: row.amount for row in plan.rows} == {
        code: invoice.total for code, invoice in invoiced.items()}
    assert {row.client.code: row.invoice.number for row in plan.rows} == {
        code: invoice.number for code, invoice in invoiced.items()}
    assert plan.totals.this_month == approved.totals.this_month == Decimal("1399.99")
    assert len(plan.rows) == len(plan.run.invoices) == 4
    grower = rows_by_code(plan)["GRO01"]
    assert [line.unit_amount for line in grower.preview.lines] == [line.unit_amount for line in invoiced["GRO01"].lines]
    # What changed since is listed apart: the new client's charge waits for December.
    assert [(late.client.code, [i.service_name for i in late.items]) for late in plan.late] == [
        ("LAT01", ["Monthly Bookkeeping"])]
    assert plan.next_open_period == date(2026, 12, 1)


def test_next_month_compares_against_what_was_invoiced(book, owner):
    approve_plan(book["practice_id"], NOV, owner.id)
    book["steady"].status = "archived"
    book["shrinker"].engagements[0].price = Decimal("300.00")  # re-priced after November was invoiced
    db.session.commit()
    plan = build_plan(book["practice_id"], date(2026, 12, 1))
    rows = rows_by_code(plan)
    assert rows["SHR01"].last_amount == Decimal("250.00")  # invoiced in November, not today's price
    assert rows["STE01"].last_amount == Decimal("250.00") and rows["STE01"] in plan.ended  # archived since
    assert plan.totals.last_month == Decimal("1399.99")  # November's invoices


def test_approved_page_links_each_row_to_its_invoice_and_keeps_its_count(auth_client, book, owner):
    approve_plan(book["practice_id"], NOV, owner.id)
    book["steady"].status = "archived"
    db.session.commit()
    body = auth_client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert "4 invoices raised" in body and "£1,399.99" in body
    for invoice in invoices_of(book["practice_id"]):
        assert f'href="/billing/invoices/{invoice.id}">{invoice.number}</a>' in body
    assert 'data-client-code="STE01"' in body


# --- pages -------------------------------------------------------------------------------------------

def test_plan_page_redirects_anonymous_users(client):
    response = client.get("/billing/plan")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_plan_page_shows_the_current_month_by_default(auth_client):
    body = auth_client.get("/billing/plan").get_data(as_text=True)
    assert f"Billing Plan · {this_month('Europe/London'):%B %Y}" in body
    assert '<div id="xero-warnings">' in body
    assert "Nothing to invoice" in body and "Approve plan" not in body


def test_plan_page_shows_rows_totals_and_previews(auth_client, book):
    body = auth_client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert "Billing Plan · November 2026" in body
    assert re.search(r'data-client-code="SHR01" data-change="contracted"', body)
    assert re.search(r'data-client-code="LEA01" data-change="ended"', body)
    assert ">1 new client</span>" in body and ">1 with work added</span>" in body
    assert ">2 with the same work</span>" in body and ">1 with all work ended</span>" in body
    assert ('<span class="chip chip-change-contracted" title="Payroll ended">Work reduced</span> '
            '<span class="plan-why" title="Payroll ended">Payroll ended</span>') in body
    grower = re.search(r'<tr class="plan-row" data-client-code="GRO01".*?</tr>', body, re.S).group(0)
    assert ('<span class="plan-why" title="VAT Returns added; Company Formation added; VAT Returns due this quarter; '
            'Company Formation completed">') in grower
    assert "£1,399.99" in body and "-£920.01" in body
    # The preview opens on demand, not as an expander in every row.
    assert "<details>" not in body and "VAT Returns — November 2026 – January 2027" not in body
    preview_url = f"/billing/plan/clients/{book['grower'].id}/preview?month=2026-11"
    assert f'href="{preview_url}"' in grower and f'hx-get="{preview_url}"' in grower
    assert 'data-open-dialog="plan-preview-dialog"' in grower
    assert '<dialog id="plan-preview-dialog"' in body
    preview = preview_of(auth_client, book["grower"].id).get_data(as_text=True)
    assert "VAT Returns — November 2026 – January 2027" in preview
    assert '<small class="muted plan-note">VAT Returns due this quarter</small>' in preview
    assert ">Approve plan</button>" in body
    assert 'id="plan-status"' in body and "Awaiting approval" in body


def test_the_change_chip_speaks_of_agreed_work_and_the_difference_carries_the_amount(auth_client, book):
    """Finisher's agreed work is the same, but its accounts were billed last month only: £1,200 -> £0. The chip
    must not read "unchanged" beside those amounts; the Difference column says how the amount moved."""
    body = auth_client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    finisher = re.search(r'<tr class="plan-row" data-client-code="FIN01" data-change="unchanged">.*?</tr>',
                         body, re.S).group(0)
    chip = re.search(r'<span class="chip chip-change-unchanged"[^>]*>([^<]*)</span>', finisher).group(1)
    assert chip == "Same work" and "unchanged" not in chip.lower()
    assert '<td class="num plan-difference" data-label="Difference">-£1,200.00</td>' in finisher
    assert "Annual Accounts billed last month on completion" in finisher
    # The Change type filter offers the same words (its values stay the same in the address bar).
    assert '<option value="unchanged">2 with the same work</option>' in body
    assert '<option value="expanded">1 with work added</option>' in body
    steady = re.search(r'<tr class="plan-row" data-client-code="STE01".*?</tr>', body, re.S).group(0)
    assert '<td class="num plan-difference" data-label="Difference"><span class="muted">—</span></td>' in steady
    filtered = auth_client.get("/billing/plan?month=2026-11&change=repriced").get_data(as_text=True)
    assert "No client matches among clients marked “Re-priced”." in filtered


def test_a_plan_row_is_one_line_linking_to_the_client(auth_client, book):
    body = auth_client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    grower = re.search(r'<tr class="plan-row" data-client-code="GRO01".*?</tr>', body, re.S).group(0)
    assert (f'<a href="/clients/{book["grower"].id}" title="Grower Ltd">Grower Ltd</a> '
            '<span class="muted">GRO01</span>') in grower
    # Services: the first two, then how many more, with every charge in the title.
    services = re.search(r'<span class="plan-services" title="([^"]*)">(.*?)</span>\s*</td>', grower, re.S)
    assert services.group(2) == 'Monthly Bookkeeping, VAT Returns <span class="muted">+1</span>'
    assert services.group(1) == ("Monthly Bookkeeping (November 2026); VAT Returns (November 2026 – January 2027); "
                                 "Company Formation (completed November 2026)")
    assert '<td class="num plan-difference" data-label="Difference">+£450.00</td>' in grower
    assert '<td class="num plan-lines" data-label="Lines">3</td>' in grower
    assert grower.count("<tr") == 1  # one line: no expander row beneath


def test_the_preview_opens_one_clients_invoice_as_a_fragment_or_a_page(auth_client, book):
    fragment = preview_of(auth_client, book["grower"].id, headers=HTMX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html
    assert html.startswith('<article id="plan-preview"') or html.lstrip().startswith('<article id="plan-preview"')
    assert '<h2 id="plan-preview-title">Grower Ltd <span class="muted">GRO01</span></h2>' in html
    assert "Invoice preview · November 2026" in html and "data-close-dialog" in html
    assert '<span class="chip chip-change-expanded">Work added</span>' in html
    assert "£250.00 last month → <strong>£700.00</strong>" in html
    assert [line for line in re.findall(r"<td>([^<]*— [^<]*)</td>", html)] == [
        "Monthly Bookkeeping — November 2026", "VAT Returns — November 2026 – January 2027",
        "Company Formation — completed November 2026"]
    assert '<th class="num invoice-total">£700.00</th>' in html
    page = preview_of(auth_client, book["grower"].id)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in body and '<article id="plan-preview"' in body
    assert '<a href="/billing/plan?month=2026-11">Billing Plan · November 2026</a>' in body
    assert "Grower Ltd · Invoice preview · Socket</title>" in body


def test_the_preview_reads_the_stored_row_not_the_whole_plan(auth_client, book, count_statements):
    auth_client.get("/billing/plan?month=2026-11")  # stores the month
    from webapp.services.billing.plan_preview import client_preview

    practice_id, grower_id = book["practice_id"], book["grower"].id
    with count_statements() as statements:
        row = client_preview(practice_id, NOV, grower_id, today=date(2026, 11, 20))
    assert row.client.code == "GRO01" and len(row.preview.lines) == 3
    assert len(statements) == 2, statements  # the month's summary, then the row


def test_an_approved_months_preview_names_its_invoice(auth_client, book, owner):
    approve_plan(book["practice_id"], NOV, owner.id)
    steady = next(i for i in invoices_of(book["practice_id"]) if i.client.code == "STE01")
    html = preview_of(auth_client, book["steady"].id, headers=HTMX).get_data(as_text=True)
    assert f'Invoice <a href="/billing/invoices/{steady.id}">{steady.number}</a>' in html
    assert '<span class="chip chip-invoice-raised">' in html and '<th class="num invoice-total">£250.00</th>' in html


def test_a_client_without_an_invoice_that_month_is_a_404_that_says_so(auth_client, book):
    idle = db.session.execute(db.select(Client).filter_by(code="IDL01")).scalar_one()
    leaver = db.session.execute(db.select(Client).filter_by(code="LEA01")).scalar_one()
    for client_id, name in ((idle.id, "Idle Ltd"), (leaver.id, "Leaver Ltd")):
        for headers in ({}, HTMX):
            response = preview_of(auth_client, client_id, headers=headers)
            assert response.status_code == 404
            assert (f"{name} has no invoice in the November 2026 plan, so there is nothing to preview."
                    in response.get_data(as_text=True))
    # Its October invoice is there: the month asked for decides.
    assert preview_of(auth_client, leaver.id, month="2026-10").status_code == 200


def test_another_practices_client_is_a_plain_404(auth_client, book):
    rival = make_practice(name="Rival & Co")
    theirs = make_client(rival.practice_id, "Rival Client", "RIV01")
    make_engagement(theirs, make_service(rival.practice_id, "Rival Books", BillingMethod.MONTHLY))
    response = preview_of(auth_client, theirs.id)
    assert response.status_code == 404
    assert "Rival Client" not in response.get_data(as_text=True)


@pytest.mark.parametrize("month", ["2026-13", "soon", "%EF%BC%92"])
def test_the_preview_refuses_a_bad_month_clearly(auth_client, book, month):
    for headers in ({}, HTMX):
        response = preview_of(auth_client, book["steady"].id, month=month, headers=headers)
        assert response.status_code == 400
        assert "That is not a month Socket understands (use YYYY-MM)." in response.get_data(as_text=True)


def test_approve_asks_for_confirmation_naming_the_count_and_total(auth_client, book):
    body = auth_client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    form = re.search(r'<form [^>]*id="approve-plan"[^>]*>', body, re.S).group(0)
    assert ('hx-confirm="Approve November 2026? This raises 4 invoices totalling £1,399.99 excl. VAT. '
            'Raised invoices cannot be withdrawn from Socket."') in form
    assert 'method="post" action="/billing/plan/approve"' in form  # still a plain form without JavaScript


def test_plan_page_refuses_a_bad_month(auth_client):
    response = auth_client.get("/billing/plan?month=2026-13")
    assert response.status_code == 400
    assert "not a month Socket understands" in response.get_data(as_text=True)


def test_approve_route_then_plan_shows_approved_with_invoice_links(auth_client, book):
    response = auth_client.post("/billing/plan/approve", data=approve_form(book["practice_id"]))
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/billing/plan?month=2026-11")
    body = auth_client.get(response.headers["Location"]).get_data(as_text=True)
    status = re.search(r'<p id="plan-status">(.*?)</p>', body, re.S).group(1)
    assert "Approved" in status and "by Test User" in status and "4 invoices raised" in status
    assert "November 2026 approved: 4 invoices raised." in body
    assert "Approve plan" not in body
    first = invoices_of(book["practice_id"])[0]
    assert f'href="/billing/invoices/{first.id}">{first.number}</a>' in body


def test_approving_again_from_the_page_says_when_and_by_whom(auth_client, book):
    auth_client.post("/billing/plan/approve", data=approve_form(book["practice_id"]))
    response = auth_client.post("/billing/plan/approve", data=approve_form(book["practice_id"]), headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "<html" not in body and 'id="plan-status"' in body
    assert re.search(r"November 2026 was already approved on \d+ \w+ \d{4}, \d\d:\d\d \w+ by Test User\. "
                     r"No new invoices were raised\.", body)
    assert len(invoices_of(book["practice_id"])) == 4


def test_htmx_approval_returns_the_plan_fragment_approved(auth_client, book):
    response = auth_client.post("/billing/plan/approve", data=approve_form(book["practice_id"]), headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and '<section id="billing-plan"' in body
    assert re.search(r'<p id="plan-status">\s*<span class="tick">Approved</span>', body)
    assert len(invoices_of(book["practice_id"])) == 4
    assert db.session.execute(db.select(BillingRun.period)).scalars().all() == [NOV]


def test_approving_an_empty_month_from_the_page_says_so(auth_client, owner):
    response = auth_client.post("/billing/plan/approve", data=approve_form(owner.practice_id), headers=HTMX)
    assert response.status_code == 422
    assert "There is nothing to invoice for November 2026" in response.get_data(as_text=True)
    assert db.session.execute(db.select(db.func.count(BillingRun.id))).scalar_one() == 0


def test_approve_refuses_a_bad_month(auth_client, book):
    assert auth_client.post("/billing/plan/approve", data={"month": "soon"}).status_code == 400
    assert invoices_of(book["practice_id"]) == []


def test_approve_without_csrf_token_is_refused(auth_client, book):
    response = auth_client.post("/billing/plan/approve", data=approve_form(book["practice_id"]), csrf=False)
    assert response.status_code == 400
    assert invoices_of(book["practice_id"]) == []


def test_staff_may_not_approve(client, book, owner):
    """Approving raises the month's invoices: owners and admins only; staff see who can."""
    login(client, make_user(owner.practice_id, Role.STAFF))
    refused = client.post("/billing/plan/approve", data=approve_form(book["practice_id"]))
    assert refused.status_code == 403
    htmx = client.post("/billing/plan/approve", data=approve_form(book["practice_id"]), headers=HTMX)
    assert htmx.status_code == 403 and htmx.headers["HX-Retarget"] == "#htmx-alerts"
    assert invoices_of(book["practice_id"]) == []
    assert db.session.execute(db.select(db.func.count(BillingRun.id))).scalar_one() == 0
    page = client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert "Only owners and admins can approve the plan." in page
    assert 'id="approve-plan"' not in page and "<button type=\"button\" disabled" in page


def test_an_admin_may_approve(client, book, owner):
    login(client, make_user(owner.practice_id, Role.ADMIN))
    assert "Only owners and admins" not in client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert client.post("/billing/plan/approve", data=approve_form(book["practice_id"])).status_code == 303
    assert len(invoices_of(book["practice_id"])) == 4


def test_invoice_list_and_detail(auth_client, book, owner):
    approve_plan(book["practice_id"], NOV, owner.id)
    invoice = invoices_of(book["practice_id"])[0]
    listing = auth_client.get("/billing/invoices?month=2026-11").get_data(as_text=True)
    assert all(i.number in listing for i in invoices_of(book["practice_id"]))
    detail = auth_client.get(f"/billing/invoices/{invoice.id}")
    assert detail.status_code == 200
    body = detail.get_data(as_text=True)
    assert f"Invoice {invoice.number}" in body and invoice.client.name.replace("&", "&amp;") in body


def test_invoice_routes_are_scoped_to_the_practice(auth_client):
    rival = make_practice(name="Rival & Co")
    client = make_client(rival.practice_id, "Rival Client")
    make_engagement(client, make_service(rival.practice_id, "Rival Books", BillingMethod.MONTHLY))
    approve_plan(rival.practice_id, NOV, rival.id)
    rival_invoice = invoices_of(rival.practice_id)[0]
    assert auth_client.get(f"/billing/invoices/{rival_invoice.id}").status_code == 404
    assert rival_invoice.number not in auth_client.get("/billing/invoices").get_data(as_text=True)


def test_invoice_pages_redirect_anonymous_users(client):
    assert client.get("/billing/invoices").status_code == 302
    assert client.get("/billing/invoices/1").status_code == 302


def test_a_raised_invoice_keeps_its_vat_when_the_accounts_default_changes_later(auth_client, book, owner):
    from webapp.models import XeroAccount, XeroTaxRate

    connect_xero(book["practice_id"])
    db.session.add(XeroTaxRate(practice_id=book["practice_id"], tax_type="ZERORATEDOUTPUT", name="Zero Rated Income",
                               status="ACTIVE", effective_rate="0"))
    db.session.commit()
    approve_plan(book["practice_id"], NOV, owner.id)
    steady = next(i for i in invoices_of(book["practice_id"]) if i.client.code == "STE01")
    assert [line.tax_type for line in steady.lines] == ["OUTPUT2"]  # resolved at approval, not left to Xero
    # Later the account's default tax type is changed in Xero and synced again.
    db.session.execute(db.update(XeroAccount).filter_by(practice_id=book["practice_id"], code="200")
                       .values(tax_type="ZERORATEDOUTPUT"))
    db.session.commit()
    page = auth_client.get(f"/billing/invoices/{steady.id}").get_data(as_text=True)
    assert '<td class="num invoice-vat">£50.00</td>' in page and '<th class="num invoice-total">£300.00</th>' in page


def test_a_raised_invoice_keeps_its_vat_when_the_rate_changes_later(auth_client, book, owner):
    from webapp.models import XeroTaxRate

    connect_xero(book["practice_id"])
    approve_plan(book["practice_id"], NOV, owner.id)
    steady = next(i for i in invoices_of(book["practice_id"]) if i.client.code == "STE01")
    assert [line.tax_amount for line in steady.lines] == [Decimal("50.00")]
    db.session.execute(db.update(XeroTaxRate).filter_by(practice_id=book["practice_id"], tax_type="OUTPUT2")
                       .values(effective_rate="17.5"))
    db.session.commit()
    page = auth_client.get(f"/billing/invoices/{steady.id}").get_data(as_text=True)
    assert '<td class="num invoice-vat">£50.00</td>' in page and '<th class="num invoice-total">£300.00</th>' in page
    # A plan not yet approved follows the new rate.
    assert rows_by_code(build_plan(book["practice_id"], date(2026, 12, 1)))["STE01"].preview.tax.vat == Decimal("43.75")


def test_the_fingerprint_covers_the_tax_type_approval_will_store(book):
    from webapp.models import XeroAccount

    connect_xero(book["practice_id"])
    before = build_plan(book["practice_id"], NOV).fingerprint
    db.session.execute(db.update(XeroAccount).filter_by(practice_id=book["practice_id"], code="200")
                       .values(tax_type="ZERORATEDOUTPUT"))
    db.session.commit()
    assert build_plan(book["practice_id"], NOV).fingerprint != before


def test_invoice_list_shows_net_vat_and_total_like_the_invoice_page(auth_client, book, owner):
    connect_xero(book["practice_id"])
    approve_plan(book["practice_id"], NOV, owner.id)
    steady = next(i for i in invoices_of(book["practice_id"]) if i.client.code == "STE01")
    listing = auth_client.get("/billing/invoices").get_data(as_text=True)
    assert '<th class="num">Net</th><th class="num">VAT</th><th class="num">Total</th>' in listing
    row = re.search(rf'{steady.number}</a>.*?</tr>', listing, re.S).group(0)
    assert ('<td class="num invoice-net" data-label="Net">£250.00</td>' in row
            and '<td class="num invoice-vat" data-label="VAT">£50.00</td>' in row
            and '<td class="num invoice-total card-figure" data-label="Total">£300.00</td>' in row)
    # Grower's one-off formation has no tax type: the list says the total is before VAT, as the page does.
    grower = next(i for i in invoices_of(book["practice_id"]) if i.client.code == "GRO01")
    row = re.search(rf'{grower.number}</a>.*?</tr>', listing, re.S).group(0)
    assert '<td class="num invoice-vat" data-label="VAT">—</td>' in row and "excl. VAT</small>" in row


def test_the_invoice_list_is_a_dense_table_linking_each_invoice_and_client(auth_client, book, owner):
    approve_plan(book["practice_id"], NOV, owner.id)
    steady = next(i for i in invoices_of(book["practice_id"]) if i.client.code == "STE01")
    listing = auth_client.get("/billing/invoices?month=2026-11").get_data(as_text=True)
    assert '<table class="data-table invoice-table">' in listing  # numbers and dates never wrap (socket.css)
    row = re.search(rf'<tr>\s*<td class="invoice-number card-title" data-label="Number">'
                    rf'<a href="/billing/invoices/{steady.id}">{steady.number}</a></td>.*?</tr>', listing, re.S)
    assert row, listing
    assert f'<a href="/clients/{steady.client_id}">Steady Ltd</a>' in row.group(0)
    assert '<td class="invoice-date" data-label="Dated">' in row.group(0)
    assert '<div class="page-head">\n  <h1>Invoices · November 2026</h1>' in listing
