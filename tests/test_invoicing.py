"""Invoice layout rules (webapp/services/billing/lines.py, dates.py, tax.py) and billing cadence: pure functions."""
from datetime import date
from decimal import Decimal

import pytest

from webapp.models import BillingMethod
from webapp.services.billing.cadence import (
    add_months,
    bills_in,
    cadence_key,
    completion_key,
    completion_period,
    due_months,
    first_month_after,
    period_label,
)
from webapp.services.billing.dates import (
    InvoiceDating,
    InvoiceTerms,
    effective_terms,
    invoice_dates,
    invoice_day_passed,
)
from webapp.services.billing.lines import (
    BillableItem,
    DraftLine,
    LineRules,
    build_lines,
    effective_consolidation,
    lines_total,
)
from webapp.services.billing.tax import TaxRate, line_tax_type, line_vat, parse_percent, tax_invoice

NOV = date(2026, 11, 1)


def item(name, amount, recurring=True, code=None, tax=None, service_id=None, label="November 2026"):
    return BillableItem(service_id=service_id, service_name=name, recurring=recurring, amount=Decimal(amount),
                        period_label=label, account_code=code, tax_type=tax)


BOOKKEEPING = item("Monthly Bookkeeping", "250.00", service_id=1)
VAT = item("VAT Returns", "300.00", service_id=2, label="November 2026 – January 2027")
FORMATION = item("Company Formation", "150.00", recurring=False, service_id=3, label="completed November 2026")
ADVISORY = item("Business Advisory Meeting", "250.50", recurring=False, service_id=4, label="completed November 2026")


def rules(recurring=False, one_off=False, recurring_code="200", one_off_code="260"):
    return LineRules(consolidate_recurring=recurring, consolidate_one_off=one_off,
                     recurring_account_code=recurring_code, one_off_account_code=one_off_code)


# --- consolidation ---------------------------------------------------------------------------------

def test_itemised_gives_one_line_per_service_at_the_engagement_price():
    lines = build_lines([BOOKKEEPING, VAT], rules(), NOV)
    assert [(ln.description, ln.quantity, ln.unit_amount, ln.account_code, ln.service_id) for ln in lines] == [
        ("Monthly Bookkeeping — November 2026", Decimal("1.00"), Decimal("250.00"), "200", 1),
        ("VAT Returns — November 2026 – January 2027", Decimal("1.00"), Decimal("300.00"), "200", 2),
    ]


def test_consolidated_gives_one_line_named_after_the_month_and_services_with_the_sum():
    lines = build_lines([BOOKKEEPING, VAT], rules(recurring=True), NOV)
    assert len(lines) == 1
    line = lines[0]
    assert line.description == "Professional services for November 2026: Monthly Bookkeeping, VAT Returns"
    assert (line.quantity, line.unit_amount, line.amount) == (Decimal("1.00"), Decimal("550.00"), Decimal("550.00"))
    assert line.account_code == "200"
    assert line.service_id is None


def test_recurring_and_one_off_are_consolidated_independently():
    items = [BOOKKEEPING, FORMATION, VAT, ADVISORY]
    recurring_only = build_lines(items, rules(recurring=True, one_off=False), NOV)
    assert [line.description for line in recurring_only] == [
        "Professional services for November 2026: Monthly Bookkeeping, VAT Returns",
        "Company Formation — completed November 2026",
        "Business Advisory Meeting — completed November 2026",
    ]
    one_off_only = build_lines(items, rules(recurring=False, one_off=True), NOV)
    assert [line.description for line in one_off_only] == [
        "Monthly Bookkeeping — November 2026",
        "VAT Returns — November 2026 – January 2027",
        "Professional services for November 2026: Company Formation, Business Advisory Meeting",
    ]
    assert one_off_only[-1].unit_amount == Decimal("400.50")
    assert one_off_only[-1].account_code == "260"


def test_recurring_lines_come_before_one_off_lines_whatever_the_input_order():
    lines = build_lines([FORMATION, BOOKKEEPING], rules(), NOV)
    assert [line.service_id for line in lines] == [1, 3]


def test_consolidated_groups_by_account_code_and_tax_type():
    payroll = item("Payroll", "120.00", code="210", service_id=5)
    zero_rated = item("Training", "80.00", tax="ZERORATEDOUTPUT", service_id=6)
    lines = build_lines([BOOKKEEPING, payroll, VAT, zero_rated], rules(recurring=True), NOV)
    assert [(ln.account_code, ln.tax_type, ln.unit_amount, ln.description.split(": ")[1]) for ln in lines] == [
        ("200", None, Decimal("550.00"), "Monthly Bookkeeping, VAT Returns"),
        ("210", None, Decimal("120.00"), "Payroll"),
        ("200", "ZERORATEDOUTPUT", Decimal("80.00"), "Training"),
    ]


