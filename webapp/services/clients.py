"""Clients and their engagements: identifier normalisers, search, create/update, archive.

The normalisers are plain functions so that the Xero contact matcher can reuse them: a company number
or VAT number typed in Socket and one read from Xero compare equal after the same normalising.
"""
import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from webapp.extensions import db
from webapp.models import Client, ClientStatus, Engagement, PricingMenu, Service
from webapp.pagination import PageWindow, page_window
from webapp.services import contact_matching_ui
from webapp.services.billing import completions as engagement_billing
from webapp.services.billing import lock as billing_lock
from webapp.sync import contact_links

# [0-9], not \d: \d also matches other scripts' digits ("０１２３４５６７"), which Companies House and HMRC do not use.
_COMPANY_NUMBER_WITH_PREFIX = re.compile(r"^[A-Z]{2}[0-9]{6}$")
_DIGITS = re.compile(r"^[0-9]{1,8}$")
_VAT_DIGITS = re.compile(r"^([0-9]{9}|[0-9]{12})$")


class InvalidIdentifier(ValueError):
    """A company number, VAT number or email that cannot be right; the message says why."""


class DuplicateClientCode(Exception):
    """Another client of the practice already has this code."""


# --- identifiers --------------------------------------------------------------------------------

def company_number_key(value: str | None) -> str:
    """Comparison form of a company number: upper case, no spaces, all-digit numbers left-padded to 8."""
    compact = re.sub(r"\s+", "", value or "").upper()
    if compact.isascii() and compact.isdigit() and len(compact) < 8:
        compact = compact.zfill(8)
    return compact


def normalise_company_number(value: str) -> str:
    """A Companies House number as stored: 2 letters + 6 digits, or 8 digits (shorter ones left-padded).

    Raises InvalidIdentifier when it cannot be one.
    """
    compact = _compact(value)
    if _DIGITS.match(compact):
        return compact.zfill(8)
    if _COMPANY_NUMBER_WITH_PREFIX.match(compact):
        return compact
    raise InvalidIdentifier("A company number is 8 characters: 8 digits (e.g. 01234567) "
                            "or 2 letters and 6 digits (e.g. SC123456).")


def company_number_padding(value: str) -> str | None:
    """What `value` is stored as when normalising adds zeros in front of it (e.g. "123" -> "00000123"), else None:
    the user should be told, since it is not what they typed."""
    compact = _compact(value)
    return compact.zfill(8) if _DIGITS.match(compact) and len(compact) < 8 else None


def _compact(value: str | None) -> str:
    return re.sub(r"\s+", "", value or "").upper()


def vat_number_key(value: str | None) -> str:
    """Comparison form of a VAT number: upper case, no spaces, without the optional GB prefix."""
    compact = re.sub(r"\s+", "", value or "").upper()
    return compact[2:] if compact.startswith("GB") else compact


# The one description of what normalise_vat_number accepts: the form's hint and its refusal both say it.
VAT_NUMBER_FORMAT = ("9 digits, or 12 for a branch (the 9 and a 3-digit branch number); GB in front is optional, "
                     "e.g. GB 123 4567 89 or GB 123 4567 89 001.")


def normalise_vat_number(value: str) -> str:
    """A UK VAT number as stored: "GB" and 9 or 12 digits (VAT_NUMBER_FORMAT). The GB prefix and spaces are
    optional on input. Raises InvalidIdentifier when it cannot be one.
    """
    digits = vat_number_key(value)
    if not _VAT_DIGITS.match(digits):
        raise InvalidIdentifier(f"A UK VAT number is {VAT_NUMBER_FORMAT}")
    return f"GB{digits}"


def normalise_email(value: str) -> str:
    """The address in its normalised form (domain lower-cased); no DNS lookups. Raises InvalidIdentifier."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise InvalidIdentifier(str(error)) from error


def normalise_client_code(value: str) -> str:
    """Client codes are compared and stored upper case without surrounding spaces."""
    return (value or "").strip().upper()


# --- clients ------------------------------------------------------------------------------------

CLIENT_FIELDS = (
    "name", "code", "email", "phone", "address_line", "city", "postcode", "company_number", "vat_number",
    "consolidate_recurring", "consolidate_one_off", "branding_theme_id", "invoice_day", "payment_terms_days",
)


@dataclass
class ClientPage:
    """One page of a client search."""

    clients: list[Client]
    page: int
    pages: int
    total: int

    @property
    def window(self) -> PageWindow:
        """The pager's links: first, last, and a few pages around this one."""
        return page_window(self.page, self.pages)


