"""Xero as the practice's primary CRM: Xero contacts become Socket clients, and Xero archiving archives them.

"We don't bring Xero records directly into Socket, (unless it is acting as the primary CRM for the practice)": with
`Practice.primary_crm` Xero, each sync run, after contacts are pulled and clients matched to them
(webapp.sync.reference_sync.sync_contacts), calls `import_from_xero`, which
  - archives each active client whose stored link is to a contact now ARCHIVED or GDPRREQUEST in Xero. A merged
    contact (MergedToContactID) does not archive its client: matching has already moved the link to the contact it
    was merged into (and a merge that cannot be followed stays with a person, "needs review");
  - makes a new client, linked from the start, of each ACTIVE mirrored contact in scope (`Practice.crm_import_scope`:
    "customers", Xero's IsCustomer, or "all") that no client has already: no client's stored link points to it
    (whatever its outcome, manual or not, of an active or archived client), it is not among the candidates of a
    client waiting for review (a person is choosing: a new client would be the duplicate), and it was not merged
    into another contact. Import runs after matching, so a contact that matches an existing client has that
    client's link, not a new client.
With Socket as the primary CRM nothing is imported and nothing archived.

A new client takes the contact's name, email, phone, address (line, city, postcode), company number and VAT number
(TaxNumber), each as the client form would accept it; its code is the contact's ContactNumber when that is a usable
client code no other client has, else one made from the name: the first three letters of the normalised name
(ASCII, upper case, "X" for any missing) and a two-digit counter, e.g. "ABB01", unique in the practice and among the
mirrored ContactNumbers. The link is `linked`, automatic, rule `contact_number` when the code is the ContactNumber,
else `stored` (a link Socket stored itself; matching keeps it as such at every later sync), with a sentence saying it
was imported. A made-up code is written to the contact's empty ContactNumber by the next step of the sync
(webapp.sync.contact_numbers), as for any new automatic link.

A contact that cannot be a client (no name, or a name too long for Socket or with control characters) is skipped
with a warning, at every sync until it is fixed in Xero; a field the client form would refuse (an email that is not
one, a company or VAT number that is not a UK one, a value too long) is left out of the client, with a warning.
Everything else goes on. A second sync imports nothing: each imported contact is linked.
"""
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import Client, ClientContactLink, ClientStatus, ContactPull, LinkOutcome, XeroContact
from webapp.models.base import utcnow
from webapp.models.practice import CRMImportScope, Practice, PrimaryCRM
from webapp.services.clients import (
    InvalidIdentifier,
    normalise_client_code,
    normalise_company_number,
    normalise_email,
    normalise_vat_number,
)
from webapp.sync.matching import Rule
from webapp.sync.normalise import normalise_name

GONE = ("ARCHIVED", "GDPRREQUEST")
IMPORTED = "Imported from Xero (primary CRM)"


def column_length(name: str) -> int:
    """The length of the clients table's text column `name` (what a client's detail may be at most)."""
    column_type = Client.__table__.c[name].type
    assert isinstance(column_type, String) and column_type.length
    return column_type.length


CODE_MAX = column_length("code")  # 32
NAME_MAX = column_length("name")  # 200
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ATTEMPTS = 2  # a client code taken by a person between reading the codes and committing: read them again, once

Progress = Callable[[str], None]


@dataclass
class ImportResult:
    """What one import did: clients made from contacts, clients archived because Xero archived their contact, and
    why contacts (or some of their details) were left out."""

    imported: int = 0
    archived: int = 0
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """For SyncRun.counts (the warnings are recorded by the caller)."""
        return {"clients_imported": self.imported, "clients_archived_from_xero": self.archived}


class _Skip(ValueError):
    """This contact cannot become a client; the message says why."""


# -- the practice's setting --------------------------------------------------------------------------------------
def xero_is_primary(practice: Practice | None) -> bool:
    return practice is not None and practice.primary_crm == PrimaryCRM.XERO.value