def test_a_consolidated_group_of_one_service_keeps_its_service_id():
    lines = build_lines([BOOKKEEPING], rules(recurring=True), NOV)
    assert lines[0].service_id == 1


def test_service_account_code_beats_the_practice_defaults():
    lines = build_lines([item("Payroll", "120.00", code="210"), item("Audit", "99.00", recurring=False, code="215")],
                        rules(), NOV)
    assert [line.account_code for line in lines] == ["210", "215"]


def test_practice_defaults_are_split_by_recurring_and_one_off():
    lines = build_lines([BOOKKEEPING, FORMATION], rules(recurring_code="200", one_off_code="260"), NOV)
    assert [line.account_code for line in lines] == ["200", "260"]


def test_no_default_account_code_leaves_the_line_without_one():
    lines = build_lines([BOOKKEEPING], rules(recurring_code=None), NOV)
    assert lines[0].account_code is None and lines[0].tax_type is None


def test_tax_type_comes_from_the_service_only():
    lines = build_lines([item("Training", "80.00", tax="ZERORATEDOUTPUT")], rules(), NOV)
    assert lines[0].tax_type == "ZERORATEDOUTPUT"


def test_money_stays_pence_exact():
    items = [item("A", "0.10"), item("B", "0.20"), item("C", "33.33")]
    lines = build_lines(items, rules(recurring=True), NOV)
    assert lines[0].unit_amount == Decimal("33.63")
    assert lines_total(build_lines(items, rules(), NOV)) == Decimal("33.63")
    assert all(isinstance(line.unit_amount, Decimal) for line in lines)


def test_no_items_gives_no_lines():
    assert build_lines([], rules(recurring=True, one_off=True), NOV) == []


@pytest.mark.parametrize("client_value, practice_value, expected", [
    (None, True, True), (None, False, False), (True, False, True), (False, True, False),
])
def test_client_consolidation_override_beats_the_practice_setting(client_value, practice_value, expected):
    assert effective_consolidation(client_value, practice_value) is expected


def test_invoice_dates_use_the_invoice_day_and_payment_terms():
    assert invoice_dates(NOV, 15, 30) == (date(2026, 11, 15), date(2026, 12, 15))
    assert invoice_dates(date(2026, 12, 1), 28, 14) == (date(2026, 12, 28), date(2027, 1, 11))
    assert invoice_dates(NOV, 1, 0) == (NOV, NOV)


TODAY = InvoiceDating.TODAY


def test_an_invoice_day_still_to_come_is_kept_even_dated_today():
    assert not invoice_day_passed(NOV, 15, date(2026, 11, 10))
    assert not invoice_day_passed(NOV, 15, date(2026, 11, 15))  # today itself has not passed
    assert invoice_dates(NOV, 15, 14, today=date(2026, 11, 10), dating=TODAY) == (
        date(2026, 11, 15), date(2026, 11, 29))
    assert invoice_dates(NOV, 15, 14, today=date(2026, 11, 15), dating=TODAY) == (
        date(2026, 11, 15), date(2026, 11, 29))


def test_a_passed_invoice_day_is_kept_or_replaced_by_today_as_chosen():
    """Approved on 30 November: dated 1 November it is due 15 November, overdue at once; dated today it is not."""
    today = date(2026, 11, 30)
    assert invoice_day_passed(NOV, 1, today)
    assert invoice_dates(NOV, 1, 14, today=today) == (NOV, date(2026, 11, 15))  # the invoice day by default
    assert invoice_dates(NOV, 1, 14, today=today, dating=InvoiceDating.INVOICE_DAY) == (NOV, date(2026, 11, 15))
    assert invoice_dates(NOV, 1, 14, today=today, dating=TODAY) == (today, date(2026, 12, 14))
    assert invoice_dates(NOV, 1, 14, dating=TODAY) == (NOV, date(2026, 11, 15))  # no today given: the invoice day


def test_a_month_approved_after_it_ended_dates_today_across_month_and_year_ends():
    december = date(2026, 12, 1)
    assert invoice_day_passed(december, 28, date(2027, 1, 2))
    assert invoice_dates(december, 28, 30, today=date(2027, 1, 2), dating=TODAY) == (
        date(2027, 1, 2), date(2027, 2, 1))
    # The last day of a month plus 30 days lands in the month after next when the next is short.
    assert invoice_dates(date(2027, 1, 1), 1, 30, today=date(2027, 1, 31), dating=TODAY) == (
        date(2027, 1, 31), date(2027, 3, 2))
    assert invoice_dates(date(2028, 2, 1), 28, 1) == (date(2028, 2, 28), date(2028, 2, 29))  # a leap year


