"""Pre-flight: each rule holds only its invoice, says what is wrong and where to fix it; codes and themes fall back
as approval chose them. `check_invoice` is pure (plain objects in); `line_sources` and `practice_problem` read the
database."""
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from tests.factories import (
    TENANT_ID,
    make_account,
    make_client,
    make_connection,
    make_contact_pull,
    make_engagement,
    make_service,
)
from tests.xero.posting_helpers import make_invoice
from webapp.extensions import db
from webapp.models import BilledCharge, BillingMethod, BillingRun
from webapp.sync.invoice_contacts import ContactDecision
from webapp.sync.invoice_payload import PayloadLine
from webapp.sync.invoice_preflight import (
    AccountInfo,
    PracticeReference,
    ServiceInfo,
    check_invoice,
    line_sources,
    practice_problem,
)

STANDARD, SOCKET, GONE = "t-standard", "t-socket", "t-gone"
REFERENCE = PracticeReference(
    accounts={
        "200": AccountInfo("200", "Sales", "ACTIVE", "REVENUE", "OUTPUT2"),
        "210": AccountInfo("210", "Consulting", "ACTIVE", "REVENUE", "OUTPUT2"),
        "215": AccountInfo("215", "Old Bookkeeping Fees", "ARCHIVED", "REVENUE", "OUTPUT2"),
        "225": AccountInfo("225", "Gone", "DELETED", "REVENUE", "OUTPUT2"),
        "230": AccountInfo("230", "Training", "ACTIVE", "REVENUE", "EXEMPTOUTPUT"),
        "400": AccountInfo("400", "Advertising", "ACTIVE", "EXPENSE", "INPUT2"),
    },
    tax_rates={"OUTPUT2": "ACTIVE", "EXEMPTOUTPUT": "ACTIVE", "OLDRATE": "DELETED", "ARCH": "ARCHIVED"},
    themes={STANDARD: ("Standard", True), SOCKET: ("Socket Practice", True), GONE: ("Special Projects", False)},
    recurring_account_code="200", one_off_account_code="210", default_theme_id=STANDARD)
BOOKKEEPING = ServiceInfo("Bookkeeping", None, None, True)
BOOKKEEPING_215 = ServiceInfo("Bookkeeping", "215", None, True)
FORMATION = ServiceInfo("Company Formation", None, None, False)
LINKED = ContactDecision(1, contact_id="c-1")


@dataclass
class Line:
    id: int = 1
    description: str = "Monthly Bookkeeping — November 2026"
    quantity: Decimal = Decimal("1.00")
    unit_amount: Decimal = Decimal("250.00")
    account_code: str | None = "200"
    tax_type: str | None = "OUTPUT2"


@dataclass
class Invoice:
    number: str = "SKT-000001"
    period: date = date(2026, 11, 1)
    issue_date: date = date(2026, 11, 1)
    due_date: date = date(2026, 11, 15)
    branding_theme_id: str | None = STANDARD
    lines: list = field(default_factory=lambda: [Line()])


def check(invoice=None, contact=LINKED, sources=None, reference=REFERENCE, client_theme=None):
    invoice = invoice or Invoice()
    return check_invoice(invoice, invoice.lines, contact, reference, sources or {1: (BOOKKEEPING,)},
                         client_theme_id=client_theme)


def test_a_good_invoice_passes_as_it_is():
    result = check()
    assert result.ok and result.held_reason is None
    assert result.lines == [PayloadLine("Monthly Bookkeeping — November 2026", Decimal("1.00"), Decimal("250.00"),
                                        "200", "OUTPUT2")]
    assert result.theme_id == STANDARD and result.changed_lines == {}


def test_an_archived_code_from_the_services_own_override_says_fix_it_in_services_and_pricing():
    result = check(Invoice(lines=[Line(account_code="215")]), sources={1: (BOOKKEEPING_215,)})
    assert result.held_reason == ("Account code 215 is archived in Xero: choose another code for Bookkeeping in "
                                  "Services & Pricing, then post again.")


def test_an_archived_code_is_replaced_by_what_approval_would_choose_now():
    # The service's code was 215 at approval; it now uses the practice default (200): that is sent.
    result = check(Invoice(lines=[Line(account_code="215", tax_type=None)]), sources={1: (BOOKKEEPING,)})
    assert result.ok and result.lines[0].account_code == "200" and result.lines[0].tax_type == "OUTPUT2"
    assert result.changed_lines == {1: ("200", "OUTPUT2")}


@pytest.mark.parametrize("code, problem", [
    ("225", "Account code 225 no longer exists in Xero"),
    ("999", "Account code 999 no longer exists in Xero"),
    ("400", "Account code 400 (Advertising) is not a revenue account in Xero"),
])
def test_each_unusable_code_is_named(code, problem):
    reference = PracticeReference(REFERENCE.accounts, REFERENCE.tax_rates, REFERENCE.themes,
                                  recurring_account_code=code)
    result = check(Invoice(lines=[Line(account_code=code)]), reference=reference)
    assert result.held_reason == (f"{problem}: choose another code as the default account code for recurring sales "
                                  "in Billing Settings, then post again.")


def test_a_line_with_no_code_and_no_default_says_where_to_choose_one():
    reference = PracticeReference(REFERENCE.accounts, REFERENCE.tax_rates, REFERENCE.themes)
    result = check(Invoice(lines=[Line(account_code=None)]), sources={1: (FORMATION,)}, reference=reference)
    assert result.held_reason == ("The line 'Monthly Bookkeeping' has no account code: choose another code as the "
                                  "default account code for one-off sales in Billing Settings, then post again.")
    # Once a default is chosen, the same invoice passes with it.
    assert check(Invoice(lines=[Line(account_code=None)]), sources={1: (FORMATION,)}).lines[0].account_code == "210"


