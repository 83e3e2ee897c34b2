"""Two-way updates of the details a linked client and its Xero contact share (DESIGN §1: Clients <-> Contacts).

The details: name, email, phone, postal address (lines, town, postcode), company number and VAT number. For each
linked pair Socket keeps what each side held when the pair was last synced (`ClientContactLink.synced_values`), so
a change is a side's value differing from its own last-synced value, never a difference between the sides (a name
Xero spells "ACME LTD" and Socket "Acme Ltd" is not a change, and is left alone):

- changed in Socket only: sent to Xero, in batched POST /Contacts (50 a call, summarizeErrors=false, an
  Idempotency-Key from the batch's content);
- changed in Xero only (the mirror, pulled by UpdatedDateUTC just before): copied to the client, checked as the
  client form checks it;
- changed on both sides to different values: the primary CRM's value is kept on both sides and the conflict is
  recorded (ContactSyncIssue) and shown on the client until a person dismisses it.

The first sync of a pair (or of a client with a different contact) takes the baseline: a detail empty on one side
is filled from the other; details both sides hold are left as they are. A change Xero refuses (a name another
contact has) or a Xero value Socket cannot take is recorded on the client and not tried again until it changes.
Nothing is deleted on either side: archived, merged and GDPR contacts are not updated (matching warns about them).

Only pairs that can have changed are read: no baseline yet, the client edited, or the mirrored contact changed since
the pair's last sync. Client rows are locked while a chunk is decided and its Xero values written, and unlocked
before any call to Xero; a person's edit that lands while the call is made is sent at the next sync.
"""
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webapp.extensions import db
from webapp.models import (
    Client,
    ClientContactLink,
    ClientStatus,
    ContactSyncIssue,
    LinkOutcome,
    Practice,
    PrimaryCRM,
    SyncIssueKind,
    XeroContact,
)
from webapp.models.base import utcnow
from webapp.services.clients import (
    InvalidIdentifier,
    normalise_company_number,
    normalise_email,
    normalise_vat_number,
)
from webapp.sync.contacts_pull import STORED_FIELDS, BadContact, parse_contact
from webapp.sync.crm_import import NotAccepted, accepted_detail
from webapp.xero import XeroClient, XeroValidationError
from webapp.xero.idempotency import content_key

# (client column, mirror column) of each shared detail
SHARED = (("name", "name"), ("email", "email"), ("phone", "phone"), ("address_line", "address_line"),
          ("city", "city"), ("postcode", "postcode"), ("company_number", "company_number"),
          ("vat_number", "tax_number"))
FIELDS = tuple(column for column, _ in SHARED)
ADDRESS = ("address_line", "city", "postcode")
LABELS = {"name": "name", "email": "email", "phone": "phone", "address_line": "address", "city": "town or city",
          "postcode": "postcode", "company_number": "company number", "vat_number": "VAT number"}
BATCH_SIZE = 50  # contacts per POST, Xero's advice
CHUNK = 500  # pairs decided per transaction
_NORMALISERS = {"email": normalise_email, "company_number": normalise_company_number,
                "vat_number": normalise_vat_number}

Values = dict[str, str | None]


# -- deciding (pure) ------------------------------------------------------------------------------------------------
def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def equivalent(column: str, a: str | None, b: str | None) -> bool:
    """Whether two values of a detail say the same (identifiers compared as normalised, text by its words)."""
    if _clean(a) == _clean(b):
        return True
    normalise = _NORMALISERS.get(column)
    if normalise is None or not a or not b:
        return False
    try:
        return normalise(a) == normalise(b)
    except InvalidIdentifier:
        return False


@dataclass(frozen=True)
class Conflict:
    """A detail changed on both sides since the last sync; `kept` says whose value both sides now hold."""

    column: str
    socket_value: str | None
    xero_value: str | None
    kept: str  # "socket" or "xero"


@dataclass
class Decision:
    """What to do for one pair: details to send to Xero, details to copy to the client, conflicts to record."""

    to_xero: Values = field(default_factory=dict)
    to_socket: Values = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)


