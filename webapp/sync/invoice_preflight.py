"""Pre-flight: what must be true of an invoice before it is sent to Xero, checked against Socket's copy of the
organisation's reference data. A failure holds only that invoice, with what is wrong and how to fix it.

Per practice (`practice_problem`, checked once per run; the run stops, nothing is held): Xero connected, and
its contacts and account codes synced into Socket from the connected organisation.

Per invoice (`check_invoice`, pure: everything it reads is passed in):
  - its client resolves to a Xero contact (webapp.sync.invoice_contacts: linked, or to be created);
  - it has lines; every quantity and amount has two places at most; no quantity is zero; the total is not negative;
    the due date is not before the invoice date;
  - every line's account code exists in Xero, is ACTIVE and of class REVENUE;
  - every line's tax type (when it has one) exists in Xero and is ACTIVE;
  - its branding theme (when it has one) is still in Xero.

Codes and themes fall back as approval chose them. A line keeps the code approval stored while that code is
usable; otherwise it is worked out again as approval would now (the service's own code, else the practice's default
for recurring or one-off sales), so choosing another code where the message says fixes the held invoice. Likewise
the theme: the invoice's, else (when that one was deleted in Xero) the client's, else the practice default, else
none (Xero uses its own default).
"""
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Protocol

from webapp.extensions import db
from webapp.models import (
    BilledCharge,
    BillingMethod,
    BillingSettings,
    ContactPull,
    Engagement,
    Service,
    XeroAccount,
    XeroBrandingTheme,
    XeroConnection,
    XeroTaxRate,
)
from webapp.sync.invoice_contacts import ContactDecision
from webapp.sync.invoice_payload import PayloadError, PayloadLine, two_places
from webapp.sync.reference_data import REVENUE_CLASS

SYNC_NOW = "Practice Settings > Integrations"
SERVICES_PAGE = "Services & Pricing"
BILLING_SETTINGS = "Billing Settings"


# -- what pre-flight reads --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccountInfo:
    code: str
    name: str
    status: str
    account_class: str | None
    tax_type: str | None


@dataclass(frozen=True)
class ServiceInfo:
    """A service a line bills: its name, its own account code and tax type (None: the defaults), recurring or not."""

    name: str
    account_code: str | None
    tax_type: str | None
    recurring: bool


@dataclass(frozen=True)
class PracticeReference:
    """Socket's copy of the organisation's reference data and the practice's defaults."""

    accounts: Mapping[str, AccountInfo]
    tax_rates: Mapping[str, str]  # TaxType -> Status
    themes: Mapping[str, tuple[str, bool]]  # BrandingThemeID -> (name, present in Xero)
    recurring_account_code: str | None = None
    one_off_account_code: str | None = None
    default_theme_id: str | None = None