def test_a_consolidated_line_of_services_with_different_codes_now_is_held():
    sources = {1: (ServiceInfo("Bookkeeping", "230", None, True), ServiceInfo("Payroll", None, None, True))}
    result = check(Invoice(lines=[Line(account_code="215")]), sources=sources)
    assert result.held_reason == ("Account code 215 is archived in Xero: choose another code for Bookkeeping in "
                                  "Services & Pricing (or the default account code for recurring sales in Billing "
                                  "Settings), then post again.")


@pytest.mark.parametrize("tax_type, state", [("OLDRATE", "no longer exists"), ("MISSING", "no longer exists"),
                                             ("ARCH", "is archived")])
def test_a_tax_type_no_longer_active_is_held(tax_type, state):
    result = check(Invoice(lines=[Line(tax_type=tax_type)]))
    assert result.held_reason == (f"Tax rate {tax_type} {state} in Xero: choose another tax rate for Bookkeeping in "
                                  "Services & Pricing (or restore it in Xero and sync), then post again.")


def test_a_deleted_theme_falls_back_to_the_clients_then_the_practice_default_then_xeros():
    assert check(Invoice(branding_theme_id=GONE), client_theme=SOCKET).theme_id == SOCKET
    assert check(Invoice(branding_theme_id=GONE)).theme_id == STANDARD
    no_default = PracticeReference(REFERENCE.accounts, REFERENCE.tax_rates, REFERENCE.themes)
    result = check(Invoice(branding_theme_id=GONE), reference=no_default)
    assert result.ok and result.theme_id is None  # nothing chosen any more: Xero's default
    assert check(Invoice(branding_theme_id=None)).theme_id is None


def test_a_chosen_theme_that_is_gone_is_held():
    result = check(Invoice(branding_theme_id=GONE), client_theme=GONE)
    assert result.held_reason == ("The invoice template 'Special Projects' is no longer in Xero: choose another "
                                  "template for the client (its Invoicing settings) or the default template in Billing "
                                  "Settings, then post again.")


@pytest.mark.parametrize("invoice, problem", [
    (Invoice(lines=[]), "Invoice SKT-000001 has no lines: nothing to post."),
    (Invoice(lines=[Line(unit_amount=Decimal("-300.00"))]), "The invoice's total is negative (-300.00)"),
    (Invoice(lines=[Line(quantity=Decimal("0"))]), "has a quantity of 0."),
    (Invoice(lines=[Line(unit_amount=Decimal("1.005"))]), "more than two decimal places"),
    (Invoice(due_date=date(2026, 10, 31)), "The due date (31 October 2026) is before the invoice date"),
])
def test_amounts_and_dates_must_be_valid(invoice, problem):
    result = check(invoice)
    assert not result.ok and problem in result.held_reason


def test_a_contact_problem_and_a_code_problem_are_both_said():
    result = check(Invoice(lines=[Line(account_code="215")]), sources={1: (BOOKKEEPING_215,)},
                   contact=ContactDecision(1, held_reason="ABB01 needs review."))
    assert result.problems[0] == "ABB01 needs review." and result.problems[1].startswith("Account code 215")


def test_line_sources_come_from_the_ledger_or_the_lines_service(app_ctx, owner):
    practice_id = owner.practice_id
    bookkeeping = make_service(practice_id, "Bookkeeping", account_code="215")
    payroll = make_service(practice_id, "Payroll", BillingMethod.MONTHLY)
    formation = make_service(practice_id, "Formation", BillingMethod.ONCE)
    client = make_client(practice_id)
    invoice = make_invoice(practice_id, client, "SKT-000001", lines=[("Consolidated", "370.00", "215", None),
                                                                     ("Formation", "150.00", None, None)],
                           services={1: formation.id})
    run = BillingRun(practice_id=practice_id, period=date(2026, 11, 1))
    db.session.add(run)
    db.session.flush()
    consolidated = invoice.lines[0]
    for service in (bookkeeping, payroll):
        engagement = make_engagement(client, service)
        db.session.add(BilledCharge(practice_id=practice_id, charge_key=f"e{engagement.id}:2026-11",
                                    engagement_id=engagement.id, due_period=date(2026, 11, 1), billing_run_id=run.id,
                                    invoice_id=invoice.id, invoice_line_id=consolidated.id))
    db.session.commit()
    sources = line_sources([(line.id, line.service_id) for line in invoice.lines])
    assert sources[consolidated.id] == (ServiceInfo("Bookkeeping", "215", None, True),
                                        ServiceInfo("Payroll", None, None, True))
    assert sources[invoice.lines[1].id] == (ServiceInfo("Formation", None, None, False),)


def test_practice_problems_stop_the_run_before_anything_is_held(app_ctx):
    assert "Xero is not connected" in practice_problem(1, None)
    connection = make_connection()
    practice_id = connection.practice_id
    assert "has not pulled this practice's Xero contacts" in practice_problem(practice_id, connection)
    pull = make_contact_pull(practice_id, tenant_id="another-organisation")
    assert "of another organisation" in practice_problem(practice_id, connection)
    pull.tenant_id = TENANT_ID
    db.session.commit()
    assert "no account codes from Xero yet" in practice_problem(practice_id, connection)
    make_account(practice_id)
    assert practice_problem(practice_id, connection) is None
    connection.status = "needs_reconnect"
    assert "needs reconnecting" in practice_problem(practice_id, connection)