def decide(socket_now: Mapping[str, str | None], xero_now: Mapping[str, str | None],
           synced: Mapping[str, Mapping[str, str | None]] | None, primary: str) -> Decision:
    """Which details go which way, given each side's values now and when last synced (None: the first sync).

    `primary` is PrimaryCRM's value: its side wins a conflict.
    """
    decision = Decision()
    if synced is None:
        _baseline(socket_now, xero_now, decision)
        return decision
    for column in FIELDS:
        mine, theirs = socket_now.get(column), xero_now.get(column)
        if equivalent(column, mine, theirs):
            continue
        changed_here = _clean(mine) != _clean(synced["socket"].get(column))
        changed_there = _clean(theirs) != _clean(synced["xero"].get(column))
        if changed_here and changed_there:
            kept = "xero" if primary == PrimaryCRM.XERO.value else "socket"
            decision.conflicts.append(Conflict(column, mine, theirs, kept))
            changed_here = kept == "socket"
        if changed_here:
            decision.to_xero[column] = mine
        elif changed_there:
            decision.to_socket[column] = theirs
    return decision


def _baseline(socket_now: Mapping[str, str | None], xero_now: Mapping[str, str | None], decision: Decision) -> None:
    """A pair's first sync: fill what one side lacks from the other and leave what both hold. The address is
    one detail here (lines, town and postcode go together), so two addresses are never mixed into one."""
    groups = [(column,) for column in FIELDS if column not in ADDRESS] + [ADDRESS]
    for group in groups:
        mine_empty = not any(_clean(socket_now.get(column)) for column in group)
        theirs_empty = not any(_clean(xero_now.get(column)) for column in group)
        if mine_empty == theirs_empty:
            continue
        target = decision.to_socket if mine_empty else decision.to_xero
        source = xero_now if mine_empty else socket_now
        for column in group:
            if not equivalent(column, socket_now.get(column), xero_now.get(column)):
                target[column] = source.get(column)


def contact_update(contact_id: str, to_xero: Mapping[str, str | None], xero_now: Mapping[str, str | None]) -> dict:
    """The Contacts element that writes `to_xero` to the contact: the postal (POBOX) address is written whole (a
    detail not sent keeps the contact's value) and the phone as the DEFAULT phone; an empty value clears it."""
    element: dict[str, Any] = {"ContactID": contact_id}
    keys = {"name": "Name", "email": "EmailAddress", "company_number": "CompanyNumber", "vat_number": "TaxNumber"}
    for column, key in keys.items():
        if column in to_xero:
            element[key] = to_xero[column] or ""
    if "phone" in to_xero:
        element["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": to_xero["phone"] or "", "PhoneAreaCode": "",
                              "PhoneCountryCode": ""}]
    if any(column in to_xero for column in ADDRESS):
        address = {column: to_xero[column] if column in to_xero else xero_now.get(column) for column in ADDRESS}
        element["Addresses"] = [{"AddressType": "POBOX", "AddressLine1": address["address_line"] or "",
                                 "AddressLine2": "", "AddressLine3": "", "AddressLine4": "",
                                 "City": address["city"] or "", "PostalCode": address["postcode"] or ""}]
    return element


# -- the run ------------------------------------------------------------------------------------------------------
@dataclass
class UpdateResult:
    """What two-way updates did in one sync."""

    sent: int = 0  # contacts updated in Xero
    received: int = 0  # clients updated from Xero
    conflicts: int = 0
    refused: int = 0  # details Xero refused or Socket could not take
    calls: int = 0
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"contact_updates_sent": self.sent, "contact_updates_received": self.received,
                "contact_update_conflicts": self.conflicts, "contact_updates_refused": self.refused,
                "contact_updates_calls": self.calls}


@dataclass
class _Pending:
    """A pair whose Socket changes are on their way to Xero."""

    link_id: int
    client_id: int
    contact_id: str
    label: str
    to_xero: Values
    socket_values: Values  # the client's details as decided (what the snapshot records for Socket)
    xero_values: Values


def socket_values(client: Client) -> Values:
    return {column: getattr(client, column) for column in FIELDS}


def xero_values(contact: XeroContact) -> Values:
    return {mine: getattr(contact, theirs) for mine, theirs in SHARED}


def _candidate_link_ids(practice_id: int) -> list[int]:
    """Linked pairs (active client, active unmerged contact) with no baseline or a side changed since it."""
    link, contact = ClientContactLink, XeroContact
    return list(db.session.execute(
        db.select(link.id).select_from(link)
        .join(Client, Client.id == link.client_id)
        .join(contact, db.and_(contact.practice_id == link.practice_id, contact.contact_id == link.contact_id))
        .filter(link.practice_id == practice_id, link.outcome == LinkOutcome.LINKED.value,
                Client.status == ClientStatus.ACTIVE.value, contact.status == "ACTIVE",
                contact.merged_to_contact_id.is_(None),
                db.or_(link.synced_at.is_(None), link.synced_contact_id.is_(None),
                       link.synced_contact_id != link.contact_id, Client.updated_at > link.synced_at,
                       contact.synced_at > link.synced_at))
        .order_by(link.id)).scalars())


