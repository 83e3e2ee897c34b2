"""The Billing Plan: what each active client will be invoiced in a month, and how that changed.

A month's plan bills the charges that fell due in it and are not yet in the ledger (BilledCharge), plus
catch-up: charges that fell due in an earlier month that was already approved but were missed (a
back-dated engagement, a completion recorded after approval). Catch-up never reaches before the
practice's first approved month (history from before Socket is not billed: an open month's plan notes a
quarterly/annual fee covering it that fell due before then), except for completions, which bill once
whenever they are dated, so one dated before that month is caught up too. It bills a month's missed
charge only to a client in that month's scope — active when it was approved — so never for a month the
client was archived in (see _Runs.may_catch_up; months approved before scopes were recorded are not
caught up).
"""
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import lazyload, noload
from sqlalchemy.orm.attributes import set_committed_value

from webapp.clock import local_today
from webapp.extensions import db
from webapp.models import (
    BilledCharge,
    BillingMethod,
    BillingRun,
    BillingRunClient,
    BillingSettings,
    Client,
    ClientStatus,
    Engagement,
    EngagementCompletion,
    Invoice,
    InvoiceLine,
    Practice,
    XeroBrandingTheme,
)
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
from webapp.services.billing.settings import get_billing_settings
from webapp.services.billing.tax import InvoiceTax, TaxReference, tax_reference
from webapp.sync import reference_data

ZERO = Decimal("0.00")


@dataclass(frozen=True)
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


@dataclass(frozen=True, kw_only=True)
class _ClientRow:
    """What the plan shows of one client: its amounts this month and last, and how its agreed work changed."""

    client: Client
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


@dataclass(frozen=True, kw_only=True)
class ClientPlan(_ClientRow):
    """A client invoiced this month, with the invoice approving raises (approved month: the one it raised)."""

    preview: InvoicePreview


@dataclass(frozen=True, kw_only=True)
class EndedClientPlan(_ClientRow):
    """A client billed last month but not this month: there is no invoice to preview."""

    preview: None = None


@dataclass(frozen=True)
class LateCharges:
    """Charges that fell due in an approved month after it was approved: a later month bills them."""

    client: Client
    items: list[BillableItem]


@dataclass(frozen=True)
class PlanTotals:
    this_month: Decimal  # net, before VAT, like last_month
    last_month: Decimal
    counts: dict[Change, int]
    vat: Decimal | None = None  # this month's VAT on the previews, when every line's rate is known

    @property
    def difference(self) -> Decimal:
        return self.this_month - self.last_month


@dataclass(frozen=True)
class PlanDates:
    """An open month's invoice dates: the practice's invoice day and due date, and whether approving must ask
    which date to give invoices whose invoice day has already passed (that day, or today)."""

    today: date  # in the practice's time zone
    invoice_day: date  # the practice's invoice day in the month
    due_date: date  # ... plus the practice's payment terms
    today_due_date: date  # today plus the practice's payment terms
    dating: InvoiceDating  # how the previews are dated
    passed: int = 0  # invoices whose invoice day (the client's, else the practice's) has passed
    own_terms: int = 0  # invoices for clients with their own invoice day or payment terms

    @property
    def practice_day_passed(self) -> bool:
        return self.invoice_day < self.today

    @property
    def ask(self) -> bool:
        """Approving asks "the invoice day or today?": some invoice would otherwise be dated in the past."""
        return self.passed > 0


@dataclass(frozen=True)
class BillingPlan:
    practice_id: int
    period: date  # first day of the month
    rows: list[ClientPlan]  # clients billed this month, by name
    ended: list[EndedClientPlan]  # clients billed last month but not this month
    totals: PlanTotals
    run: BillingRun | None = None
    late: list[LateCharges] = field(default_factory=list)  # approved month only: due here, not yet invoiced
    next_open_period: date | None = None  # the first month after this one that is not approved
    scope_client_ids: frozenset[int] = frozenset()  # the active clients: approving records them as its scope
    awaiting_periods: list[date] = field(default_factory=list)  # earlier months with charges, not approved
    # Open month: calendar fees covering it that fell due before Socket's first approved month (not billed).
    before_socket: list[str] = field(default_factory=list)
    dates: PlanDates | None = None  # open month only: its invoice dates, and whether approving asks which

    @property
    def previous_period(self) -> date:
        return cadence.add_months(self.period, -1)

    @property
    def next_period(self) -> date:
        return cadence.add_months(self.period, 1)

    @property
    def is_empty(self) -> bool:
        return not self.rows

    @property
    def invoice_count(self) -> int:
        """Approved month: the invoices its run raised (one row each)."""
        return sum(1 for row in self.rows if row.invoice is not None)

    @property
    def catch_up_count(self) -> int:
        return sum(1 for row in self.rows for item in row.items if item.catch_up)

    @property
    def fingerprint(self) -> str:
        """A digest of every invoice approving will raise: approval refuses if it no longer matches."""
        return plan_fingerprint(self.rows)


