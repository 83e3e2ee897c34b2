"""Pulling the organisation's contacts into the local mirror (`xero_contacts`), a page at a time.

The first pull reads every contact (`pageSize` 1000, `includeArchived=true`, so archived and merged contacts come
too); later pulls send `If-Modified-Since` with the start of the last complete pull (less a minute, in case the
clocks differ: reading a contact twice is harmless), so a quiet day costs one call. Each page is upserted with one
SELECT of the stored rows for that page's ids and one INSERT of its new ones (webapp.services.bulk_insert), and
committed before the next is fetched; nothing of a page is kept once it is stored. A contact Xero no longer returns
is left as it is (Xero archives contacts; it does not delete them).

A contact without a usable ContactID, or with a field of the wrong type or too long for Xero, is skipped and the
reason recorded (`PullResult.warnings`); the rest of its page is stored. An answer without a `Contacts` list is
XeroUnavailable and stores nothing of that page. The pull's start is saved only when every page was read, so a
pull that stopped part way is repeated from the same point next time.
"""
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from webapp.extensions import db
from webapp.models import ClientContactLink, ContactPull, XeroContact
from webapp.models.base import utcnow
from webapp.services.bulk_insert import insert_rows
from webapp.sync.table_stats import analyze_after_writes
from webapp.xero import XeroClient, XeroUnavailable, parse_xero_datetime

PAGE_SIZE = 1000  # Xero's maximum
CLOCK_OVERLAP = timedelta(minutes=1)
STATUSES = ("ACTIVE", "ARCHIVED", "GDPRREQUEST")
# (Xero field, mirror column, Xero's maximum length)
TEXT_FIELDS = (("Name", "name", 255), ("EmailAddress", "email", 255), ("ContactNumber", "contact_number", 50),
               ("AccountNumber", "account_number", 50), ("CompanyNumber", "company_number", 50),
               ("TaxNumber", "tax_number", 50))
PHONE_PREFERENCE = ("DEFAULT", "MOBILE", "DDI")
PHONE_PARTS = (("PhoneCountryCode", 20), ("PhoneAreaCode", 10), ("PhoneNumber", 50))  # joined: at most 82


class BadContact(ValueError):
    """A contact in Xero's answer that cannot be stored; the message says why."""


@dataclass(frozen=True, slots=True)
class ContactFields:
    """One contact of Xero's answer, checked, with the mirror's column names."""

    contact_id: str
    name: str
    email: str | None
    contact_number: str | None
    account_number: str | None
    company_number: str | None
    tax_number: str | None
    status: str
    merged_to_contact_id: str | None
    is_customer: bool
    is_supplier: bool
    phone: str | None
    address_line: str | None
    city: str | None
    postcode: str | None
    updated_date_utc: datetime | None


STORED_FIELDS = tuple(f.name for f in fields(ContactFields) if f.name != "contact_id")


@dataclass
class PullResult:
    """What one pull did: how many contacts were new, changed, unchanged, newly archived, newly merged, skipped;
    the Xero calls it made; whether it read everything (`full`) or only changes; why contacts were skipped."""

    full: bool
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    archived: int = 0
    merged: int = 0
    skipped: int = 0
    calls: int = 0
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        """For SyncRun.counts (the warnings are recorded by the caller)."""
        return {"contacts_full_pull": self.full, "contacts_new": self.new, "contacts_changed": self.changed,
                "contacts_unchanged": self.unchanged, "contacts_archived": self.archived,
                "contacts_merged": self.merged, "contacts_skipped": self.skipped, "contacts_calls": self.calls}


# -- reading one contact -------------------------------------------------------------------------------------------
def _guid(value: Any, key: str) -> str:
    try:
        return str(uuid.UUID(value))
    except (TypeError, ValueError, AttributeError):
        raise BadContact(f"its {key} {value!r:.80} is not a Xero id") from None


def _text(item: dict, key: str, limit: int, where: str = "") -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadContact(f"{where}{key} is not text")
    if "\x00" in value:
        raise BadContact(f"{where}{key} contains a NUL character")  # PostgreSQL cannot store one
    value = value.strip()
    if len(value) > limit:
        raise BadContact(f"{where}{key} is longer than {limit} characters")
    return value or None


