"""One client's row in the Billing Plan, built from its classified charges. Pure: no database.

An open month's row bills the client's pending charges (with the invoice approving will raise); an approved
month's row is the invoice its run raised. Either way it carries last month's amount, the change in the
client's agreed work (see billing.changes; last month's as that month's plan knew it, so a client added since it
was approved is new, see on_last_months_plan) and notes on cadence moves. `client_outcome` is everything the plan
takes from one client: its row (if any), its late charges, the earlier months awaiting approval it has charges
in, its before-Socket notes and whether it is in the approval's scope.
"""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from webapp.models import BillingRun, BillingSettings, Client, ClientStatus, Invoice
from webapp.services.billing import cadence
from webapp.services.billing.changes import Change, DueService, agreed_work, cadence_notes, compare_work
from webapp.services.billing.dates import InvoiceDating, InvoiceTerms, effective_terms, invoice_dates
from webapp.services.billing.lines import (
    BillableItem,
    DraftLine,
    LineRules,
    build_lines,
    effective_consolidation,
    lines_total,
)
from webapp.services.billing.plan_classifier import Charge, Classification, billing_method
from webapp.services.billing.plan_records import InvoiceTotal, PlanClient, PlanEngagement
from webapp.services.billing.tax import InvoiceTax, TaxReference

ZERO = Decimal("0.00")
ARCHIVED_NOTE = "Client archived since this month was approved: its invoice stands"
XERO_DEFAULT_TEMPLATE = "Xero's default template"