def test_terms_of_zero_days_are_due_on_the_invoice_date():
    assert invoice_dates(NOV, 1, 0, today=date(2026, 11, 30), dating=TODAY) == (date(2026, 11, 30),) * 2
    assert effective_terms(1, 14, client_terms=0) == InvoiceTerms(1, 0)  # 0 is the client's own, not "none"


@pytest.mark.parametrize("client_day, client_terms, expected", [
    (None, None, InvoiceTerms(1, 14)),
    (25, None, InvoiceTerms(25, 14)),
    (None, 30, InvoiceTerms(1, 30)),
    (28, 0, InvoiceTerms(28, 0)),
])
def test_a_clients_own_invoice_day_and_terms_override_the_practices(client_day, client_terms, expected):
    assert effective_terms(1, 14, client_day, client_terms) == expected


# --- cadence -----------------------------------------------------------------------------------------

def billed_months(method, start, end=None, months=range(-2, 26)):
    """Which months (as YYYY-MM) an engagement is billed in, over Sep 2026 .. Dec 2028."""
    periods = [add_months(NOV, k) for k in months]
    return [f"{period:%Y-%m}" for period in periods if bills_in(method, start, end, period)]


def test_monthly_bills_every_month_from_start_to_end():
    assert billed_months(BillingMethod.MONTHLY, date(2026, 11, 20), date(2027, 2, 3)) == [
        "2026-11", "2026-12", "2027-01", "2027-02"]


def test_monthly_without_end_keeps_billing():
    assert len(billed_months(BillingMethod.MONTHLY, date(2026, 11, 1))) == 26


def test_monthly_ending_the_day_before_a_month_does_not_bill_that_month():
    assert billed_months(BillingMethod.MONTHLY, date(2026, 9, 1), date(2026, 10, 31)) == ["2026-09", "2026-10"]


def test_quarterly_in_advance_bills_in_the_start_month_and_every_three_months():
    assert billed_months(BillingMethod.QUARTERLY_ADVANCE, date(2026, 11, 14), date(2027, 8, 31)) == [
        "2026-11", "2027-02", "2027-05", "2027-08"]


def test_quarterly_in_advance_stops_after_its_end_date():
    assert billed_months(BillingMethod.QUARTERLY_ADVANCE, date(2026, 11, 1), date(2027, 4, 30)) == [
        "2026-11", "2027-02"]


def test_annual_in_advance_bills_in_the_start_month_each_year():
    assert billed_months(BillingMethod.ANNUAL_ADVANCE, date(2026, 9, 30)) == ["2026-09", "2027-09", "2028-09"]


@pytest.mark.parametrize("method", [BillingMethod.QUARTERLY_COMPLETION, BillingMethod.ANNUAL_COMPLETION,
                                    BillingMethod.ONCE])
def test_on_completion_and_once_never_fall_due_by_the_calendar(method):
    assert billed_months(method, date(2026, 1, 1)) == []
    assert list(due_months(method, date(2026, 1, 1), None, date(2026, 1, 1), date(2028, 1, 1))) == []


@pytest.mark.parametrize("method, start, end", [
    (BillingMethod.MONTHLY, date(2026, 11, 20), date(2027, 2, 3)),
    (BillingMethod.MONTHLY, date(2025, 3, 31), None),
    (BillingMethod.QUARTERLY_ADVANCE, date(2025, 12, 14), None),
    (BillingMethod.QUARTERLY_ADVANCE, date(2026, 11, 1), date(2027, 4, 30)),
    (BillingMethod.ANNUAL_ADVANCE, date(2024, 9, 30), None),
])
def test_due_months_lists_exactly_the_months_bills_in_says(method, start, end):
    first, last = add_months(NOV, -2), add_months(NOV, 25)
    assert [f"{p:%Y-%m}" for p in due_months(method, start, end, first, last)] == billed_months(method, start, end)


def test_completion_periods_count_quarters_and_years_from_the_start_month():
    start = date(2026, 2, 15)
    assert completion_period(BillingMethod.QUARTERLY_COMPLETION, start, date(2026, 4, 30)) == 0
    assert completion_period(BillingMethod.QUARTERLY_COMPLETION, start, date(2026, 5, 1)) == 1
    assert completion_period(BillingMethod.ANNUAL_COMPLETION, start, date(2027, 1, 31)) == 0
    assert completion_period(BillingMethod.ANNUAL_COMPLETION, start, date(2027, 2, 1)) == 1
    assert completion_period(BillingMethod.ONCE, start, date(2030, 1, 1)) == 0