def _record(practice_id: int, client_id: int, contact_id: str, column: str, kind: SyncIssueKind, *,
            socket_value: str | None, xero_value: str | None, kept: str | None = None, message: str = "") -> None:
    """Record an issue on the client, unless the same one is already shown (a sync repeated after a failure)."""
    issue = ContactSyncIssue
    shown = db.session.execute(db.select(issue.id).filter(
        issue.client_id == client_id, issue.dismissed_at.is_(None), issue.field == column, issue.kind == kind.value,
        issue.contact_id == contact_id, issue.socket_value.is_not_distinct_from(socket_value),
        issue.xero_value.is_not_distinct_from(xero_value)).limit(1)).first()
    if shown is not None:
        return
    db.session.add(ContactSyncIssue(practice_id=practice_id, client_id=client_id, contact_id=contact_id,
                                    field=column, kind=kind.value, socket_value=socket_value,
                                    xero_value=xero_value, kept=kept, message=message))


def _mark_synced(link: ClientContactLink, socket: Values, xero: Values) -> None:
    link.synced_contact_id = link.contact_id
    link.synced_values = {"socket": dict(socket), "xero": dict(xero)}
    link.synced_at = utcnow()


def _take_from_xero(practice_id: int, client: Client, contact_id: str, to_socket: Values,
                    result: UpdateResult) -> None:
    """Copy Xero's details to the client as the client form would store them; record what cannot be taken."""
    changed = False
    for column, given in to_socket.items():
        try:
            value = accepted_detail(column, given)
            if column == "name" and value is None:
                raise NotAccepted("its name is empty")
        except NotAccepted as problem:
            result.refused += 1
            _record(practice_id, client.id, contact_id, column, SyncIssueKind.NOT_ACCEPTED,
                    socket_value=getattr(client, column), xero_value=given,
                    message=f"Xero has {problem}, so the client keeps its own.")
            continue
        if getattr(client, column) != value:
            setattr(client, column, value)
            changed = True
    result.received += changed


def _decide_chunk(practice_id: int, link_ids: list[int], primary: str, result: UpdateResult) -> list[_Pending]:
    """Decide a chunk of pairs, copy Xero's changes to clients and record conflicts; commits. Returns the pairs
    with changes for Xero."""
    link, contact = ClientContactLink, XeroContact
    rows = db.session.execute(
        db.select(link, Client, contact).select_from(link)
        .join(Client, Client.id == link.client_id)
        .join(contact, db.and_(contact.practice_id == link.practice_id, contact.contact_id == link.contact_id))
        .filter(link.id.in_(link_ids), link.practice_id == practice_id, link.outcome == LinkOutcome.LINKED.value,
                Client.status == ClientStatus.ACTIVE.value)
        .order_by(link.id).with_for_update(of=Client)).all()
    pending, settled = [], []
    for pair, client, mirrored in rows:
        synced = pair.synced_values if pair.synced_contact_id == pair.contact_id else None
        xero_now = xero_values(mirrored)
        decision = decide(socket_values(client), xero_now, synced, primary)
        for conflict in decision.conflicts:
            result.conflicts += 1
            _record(practice_id, client.id, mirrored.contact_id, conflict.column, SyncIssueKind.CONFLICT,
                    socket_value=conflict.socket_value, xero_value=conflict.xero_value, kept=conflict.kept)
        if decision.to_socket:
            _take_from_xero(practice_id, client, mirrored.contact_id, decision.to_socket, result)
        if decision.to_xero:
            pending.append(_Pending(pair.id, client.id, mirrored.contact_id, client.name, decision.to_xero,
                                    socket_values(client), xero_now))
        else:
            settled.append((pair, client, xero_now))
    # One flush for the chunk (not one a pair, which cost a statement and a session scan each): every client's
    # updated_at is set here, so each pair's synced_at below comes after its client's.
    db.session.flush()
    for pair, client, xero_now in settled:
        # Xero's value for a detail Socket could not take is the last-synced one too: not tried again
        _mark_synced(pair, socket_values(client), xero_now)
    db.session.commit()
    return pending


def idempotency_key(tenant_id: str, body: dict) -> str:
    """The same batch for the same organisation always gets the same key (86 characters; Xero allows 128)."""
    return content_key("socket-contact-update-", tenant_id, body)