def _in_scope(scope: str):
    """The filter on mirrored contacts for the practice's scope (customers unless it says all)."""
    if scope == CRMImportScope.ALL.value:
        return db.true()
    return XeroContact.is_customer.is_(True)


# -- a contact's details as a client's -----------------------------------------------------------------------------
def _label(contact) -> str:
    name = (contact.name or "").strip()
    shown = f"'{name[:60]}…'" if len(name) > 60 else f"'{name}'"
    return f"{shown} ({contact.contact_id})" if name else f"({contact.contact_id})"


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return unicodedata.normalize("NFC", value).strip() or None


def client_name(contact) -> str:
    """The contact's name as a client's; raises _Skip when it cannot be one."""
    name = _text(contact.name)
    if not name:
        raise _Skip("it has no name")
    if len(name) > NAME_MAX:
        raise _Skip(f"its name is longer than {NAME_MAX} characters, Socket's limit for a client's name")
    if _CONTROL.search(name):
        raise _Skip("its name has a control character in it")
    return name


_IDENTIFIERS: dict[str, Callable[[str], str]] = {
    "email": normalise_email, "company_number": normalise_company_number, "vat_number": normalise_vat_number}
_WHAT = {"name": "name", "email": "email", "phone": "phone number", "address_line": "address", "city": "town or city",
         "postcode": "postcode", "company_number": "company number", "vat_number": "VAT number"}


class NotAccepted(ValueError):
    """A value from Xero that Socket does not accept for a client's detail; the message says why."""


def accepted_detail(column: str, given: str | None) -> str | None:
    """`given` (a contact's value) as a client's `column` stores it, None when empty; raises NotAccepted."""
    value = _text(given)
    if value is None:
        return None
    shown = value if len(value) <= 40 else value[:40] + "…"
    if _CONTROL.search(value):
        raise NotAccepted(f"its {_WHAT[column]} '{shown}', which has a control character in it")
    normaliser = _IDENTIFIERS.get(column)
    if normaliser is not None:
        try:
            value = normaliser(value)
        except InvalidIdentifier as problem:
            why = str(problem).rstrip(".")
            raise NotAccepted(f"its {_WHAT[column]} '{shown}', which Socket does not accept ({why})") from None
    limit = column_length(column)
    if len(value) > limit:
        raise NotAccepted(f"its {_WHAT[column]} '{shown}', longer than {limit} characters")
    return value


def client_details(contact) -> tuple[dict[str, str | None], list[str]]:
    """The optional details of a client made from `contact`, and what was left out and why (for the warnings)."""
    raw = {"email": contact.email, "phone": contact.phone, "address_line": contact.address_line,
           "city": contact.city, "postcode": contact.postcode, "company_number": contact.company_number,
           "vat_number": contact.tax_number}
    details: dict[str, str | None] = {}
    left_out: list[str] = []
    for column, given in raw.items():
        try:
            details[column] = accepted_detail(column, given)
        except NotAccepted as problem:
            details[column] = None
            left_out.append(str(problem))
    return details, left_out


def usable_code(value: str | None) -> str | None:
    """A ContactNumber as a client code (as the client form stores one), or None if it cannot be one."""
    code = normalise_client_code(unicodedata.normalize("NFC", value or ""))
    if not code or len(code) > CODE_MAX or not code.isprintable():
        return None
    return code


def code_prefix(name: str) -> str:
    """The first three letters of the normalised name (accents folded), upper case; "X" for each one missing."""
    letters = [ch for ch in normalise_name(name) if "a" <= ch <= "z"]
    return "".join(letters[:3]).upper().ljust(3, "X")


