"""How an invoice is laid out: its lines. Pure functions, no database, no Flask.

Recurring and one-off work are laid out independently: each is either itemised (one line per service)
or consolidated (one line per account code + tax type group, its amount the sum of the group's services).
"""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

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
    # A catch-up names the month it covers (the line's own month is this one's).
    names = ", ".join(f"{item.service_name} ({item.period_label}, catch-up)" if item.catch_up else item.service_name
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


def lines_total(lines: list[DraftLine]) -> Decimal:
    return sum((line.amount for line in lines), Decimal("0.00")).quantize(PENNY)