class LineLike(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def description(self) -> str: ...

    @property
    def quantity(self) -> Decimal: ...

    @property
    def unit_amount(self) -> Decimal: ...

    @property
    def account_code(self) -> str | None: ...

    @property
    def tax_type(self) -> str | None: ...


class InvoiceLike(Protocol):
    @property
    def number(self) -> str: ...

    @property
    def issue_date(self) -> date: ...

    @property
    def due_date(self) -> date: ...

    @property
    def branding_theme_id(self) -> str | None: ...


@dataclass
class Preflight:
    """The result for one invoice: `problems` (empty: it may be sent), the lines and theme to send, and the lines
    whose code (and tax type) were worked out again (line id -> (code, tax type))."""

    problems: list[str] = field(default_factory=list)
    lines: list[PayloadLine] = field(default_factory=list)
    theme_id: str | None = None
    changed_lines: dict[int, tuple[str, str | None]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def held_reason(self) -> str | None:
        return " ".join(self.problems) or None


# -- per practice -----------------------------------------------------------------------------------------------------
def connection_problem(connection: XeroConnection | None) -> str | None:
    """Why nothing can be posted over this connection now, or None."""
    if connection is None or connection.status == "disconnected" or not connection.tenant_id:
        return f"Xero is not connected, so nothing was posted: connect to Xero in {SYNC_NOW}."
    if not connection.is_connected:
        return f"Xero needs reconnecting, so nothing was posted: reconnect in {SYNC_NOW}."
    return None


def practice_problem(practice_id: int, connection: XeroConnection | None) -> str | None:
    """Why no invoice of the practice can be posted now (checked once per run), or None."""
    problem = connection_problem(connection)
    if problem or connection is None:
        return problem
    pull = db.session.execute(db.select(ContactPull).filter_by(practice_id=practice_id)).scalar_one_or_none()
    if pull is None or pull.last_started_at is None:
        return (f"Socket has not pulled this practice's Xero contacts yet, so it cannot tell whom to invoice: run "
                f"Sync now in {SYNC_NOW}, then post again.")
    if pull.tenant_id != connection.tenant_id:
        return (f"Socket's copy of your Xero contacts is of another organisation: run Sync now in {SYNC_NOW}, then "
                "post again.")
    has_accounts = db.session.execute(db.select(XeroAccount.id).filter_by(practice_id=practice_id).limit(1)).first()
    if has_accounts is None:
        return (f"Socket has no account codes from Xero yet: run Sync now in {SYNC_NOW}, then post again.")
    return None


def load_reference(practice_id: int, settings: BillingSettings | None) -> PracticeReference:
    """The practice's mirrored accounts (by code), tax rates and branding themes, and its defaults (3 queries)."""
    accounts = {row.code: AccountInfo(row.code, row.name, row.status, row.account_class, row.tax_type)
                for row in db.session.execute(db.select(XeroAccount).filter(
                    XeroAccount.practice_id == practice_id, XeroAccount.code.is_not(None))).scalars() if row.code}
    rates = dict(db.session.execute(db.select(XeroTaxRate.tax_type, XeroTaxRate.status).filter_by(
        practice_id=practice_id)).tuples().all())
    themes = {row.branding_theme_id: (row.name, row.present_in_xero) for row in db.session.execute(
        db.select(XeroBrandingTheme).filter_by(practice_id=practice_id)).scalars()}
    return PracticeReference(
        accounts=accounts, tax_rates=rates, themes=themes,
        recurring_account_code=settings.recurring_account_code if settings else None,
        one_off_account_code=settings.one_off_account_code if settings else None,
        default_theme_id=settings.default_branding_theme_id if settings else None)


def _service_info(service: Service) -> ServiceInfo:
    return ServiceInfo(service.name, service.account_code or None, service.tax_type or None,
                       BillingMethod(service.billing_method).is_recurring)


def line_sources(lines: Sequence[tuple[int, int | None]]) -> dict[int, tuple[ServiceInfo, ...]]:
    """The services each line bills, by line id: from the ledger (a consolidated line bills several), else the
    line's own service. `lines`: (line id, its service id) pairs. Two queries whatever the number of lines."""
    line_ids = [line_id for line_id, _ in lines]
    found: dict[int, dict[int, ServiceInfo]] = {}
    if line_ids:
        rows = db.session.execute(
            db.select(BilledCharge.invoice_line_id, Service)
            .join(Engagement, Engagement.id == BilledCharge.engagement_id)
            .join(Service, Service.id == Engagement.service_id).filter(BilledCharge.invoice_line_id.in_(line_ids))
            .order_by(BilledCharge.id)).tuples().all()
        for line_id, service in rows:
            if line_id is not None:
                found.setdefault(line_id, {})[service.id] = _service_info(service)
    own = {service_id for line_id, service_id in lines if service_id and line_id not in found}
    services = {s.id: _service_info(s) for s in db.session.execute(
        db.select(Service).filter(Service.id.in_(sorted(own)))).scalars()} if own else {}
    result = {line_id: tuple(by_service.values()) for line_id, by_service in found.items()}
    for line_id, service_id in lines:
        if line_id not in result:
            result[line_id] = (services[service_id],) if service_id in services else ()
    return result


# -- per invoice ------------------------------------------------------------------------------------------------------
def account_problem(code: str, reference: PracticeReference) -> str | None:
    """What is wrong with sending a line to `code`, or None."""
    account = reference.accounts.get(code)
    if account is None or account.status == "DELETED":
        return f"Account code {code} no longer exists in Xero"
    if account.status == "ARCHIVED":
        return f"Account code {code} is archived in Xero"
    if account.status != "ACTIVE":
        return f"Account code {code} is {account.status.lower()} in Xero"
    if account.account_class != REVENUE_CLASS:
        return f"Account code {code} ({account.name}) is not a revenue account in Xero"
    return None


def _kind(services: Sequence[ServiceInfo]) -> str | None:
    kinds = {"recurring" if s.recurring else "one-off" for s in services}
    return kinds.pop() if len(kinds) == 1 else None


def _current_code(services: Sequence[ServiceInfo], reference: PracticeReference) -> tuple[str | None, str]:
    """(the code approval would choose now, where a person changes it)."""
    codes = {s.account_code or (reference.recurring_account_code if s.recurring else reference.one_off_account_code)
             for s in services}
    own = [s for s in services if s.account_code]
    kind = _kind(services)
    default_fix = (f"the default account code for {kind} sales in {BILLING_SETTINGS}" if kind
                   else f"the default account codes in {BILLING_SETTINGS}")
    if own:
        names = ", ".join(dict.fromkeys(s.name for s in own))
        where = f"another code for {names} in {SERVICES_PAGE}"
        if len(own) < len(services):
            where += f" (or {default_fix})"
    else:
        where = f"another code as {default_fix}" if services else \
            f"a code for the service in {SERVICES_PAGE} or {default_fix}"
    if len(codes) != 1:
        return None, where
    return codes.pop(), where


def _current_tax_type(services: Sequence[ServiceInfo], code: str, reference: PracticeReference) -> str | None:
    own = {s.tax_type for s in services}
    if len(own) == 1 and None not in own:
        return own.pop()
    account = reference.accounts.get(code)
    return account.tax_type if account else None


def _line(line: LineLike, services: Sequence[ServiceInfo], reference: PracticeReference,
          result: Preflight) -> None:
    stored = line.account_code
    code, tax_type = stored, line.tax_type
    if not stored or account_problem(stored, reference):
        current, fix = _current_code(services, reference)
        if current and not account_problem(current, reference):
            code, tax_type = current, _current_tax_type(services, current, reference)
            result.changed_lines[line.id] = (current, tax_type)
        else:
            reported = current or stored
            label = (line.description or "").split(" — ")[0][:60]
            if reported:
                result.problems.append(f"{account_problem(reported, reference)}: choose {fix}, then post again.")
            else:
                result.problems.append(f"The line '{label}' has no account code: choose {fix}, then post again.")
            return
    if tax_type and reference.tax_rates:
        status = reference.tax_rates.get(tax_type)
        if status != "ACTIVE":
            state = "no longer exists" if status in (None, "DELETED") else f"is {status.lower()}"
            names = ", ".join(dict.fromkeys(s.name for s in services)) or "the service"
            result.problems.append(f"Tax rate {tax_type} {state} in Xero: choose another tax rate for {names} in "
                                   f"{SERVICES_PAGE} (or restore it in Xero and sync), then post again.")
            return
    result.lines.append(PayloadLine(line.description, line.quantity, line.unit_amount, code, tax_type))


def _amount_problems(invoice: InvoiceLike, lines: Sequence[LineLike]) -> list[str]:
    if not lines:
        return [f"Invoice {invoice.number} has no lines: nothing to post."]
    problems = []
    total = Decimal("0.00")
    for line in lines:
        try:
            quantity, unit_amount = two_places(line.quantity), two_places(line.unit_amount)
        except PayloadError as exc:
            problems.append(f"A line's amount is not valid ({exc}).")
            continue
        if quantity == 0:
            problems.append(f"The line '{line.description}' has a quantity of 0.")
        if not (line.description or "").strip():
            problems.append("A line has no description.")
        total += (quantity * unit_amount).quantize(Decimal("0.01"))
    if total < 0:
        problems.append(f"The invoice's total is negative ({total}): Xero takes that as a credit note, not an "
                        "invoice.")
    if invoice.due_date < invoice.issue_date:
        problems.append(f"The due date ({invoice.due_date:%d %B %Y}) is before the invoice date "
                        f"({invoice.issue_date:%d %B %Y}).")
    return problems


def _theme(invoice: InvoiceLike, client_theme_id: str | None, reference: PracticeReference,
           result: Preflight) -> None:
    stored = invoice.branding_theme_id
    if not stored:
        return
    name, present = reference.themes.get(stored, ("", False))
    if present:
        result.theme_id = stored
        return
    current = client_theme_id or reference.default_theme_id
    if current is None:
        return  # none chosen any more: Xero's default template
    current_name, current_present = reference.themes.get(current, ("", False))
    if current_present:
        result.theme_id = current
        return
    gone = current_name or (name if current == stored else "") or "chosen"
    result.problems.append(f"The invoice template '{gone}' is no longer in Xero: choose another template for the "
                           f"client (its Invoicing settings) or the default template in {BILLING_SETTINGS}, then post "
                           "again.")


def check_invoice(invoice: InvoiceLike, lines: Sequence[LineLike], contact: ContactDecision | None,
                  reference: PracticeReference, sources: Mapping[int, Sequence[ServiceInfo]],
                  client_theme_id: str | None = None) -> Preflight:
    """Pre-flight for one invoice (see the module's docstring): its problems (each with its fix) and what to send."""
    result = Preflight()
    if contact is not None and contact.held_reason:
        result.problems.append(contact.held_reason)
    amount_problems = _amount_problems(invoice, lines)
    result.problems.extend(amount_problems)
    if lines and not amount_problems:
        for line in lines:
            _line(line, sources.get(line.id, ()), reference, result)
    _theme(invoice, client_theme_id, reference, result)
    return result