def plan_fingerprint(rows: list[ClientPlan]) -> str:
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: r.client.id):
        preview = row.preview
        # The invoice-day dates, not the ones the plan was shown with: approving on its invoice day or
        # today is the approver's choice (and "today" moves at midnight), not a change in the plan.
        digest.update(f"client {row.client.id} {preview.invoice_day_date or preview.issue_date} "
                      f"{preview.invoice_day_due_date or preview.due_date} {preview.branding_theme_id}\n".encode())
        for line, taxed in zip(preview.lines, preview.tax.lines, strict=True):
            # The resolved tax type too: approval stores it, so an account's default changing refuses.
            digest.update(repr((line.description, str(line.quantity), str(line.unit_amount), line.account_code,
                                taxed.tax_type, line.service_id, line.charge_keys)).encode() + b"\n")
    return digest.hexdigest()[:32]


def parse_period(value: str | None) -> date | None:
    """`YYYY-MM` to the first day of that month, or None when it is not one (digits 0-9 only: strptime alone
    would also read "２０２６-11")."""
    if not (value or "").isascii():
        return None
    try:
        parsed = datetime.strptime(value or "", "%Y-%m")
    except ValueError:
        return None
    return parsed.date() if 2000 <= parsed.year <= 2100 else None


@dataclass(frozen=True)
class Charge:
    """One charge an engagement makes: a calendar month's fee or a completion."""

    key: str
    engagement: Engagement
    due_period: date
    completion_id: int | None = None


def engagement_charges(engagement: Engagement, first: date, last: date,
                       completions_from: date | None = None) -> list[Charge]:
    """The charges `engagement` makes that fall due from month `first` to month `last` (inclusive).

    Completions from month `completions_from` instead, when given (earlier than `first`).
    """
    method = BillingMethod(engagement.service.billing_method)
    charges = [Charge(cadence.cadence_key(engagement.id, period), engagement, period)
               for period in cadence.due_months(method, engagement.start_date, engagement.end_date,
                                                        first, last)]
    for completion in engagement.completions:
        period = cadence.month_start(completion.completed_on)
        if (completions_from or first) <= period <= last:
            charges.append(Charge(cadence.completion_key(completion.id), engagement, period,
                                  completion.id))
    return charges


def billable_item(charge: Charge, catch_up: bool = False) -> BillableItem:
    engagement, service = charge.engagement, charge.engagement.service
    method = BillingMethod(service.billing_method)
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


def _in_service_order(charges: list[tuple[Charge, bool]]) -> list[BillableItem]:
    ordered = sorted(charges, key=lambda pair: (pair[0].due_period, pair[0].engagement.service.position,
                                                pair[0].engagement.service.name, pair[0].engagement.id,
                                                pair[0].key))
    return [billable_item(charge, catch_up) for charge, catch_up in ordered]


def line_rules(settings: BillingSettings, client: Client) -> LineRules:
    """The layout rules for one client: its own consolidation choices win over the practice's."""
    return LineRules(
        consolidate_recurring=effective_consolidation(client.consolidate_recurring,
                                                                settings.consolidate_recurring),
        consolidate_one_off=effective_consolidation(client.consolidate_one_off,
                                                              settings.consolidate_one_off),
        recurring_account_code=settings.recurring_account_code,
        one_off_account_code=settings.one_off_account_code,
    )


def effective_theme_id(settings: BillingSettings, client: Client, xero_default_id: str | None) -> str | None:
    """The client's template, else the practice's, else Xero's default (lowest SortOrder), else none."""
    return client.branding_theme_id or settings.default_branding_theme_id or xero_default_id


def client_terms(settings: BillingSettings, client: Client) -> InvoiceTerms:
    """The client's invoice day and payment terms: its own where it has them, else the practice's."""
    return effective_terms(settings.invoice_day, settings.payment_terms_days,
                                     client.invoice_day, client.payment_terms_days)


def has_own_terms(client: Client) -> bool:
    return client.invoice_day is not None or client.payment_terms_days is not None