def _messages(element: Any) -> str:
    errors = element.get("ValidationErrors") if isinstance(element, dict) else None
    found = [str(e.get("Message")).rstrip(".") for e in errors or [] if isinstance(e, dict) and e.get("Message")]
    return "; ".join(found) or "Xero did not say why"


def _refused(element: Any) -> bool:
    return not isinstance(element, dict) or element.get("StatusAttributeString") == "ERROR" \
        or bool(element.get("ValidationErrors")) or element.get("HasValidationErrors") is True


def _store_answer(practice_id: int, batch: list[_Pending], answer: Any, result: UpdateResult) -> None:
    elements = answer.get("Contacts") if isinstance(answer, dict) else None
    if not isinstance(elements, list):
        result.warnings.append(f"Xero's answer to updating {len(batch)} contacts had no Contacts list; "
                               "they will be sent again at the next sync.")
        return
    by_id = {str(e.get("ContactID", "")).lower(): e for e in elements if isinstance(e, dict)}
    links = {row.id: row for row in db.session.execute(
        db.select(ClientContactLink).filter(ClientContactLink.id.in_([p.link_id for p in batch]))).scalars()}
    mirrored = {row.contact_id: row for row in db.session.execute(db.select(XeroContact).filter(
        XeroContact.practice_id == practice_id, XeroContact.contact_id.in_([p.contact_id for p in batch]))).scalars()}
    for position, pending in enumerate(batch):
        element = by_id.get(pending.contact_id, elements[position] if position < len(elements) else None)
        link, row = links.get(pending.link_id), mirrored.get(pending.contact_id)
        if link is None or row is None:
            continue  # unlinked, or the contact forgotten, while the call was made
        if _refused(element):
            why = _messages(element)
            for column, value in pending.to_xero.items():
                result.refused += 1
                _record(practice_id, pending.client_id, pending.contact_id, column, SyncIssueKind.REFUSED_BY_XERO,
                        socket_value=value, xero_value=pending.xero_values.get(column),
                        message=f"Xero refused the change: {why}.")
            result.warnings.append(f"Xero refused updating the contact of '{pending.label}': {why}.")
            _mark_synced(link, pending.socket_values, pending.xero_values)
            continue
        try:
            contact = parse_contact(element)
        except BadContact as problem:
            result.warnings.append(f"Xero's answer for the contact of '{pending.label}' could not be read "
                                   f"({problem}); it is read again at the next sync.")
            continue
        for name in STORED_FIELDS:
            setattr(row, name, getattr(contact, name))
        row.synced_at = utcnow()
        _mark_synced(link, pending.socket_values, xero_values(row))
        result.sent += 1


def _send(practice_id: int, tenant_id: str, client: XeroClient, pending: list[_Pending],
          result: UpdateResult) -> None:
    for start in range(0, len(pending), BATCH_SIZE):
        batch = pending[start:start + BATCH_SIZE]
        body = {"Contacts": [contact_update(p.contact_id, p.to_xero, p.xero_values) for p in batch]}
        calls_before = client.calls
        try:
            answer = client.post("Contacts", json=body, params={"summarizeErrors": "false"},
                                 headers={"Idempotency-Key": idempotency_key(tenant_id, body)})
        except XeroValidationError as exc:
            result.warnings.append(f"Xero refused updating {len(batch)} contacts: "
                                   f"{'; '.join(exc.messages) or exc.message}. They are sent again at the next sync.")
            continue
        finally:
            result.calls += client.calls - calls_before
        _store_answer(practice_id, batch, answer, result)
        db.session.commit()


def primary_crm(practice_id: int) -> str:
    return db.session.execute(db.select(Practice.primary_crm).filter_by(id=practice_id)).scalar_one()


def update_contacts(practice_id: int, tenant_id: str, client: XeroClient) -> UpdateResult:
    """Two-way updates for every linked pair that can have changed; commits as it goes.

    Errors reaching Xero (after the client's own retries) are raised: what was decided is committed, and what was
    not sent is sent at the next sync (its pair keeps its old snapshot).
    """
    result = UpdateResult()
    primary = primary_crm(practice_id)
    link_ids = _candidate_link_ids(practice_id)
    for start in range(0, len(link_ids), CHUNK):
        pending = _decide_chunk(practice_id, link_ids[start:start + CHUNK], primary, result)
        _send(practice_id, tenant_id, client, pending, result)
    return result
