"""VAT as Xero will post it, and the practice's synced Xero tax data it is worked out from.

Xero posts with LineAmountTypes "Exclusive": each line's tax type is its own (the service's), else its account
code's default; the line's VAT is its net amount times that rate, rounded to the penny on each line; the
invoice's VAT is the sum of its lines'.
"""
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Protocol

from webapp.extensions import db
from webapp.models import XeroAccount, XeroConnection, XeroTaxRate
from webapp.models.xero import ConnectionStatus
from webapp.services.billing.lines import PENNY


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


@dataclass(frozen=True)
class TaxReference:
    account_tax_types: dict[str, str]  # account code -> its default TaxType
    rates: dict[str, TaxRate] | None  # TaxType -> rate; None when Xero is not connected

    def tax(self, lines: Iterable[Line]) -> InvoiceTax:
        return tax_invoice(lines, self.account_tax_types, self.rates)


def tax_reference(practice_id: int) -> TaxReference:
    """Account default tax types and tax rates from the last sync (three queries, whatever the size)."""
    connected = db.session.execute(
        db.select(XeroConnection.id).filter(XeroConnection.practice_id == practice_id,
                                            XeroConnection.status != ConnectionStatus.DISCONNECTED.value).limit(1)
    ).first() is not None
    accounts = {code: tax_type for code, tax_type in db.session.execute(
        db.select(XeroAccount.code, XeroAccount.tax_type).filter_by(practice_id=practice_id)
        .order_by(XeroAccount.status == "ACTIVE")  # an active account wins over an archived one's code
    ) if code and tax_type}
    if not connected:
        return TaxReference(accounts, None)
    rates = {}
    for tax_type, name, effective in db.session.execute(
            db.select(XeroTaxRate.tax_type, XeroTaxRate.name, XeroTaxRate.effective_rate)
            .filter_by(practice_id=practice_id)):
        percent = parse_percent(effective)
        if percent is not None:
            rates[tax_type] = TaxRate(tax_type, name, percent)
    return TaxReference(accounts, rates)