def preview_invoice(settings: BillingSettings, client: Client, items: list[BillableItem],
                    period: date, theme_names: dict[str, str], xero_default_id: str | None,
                    tax: TaxReference, today: date | None = None,
                    dating: InvoiceDating = InvoiceDating.INVOICE_DAY) -> InvoicePreview:
    terms = client_terms(settings, client)
    on_day, due_on_day = invoice_dates(period, terms.invoice_day, terms.payment_terms_days)
    issue, due = invoice_dates(period, terms.invoice_day, terms.payment_terms_days, today=today,
                                         dating=dating)
    theme_id = effective_theme_id(settings, client, xero_default_id)
    lines = build_lines(items, line_rules(settings, client), period)
    return InvoicePreview(
        issue_date=issue,
        due_date=due,
        branding_theme_id=theme_id,
        template_name=theme_names.get(theme_id, "Xero's default template") if theme_id else "Xero's default template",
        lines=lines,
        tax=tax.tax(lines),
        invoice_day_date=on_day,
        invoice_day_due_date=due_on_day,
        own_terms=has_own_terms(client),
    )


def plan_dates(settings: BillingSettings, period: date, today: date, dating: InvoiceDating,
               rows: list["ClientPlan"]) -> PlanDates:
    """The open month's dates (see PlanDates) for the invoices in `rows`."""
    invoice_day, due = invoice_dates(period, settings.invoice_day, settings.payment_terms_days)
    passed = sum(1 for row in rows if row.preview.invoice_day_date and row.preview.invoice_day_date < today)
    return PlanDates(today=today, invoice_day=invoice_day, due_date=due,
                     today_due_date=today + timedelta(days=settings.payment_terms_days), dating=dating,
                     passed=passed, own_terms=sum(1 for row in rows if row.preview.own_terms))


def _clients_with_engagements(practice_id: int, runs: list[BillingRun]) -> list[tuple[Client, list[Engagement]]]:
    """Active clients, plus any client (archived since) invoiced by one of `runs`, by name, each with its
    engagements and their completions: three statements however many clients (relationship loading
    would batch them 500 at a time)."""
    wanted = Client.status == ClientStatus.ACTIVE.value
    run_ids = [run.id for run in runs]
    if run_ids:
        wanted = wanted | Client.id.in_(db.select(Invoice.client_id).filter(Invoice.billing_run_id.in_(run_ids)))
    clients = db.session.execute(
        db.select(Client).filter(Client.practice_id == practice_id, wanted).order_by(Client.name, Client.id)
        .options(noload(Client.engagements))
    ).scalars().all()
    client_ids = db.select(Client.id).filter(Client.practice_id == practice_id, wanted)
    engagements = db.session.execute(
        db.select(Engagement).filter(Engagement.practice_id == practice_id, Engagement.client_id.in_(client_ids))
        .order_by(Engagement.id).options(noload(Engagement.completions))
    ).scalars().all()
    completions: dict[int, list[EngagementCompletion]] = {}
    for completion in db.session.execute(
        db.select(EngagementCompletion)
        .join(Engagement, Engagement.id == EngagementCompletion.engagement_id)
        .filter(EngagementCompletion.practice_id == practice_id, Engagement.client_id.in_(client_ids))
        .order_by(EngagementCompletion.completed_on, EngagementCompletion.id)
    ).scalars():
        completions.setdefault(completion.engagement_id, []).append(completion)
    by_client: dict[int, list[Engagement]] = {}
    for engagement in engagements:
        set_committed_value(engagement, "completions", completions.get(engagement.id, []))
        by_client.setdefault(engagement.client_id, []).append(engagement)
    for client in clients:
        set_committed_value(client, "engagements", by_client.get(client.id, []))
    return [(client, by_client.get(client.id, [])) for client in clients]


def _invoices(runs: list[BillingRun]) -> dict[int, dict[int, Invoice]]:
    """Run id -> client id -> the invoice it raised, with lines: two statements however many invoices."""
    run_ids = [run.id for run in runs]
    invoices = db.session.execute(
        db.select(Invoice).filter(Invoice.billing_run_id.in_(run_ids))
        # Its client is already loaded (with engagements) by _clients_with_engagements: take it from the session.
        .options(noload(Invoice.lines), lazyload(Invoice.client))
    ).scalars().all() if run_ids else []
    lines: dict[int, list[InvoiceLine]] = {}
    if invoices:
        for line in db.session.execute(
            db.select(InvoiceLine).filter(InvoiceLine.invoice_id.in_(
                db.select(Invoice.id).filter(Invoice.billing_run_id.in_(run_ids))))
            .order_by(InvoiceLine.position, InvoiceLine.id)
        ).scalars():
            lines.setdefault(line.invoice_id, []).append(line)
    by_run: dict[int, dict[int, Invoice]] = {run_id: {} for run_id in run_ids}
    for invoice in invoices:
        set_committed_value(invoice, "lines", lines.get(invoice.id, []))
        by_run[invoice.billing_run_id][invoice.client_id] = invoice
    return by_run


