"""One client's row of the plan, built from its classified charges: plain objects and unsaved models, no database."""
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace

from webapp.models import BillingMethod, Invoice, InvoiceLine
from webapp.services.billing.changes import Change
from webapp.services.billing.dates import InvoiceDating
from webapp.services.billing.plan_classifier import Charge, Classification
from webapp.services.billing.plan_rows import (
    ARCHIVED_NOTE,
    ClientPlan,
    EndedClientPlan,
    InvoicePreview,
    RowContext,
    client_outcome,
    client_row,
    preview_invoice,
)
from webapp.services.billing.tax import TaxRate, TaxReference

OCT, NOV = date(2026, 10, 1), date(2026, 11, 1)
SETTINGS = SimpleNamespace(consolidate_recurring=False, consolidate_one_off=False, recurring_account_code="200",
                           one_off_account_code="260", default_branding_theme_id=None, invoice_day=5,
                           payment_terms_days=14)
TAX = TaxReference({"200": "OUTPUT2", "260": "OUTPUT2"}, {"OUTPUT2": TaxRate("OUTPUT2", "20% (VAT on Income)",
                                                                           Decimal("20"))})


def make_client(status="active", **fields):
    values = dict(id=1, name="Acme Ltd", status=status, branding_theme_id=None, consolidate_recurring=None,
                  consolidate_one_off=None, invoice_day=None, payment_terms_days=None,
                  created_at=datetime(2026, 1, 1, tzinfo=UTC))
    return SimpleNamespace(**{**values, **fields})


def make_engagement(engagement_id, name="Payroll", method=BillingMethod.MONTHLY, price="120.00", start=date(2026, 1, 1),
                    end=None, created=datetime(2026, 1, 1, tzinfo=UTC)):
    service = SimpleNamespace(id=engagement_id, name=name, billing_method=method.value, position=engagement_id,
                              account_code=None, tax_type=None)
    return SimpleNamespace(id=engagement_id, service=service, service_id=service.id, price=Decimal(price),
                           start_date=start, end_date=end, completions=[], created_at=created)


def approved_run(run_id, period):
    """A run approved on the 3rd of the month after its own."""
    return SimpleNamespace(id=run_id, period=period,
                           approved_at=datetime.combine(period + timedelta(days=33), time(), UTC))


def charge(engagement, due, key=None):
    return Charge(key or f"e{engagement.id}:{due:%Y-%m}", engagement, due)


def context(**fields):
    values = dict(settings=SETTINGS, period=NOV, run=None, previous_run=None, legacy_run=False, invoices_now={},
                  invoices_before={}, invoiced_charges={}, theme_names={"t-1": "Standard"}, xero_default_id="t-1",
                  tax=TAX, today=date(2026, 11, 20), dating=InvoiceDating.INVOICE_DAY)
    return RowContext(**{**values, **fields})


def raised_invoice(invoice_id=7, client_id=1, amount="120.00"):
    invoice = Invoice(id=invoice_id, client_id=client_id, number="SKT-000007", issue_date=date(2026, 11, 5),
                      due_date=date(2026, 11, 19), period=NOV, branding_theme_id="t-1")
    invoice.lines = [InvoiceLine(description="Payroll — November 2026", quantity=Decimal("1.00"),
                                 unit_amount=Decimal(amount), account_code="200", tax_type="OUTPUT2",
                                 tax_amount=Decimal("24.00"))]
    return invoice


# --- an open month ---------------------------------------------------------------------------------------------

def test_an_open_months_row_bills_the_pending_charges_with_a_preview():
    payroll, vat = make_engagement(1), make_engagement(2, "VAT Returns", BillingMethod.QUARTERLY_ADVANCE, "300.00")
    classified = Classification(due_here=((charge(payroll, NOV), False),),
                                pending=((charge(vat, OCT), True), (charge(payroll, NOV), False)),
                                last_items=(charge(payroll, OCT),))
    row = client_row(make_client(), [payroll, vat], classified, context())
    assert isinstance(row, ClientPlan) and isinstance(row.preview, InvoicePreview)
    assert (row.amount, row.last_amount, row.difference) == (Decimal("420.00"), Decimal("120.00"), Decimal("300.00"))
    assert [item.label for item in row.items] == ["October 2026 – December 2026 (catch-up)", "November 2026"]
    assert [line.description for line in row.preview.lines] == [
        "VAT Returns — October 2026 – December 2026 (catch-up)", "Payroll — November 2026"]
    assert (row.preview.issue_date, row.preview.due_date, row.preview.template_name) == (
        date(2026, 11, 5), date(2026, 11, 19), "Standard")
    assert row.preview.tax.vat == Decimal("84.00")
    assert row.change is Change.UNCHANGED and row.notes == ()  # a catch-up is not "due this quarter"


def test_a_client_billed_last_month_only_has_an_ended_row_without_a_preview():
    payroll = make_engagement(1, end=date(2026, 10, 31))
    classified = Classification(last_items=(charge(payroll, OCT),))
    row = client_row(make_client(), [payroll], classified, context())
    assert isinstance(row, EndedClientPlan) and row.preview is None
    assert (row.amount, row.last_amount, row.change, row.details) == (
        Decimal("0.00"), Decimal("120.00"), Change.ENDED, ("Payroll ended",))


