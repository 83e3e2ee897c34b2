"""The Xero Invoice Socket sends for one of its invoices: a pure function, no database, no Flask, no HTTP.

Shape (Xero's Accounting API, `Invoice`): Type ACCREC, Contact {ContactID}, Date and DueDate as YYYY-MM-DD,
LineAmountTypes "Exclusive" (Socket's amounts are before VAT), Reference "<Month YYYY> · <Socket number>" (so
the invoice can be found in Xero by it after an answer was lost), Status DRAFT or AUTHORISED, BrandingThemeID
when there is one (Xero's default theme otherwise), CurrencyCode when given, and LineItems as the invoice was
laid out at approval (itemised or consolidated: one line each, in order) with Description, Quantity,
UnitAmount, AccountCode and TaxType (when known; otherwise Xero uses the account's default).

No InvoiceNumber is sent: Xero numbers the invoice from the organisation's own invoice settings.

Amounts: Decimals with two places, sent as JSON numbers. The number is the float whose shortest repr is exactly
the Decimal's digits (true for every amount of up to 15 significant digits, far beyond Money's 12), so
Decimal("0.30") is sent as 0.3 and Decimal("1234567.89") as 1234567.89 — never 0.30000000000000004.
"""
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from webapp.xero import format_xero_date

TWO_PLACES = Decimal("0.01")
MAX_SIGNIFICANT_DIGITS = 15  # a float's shortest repr keeps up to 15 significant decimal digits exactly
REFERENCE_SEPARATOR = " · "
POST_STATUSES = ("DRAFT", "AUTHORISED")


class PayloadError(ValueError):
    """The invoice cannot be put into Xero's shape (a bad amount, status or missing contact); says why."""


class InvoiceLike(Protocol):
    """What the payload reads of a Socket invoice (webapp.models.Invoice has all of it)."""

    @property
    def number(self) -> str: ...

    @property
    def period(self) -> date: ...

    @property
    def issue_date(self) -> date: ...

    @property
    def due_date(self) -> date: ...


@dataclass(frozen=True)
class PayloadLine:
    """One invoice line as it goes to Xero (its account code and tax type already decided)."""

    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str | None
    tax_type: str | None = None

    @property
    def amount(self) -> Decimal:
        """Quantity times unit amount, rounded to the penny half up, as Xero works out a LineAmount."""
        return (self.quantity * self.unit_amount).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def month_label(period: date) -> str:
    """"November 2026"."""
    return period.strftime("%B %Y")


def reference_for(period: date, number: str) -> str:
    """The Reference Socket gives an invoice in Xero: "November 2026 · SKT-000123"."""
    return f"{month_label(period)}{REFERENCE_SEPARATOR}{number}"


def two_places(value: Decimal | int | str) -> Decimal:
    """`value` as a Decimal with exactly two places; PayloadError for a value that is not a finite amount or that
    has more than two places (Socket never rounds money silently)."""
    try:
        amount = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, TypeError, ValueError):
        raise PayloadError(f"{value!r} is not an amount") from None
    if not amount.is_finite():
        raise PayloadError(f"{value!r} is not an amount")
    rounded = amount.quantize(TWO_PLACES)
    if rounded != amount:
        raise PayloadError(f"{amount} has more than two decimal places")
    return rounded


def json_number(value: Decimal | int | str) -> float:
    """A two-place amount as the JSON number whose text is exactly its digits (see the module's docstring)."""
    amount = two_places(value)
    if len(amount.as_tuple().digits) > MAX_SIGNIFICANT_DIGITS:
        raise PayloadError(f"{amount} has too many digits to send exactly")
    number = float(amount)
    if Decimal(repr(number)) != amount:  # cannot happen within 15 digits; kept as the guarantee
        raise PayloadError(f"{amount} cannot be sent exactly")
    return number


def line_item(line: PayloadLine) -> dict[str, Any]:
    """One LineItem: Description, Quantity, UnitAmount, AccountCode (when known), TaxType (when known)."""
    description = (line.description or "").strip()
    if not description:
        raise PayloadError("a line has no description")
    item: dict[str, Any] = {"Description": description, "Quantity": json_number(line.quantity),
                            "UnitAmount": json_number(line.unit_amount)}
    if line.account_code:
        item["AccountCode"] = line.account_code
    if line.tax_type:
        item["TaxType"] = line.tax_type
    return item


def build_invoice(invoice: InvoiceLike, lines: Sequence[PayloadLine], contact_id: str, status: str,
                  branding_theme_id: str | None = None, currency_code: str | None = None) -> dict[str, Any]:
    """The Xero Invoice for `invoice` with `lines` (in order), to contact `contact_id`, as `status` (DRAFT or
    AUTHORISED); BrandingThemeID and CurrencyCode only when given. PayloadError when it cannot be built."""
    if status not in POST_STATUSES:
        raise PayloadError(f"status {status!r} is not DRAFT or AUTHORISED")
    if not contact_id:
        raise PayloadError("no Xero contact")
    if not lines:
        raise PayloadError("the invoice has no lines")
    payload: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Date": format_xero_date(invoice.issue_date),
        "DueDate": format_xero_date(invoice.due_date),
        "LineAmountTypes": "Exclusive",
        "Reference": reference_for(invoice.period, invoice.number),
        "Status": status,
    }
    if branding_theme_id:
        payload["BrandingThemeID"] = branding_theme_id
    if currency_code:
        payload["CurrencyCode"] = currency_code
    payload["LineItems"] = [line_item(line) for line in lines]
    return payload


def net_total(lines: Sequence[PayloadLine]) -> Decimal:
    """The invoice's total before VAT (Xero's SubTotal for LineAmountTypes Exclusive)."""
    return sum((line.amount for line in lines), Decimal("0.00")).quantize(TWO_PLACES)