def _theme_names(practice_id: int) -> dict[str, str]:
    rows = db.session.execute(
        db.select(XeroBrandingTheme.branding_theme_id, XeroBrandingTheme.name).filter_by(practice_id=practice_id)
    )
    return {theme_id: name for theme_id, name in rows}


@dataclass(frozen=True)
class _Runs:
    """The practice's approved months, and each one's scope: the clients active when it was approved."""

    by_period: dict[date, BillingRun]
    scopes: dict[int, set[int]]  # run id -> client ids; a run approved before scopes were recorded has none

    def next_open_after(self, period: date) -> date:
        candidate = cadence.add_months(period, 1)
        while candidate in self.by_period:
            candidate = cadence.add_months(candidate, 1)
        return candidate

    def may_catch_up(self, run: BillingRun, client: Client) -> bool:
        """Whether a charge `run`'s month missed may still be billed to `client` in a later month.

        Only for a client in the run's scope (active when the month was approved), or created after the
        approval (it cannot have been archived then). A run without a recorded scope (approved before
        scopes existed) is never caught up: "everyone active now" could bill a month a client was
        archived in.
        """
        scope = self.scopes.get(run.id)
        if not scope:
            return False
        return client.id in scope or client.created_at > run.approved_at


def _runs(practice_id: int) -> list[BillingRun]:
    # Not their invoices: _invoices loads the two runs' that the plan shows, lines included.
    return list(db.session.execute(db.select(BillingRun).filter_by(practice_id=practice_id)
                                   .options(lazyload(BillingRun.invoices))).scalars())


def _scopes(practice_id: int, first: date, last: date) -> dict[int, set[int]]:
    """Run id -> the clients in its scope, for the runs of the months from `first` to `last`."""
    rows = db.session.execute(
        db.select(BillingRunClient.billing_run_id, BillingRunClient.client_id)
        .join(BillingRun, BillingRun.id == BillingRunClient.billing_run_id)
        .filter(BillingRun.practice_id == practice_id, BillingRun.period >= first, BillingRun.period <= last)
    )
    scopes: dict[int, set[int]] = {}
    for run_id, client_id in rows:
        scopes.setdefault(run_id, set()).add(client_id)
    return scopes


@dataclass(frozen=True)
class _Billed:
    """One ledger row: which run and invoice billed a charge."""

    charge_key: str
    billing_run_id: int
    invoice_id: int
    engagement_id: int
    completion_id: int | None
    due_period: date


def _ledger(practice_id: int, first: date, last: date) -> dict[str, _Billed]:
    """Ledger key -> what billed it, for charges due from `first` to `last`, and completions due before."""
    in_months = (BilledCharge.due_period >= first) & (BilledCharge.due_period <= last)
    earlier_completion = BilledCharge.completion_id.is_not(None) & (BilledCharge.due_period < first)
    rows = db.session.execute(
        db.select(BilledCharge.charge_key, BilledCharge.billing_run_id, BilledCharge.invoice_id,
                  BilledCharge.engagement_id, BilledCharge.completion_id, BilledCharge.due_period)
        .filter(BilledCharge.practice_id == practice_id, in_months | earlier_completion)
    )
    return {row.charge_key: _Billed(*row) for row in rows}


def _invoiced_charges(ledger: dict[str, _Billed], run: BillingRun,
                      engagements: dict[int, Engagement]) -> dict[int, list[tuple[Charge, bool]]]:
    """Invoice id -> the charges its run billed on it, each with whether it was a catch-up."""
    by_invoice: dict[int, list[tuple[Charge, bool]]] = {}
    for billed in ledger.values():
        engagement = engagements.get(billed.engagement_id)
        if billed.billing_run_id == run.id and engagement is not None:
            charge = Charge(billed.charge_key, engagement, billed.due_period, billed.completion_id)
            by_invoice.setdefault(billed.invoice_id, []).append((charge, billed.due_period < run.period))
    return by_invoice


