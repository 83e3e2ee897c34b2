"""What the downloads hold: a month's Billing Plan (every client matching the page's filter and search, in the
page's order) and the invoice list (one month or all), as exports.Table rows for billing.exports to write.

Read in SQL, streamed: the plan from its stored rows (plan_store) in one statement, whatever the number of
clients; the invoices in one statement plus one for the lines of every 500 invoices (their VAT is worked out as
the invoice list works it out). Nothing builds the plan per client.
"""
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Client, Invoice, InvoiceLine, InvoicePosting, InvoiceStatus
from webapp.models.billing_plan import BillingPlanRow
from webapp.services.billing import cadence
from webapp.services.billing.changes import Change
from webapp.services.billing.exports import Column, Kind, Table, Value
from webapp.services.billing.plan_page import PlanQuery, filtered_rows, page_ordering
from webapp.services.billing.plan_store import Section, ensure_stored
from webapp.services.billing.tax import tax_reference
from webapp.sync.invoice_posting_view import PostingView, posting_state

ZERO = Decimal("0.00")
BATCH = 500

PLAN_COLUMNS = (
    Column("Client", width=32),
    Column("Client code", width=11),
    Column("Services", width=40),
    Column("Last month (net)", Kind.MONEY, 15, summed=True),
    Column("This month (net)", Kind.MONEY, 15, summed=True),
    Column("Difference", Kind.MONEY, 13, summed=True),
    Column("VAT", Kind.MONEY, 12, summed=True),
    Column("This month incl. VAT", Kind.MONEY, 18, summed=True),
    Column("Agreed work", width=16),
    Column("Invoice date", Kind.DATE, 12),
    Column("Invoice number", width=14),
    Column("Xero status", width=22),
    Column("Xero number", width=14),
)
INVOICE_COLUMNS = (
    Column("Number", width=13),
    Column("Client", width=32),
    Column("Client code", width=11),
    Column("Invoice date", Kind.DATE, 12),
    Column("Due date", Kind.DATE, 12),
    Column("Net", Kind.MONEY, 13, summed=True),
    Column("VAT", Kind.MONEY, 12, summed=True),
    Column("Total", Kind.MONEY, 13, summed=True),
    Column("Status", width=16),
    Column("Xero status", width=22),
    Column("Xero number", width=14),
)


def _xero_status(invoice_id: int, status: str, xero_number: str | None, xero_status: str | None,
                 amount_paid: Decimal | None) -> str:
    """Where the invoice stands with Xero, worded as the pages word it ("Waiting to post", "Paid"...)."""
    return PostingView(invoice_id, posting_state(status), None, xero_number=xero_number, xero_status=xero_status,
                       amount_paid=amount_paid).label


# -- the Billing Plan ----------------------------------------------------------------------------------------------

def _services(items: list[dict[str, Any]] | None) -> str:
    """The row's services, as the page lists them (a catch-up says which month it covers)."""
    return ", ".join(f"{item['service_name']} (catch-up: {item['period_label']})" if item.get("catch_up")
                     else item["service_name"] for item in items or ())


def plan_table(practice_id: int, period: date, query: PlanQuery, today: date) -> Table:
    """The month's plan as the page shows it with `query`'s filter, search and order, every page of it.

    An open month's invoice date is its invoice day, or `today` once that has passed (the approve form's default,
    as the page's previews show it); an approved month's is its invoice's."""
    period = cadence.month_start(period)
    ensure_stored(practice_id, period)
    statement = filtered_rows(
        select(BillingPlanRow.client_name, BillingPlanRow.client_code, BillingPlanRow.section,
               BillingPlanRow.change, BillingPlanRow.amount, BillingPlanRow.last_amount, BillingPlanRow.vat,
               BillingPlanRow.invoice_day_date, BillingPlanRow.payload["items"].label("items"),
               Invoice.id.label("invoice_id"), Invoice.number, Invoice.issue_date, Invoice.status,
               InvoicePosting.xero_number, InvoicePosting.xero_status, InvoicePosting.amount_paid)
        .outerjoin(Invoice, (Invoice.id == BillingPlanRow.invoice_id) & (Invoice.practice_id == practice_id))
        .outerjoin(InvoicePosting, InvoicePosting.invoice_id == Invoice.id),
        practice_id, period, query).order_by(*page_ordering(query.sort))
    return Table(title=f"Billing Plan {period:%B %Y}", columns=PLAN_COLUMNS, rows=_plan_rows(statement, today),
                 noun="client")