def _flag(item: dict, key: str) -> bool:
    value = item.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise BadContact(f"{key} is not true or false")
    return value


def _objects(item: dict, key: str) -> list[dict]:
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise BadContact(f"{key} is not a list")
    return value


def _address(addresses: list[dict]) -> tuple[str | None, str | None, str | None]:
    """(lines, city, postcode) of the POBOX address if it has any of them, else of the STREET one."""
    found: dict[str, tuple[str | None, str | None, str | None]] = {}
    for address in addresses:
        kind = address.get("AddressType")
        where = f"Addresses ({kind}): "
        lines = [_text(address, f"AddressLine{i}", 500, where) for i in range(1, 5)]
        parts = (", ".join(line for line in lines if line) or None, _text(address, "City", 255, where),
                 _text(address, "PostalCode", 50, where))
        if kind in ("POBOX", "STREET") and kind not in found and any(parts):
            found[kind] = parts
    return found.get("POBOX") or found.get("STREET") or (None, None, None)


def _phone(phones: list[dict]) -> str | None:
    numbers: dict[Any, str] = {}
    for phone in phones:
        where = f"Phones ({phone.get('PhoneType')}): "
        parts = [_text(phone, key, limit, where) for key, limit in PHONE_PARTS]
        if parts[2]:
            numbers.setdefault(phone.get("PhoneType"), " ".join(p for p in parts if p))
    return next((numbers[kind] for kind in PHONE_PREFERENCE if kind in numbers), None)


def parse_contact(item: Any) -> ContactFields:
    """A Contact of Xero's answer, checked; raises BadContact saying what is wrong with it."""
    if not isinstance(item, dict):
        raise BadContact("it is not a contact object")
    if not item.get("ContactID"):
        raise BadContact("it has no ContactID")
    contact_id = _guid(item["ContactID"], "ContactID")
    texts = {column: _text(item, key, limit) for key, column, limit in TEXT_FIELDS}
    status = item.get("ContactStatus") or "ACTIVE"
    if not isinstance(status, str) or status.upper() not in STATUSES:
        raise BadContact(f"its ContactStatus {status!r:.80} is not one of {', '.join(STATUSES)}")
    merged = item.get("MergedToContactID")
    updated = item.get("UpdatedDateUTC") or None
    try:
        updated_at = parse_xero_datetime(updated) if updated is None or isinstance(updated, str) else None
    except ValueError:
        updated_at = None
    if updated is not None and updated_at is None:
        raise BadContact(f"its UpdatedDateUTC {updated!r:.80} is not a date")
    address_line, city, postcode = _address(_objects(item, "Addresses"))
    return ContactFields(
        contact_id=contact_id, name=texts["name"] or "", email=texts["email"],
        contact_number=texts["contact_number"], account_number=texts["account_number"],
        company_number=texts["company_number"], tax_number=texts["tax_number"], status=status.upper(),
        merged_to_contact_id=_guid(merged, "MergedToContactID") if merged else None,
        is_customer=_flag(item, "IsCustomer"), is_supplier=_flag(item, "IsSupplier"),
        phone=_phone(_objects(item, "Phones")), address_line=address_line, city=city, postcode=postcode,
        updated_date_utc=updated_at)


def _skipped_warning(item: Any, problem: BadContact) -> str:
    name = item.get("Name") if isinstance(item, dict) else None
    contact_id = item.get("ContactID") if isinstance(item, dict) else None
    label = ", ".join(f"{key} {value!r:.80}" for key, value in (("ContactID", contact_id), ("Name", name))
                      if isinstance(value, str) and value) or "no ContactID or Name"
    return f"A contact from Xero was skipped ({label}): {problem}."


