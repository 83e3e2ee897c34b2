"""Reading one account, branding theme or tax rate of Xero's answer: checked, with the mirror's column values.

An item that cannot be stored as it is (not an object, no id, a field of the wrong type, too long for its column,
a NUL character, which PostgreSQL cannot store) raises BadItem saying why; the sync skips it with a warning and
stores the rest (webapp.sync.reference_sync).
"""
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_SORT_ORDER = 2**31 - 1  # an INTEGER column


class BadItem(ValueError):
    """An item of Xero's answer that cannot be stored; the message says why."""


@dataclass(frozen=True)
class Item:
    """One checked item: its key (AccountID, BrandingThemeID or TaxType) and the columns to store."""

    key: str
    values: dict[str, Any]


def _text(item: dict, key: str, limit: int) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadItem(f"its {key} is not text")
    if "\x00" in value:
        raise BadItem(f"its {key} contains a NUL character")
    if len(value) > limit:
        raise BadItem(f"its {key} is longer than {limit} characters")
    return value


def _object(item: Any, id_key: str, limit: int) -> str:
    if not isinstance(item, dict):
        raise BadItem("it is not an object")
    key = _text(item, id_key, limit)
    if not key or not key.strip():
        raise BadItem(f"it has no {id_key}")
    return key


def read_account(item: Any) -> Item:
    """An Account (key AccountID); Status ACTIVE when Xero gives none."""
    key = _object(item, "AccountID", 36)
    return Item(key, {"code": _text(item, "Code", 10) or None, "name": _text(item, "Name", 150) or "",
                      "type": _text(item, "Type", 32), "account_class": _text(item, "Class", 16),
                      "status": _text(item, "Status", 16) or "ACTIVE", "tax_type": _text(item, "TaxType", 50)})


def read_theme(item: Any) -> Item:
    """A BrandingTheme (key BrandingThemeID); SortOrder 0 when Xero gives none. Its Type is "always INVOICE" (the
    spec): another is not a theme Socket can read, so it is skipped with the rest of the unreadable."""
    key = _object(item, "BrandingThemeID", 36)
    if item.get("Type", "INVOICE") != "INVOICE":
        raise BadItem(f"its Type {item.get('Type')!r:.80} is not INVOICE")
    sort_order = item.get("SortOrder")
    if sort_order is None:
        sort_order = 0
    if isinstance(sort_order, bool) or not isinstance(sort_order, int) or not 0 <= sort_order <= MAX_SORT_ORDER:
        raise BadItem(f"its SortOrder {sort_order!r:.80} is not a whole number Socket can store")
    return Item(key, {"name": _text(item, "Name", 150) or "", "sort_order": sort_order, "present_in_xero": True})


def _rate(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadItem(f"its rate {value!r:.80} is not a number")
    try:
        finite = Decimal(str(value)).is_finite()
    except InvalidOperation:
        finite = False
    text = str(value)
    if not finite or len(text) > 16:
        raise BadItem(f"its rate {value!r:.80} is not a number Socket can store")
    return text


def read_tax_rate(item: Any) -> Item:
    """A TaxRate (key TaxType); its EffectiveRate (or DisplayTaxRate) kept as Xero wrote it."""
    key = _object(item, "TaxType", 50)
    return Item(key, {"name": _text(item, "Name", 150) or key, "status": _text(item, "Status", 16) or "ACTIVE",
                      "effective_rate": _rate(item.get("EffectiveRate", item.get("DisplayTaxRate")))})


def label(item: Any, id_key: str) -> str:
    """How a warning names an item it skipped: its id and Name when they are text."""
    if not isinstance(item, dict):
        return "not an object"
    parts = [f"{key} {item[key]!r:.80}" for key in (id_key, "Name") if isinstance(item.get(key), str) and item[key]]
    return ", ".join(parts) or f"no {id_key} or Name"