def _plan_rows(statement, today: date) -> Iterator[Sequence[Value]]:
    for row in db.session.execute(statement.execution_options(yield_per=BATCH)):
        # A client billed last month only has no invoice this month: nothing, so no VAT.
        vat = ZERO if row.section == Section.ENDED.value else row.vat
        if row.invoice_id is not None:
            invoice_date = row.issue_date
        elif row.invoice_day_date is not None:
            invoice_date = max(row.invoice_day_date, today)
        else:
            invoice_date = None
        yield (row.client_name, row.client_code, _services(row.items), row.last_amount, row.amount,
               row.amount - row.last_amount, vat, row.amount + vat if vat is not None else None,
               Change(row.change).label, invoice_date, row.number,
               _xero_status(row.invoice_id, row.status, row.xero_number, row.xero_status, row.amount_paid)
               if row.invoice_id is not None else None,
               row.xero_number)


# -- the invoice list ----------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Line:
    """What VAT reads of an invoice line (tax.Line), without loading InvoiceLine objects."""

    account_code: str | None
    tax_type: str | None
    tax_amount: Decimal | None
    quantity: Decimal
    unit_amount: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_amount).quantize(self.unit_amount)  # as InvoiceLine.amount


def invoice_table(practice_id: int, period: date | None) -> Table:
    """The practice's invoices, one month's or all, newest first as the invoice list orders them."""
    wanted = [Invoice.practice_id == practice_id]
    if period is not None:
        wanted.append(Invoice.period == period)
    statement = (
        select(Invoice.id, Invoice.number, Invoice.issue_date, Invoice.due_date, Invoice.status, Client.name,
               Client.code, InvoicePosting.xero_number, InvoicePosting.xero_status, InvoicePosting.amount_paid)
        .join(Client, Client.id == Invoice.client_id)
        .outerjoin(InvoicePosting, InvoicePosting.invoice_id == Invoice.id)
        .filter(*wanted)
        .order_by(Invoice.period.desc(), func.length(Invoice.number).desc(), Invoice.number.desc(),
                  Invoice.id.desc()))
    title = f"Invoices {period:%B %Y}" if period else "Invoices"
    return Table(title=title, columns=INVOICE_COLUMNS, rows=_invoice_rows(practice_id, statement), noun="invoice")


def _lines_of(invoice_ids: list[int]) -> dict[int, list[_Line]]:
    lines: dict[int, list[_Line]] = defaultdict(list)
    for row in db.session.execute(
            select(InvoiceLine.invoice_id, InvoiceLine.account_code, InvoiceLine.tax_type, InvoiceLine.tax_amount,
                   InvoiceLine.quantity, InvoiceLine.unit_amount)
            .filter(InvoiceLine.invoice_id.in_(invoice_ids)).order_by(InvoiceLine.invoice_id, InvoiceLine.position)):
        lines[row.invoice_id].append(_Line(row.account_code, row.tax_type, row.tax_amount, row.quantity,
                                           row.unit_amount))
    return lines


def _invoice_rows(practice_id: int, statement) -> Iterator[Sequence[Value]]:
    reference = tax_reference(practice_id)
    for batch in db.session.execute(statement.execution_options(yield_per=BATCH)).partitions():
        lines = _lines_of([row.id for row in batch])
        for row in batch:
            tax = reference.tax(lines.get(row.id, []))
            yield (row.number, row.name, row.code, row.issue_date, row.due_date, tax.net, tax.vat,
                   tax.total if tax.complete else None, InvoiceStatus(row.status).label,
                   _xero_status(row.id, row.status, row.xero_number, row.xero_status, row.amount_paid)
                   if row.xero_number else None,
                   row.xero_number)