def _unbilled_before_socket(client: Client, engagement: Engagement, go_live: date, period: date) -> list[str]:
    """Notes for the quarterly/annual in-advance fee covering `period` when it fell due before `go_live`
    (Socket's first approved month): history from before Socket is not billed, so say so."""
    method = BillingMethod(engagement.service.billing_method)
    months = cadence.ADVANCE_EVERY.get(method)
    if months is None:
        return []
    first_covering = cadence.add_months(period, 1 - months)
    last_before = cadence.add_months(go_live, -1)
    if last_before < first_covering:
        return []
    return [f"{engagement.service.name} for {client.name} fell due in {due:%B %Y}, before Socket's first "
            "approved month: not billed by Socket"
            for due in cadence.due_months(method, engagement.start_date, engagement.end_date,
                                                  first_covering, last_before)]


def _due(charge: Charge, catch_up: bool = False) -> DueService:
    service = charge.engagement.service
    return DueService(service.id, service.name, BillingMethod(service.billing_method), catch_up)


def invoice_preview(invoice: Invoice, theme_names: dict[str, str], tax: TaxReference) -> InvoicePreview:
    """A raised invoice shown like a preview: its own dates, template and lines, as stored."""
    theme_id = invoice.branding_theme_id
    lines = [DraftLine(description=line.description, quantity=line.quantity,
                                 unit_amount=line.unit_amount, account_code=line.account_code,
                                 tax_type=line.tax_type, service_id=line.service_id)
             for line in invoice.lines]
    return InvoicePreview(
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        branding_theme_id=theme_id,
        template_name=theme_names.get(theme_id, "Xero's default template") if theme_id else "Xero's default template",
        lines=lines,
        tax=tax.tax(lines),
    )


def _vat_total(rows: list[ClientPlan]) -> Decimal | None:
    """The previews' VAT, when every one's is known (complete)."""
    known = [row.preview.tax.vat for row in rows if row.preview.tax.vat is not None]
    if not rows or len(known) < len(rows):
        return None
    return sum(known, ZERO)


