"""How an invoice is laid out: its lines and dates. Pure functions, no database, no Flask.

Dates: an invoice is dated on its invoice day in the billed month (the client's own, else the practice's) and
due its payment terms later (the client's own, else the practice's). Approved after that day has passed, it is
dated on it or today, as the person approving chooses (InvoiceDating).

Recurring and one-off work are laid out independently: each is either itemised (one line per service)
or consolidated (one line per account code + tax type group, its amount the sum of the group's services).

VAT is worked out as Xero will post it with LineAmountTypes "Exclusive": each line's tax type is its own
(the service's), else its account code's default; the line's VAT is its net amount times that rate,
rounded to the penny on each line; the invoice's VAT is the sum of its lines'.
"""
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import Enum
from typing import Protocol

PENNY = Decimal("0.01")
ONE = Decimal("1.00")


@dataclass(frozen=True)
class BillableItem:
    """One engagement billed in a month, before it becomes an invoice line."""

    service_id: int | None
    service_name: str
    recurring: bool
    amount: Decimal
    period_label: str  # what the charge covers, e.g. "November 2026" or "November 2026 – January 2027"
    account_code: str | None = None  # the service's own override, if any
    tax_type: str | None = None
    charge_key: str | None = None  # its ledger key: approving records it so it is never billed again
    catch_up: bool = False  # fell due in an earlier, already approved month but was missed
    engagement_id: int | None = None
    completion_id: int | None = None
    due_period: date | None = None

    @property
    def label(self) -> str:
        return f"{self.period_label} (catch-up)" if self.catch_up else self.period_label


@dataclass(frozen=True)
class LineRules:
    """What decides the layout of one client's invoice (client overrides already applied)."""

    consolidate_recurring: bool
    consolidate_one_off: bool
    recurring_account_code: str | None = None
    one_off_account_code: str | None = None


@dataclass(frozen=True)
class DraftLine:
    """An invoice line as it will be posted."""

    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str | None
    tax_type: str | None
    service_id: int | None = None
    charge_keys: tuple[str, ...] = ()  # the ledger keys of the charges this line bills

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_amount).quantize(PENNY)


def effective_consolidation(client_value: bool | None, practice_value: bool) -> bool:
    """The client's own choice when it has one (not None), else the practice's."""
    return practice_value if client_value is None else client_value


def account_code_for(item: BillableItem, rules: LineRules) -> str | None:
    """The service's account code, else the practice default for recurring or one-off sales."""
    if item.account_code:
        return item.account_code
    return rules.recurring_account_code if item.recurring else rules.one_off_account_code


def month_label(period: date) -> str:
    return period.strftime("%B %Y")


def build_lines(items: list[BillableItem], rules: LineRules, period: date) -> list[DraftLine]:
    """The invoice lines for one client's month: recurring lines first, then one-off lines."""
    recurring = [item for item in items if item.recurring]
    one_off = [item for item in items if not item.recurring]
    return (_lay_out(recurring, rules, rules.consolidate_recurring, period)
            + _lay_out(one_off, rules, rules.consolidate_one_off, period))


def _lay_out(items: list[BillableItem], rules: LineRules, consolidate: bool, period: date) -> list[DraftLine]:
    if not consolidate:
        return [_itemised_line(item, rules) for item in items]
    groups: dict[tuple[str | None, str | None], list[BillableItem]] = {}
    for item in items:  # dicts keep insertion order, so groups appear in the services' order
        groups.setdefault((account_code_for(item, rules), item.tax_type), []).append(item)
    return [_consolidated_line(group, code, tax_type, period) for (code, tax_type), group in groups.items()]


def _itemised_line(item: BillableItem, rules: LineRules) -> DraftLine:
    return DraftLine(
        description=f"{item.service_name} — {item.label}",
        quantity=ONE,
        unit_amount=item.amount.quantize(PENNY),
        account_code=account_code_for(item, rules),
        tax_type=item.tax_type,
        service_id=item.service_id,
        charge_keys=_keys([item]),
    )


def _keys(items: list[BillableItem]) -> tuple[str, ...]:
    return tuple(item.charge_key for item in items if item.charge_key)


def _consolidated_line(group: list[BillableItem], code, tax_type, period: date) -> DraftLine:
    names = ", ".join(f"{item.service_name} ({item.label})" if item.catch_up else item.service_name
                      for item in group)
    return DraftLine(
        description=f"Professional services for {month_label(period)}: {names}",
        quantity=ONE,
        unit_amount=sum((item.amount for item in group), Decimal("0")).quantize(PENNY),
        account_code=code,
        tax_type=tax_type,
        service_id=group[0].service_id if len(group) == 1 else None,
        charge_keys=_keys(group),
    )


# --- dates -------------------------------------------------------------------------------------------

class InvoiceDating(str, Enum):
    """Which date approving gives an invoice whose invoice day has already passed (the approve form's choice)."""

    INVOICE_DAY = "invoice_day"  # its invoice day in the billed month, even though that is in the past
    TODAY = "today"  # the day it is approved (in the practice's time zone); the Billing Plan's default


