"""Invoice line items: Xero's amount, account and VAT rules, in pence rounded half up."""
from __future__ import annotations

import json
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import seed
from .bodies import _invalid, get_decimal, get_str, get_uuid, sub
from .xerojson import money

CENT = Decimal("0.01")


def q2(d: Decimal) -> Decimal:
    """Round to pence, half up (Xero's rounding)."""
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def _line_amounts(line: dict, qty: Decimal | None, unit: Decimal | None, given_amount: Decimal | None,
                  disc: Decimal | None, unitdp: int, errors: list[str]) -> tuple[Decimal, Decimal, Decimal]:
    """(Quantity, UnitAmount, LineAmount): quantity 1 and unit amount 0 by default, the unit amount rounded to
    `unitdp` places; a LineAmount alone sets the unit amount, otherwise it must match."""
    qty = Decimal(1) if qty is None else qty
    unit = Decimal(0) if unit is None else unit
    places = Decimal("0.0001") if unitdp == 4 else CENT
    unit = unit.quantize(places, rounding=ROUND_HALF_UP)
    amount = q2(qty * unit * (1 - (disc or Decimal(0)) / 100))
    if given_amount is not None and unit == 0 and "UnitAmount" not in line and qty:
        unit = (given_amount / qty).quantize(places, rounding=ROUND_HALF_UP)
        amount = q2(given_amount)
    elif given_amount is not None and q2(given_amount) != amount:
        errors.append(f"The line total {q2(given_amount)} does not match the expected line total {amount}")
    return qty, unit, amount


def _line_account(code: str, accounts: dict[str, dict], inv_type: str | None,
                  errors: list[str]) -> dict | None:
    """The active, non-bank account `code` names (a revenue one on ACCREC), or None and an error."""
    account = accounts.get(code)
    if account is None or account["Type"] == "BANK":
        errors.append(f"Account code '{code}' is not a valid code for this document.")
        return None
    if account["Status"] != "ACTIVE":
        errors.append(f"Account code '{code}' has been archived, or deleted. "
                      "Each line item must reference a valid account.")
        return None
    if inv_type == "ACCREC" and account["Class"] != "REVENUE":
        errors.append(f"Account code '{code}' is not a valid code for this document.")
        return None
    return account


def _line_tax(tax_type: str | None, account: dict | None, inv_type: str | None, amount_types: str,
              amount: Decimal, errors: list[str]) -> tuple[str, Decimal]:
    """(TaxType, TaxAmount): the given tax type if it exists and applies to the account's class (else an error,
    naming the account when there is one), else the account's default; Inclusive amounts contain their tax,
    NoTax lines have none."""
    if amount_types == "NoTax":
        tax_type = "NONE"
    if tax_type is not None and tax_type.strip():
        tax_type = tax_type.strip().upper()
        rate_row = seed.TAX_BY_TYPE.get(tax_type)
        applies = rate_row[4] if rate_row else set()
        klass = account["Class"] if account else ("REVENUE" if inv_type == "ACCREC" else "EXPENSE")
        if rate_row is None or klass not in applies:
            errors.append(f"The TaxType code '{tax_type}' does not exist or cannot be used for this type "
                          "of transaction.")
            if rate_row is not None and account is not None:
                errors.append(f"The TaxType code '{tax_type}' cannot be used with account code "
                              f"'{account['Code']}'.")
            rate_row = None
    else:
        tax_type = account["TaxType"] if account else "NONE"
        rate_row = seed.TAX_BY_TYPE.get(tax_type)
    rate = Decimal(rate_row[2]) / 100 if rate_row else Decimal(0)
    if amount_types == "Inclusive":
        return tax_type, q2(amount * rate / (1 + rate))
    return tax_type, q2(amount * rate)


def _line_item(line: object, lpath: str, inv_type: str | None, amount_types: str, accounts: dict[str, dict],
               old_ids: set, unitdp: int, errors: list[str]) -> dict[str, Any]:
    """One LineItem as stored: fields read and checked, amounts and tax worked out."""
    if not isinstance(line, dict):
        raise _invalid(f"Error converting value {json.dumps(line, default=str)} to type 'LineItem'.", lpath)
    desc = get_str(line, "Description", lpath)
    qty = get_decimal(line, "Quantity", lpath)
    unit = get_decimal(line, "UnitAmount", lpath)
    given_amount = get_decimal(line, "LineAmount", lpath)
    disc = get_decimal(line, "DiscountRate", lpath)
    code = get_str(line, "AccountCode", lpath)
    tax_type = get_str(line, "TaxType", lpath)
    line_id = get_uuid(line, "LineItemID", lpath)
    if not desc or not desc.strip():
        errors.append("The description field is mandatory for each line item.")
    qty, unit, amount = _line_amounts(line, qty, unit, given_amount, disc, unitdp, errors)
    account = None
    if code is not None and code.strip():
        code = code.strip()
        account = _line_account(code, accounts, inv_type, errors)
    tax_type, tax = _line_tax(tax_type, account, inv_type, amount_types, amount, errors)
    item: dict[str, Any] = {
        "LineItemID": line_id if line_id in old_ids else str(uuid.uuid4()),
        "Description": desc or "", "UnitAmount": float(unit), "TaxType": tax_type,
        "TaxAmount": money(tax), "LineAmount": money(amount), "Tracking": [], "Quantity": float(qty)}
    if code:
        item["AccountCode"] = code
    if account:
        item["AccountID"] = account["AccountID"]
    if disc:
        item["DiscountRate"] = float(disc)
    return item


def price_lines(db, tenant_id: str, inv_type: str | None, lines: list, path: str, amount_types: str,
           old_lines: list[dict] | None, errors: list[str], unitdp: int) -> list[dict]:
    """The LineItems as stored, in `amount_types` (Exclusive/Inclusive/NoTax); validation messages go to
    `errors`; a LineItemID is kept only when it is one of the invoice's existing lines (`old_lines`)."""
    old_ids = {line.get("LineItemID") for line in old_lines or []}
    accounts = {r["code"]: json.loads(r["doc"]) for r in db.execute(
        "SELECT code, doc FROM accounts WHERE tenant_id=?", (tenant_id,)).fetchall()}
    return [_line_item(line, f"{sub(path, 'LineItems')}[{i}]", inv_type, amount_types, accounts, old_ids, unitdp,
                       errors)
            for i, line in enumerate(lines)]