def test_charge_keys():
    assert cadence_key(12, date(2026, 8, 1)) == "e12:2026-08"
    assert completion_key(7) == "c7"


def test_period_labels_say_what_the_charge_covers():
    assert period_label(BillingMethod.MONTHLY, NOV) == "November 2026"
    assert period_label(BillingMethod.QUARTERLY_ADVANCE, NOV) == "November 2026 – January 2027"
    assert period_label(BillingMethod.ANNUAL_ADVANCE, NOV) == "November 2026 – October 2027"
    assert period_label(BillingMethod.ONCE, NOV) == "completed November 2026"


# --- VAT as Xero will post it ------------------------------------------------------------------------

STANDARD = TaxRate("OUTPUT2", "20% (VAT on Income)", Decimal("20"))
REDUCED = TaxRate("RROUTPUT", "5% (VAT on Income)", Decimal("5"))
RATES = {"OUTPUT2": STANDARD, "RROUTPUT": REDUCED}
ACCOUNTS = {"200": "OUTPUT2", "260": "RROUTPUT"}


def line(amount, code="200", tax=None):
    return DraftLine(description="x", quantity=Decimal("1.00"), unit_amount=Decimal(amount), account_code=code,
                     tax_type=tax)


def test_a_lines_tax_type_is_its_own_else_its_accounts_default():
    assert line_tax_type("ZERORATEDOUTPUT", "200", ACCOUNTS) == "ZERORATEDOUTPUT"
    assert line_tax_type(None, "260", ACCOUNTS) == "RROUTPUT"
    assert line_tax_type(None, "999", ACCOUNTS) is None
    assert line_tax_type(None, None, ACCOUNTS) is None


@pytest.mark.parametrize("value, percent", [("20", Decimal("20")), ("20.0000", Decimal("20")), (" 5 ", Decimal("5")),
                                            ("0", Decimal("0")), (None, None), ("", None), ("n/a", None),
                                            ("-1", None), ("NaN", None)])
def test_parse_percent_reads_xeros_effective_rate(value, percent):
    assert parse_percent(value) == percent


def test_vat_is_rounded_half_up_on_each_line():
    assert line_vat(Decimal("10.01"), Decimal("17.5")) == Decimal("1.75")  # 1.75175
    assert line_vat(Decimal("0.05"), Decimal("5")) == Decimal("0.00")  # 0.0025
    assert line_vat(Decimal("0.10"), Decimal("5")) == Decimal("0.01")  # 0.005 rounds up
    assert line_vat(Decimal("250.00"), Decimal("20")) == Decimal("50.00")


def test_invoice_vat_is_the_sum_of_rounded_lines_not_the_rounded_sum():
    tax = tax_invoice([line("0.05", "260"), line("0.05", "260")], ACCOUNTS, RATES)
    assert (tax.net, tax.vat, tax.total) == (Decimal("0.10"), Decimal("0.00"), Decimal("0.10"))


def test_net_vat_and_total_with_mixed_rates():
    tax = tax_invoice([line("250.00"), line("150.00", "260"), line("99.99", tax="OUTPUT2")], ACCOUNTS, RATES)
    assert [(t.tax_type, t.rate, t.vat) for t in tax.lines] == [
        ("OUTPUT2", STANDARD, Decimal("50.00")), ("RROUTPUT", REDUCED, Decimal("7.50")),
        ("OUTPUT2", STANDARD, Decimal("20.00"))]
    assert (tax.net, tax.vat, tax.total, tax.complete) == (
        Decimal("499.99"), Decimal("77.50"), Decimal("577.49"), True)


def test_an_unknown_rate_leaves_the_vat_to_xero():
    tax = tax_invoice([line("250.00"), line("100.00", tax="EXEMPTOUTPUT")], ACCOUNTS, RATES)
    assert (tax.complete, tax.vat, tax.total, tax.unknown_tax_types) == (False, None, Decimal("350.00"),
                                                                         ["EXEMPTOUTPUT"])
    assert tax.lines[0].vat == Decimal("50.00") and tax.lines[1].vat is None


def test_without_xero_no_vat_is_shown():
    tax = tax_invoice([line("250.00")], ACCOUNTS, None)
    assert (tax.complete, tax.xero_connected, tax.total, tax.lines[0].vat) == (False, False, Decimal("250.00"), None)


def test_the_first_month_after_skips_every_taken_month_across_a_year_end():
    taken = {date(2026, 11, 1), date(2026, 12, 1), date(2027, 2, 1)}
    assert first_month_after(date(2026, 10, 1), taken) == date(2027, 1, 1)
    assert first_month_after(date(2027, 1, 1), taken) == date(2027, 3, 1)
    assert first_month_after(date(2026, 11, 15), set()) == date(2026, 12, 1)