def build_plan(practice_id: int, period: date, *, today: date | None = None,
               dating: InvoiceDating = InvoiceDating.INVOICE_DAY) -> BillingPlan:
    """The plan for one practice and month: per client its lines, amount and change against last month.

    An open month's previews are dated by `dating` (each on its invoice day unless TODAY says otherwise for
    one whose day is behind `today`, the practice's today by default); its `dates` say whether approving
    must ask which.

    The change is in the client's agreed work, not its amount (see billing_changes); cadence moves in
    the amount get notes.

    Not yet approved: the charges due this month plus catch-up, none of them in the ledger, for active
    clients. Approved: what WAS invoiced — one row per invoice its run raised, with the invoice's own
    lines and total, whatever changed since (a client archived, an engagement added or edited) — and,
    separately, charges due this month that are still not invoiced (`late`).

    "Last month" is what the previous month's run invoiced when that month is approved, else what would
    fall due in it.
    """
    period = cadence.month_start(period)
    previous = cadence.add_months(period, -1)
    settings = get_billing_settings(practice_id)
    if today is None:
        practice = db.session.get(Practice, practice_id)
        today = local_today(practice.time_zone if practice else "UTC")
    theme_names = _theme_names(practice_id)
    xero_default = reference_data.default_branding_theme(practice_id)
    xero_default_id = xero_default.branding_theme_id if xero_default else None
    tax = tax_reference(practice_id)

    by_period = {run.period: run for run in _runs(practice_id)}
    run, previous_run = by_period.get(period), by_period.get(previous)
    first_run = min(by_period, default=None)
    # Catch-up looks back to the first approved month, never before it.
    look_back = first_run if first_run is not None and first_run < period else period
    # Socket's first approved month, once this month is on or after it: what fell due before it is history.
    go_live = first_run if first_run is not None and first_run <= period else None
    runs = _Runs(by_period, _scopes(practice_id, look_back, period))
    ledger = _ledger(practice_id, min(look_back, previous), period)
    # A run with no ledger rows predates the ledger: its month counts as billed in full.
    legacy_run = run is not None and all(billed.billing_run_id != run.id for billed in ledger.values())
    approved = [r for r in (run, previous_run) if r is not None]
    clients = _clients_with_engagements(practice_id, approved)
    invoices = _invoices(approved)
    invoiced_now = invoices[run.id] if run else {}
    invoiced_before = invoices[previous_run.id] if previous_run else {}
    engagements_by_id = {e.id: e for _, engagements in clients for e in engagements}
    invoiced_charges = _invoiced_charges(ledger, run, engagements_by_id) if run is not None else {}

    rows: list[ClientPlan] = []
    ended: list[EndedClientPlan] = []
    late: list[LateCharges] = []
    awaiting: set[date] = set()
    counts = {change: 0 for change in Change}
    this_total = last_total = ZERO
    before_socket: list[str] = []
    for client, engagements in clients:
        active = client.status == ClientStatus.ACTIVE.value
        due_here, pending, late_here, last_items = [], [], [], []
        for engagement in engagements:
            if active and run is None and go_live is not None:
                before_socket += _unbilled_before_socket(client, engagement, go_live, period)
            for charge in engagement_charges(engagement, min(look_back, previous), period,
                                             completions_from=date.min):
                billed = ledger.get(charge.key)
                if charge.due_period == previous:
                    last_items.append(charge)
                if not active:
                    continue
                if charge.completion_id is not None and go_live is not None and charge.due_period < go_live:
                    # Completed before the first approved month: its key bills it once, so unlike calendar
                    # history it is caught up in the next open month.
                    if billed is None and run is None:
                        pending.append((charge, True))
                    continue
                if charge.due_period == period:
                    due_here.append((charge, False))
                    if billed is None and run is None:
                        pending.append((charge, False))
                    elif billed is None and run is not None and runs.may_catch_up(run, client):
                        late_here.append((charge, False))
                elif charge.due_period >= look_back and billed is None:  # an earlier month since the first approval
                    earlier_run = runs.by_period.get(charge.due_period)
                    if earlier_run is None:
                        awaiting.add(charge.due_period)
                    elif run is None and runs.may_catch_up(earlier_run, client):
                        pending.append((charge, True))
        invoice = invoiced_now.get(client.id)
        if run is not None:
            charges = invoiced_charges.get(invoice.id, due_here if legacy_run else []) if invoice else []
            items = _in_service_order(charges)
            amount = invoice.total if invoice else None
            preview = invoice_preview(invoice, theme_names, tax) if invoice else None
            if late_here:
                late.append(LateCharges(client, _in_service_order(late_here)))
        else:
            charges = pending
            items = _in_service_order(pending)
            amount = sum((item.amount for item in items), ZERO) if items else None
            preview = (preview_invoice(settings, client, items, period, theme_names, xero_default_id, tax,
                                       today=today, dating=dating)
                       if items else None)
        if previous_run is not None:
            before = invoiced_before.get(client.id)
            last_amount = before.total if before else None
        else:
            last_amount = sum((c.engagement.price for c in last_items), ZERO) if last_items and active else None
        if amount is None and last_amount is None:
            continue
        agreed_now = agreed_work(engagements, period) if active or run is not None else {}
        work = compare_work(agreed_work(engagements, previous), agreed_now,
                            {e.service_id: e.service.name for e in engagements}, billed_now=amount is not None)
        change = work.change
        notes = cadence_notes([_due(charge, catch_up) for charge, catch_up in charges],
                              [_due(charge) for charge in last_items])
        if run is not None and invoice is not None and not active:
            notes += ("Client archived since this month was approved: its invoice stands",)
        counts[change] += 1
        this_total += amount or ZERO
        last_total += last_amount or ZERO
        if preview is not None:
            rows.append(ClientPlan(client=client, items=items, amount=amount or ZERO, last_amount=last_amount or ZERO,
                                   change=change, preview=preview, invoice=invoice, details=work.details,
                                   notes=notes))
        else:
            ended.append(EndedClientPlan(client=client, items=items, amount=amount or ZERO,
                                         last_amount=last_amount or ZERO, change=change, invoice=invoice,
                                         details=work.details, notes=notes))
    return BillingPlan(practice_id=practice_id, period=period, rows=rows, ended=ended,
                       totals=PlanTotals(this_month=this_total, last_month=last_total, counts=counts,
                                         vat=_vat_total(rows)),
                       run=run, late=late,
                       scope_client_ids=frozenset(c.id for c, _ in clients if c.status == ClientStatus.ACTIVE.value),
                       next_open_period=runs.next_open_after(period) if run is not None else None,
                       awaiting_periods=sorted(awaiting), before_socket=before_socket,
                       dates=plan_dates(settings, period, today, dating, rows) if run is None else None)