@dataclass(frozen=True)
class InvoiceTerms:
    """When one client's invoices are dated and due: its own invoice day and payment terms, else the practice's."""

    invoice_day: int  # 1-28
    payment_terms_days: int  # days from the invoice date to the due date


def effective_terms(practice_day: int, practice_terms: int, client_day: int | None = None,
                    client_terms: int | None = None) -> InvoiceTerms:
    """The client's own invoice day and payment terms where it has them (not None), else the practice's."""
    return InvoiceTerms(practice_day if client_day is None else client_day,
                        practice_terms if client_terms is None else client_terms)


def invoice_day_in(period: date, invoice_day: int) -> date:
    """The invoice day in the billed month (`period`, any day of it): 1-28, so every month has it."""
    return period.replace(day=invoice_day)


def invoice_day_passed(period: date, invoice_day: int, today: date) -> bool:
    """Whether the invoice day in the billed month is already behind `today` (today itself has not passed)."""
    return invoice_day_in(period, invoice_day) < today


def invoice_dates(period: date, invoice_day: int, payment_terms_days: int, *, today: date | None = None,
                  dating: InvoiceDating = InvoiceDating.INVOICE_DAY) -> tuple[date, date]:
    """(issue date, due date): the invoice day in the billed month, plus the payment terms.

    Dated TODAY, an invoice whose invoice day has passed is dated `today` instead (and due `today` plus the
    terms); one whose invoice day is still to come keeps it. Without `today` the invoice day is used.
    """
    issue = invoice_day_in(period, invoice_day)
    if dating is InvoiceDating.TODAY and today is not None and issue < today:
        issue = today
    return issue, issue + timedelta(days=payment_terms_days)


def lines_total(lines: list[DraftLine]) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.00")).quantize(PENNY)


# --- VAT ---------------------------------------------------------------------------------------------

class Line(Protocol):
    """What VAT reads of an invoice line: a DraftLine or a stored InvoiceLine (which may carry the VAT
    worked out when it was raised, as `tax_amount`). Read-only, so a frozen DraftLine qualifies."""

    @property
    def account_code(self) -> str | None: ...

    @property
    def tax_type(self) -> str | None: ...

    @property
    def amount(self) -> Decimal: ...


@dataclass(frozen=True)
class TaxRate:
    """A Xero tax rate: its TaxType, name (e.g. "20% (VAT on Income)") and rate in percent."""

    tax_type: str
    name: str
    percent: Decimal


@dataclass(frozen=True)
class TaxedLine:
    line: Line
    tax_type: str | None  # the line's own, else its account's default; None when neither is known
    rate: TaxRate | None  # None when the rate is not known
    vat: Decimal | None


@dataclass(frozen=True)
class InvoiceTax:
    """An invoice's lines with their VAT, and its net, VAT and total (VAT None when not all known)."""

    lines: tuple[TaxedLine, ...]
    net: Decimal
    vat: Decimal | None
    xero_connected: bool

    @property
    def complete(self) -> bool:
        return self.vat is not None

    @property
    def total(self) -> Decimal:
        """Net plus VAT; only the net when the VAT is not known (Xero adds it)."""
        return self.net + (self.vat or Decimal("0.00"))

    @property
    def unknown_tax_types(self) -> list[str]:
        return list(dict.fromkeys(t.tax_type for t in self.lines if t.rate is None and t.tax_type))


def parse_percent(value: str | None) -> Decimal | None:
    """A Xero EffectiveRate ("20", "20.0000", "5") as a Decimal percent; None when missing or not a number."""
    try:
        percent = Decimal(str(value).strip()) if value is not None else None
    except InvalidOperation:
        return None
    return percent if percent is not None and percent.is_finite() and percent >= 0 else None


def line_tax_type(tax_type: str | None, account_code: str | None, account_tax_types: Mapping[str, str]) -> str | None:
    """The line's own tax type (the service's), else the default TaxType of its account code."""
    return tax_type or (account_tax_types.get(account_code) if account_code else None)


def line_vat(net: Decimal, percent: Decimal) -> Decimal:
    """One line's VAT, rounded to the penny (half up) as Xero rounds each line."""
    return (net * percent / Decimal(100)).quantize(PENNY, rounding=ROUND_HALF_UP)


def tax_invoice(lines: Iterable[Line], account_tax_types: Mapping[str, str],
                rates: Mapping[str, TaxRate] | None) -> InvoiceTax:
    """Each line's tax type, rate and VAT, and the invoice's totals. `rates` None: Xero is not connected."""
    taxed = []
    for line in lines:
        tax_type = line_tax_type(line.tax_type, line.account_code, account_tax_types)
        rate = rates.get(tax_type) if rates is not None and tax_type else None
        stored = getattr(line, "tax_amount", None)  # a raised line keeps the VAT of its approval
        vat = stored if stored is not None else (line_vat(line.amount, rate.percent) if rate else None)
        taxed.append(TaxedLine(line, tax_type, rate, vat))
    net = sum((t.line.amount for t in taxed), Decimal("0.00")).quantize(PENNY)
    known = [t.vat for t in taxed if t.vat is not None]
    vat = sum(known, Decimal("0.00")) if taxed and len(known) == len(taxed) else None
    return InvoiceTax(tuple(taxed), net, vat, rates is not None)