class CodeMaker:
    """Client codes made from names ("ABB01", "ABB02", …), none of them in `taken` (which it adds to)."""

    def __init__(self, taken: set[str]):
        self.taken = taken
        self.next_number: dict[str, int] = {}

    def make(self, name: str) -> str:
        prefix = code_prefix(name)
        number = self.next_number.get(prefix, 1)
        while (code := f"{prefix}{number:02d}") in self.taken:
            number += 1
        self.next_number[prefix] = number + 1
        self.taken.add(code)
        return code


# -- reading the practice ------------------------------------------------------------------------------------------
def _lock_pull_state(practice_id: int) -> ContactPull | None:
    """Take turns with matching and a person's link decisions (webapp.sync.contact_links does the same)."""
    return db.session.execute(
        db.select(ContactPull).filter_by(practice_id=practice_id).with_for_update()).scalar_one_or_none()


def contacts_clients_have(practice_id: int) -> set[str]:
    """Contacts a client has, or may have: any client's stored link, and the candidates of a client waiting for
    review (of an archived client too: a new client would duplicate it just the same)."""
    link = ClientContactLink
    had = set(db.session.execute(db.select(link.contact_id).filter(
        link.practice_id == practice_id, link.contact_id.is_not(None))).scalars())
    for candidates in db.session.execute(db.select(link.candidate_ids).filter(
            link.practice_id == practice_id, link.outcome == LinkOutcome.NEEDS_REVIEW.value)).scalars():
        had.update(str(candidate) for candidate in candidates or ())
    return had


def contacts_to_import(practice_id: int, scope: str) -> list[Any]:
    """ACTIVE, unmerged mirrored contacts in scope that no client has, in Xero's listing order (by name)."""
    c = XeroContact
    had = contacts_clients_have(practice_id)
    rows = db.session.execute(
        db.select(c.contact_id, c.name, c.email, c.contact_number, c.company_number, c.tax_number, c.phone,
                  c.address_line, c.city, c.postcode)
        .filter(c.practice_id == practice_id, c.status == "ACTIVE", c.merged_to_contact_id.is_(None),
                _in_scope(scope))
        .order_by(db.func.lower(c.name), c.contact_id)).all()
    return [row for row in rows if row.contact_id not in had]


def codes_in_use(practice_id: int) -> tuple[set[str], set[str]]:
    """(every client's code, every mirrored ContactNumber), as client codes are compared (upper case)."""
    codes = {normalise_client_code(code) for code in db.session.execute(
        db.select(Client.code).filter_by(practice_id=practice_id)).scalars()}
    numbers = {normalise_client_code(number) for number in db.session.execute(
        db.select(XeroContact.contact_number).filter(XeroContact.practice_id == practice_id,
                                                     XeroContact.contact_number.is_not(None))).scalars()}
    return codes, numbers - {""}


# -- archiving -----------------------------------------------------------------------------------------------------
def archive_clients_of_gone_contacts(practice_id: int) -> int:
    """Archive the active clients whose stored link is to an archived or GDPR-requested (not merged) contact."""
    link, contact = ClientContactLink, XeroContact
    clients = db.session.execute(
        db.select(Client).join(link, link.client_id == Client.id)
        .join(contact, db.and_(contact.practice_id == link.practice_id, contact.contact_id == link.contact_id))
        .filter(link.practice_id == practice_id, Client.status == ClientStatus.ACTIVE.value,
                contact.status.in_(GONE), contact.merged_to_contact_id.is_(None))).scalars().all()
    for client in clients:
        client.status = ClientStatus.ARCHIVED.value
    return len(clients)