def test_a_client_with_nothing_this_month_or_last_has_no_row_but_an_outcome():
    payroll = make_engagement(1, start=date(2027, 1, 1))
    classified = Classification(awaiting=frozenset({OCT}), before_socket=("a note",))
    outcome = client_outcome(make_client(), [payroll], classified, context())
    assert outcome.row is None and outcome.late is None
    assert (outcome.awaiting, outcome.before_socket, outcome.in_scope) == (frozenset({OCT}), ("a note",), True)
    assert client_outcome(make_client(status="archived"), [payroll], Classification(), context()).in_scope is False


def test_a_clients_own_terms_and_template_date_its_preview():
    payroll = make_engagement(1)
    client = make_client(invoice_day=10, payment_terms_days=30, branding_theme_id="t-2")
    item_row = client_row(client, [payroll], Classification(pending=((charge(payroll, NOV), False),)),
                          context(dating=InvoiceDating.TODAY))
    preview = item_row.preview
    assert (preview.issue_date, preview.due_date) == (date(2026, 11, 20), date(2026, 12, 20))  # its day has passed
    assert (preview.invoice_day_date, preview.invoice_day_due_date, preview.own_terms) == (
        date(2026, 11, 10), date(2026, 12, 10), True)
    assert not preview.dated_on_invoice_day
    assert (preview.branding_theme_id, preview.template_name) == ("t-2", "Xero's default template")


def test_preview_invoice_without_any_template_says_xeros_default():
    payroll = make_engagement(1)
    items = client_row(make_client(), [payroll], Classification(pending=((charge(payroll, NOV), False),)),
                       context()).items
    preview = preview_invoice(SETTINGS, make_client(), items, NOV, {}, None, TaxReference({}, None))
    assert (preview.branding_theme_id, preview.template_name, preview.tax.vat) == (
        None, "Xero's default template", None)


def test_work_added_after_last_month_was_approved_is_new_even_if_back_dated_into_it():
    """October approved on 3 November; then work starting 30 October: November bills it twice, and it is new."""
    def november_row(created, previous_run):
        payroll = make_engagement(1, start=date(2026, 10, 30), created=created)
        classified = Classification(due_here=((charge(payroll, NOV), False),),
                                    pending=((charge(payroll, OCT), True), (charge(payroll, NOV), False)),
                                    last_items=(charge(payroll, OCT),))
        return client_row(make_client(), [payroll], classified, context(previous_run=previous_run))

    row = november_row(datetime(2026, 11, 4, tzinfo=UTC), approved_run(10, OCT))
    assert (row.change, row.last_amount, row.amount) == (Change.NEW, Decimal("0.00"), Decimal("240.00"))
    assert [line.description for line in row.preview.lines] == [
        "Payroll — October 2026 (catch-up)", "Payroll — November 2026"]
    # Known when October was approved (its client out of that month's scope, say): the same work, not new.
    assert november_row(datetime(2026, 10, 20, tzinfo=UTC), approved_run(10, OCT)).change is Change.UNCHANGED
    # October still open: its own plan shows the work, so November's last month has it.
    assert november_row(datetime(2026, 11, 4, tzinfo=UTC), None).change is Change.UNCHANGED


# --- an approved month -----------------------------------------------------------------------------------------

def test_an_approved_months_row_is_the_invoice_its_run_raised():
    payroll = make_engagement(1, price="130.00")  # re-priced since: the invoice stands
    invoice, before = raised_invoice(), raised_invoice(3, amount="110.00")
    run = SimpleNamespace(id=11, period=NOV)
    late_payroll = make_engagement(2, "Bookkeeping")
    classified = Classification(due_here=((charge(payroll, NOV), False),), late=((charge(late_payroll, NOV), False),))
    ctx = context(run=run, previous_run=approved_run(10, OCT), invoices_now={1: invoice},
                  invoices_before={1: before}, invoiced_charges={7: [(charge(payroll, NOV), False)]})
    outcome = client_outcome(make_client(status="archived"), [payroll, late_payroll], classified, ctx)
    row = outcome.row
    assert isinstance(row, ClientPlan) and row.invoice is invoice
    assert (row.amount, row.last_amount) == (Decimal("120.00"), Decimal("110.00"))
    assert [line.description for line in row.preview.lines] == ["Payroll — November 2026"]
    assert row.preview.tax.vat == Decimal("24.00")  # as stored at approval
    assert [item.charge_key for item in row.items] == ["e1:2026-11"]
    assert row.notes == (ARCHIVED_NOTE,)
    assert [item.charge_key for item in outcome.late.items] == ["e2:2026-11"]


def test_a_run_from_before_the_ledger_bills_what_fell_due_in_its_month():
    payroll = make_engagement(1)
    classified = Classification(due_here=((charge(payroll, NOV), False),))
    ctx = context(run=SimpleNamespace(id=11, period=NOV), legacy_run=True, invoices_now={1: raised_invoice()})
    assert [item.charge_key for item in client_row(make_client(), [payroll], classified, ctx).items] == ["e1:2026-11"]
    not_legacy = context(run=SimpleNamespace(id=11, period=NOV), invoices_now={1: raised_invoice()})
    assert client_row(make_client(), [payroll], classified, not_legacy).items == []


def test_a_client_without_an_invoice_in_an_approved_month_shows_only_if_billed_last_month():
    payroll = make_engagement(1)
    run, previous = SimpleNamespace(id=11, period=NOV), approved_run(10, OCT)
    ctx = context(run=run, previous_run=previous, invoices_before={1: raised_invoice(3)})
    row = client_row(make_client(), [payroll], Classification(), ctx)
    assert isinstance(row, EndedClientPlan) and row.last_amount == Decimal("120.00")
    assert client_row(make_client(), [payroll], Classification(), context(run=run, previous_run=previous)) is None
