"""Services & Pricing: prices, pricing menus (one active per practice), services and their account codes."""
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from webapp.extensions import db
from webapp.models import (
    BillingMethod,
    BillingSettings,
    ConnectionStatus,
    Engagement,
    InvoiceLine,
    PricingMenu,
    Service,
    XeroAccount,
    XeroConnection,
)
from webapp.services.billing import lock as billing_lock
from webapp.sync import reference_data

MAX_PRICE = Decimal("9999999999.99")  # what Numeric(12, 2) can hold
# [0-9], not \d: \d (like Decimal() and int()) also matches other scripts' digits, e.g. "１２３" or "٣٤".
_PRICE = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")
_TOO_PRECISE = re.compile(r"^[0-9]+\.[0-9]{3,}$")
DIGITS_0_TO_9 = "Enter the price using the digits 0 to 9, e.g. 250 or 99.50."


class InvalidPrice(ValueError):
    """A price that is not a positive amount of pounds and pence; the message says why."""


class InvalidAccountCode(ValueError):
    """An account code that is not one of the practice's synced ACTIVE revenue accounts."""


class ServiceInUse(Exception):
    """A service with engagements or invoice lines cannot be deleted."""


class DuplicateMenuName(Exception):
    """The practice already has a pricing menu with this name."""


# --- prices -------------------------------------------------------------------------------------

def parse_price(raw) -> Decimal:
    """A positive price with at most 2 decimal places ("1,200.50" and "£99" are fine). Raises InvalidPrice.

    Only the digits 0-9 and one "." count as a number: "１２３" (fullwidth) or "٣٤" (Arabic-Indic) is refused.
    """
    if isinstance(raw, Decimal):
        text = format(raw, "f")
    else:
        text = str(raw or "").strip().replace(",", "").removeprefix("£").strip()
    if not text:
        raise InvalidPrice("Enter a price.")
    if text.startswith("-"):
        raise InvalidPrice("The price must be more than £0.00.")
    if not _PRICE.match(text):
        if any(character.isdigit() for character in text) and not text.isascii():
            raise InvalidPrice(DIGITS_0_TO_9)
        if _TOO_PRECISE.match(text):
            raise InvalidPrice("Use at most 2 decimal places (pounds and pence).")
        raise InvalidPrice("Enter the price as a number, e.g. 250 or 99.50.")
    try:
        price = Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern already guards this
        raise InvalidPrice("Enter the price as a number, e.g. 250 or 99.50.") from error
    if price <= 0:
        raise InvalidPrice("The price must be more than £0.00.")
    if price > MAX_PRICE:
        raise InvalidPrice("That price is too large.")
    return price.quantize(Decimal("0.01"))


# --- pricing menus ------------------------------------------------------------------------------

def practice_menus(practice_id: int) -> list[PricingMenu]:
    """The practice's menus, the active one first, then by name."""
    return list(db.session.execute(
        db.select(PricingMenu).filter_by(practice_id=practice_id)
        .order_by(PricingMenu.is_active.desc(), PricingMenu.name, PricingMenu.id)
    ).scalars())


def active_menu(practice_id: int) -> PricingMenu | None:
    return db.session.execute(
        db.select(PricingMenu).filter_by(practice_id=practice_id, is_active=True).limit(1)
    ).scalar_one_or_none()


def _menu_name_taken(practice_id: int, name: str, exclude_id: int | None = None) -> bool:
    statement = db.select(PricingMenu.id).filter(
        PricingMenu.practice_id == practice_id, db.func.lower(PricingMenu.name) == name.strip().lower()
    )
    if exclude_id is not None:
        statement = statement.filter(PricingMenu.id != exclude_id)
    return db.session.execute(statement.limit(1)).first() is not None


def create_menu(practice_id: int, name: str) -> PricingMenu:
    """A new pricing menu; the practice's first one becomes active. Raises DuplicateMenuName."""
    name = name.strip()
    if _menu_name_taken(practice_id, name):
        raise DuplicateMenuName(name)
    menu = PricingMenu(practice_id=practice_id, name=name, is_active=active_menu(practice_id) is None)
    db.session.add(menu)
    db.session.commit()
    return menu


def rename_menu(menu: PricingMenu, name: str) -> PricingMenu:
    """Rename a menu. Raises DuplicateMenuName."""
    name = name.strip()
    if _menu_name_taken(menu.practice_id, name, menu.id):
        raise DuplicateMenuName(name)
    menu.name = name
    db.session.commit()
    return menu


def activate_menu(menu: PricingMenu) -> PricingMenu:
    """Make `menu` the practice's one active pricing menu, deactivating every other."""
    # Lock the practice's menus so two simultaneous activations cannot leave two active.
    db.session.execute(
        db.select(PricingMenu.id).filter_by(practice_id=menu.practice_id).with_for_update()
    ).all()
    db.session.execute(
        db.update(PricingMenu)
        .where(PricingMenu.practice_id == menu.practice_id, PricingMenu.id != menu.id)
        .values(is_active=False)
    )
    menu.is_active = True
    db.session.commit()
    db.session.expire_all()
    return menu


# --- services -----------------------------------------------------------------------------------

SERVICE_FIELDS = ("name", "description", "billing_method", "price")


def service_name_taken(menu_id: int, name: str, exclude_id: int | None = None) -> bool:
    """Whether another service on the menu already has this name (ignoring case and surrounding spaces): two
    services of one name would look the same on the plan, on invoices and in Xero."""
    statement = db.select(Service.id).filter(
        Service.pricing_menu_id == menu_id, db.func.lower(db.func.trim(Service.name)) == name.strip().lower())
    if exclude_id is not None:
        statement = statement.filter(Service.id != exclude_id)
    return db.session.execute(statement.limit(1)).first() is not None