@dataclass(frozen=True, slots=True)
class InvoicePreview:
    """The invoice exactly as approving the plan will raise it."""

    issue_date: date  # as the plan dates it (on its invoice day, or today: see PlanDates)
    due_date: date
    branding_theme_id: str | None
    template_name: str
    lines: list[DraftLine]
    tax: InvoiceTax  # net, VAT per line and total as Xero will post them
    # Dated on its invoice day in the billed month (the client's, else the practice's): what the plan's
    # fingerprint covers, whichever date approving gives it. None: the same as issue_date / due_date.
    invoice_day_date: date | None = None
    invoice_day_due_date: date | None = None
    own_terms: bool = False  # the client has its own invoice day or payment terms

    @property
    def dated_on_invoice_day(self) -> bool:
        return self.invoice_day_date in (None, self.issue_date)

    @property
    def total(self) -> Decimal:
        """The net total (before VAT)."""
        return lines_total(self.lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class _ClientRow:
    """What the plan shows of one client: its amounts this month and last, and how its agreed work changed."""

    client: PlanClient | Client  # the plan's copy (a Client model on the stored plan's page)
    items: list[BillableItem]
    amount: Decimal
    last_amount: Decimal
    change: Change
    invoice: Invoice | None = None  # approved month: the invoice its run raised for this client
    details: tuple[str, ...] = ()  # what changed in the agreed work, e.g. "Payroll added"
    notes: tuple[str, ...] = ()  # why the amount moved without it, e.g. "VAT Returns due this quarter"

    @property
    def difference(self) -> Decimal:
        return self.amount - self.last_amount


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientPlan(_ClientRow):
    """A client invoiced this month, with the invoice approving raises (approved month: the one it raised)."""

    preview: InvoicePreview


@dataclass(frozen=True, slots=True, kw_only=True)
class EndedClientPlan(_ClientRow):
    """A client billed last month but not this month: there is no invoice to preview."""

    preview: None = None


@dataclass(frozen=True, slots=True)
class LateCharges:
    """Charges that fell due in an approved month after it was approved: a later month bills them."""

    client: PlanClient | Client  # the plan's copy (a Client model on the stored plan's page)
    items: list[BillableItem]


@dataclass(frozen=True, slots=True)
class ClientOutcome:
    """Everything the plan takes from one client; a plan is these, assembled in client order (name, id)."""

    client: PlanClient
    row: ClientPlan | EndedClientPlan | None  # None: nothing billed this month or last
    late: LateCharges | None = None  # approved month: its charges due here, not yet invoiced
    awaiting: frozenset[date] = frozenset()  # earlier months, not approved, it has charges in
    before_socket: tuple[str, ...] = ()  # open month: its fees covering it that fell due before Socket
    in_scope: bool = False  # active: approving records it in the run's scope


@dataclass(frozen=True)
class RowContext:
    """What every client's row reads besides its own charges: the month, its runs and the practice's settings."""

    settings: BillingSettings
    period: date
    run: BillingRun | None  # the month's run, when approved
    previous_run: BillingRun | None
    legacy_run: bool  # the month's run predates the ledger: its invoices bill what fell due in it
    invoices_now: Mapping[int, Invoice]  # client id -> the invoice the month's run raised
    invoices_before: Mapping[int, InvoiceTotal]  # client id -> the invoice last month's run raised (its total)
    invoiced_charges: Mapping[int, Sequence[tuple[Charge, bool]]]  # invoice id -> charges it billed (catch-up?)
    theme_names: Mapping[str, str]
    xero_default_id: str | None
    tax: TaxReference
    today: date
    dating: InvoiceDating

    @property
    def previous(self) -> date:
        return cadence.add_months(self.period, -1)


def billable_item(charge: Charge, catch_up: bool = False) -> BillableItem:
    engagement, service = charge.engagement, charge.engagement.service
    method = billing_method(service)
    return BillableItem(
        service_id=service.id,
        service_name=service.name,
        recurring=method.is_recurring,
        amount=engagement.price,
        period_label=cadence.period_label(method, charge.due_period),
        account_code=service.account_code or None,
        tax_type=service.tax_type or None,
        charge_key=charge.key,
        catch_up=catch_up,
        engagement_id=engagement.id,
        completion_id=charge.completion_id,
        due_period=charge.due_period,
    )


def in_service_order(charges: Sequence[tuple[Charge, bool]]) -> list[BillableItem]:
    """The charges as invoice items: by due month, then as the pricing menu lists the services."""
    ordered = sorted(charges, key=lambda pair: (pair[0].due_period, pair[0].engagement.service.position,
                                                pair[0].engagement.service.name, pair[0].engagement.id,
                                                pair[0].key))
    return [billable_item(charge, catch_up) for charge, catch_up in ordered]


def line_rules(settings: BillingSettings, client: PlanClient) -> LineRules:
    """The layout rules for one client: its own consolidation choices win over the practice's."""
    return LineRules(
        consolidate_recurring=effective_consolidation(client.consolidate_recurring, settings.consolidate_recurring),
        consolidate_one_off=effective_consolidation(client.consolidate_one_off, settings.consolidate_one_off),
        recurring_account_code=settings.recurring_account_code,
        one_off_account_code=settings.one_off_account_code,
    )


def effective_theme_id(settings: BillingSettings, client: PlanClient, xero_default_id: str | None) -> str | None:
    """The client's template, else the practice's, else Xero's default (lowest SortOrder), else none."""
    return client.branding_theme_id or settings.default_branding_theme_id or xero_default_id


def client_terms(settings: BillingSettings, client: PlanClient) -> InvoiceTerms:
    """The client's invoice day and payment terms: its own where it has them, else the practice's."""
    return effective_terms(settings.invoice_day, settings.payment_terms_days,
                           client.invoice_day, client.payment_terms_days)


def has_own_terms(client: PlanClient) -> bool:
    return client.invoice_day is not None or client.payment_terms_days is not None


def _template_name(theme_names: Mapping[str, str], theme_id: str | None) -> str:
    return theme_names.get(theme_id, XERO_DEFAULT_TEMPLATE) if theme_id else XERO_DEFAULT_TEMPLATE


def preview_invoice(settings: BillingSettings, client: PlanClient, items: list[BillableItem],
                    period: date, theme_names: Mapping[str, str], xero_default_id: str | None,
                    tax: TaxReference, today: date | None = None,
                    dating: InvoiceDating = InvoiceDating.INVOICE_DAY) -> InvoicePreview:
    """The invoice approving would raise for `items`: dated, templated, laid out and taxed."""
    terms = client_terms(settings, client)
    on_day, due_on_day = invoice_dates(period, terms.invoice_day, terms.payment_terms_days)
    issue, due = invoice_dates(period, terms.invoice_day, terms.payment_terms_days, today=today, dating=dating)
    theme_id = effective_theme_id(settings, client, xero_default_id)
    lines = build_lines(items, line_rules(settings, client), period)
    return InvoicePreview(
        issue_date=issue,
        due_date=due,
        branding_theme_id=theme_id,
        template_name=_template_name(theme_names, theme_id),
        lines=lines,
        tax=tax.tax(lines),
        invoice_day_date=on_day,
        invoice_day_due_date=due_on_day,
        own_terms=has_own_terms(client),
    )


def invoice_preview(invoice: Invoice, theme_names: Mapping[str, str], tax: TaxReference) -> InvoicePreview:
    """A raised invoice shown like a preview: its own dates, template and lines, as stored."""
    theme_id = invoice.branding_theme_id
    lines = [DraftLine(description=line.description, quantity=line.quantity, unit_amount=line.unit_amount,
                       account_code=line.account_code, tax_type=line.tax_type, service_id=line.service_id)
             for line in invoice.lines]
    return InvoicePreview(
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        branding_theme_id=theme_id,
        template_name=_template_name(theme_names, theme_id),
        lines=lines,
        tax=tax.tax(lines),
    )


def _due(charge: Charge, catch_up: bool = False) -> DueService:
    service = charge.engagement.service
    return DueService(service.id, service.name, billing_method(service), catch_up)


@dataclass(frozen=True, slots=True)
class _ThisMonth:
    """What one client is billed this month: the charges, as items, their amount and the invoice."""

    charges: Sequence[tuple[Charge, bool]]
    items: list[BillableItem]
    amount: Decimal | None  # None: no invoice this month
    preview: InvoicePreview | None
    invoice: Invoice | None = None


def _open_month(client: PlanClient, classified: Classification, ctx: RowContext) -> _ThisMonth:
    """Not yet approved: the pending charges, previewed as the invoice approving would raise."""
    items = in_service_order(classified.pending)
    if not items:
        return _ThisMonth(classified.pending, items, None, None)
    preview = preview_invoice(ctx.settings, client, items, ctx.period, ctx.theme_names, ctx.xero_default_id,
                              ctx.tax, today=ctx.today, dating=ctx.dating)
    return _ThisMonth(classified.pending, items, sum((item.amount for item in items), ZERO), preview)


def _approved_month(client: PlanClient, classified: Classification, ctx: RowContext) -> _ThisMonth:
    """Approved: the invoice the month's run raised for the client, with the charges it billed."""
    invoice = ctx.invoices_now.get(client.id)
    if invoice is None:
        return _ThisMonth((), [], None, None)
    legacy = classified.due_here if ctx.legacy_run else ()
    charges = ctx.invoiced_charges.get(invoice.id, legacy)
    return _ThisMonth(charges, in_service_order(charges), invoice.total,
                      invoice_preview(invoice, ctx.theme_names, ctx.tax), invoice)


def _last_amount(client: PlanClient, active: bool, classified: Classification, ctx: RowContext) -> Decimal | None:
    """Last month's amount: what its run invoiced when approved, else what fell due in it (active clients)."""
    if ctx.previous_run is not None:
        before = ctx.invoices_before.get(client.id)
        return before.total if before else None
    if classified.last_items and active:
        return sum((charge.engagement.price for charge in classified.last_items), ZERO)
    return None


def on_last_months_plan(engagements: Sequence[PlanEngagement],
                        previous_run: BillingRun | None) -> list[PlanEngagement]:
    """The engagements last month's plan knew: all of them while it is open; once approved, those that existed
    when it was approved. One added since, even back-dated into last month, was never on that plan: its client is
    new (or the service added) this month, which also bills last month's charge as catch-up."""
    if previous_run is None:
        return list(engagements)
    return [engagement for engagement in engagements if engagement.created_at <= previous_run.approved_at]


def client_row(client: PlanClient, engagements: Sequence[PlanEngagement], classified: Classification,
               ctx: RowContext) -> ClientPlan | EndedClientPlan | None:
    """The client's row: invoiced this month (ClientPlan), only last month (EndedClientPlan), or neither (None)."""
    active = client.status == ClientStatus.ACTIVE.value
    this = _approved_month(client, classified, ctx) if ctx.run is not None else _open_month(client, classified, ctx)
    last_amount = _last_amount(client, active, classified, ctx)
    if this.amount is None and last_amount is None:
        return None
    agreed_now = agreed_work(engagements, ctx.period) if active or ctx.run is not None else {}
    agreed_before = agreed_work(on_last_months_plan(engagements, ctx.previous_run), ctx.previous)
    work = compare_work(agreed_before, agreed_now,
                        {e.service_id: e.service.name for e in engagements}, billed_now=this.amount is not None)
    notes = cadence_notes([_due(charge, catch_up) for charge, catch_up in this.charges],
                          [_due(charge) for charge in classified.last_items])
    if ctx.run is not None and this.invoice is not None and not active:
        notes += (ARCHIVED_NOTE,)
    amount, last = this.amount or ZERO, last_amount or ZERO
    if this.preview is not None:
        return ClientPlan(client=client, items=this.items, amount=amount, last_amount=last, change=work.change,
                          invoice=this.invoice, details=work.details, notes=notes, preview=this.preview)
    return EndedClientPlan(client=client, items=this.items, amount=amount, last_amount=last, change=work.change,
                           invoice=this.invoice, details=work.details, notes=notes)


def client_outcome(client: PlanClient, engagements: Sequence[PlanEngagement], classified: Classification,
                   ctx: RowContext) -> ClientOutcome:
    """What the plan takes from one client (see ClientOutcome)."""
    late = (LateCharges(client, in_service_order(classified.late))
            if ctx.run is not None and classified.late else None)
    return ClientOutcome(
        client=client,
        row=client_row(client, engagements, classified, ctx),
        late=late,
        awaiting=classified.awaiting,
        before_socket=classified.before_socket,
        in_scope=client.status == ClientStatus.ACTIVE.value,
    )