# -- importing -----------------------------------------------------------------------------------------------------
def import_contacts(practice_id: int, scope: str, result: ImportResult) -> None:
    """Make a linked client of each contact `contacts_to_import` finds (see the module's rules); the caller commits."""
    contacts = contacts_to_import(practice_id, scope)
    if not contacts:
        return
    codes, numbers = codes_in_use(practice_id)
    maker = CodeMaker(codes | numbers)
    made: list[tuple[Client, str, Rule, str]] = []
    for contact in contacts:
        try:
            name = client_name(contact)
        except _Skip as problem:
            result.warnings.append(f"The Xero contact {_label(contact)} was not made a client: {problem}.")
            continue
        details, left_out = client_details(contact)
        number = usable_code(contact.contact_number)
        if number is not None and number not in codes:
            code, rule = number, Rule.CONTACT_NUMBER
            maker.taken.add(code)
            how = f"its code {code} is the contact's ContactNumber"
        else:
            code, rule = maker.make(name), Rule.STORED
            if number is not None:
                how = f"its code {code} was made from its name (the ContactNumber {number} is another client's code)"
            elif contact.contact_number:
                how = f"its code {code} was made from its name (the ContactNumber cannot be a client code)"
            else:
                how = f"its code {code} was made from its name"
        codes.add(code)
        client = Client(practice_id=practice_id, name=name, code=code, status=ClientStatus.ACTIVE.value, **details)
        db.session.add(client)
        made.append((client, contact.contact_id, rule, f"{IMPORTED}: made from the contact '{name}'; {how}."))
        result.warnings.extend(f"Client {code} was made from the Xero contact {_label(contact)} without {what}."
                               for what in left_out)
    db.session.flush()  # the clients' ids, for their links
    now = utcnow()
    db.session.add_all([
        ClientContactLink(practice_id=practice_id, client_id=client.id, contact_id=contact_id,
                          outcome=LinkOutcome.LINKED.value, rule=rule.value, reason=reason, candidate_ids=[],
                          is_manual=False, decided_at=now, decided_by_id=None)
        for client, contact_id, rule, reason in made])
    result.imported = len(made)


def links_to_missing_contacts(practice_id: int) -> int:
    """How many clients' stored links name a contact the mirror does not hold (e.g. after switching organisation:
    a person's links to the old organisation are kept). Their clients cannot be matched in this organisation, so
    importing its contacts now could make a second client of each of them."""
    link = ClientContactLink
    mirrored = db.select(XeroContact.contact_id).filter(XeroContact.practice_id == practice_id)
    return db.session.execute(db.select(db.func.count()).select_from(link).filter(
        link.practice_id == practice_id, link.contact_id.is_not(None),
        link.contact_id.not_in(mirrored))).scalar_one()


def _import_once(practice_id: int, scope: str) -> ImportResult:
    result = ImportResult()
    if _lock_pull_state(practice_id) is None:  # contacts never pulled: nothing to import from
        return result
    result.archived = archive_clients_of_gone_contacts(practice_id)
    missing = links_to_missing_contacts(practice_id)
    if missing:
        result.warnings.append(
            f"No Xero contacts were made into clients: {missing} client{'s are' if missing != 1 else ' is'} linked "
            "to a contact this Xero organisation does not have (was the organisation changed?). Link or unlink "
            "them on the Billing Plan's review list, and the next sync imports the rest.")
        db.session.commit()
        return result
    import_contacts(practice_id, scope, result)
    db.session.commit()
    return result


def import_from_xero(practice_id: int, progress: Progress = lambda message: None) -> ImportResult:
    """When Xero is the practice's primary CRM, archive the clients of contacts Xero archived and make clients of the
    contacts no client has (see the module's rules); commits. Nothing at all when Socket is the primary CRM."""
    practice = db.session.get(Practice, practice_id)
    if practice is None or not xero_is_primary(practice):
        return ImportResult()
    scope = practice.crm_import_scope
    progress("Making clients of Xero contacts")
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _import_once(practice_id, scope)
        except IntegrityError as error:  # a person took one of the codes meanwhile (uq_clients_practice_code)
            db.session.rollback()
            if attempt == ATTEMPTS or not any(name in str(error.orig)
                                              for name in ("uq_clients_practice_code", "clients.code")):
                raise
    raise AssertionError("unreachable")  # pragma: no cover