def search_clients(practice_id: int, query: str = "", include_archived: bool = False,
                   page: int = 1, per_page: int = 25, xero_state: str | None = None) -> ClientPage:
    """Clients whose name, code or email contains `query`, by name; archived ones only when asked; only those
    whose Xero contact stands at `xero_state` when given (see contact_matching_ui.FILTERS)."""
    statement = db.select(Client).filter_by(practice_id=practice_id)
    if not include_archived:
        statement = statement.filter(Client.status == ClientStatus.ACTIVE.value)
    statement = contact_matching_ui.filter_by_xero_state(statement, xero_state)
    query = (query or "").strip()
    if query:
        pattern = f"%{_escape_like(query)}%"
        statement = statement.filter(db.or_(
            Client.name.ilike(pattern, escape="\\"),
            Client.code.ilike(pattern, escape="\\"),
            Client.email.ilike(pattern, escape="\\"),
        ))
    total = db.session.execute(db.select(db.func.count()).select_from(statement.subquery())).scalar_one()
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    clients = db.session.execute(
        statement.order_by(db.func.lower(Client.name), Client.id).limit(per_page).offset((page - 1) * per_page)
        .options(lazyload(Client.engagements))  # the list shows none: not the two eager SELECTs per page
    ).scalars().all()
    return ClientPage(clients=list(clients), page=page, pages=pages, total=total)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def code_taken(practice_id: int, code: str, exclude_client_id: int | None = None) -> bool:
    """True when another client of the practice already uses `code` (case-insensitively)."""
    statement = db.select(Client.id).filter(
        Client.practice_id == practice_id, db.func.upper(Client.code) == normalise_client_code(code)
    )
    if exclude_client_id is not None:
        statement = statement.filter(Client.id != exclude_client_id)
    return db.session.execute(statement.limit(1)).first() is not None


def create_client(practice_id: int, fields: dict) -> Client:
    """Add a client; raises DuplicateClientCode if the code is taken (also when another request won a race)."""
    client = Client(practice_id=practice_id)
    return _save_client(client, fields)


def update_client(client: Client, fields: dict) -> Client:
    """Change a client's details; raises DuplicateClientCode as create_client does."""
    return _save_client(client, fields)


def _save_client(client: Client, fields: dict) -> Client:
    code = normalise_client_code(fields.get("code", client.code))
    # Checked before touching the row so a refused code leaves nothing dirty in the session.
    if code_taken(client.practice_id, code, client.id):
        raise DuplicateClientCode(code)
    for name in CLIENT_FIELDS:
        if name in fields:
            setattr(client, name, fields[name])
    client.code = code
    db.session.add(client)
    try:
        db.session.commit()
    except IntegrityError as error:
        # Another request took the code between the check and the commit.
        db.session.rollback()
        message = str(error.orig)
        if "uq_clients_practice_code" in message or "clients.code" in message:
            raise DuplicateClientCode(code) from error
        raise
    contact_links.rematch_client(client.practice_id, client.id)  # from the mirrored contacts; no call to Xero
    return client


def set_archived(client: Client, archived: bool) -> Client:
    """Archive a client (they drop out of the default list and the billing plan) or bring them back."""
    client.status = (ClientStatus.ARCHIVED if archived else ClientStatus.ACTIVE).value
    db.session.commit()
    return client


# --- engagements --------------------------------------------------------------------------------

def engagement_services(practice_id: int) -> list[tuple[PricingMenu, list[Service]]]:
    """The practice's services grouped by pricing menu, the active menu first."""
    menus = db.session.execute(
        db.select(PricingMenu).filter_by(practice_id=practice_id)
        .order_by(PricingMenu.is_active.desc(), PricingMenu.name, PricingMenu.id)
    ).scalars().all()
    return [(menu, list(menu.services)) for menu in menus if menu.services]


def client_engagements(client: Client) -> list[Engagement]:
    """A client's engagements, current ones first, then by start date."""
    return sorted(client.engagements, key=lambda e: (e.end_date is not None, e.start_date, e.id))


INVOICED_ENGAGEMENT_LOCKED = ("Already invoiced: end this engagement and add a new one to change its service "
                              "or start date.")


class EngagementLocked(Exception):
    """An invoiced engagement's service or start date cannot change: `fields` names the ones that would."""

    def __init__(self, fields: list[str]):
        super().__init__(INVOICED_ENGAGEMENT_LOCKED)
        self.fields = fields


def save_engagement(client: Client, service: Service, price: Decimal | None, start_date: date,
                    end_date: date | None = None, engagement: Engagement | None = None) -> Engagement:
    """Add (or change) a client's engagement; a missing price means the service's price.

    Once an engagement has a charge in the ledger its service and start date are fixed (raises
    EngagementLocked): its charge keys and its once-per-quarter/year completion periods are counted
    from them, so moving either would bill a period again. Its price (future charges) and end date
    stay editable. Waits for a running approval (the practice's billing lock).
    """
    if service.practice_id != client.practice_id:
        raise ValueError("service belongs to another practice")
    billing_lock.lock_practice(client.practice_id)
    if engagement is not None:
        moved = [name for name, changed in (("service_id", engagement.service_id != service.id),
                                            ("start_date", engagement.start_date != start_date)) if changed]
        if moved and engagement_billing.has_billed_charges(engagement.id):
            db.session.rollback()
            raise EngagementLocked(moved)
    if engagement is None:
        engagement = Engagement(practice_id=client.practice_id, client_id=client.id)
        db.session.add(engagement)
    engagement.service_id = service.id
    engagement.service = service
    engagement.price = price if price is not None else service.price
    engagement.start_date = start_date
    engagement.end_date = end_date
    db.session.commit()
    db.session.refresh(client)
    return engagement


def end_engagement(engagement: Engagement, end_date: date) -> Engagement:
    """Stop billing an engagement after `end_date` (waits for a running approval)."""
    billing_lock.lock_practice(engagement.practice_id)
    engagement.end_date = end_date
    db.session.commit()
    db.session.refresh(engagement.client)
    return engagement