# -- storing a page ---------------------------------------------------------------------------------------------
def store_page(practice_id: int, items: list, result: PullResult, now: datetime) -> None:
    """Upsert one page of Xero's contacts (one SELECT for the stored rows of its ids, and the new ones inserted in
    one statement: a first pull is almost all new rows, and the ORM's unit of work cost more than reading them),
    counting into `result`."""
    page: dict[str, ContactFields] = {}
    for item in items:
        try:
            contact = parse_contact(item)
        except BadContact as problem:
            result.skipped += 1
            result.warnings.append(_skipped_warning(item, problem))
            continue
        page[contact.contact_id] = contact  # the same id twice in a page: the later one wins
    if not page:
        return
    stored = {row.contact_id: row for row in db.session.execute(
        db.select(XeroContact).filter(XeroContact.practice_id == practice_id,
                                      XeroContact.contact_id.in_(list(page)))).scalars()}
    new_rows = []
    for contact_id, contact in page.items():
        row = stored.get(contact_id)
        if row is None:
            new_rows.append({"practice_id": practice_id, "contact_id": contact_id,
                             **{name: getattr(contact, name) for name in STORED_FIELDS}, "synced_at": now})
            result.new += 1
            result.archived += contact.status != "ACTIVE"
            result.merged += bool(contact.merged_to_contact_id)
            continue
        if all(getattr(row, name) == getattr(contact, name) for name in STORED_FIELDS):
            result.unchanged += 1
            continue
        result.changed += 1
        result.archived += contact.status != "ACTIVE" and row.status == "ACTIVE"
        result.merged += bool(contact.merged_to_contact_id) and not row.merged_to_contact_id
        for name in STORED_FIELDS:
            setattr(row, name, getattr(contact, name))
        row.synced_at = now
    insert_rows(XeroContact, new_rows)


# -- the pull ---------------------------------------------------------------------------------------------------
def if_modified_since(moment: datetime) -> str:
    """The If-Modified-Since header for changes since `moment`: UTC, whole seconds, rounded down."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def forget_contacts(practice_id: int) -> None:
    """Delete the mirror and the automatic decisions (they describe another organisation's contacts). A person's
    decisions stay, for a person to see again; the caller commits."""
    db.session.execute(db.delete(XeroContact).filter_by(practice_id=practice_id))
    db.session.execute(db.delete(ClientContactLink).filter_by(practice_id=practice_id, is_manual=False))


def pull_state(practice_id: int) -> ContactPull | None:
    """The practice's pull state (which organisation the mirror holds, when its last complete pull started)."""
    return db.session.execute(db.select(ContactPull).filter_by(practice_id=practice_id)).scalar_one_or_none()


def pull_contacts(practice_id: int, tenant_id: str, client: XeroClient,
                  now: Callable[[], datetime] = utcnow) -> PullResult:
    """Bring the mirror up to date with organisation `tenant_id`; commits after each page.

    Everything on the first pull (or after the practice changed organisation: the old mirror is forgotten),
    else only contacts changed since the last complete pull. Raises XeroUnavailable (and the other XeroErrors)
    when a page cannot be read; the pages stored before it stay, and the next pull starts from the same point.
    """
    started = now()
    calls_before = client.calls
    state = pull_state(practice_id)
    if state is None:
        state = ContactPull(practice_id=practice_id, tenant_id=tenant_id)
        db.session.add(state)
    elif state.tenant_id != tenant_id:
        forget_contacts(practice_id)
        state.tenant_id, state.last_started_at = tenant_id, None
    since = state.last_started_at
    headers = {"If-Modified-Since": if_modified_since(since - CLOCK_OVERLAP)} if since else None
    result = PullResult(full=since is None)
    page = 1
    while True:
        body = client.get("Contacts", params={"page": page, "pageSize": PAGE_SIZE, "includeArchived": "true"},
                          headers=headers)
        result.calls = client.calls - calls_before
        items = body.get("Contacts") if isinstance(body, dict) else None
        if not isinstance(items, list):
            db.session.rollback()
            raise XeroUnavailable("Xero's answer for Contacts had no Contacts list, so nothing more was changed; "
                                  "try the sync again shortly.")
        store_page(practice_id, items, result, now())
        db.session.commit()
        pagination = body.get("pagination")
        page_count = pagination.get("pageCount") if isinstance(pagination, dict) else None
        if len(items) < PAGE_SIZE or (isinstance(page_count, int) and page >= page_count):
            break
        page += 1
    state.last_started_at, state.last_finished_at = started, now()
    db.session.commit()
    if analyze_after_writes(XeroContact, result.new + result.changed):  # matching and the updates join on it next
        db.session.commit()
    return result