def add_service(menu: PricingMenu, fields: dict) -> Service:
    """Add a service at the end of a menu."""
    position = 1 + max((service.position for service in menu.services), default=-1)
    service = Service(practice_id=menu.practice_id, pricing_menu_id=menu.id, position=position)
    _apply_service_fields(service, fields)
    db.session.add(service)
    db.session.commit()
    db.session.refresh(menu)
    return service


def update_service(service: Service, fields: dict) -> Service:
    # Waits for a running approval, as engagement edits do: a billing method changed while a month is being
    # approved must be stamped (updated_at) after that month's approval, or catch-up would never look again.
    billing_lock.lock_practice(service.practice_id)
    _apply_service_fields(service, fields)
    db.session.commit()
    return service


def _apply_service_fields(service: Service, fields: dict) -> None:
    for name in SERVICE_FIELDS:
        if name in fields:
            setattr(service, name, fields[name])
    service.billing_method = BillingMethod(service.billing_method).value
    service.price = parse_price(service.price)
    service.description = service.description or ""


def delete_service(service: Service) -> None:
    """Remove a service nobody is engaged on and no invoice refers to. Raises ServiceInUse."""
    engaged = db.session.execute(
        db.select(Engagement.id).filter_by(service_id=service.id).limit(1)
    ).first()
    invoiced = db.session.execute(
        db.select(InvoiceLine.id).filter_by(service_id=service.id).limit(1)
    ).first()
    if engaged or invoiced:
        raise ServiceInUse(service.name)
    menu = service.pricing_menu
    db.session.delete(service)
    db.session.commit()
    db.session.refresh(menu)


# --- account codes (Billing & Engagement Letter Settings) ----------------------------------------

@dataclass(frozen=True)
class AccountCodeRow:
    """What the Billing & Engagement Letter Settings dialog shows for one service."""

    service: Service
    default_label: str
    choices: list[tuple[str, str]]  # (code, "200 — Sales"), the stored code kept even if no longer offered
    problem: reference_data.ChoiceProblem | None


def xero_accounts_available(practice_id: int) -> bool:
    """Codes can be chosen once Xero's revenue accounts are synced and the connection was not ended."""
    connection = db.session.execute(
        db.select(XeroConnection).filter_by(practice_id=practice_id)
    ).scalar_one_or_none()
    if connection is not None and connection.status == ConnectionStatus.DISCONNECTED.value:
        return False
    return bool(reference_data.revenue_accounts(practice_id))


def default_account_code(practice_id: int, service: Service) -> str | None:
    """The practice's default code for this service's kind of sale (recurring or one-off)."""
    settings = db.session.get(BillingSettings, practice_id)
    if settings is None:
        return None
    return settings.recurring_account_code if service.is_recurring else settings.one_off_account_code


def _choices(accounts: list[XeroAccount]) -> list[tuple[str, str]]:
    """(code, label) per account; revenue_accounts returns only accounts with a code, as the check says."""
    return [(account.code, account.label) for account in accounts if account.code is not None]


def account_code_rows(practice_id: int, services: list[Service]) -> tuple[bool, list[AccountCodeRow]]:
    """(whether codes can be chosen, one row per service) for the dialog."""
    available = xero_accounts_available(practice_id)
    offered = _choices(reference_data.revenue_accounts(practice_id)) if available else []
    rows = []
    for service in services:
        rows.append(account_code_row(practice_id, service, available, offered))
    return available, rows


def account_code_row(practice_id: int, service: Service, available: bool | None = None,
                     offered: list[tuple[str, str]] | None = None) -> AccountCodeRow:
    """The dialog row of one service (after a save, or for the whole dialog)."""
    if available is None:
        available = xero_accounts_available(practice_id)
    if offered is None:
        offered = _choices(reference_data.revenue_accounts(practice_id)) if available else []
    choices = list(offered)
    if service.account_code and service.account_code not in {code for code, _ in offered}:
        stored = reference_data.find_account(practice_id, service.account_code)
        label = stored.label if stored else service.account_code
        why = "not available in Xero" if available else "kept while Xero is not connected"
        choices.insert(0, (service.account_code, f"{label} ({why})"))
    return AccountCodeRow(
        service=service,
        default_label=_default_label(practice_id, service, available),
        choices=choices,
        problem=reference_data.account_problem(practice_id, service.account_code),
    )


def _default_label(practice_id: int, service: Service, available: bool) -> str:
    if not available:
        return "Use default"
    code = default_account_code(practice_id, service)
    if not code:
        return "Use default (not set yet)"
    account = reference_data.find_account(practice_id, code)
    return f"Use default ({account.label if account else code})"


def set_service_account_code(service: Service, code: str | None) -> Service:
    """Override a service's account code ("" or None: back to the practice default).

    Raises InvalidAccountCode unless the code is one of the synced ACTIVE revenue accounts.
    """
    code = (code or "").strip() or None
    if code is not None and not (xero_accounts_available(service.practice_id)
                                 and reference_data.is_offerable_account(service.practice_id, code)):
        raise InvalidAccountCode(f"Account code {code} is not an active sales account in your Xero "
                                 "organisation. Choose one from the list (sync if it was just added).")
    service.account_code = code
    db.session.commit()
    return service

