"""Each client's Xero contact: matching's decisions stored after every pull, and the links a person makes.

`rematch_practice` runs webapp.sync.matching over the practice's active clients (with their stored links) and the
mirrored contacts, and stores one `ClientContactLink` per client, following matching.py's rules:
  - a `linked` decision writes the link when it is new (or moved along a merge); a link that is kept keeps the
    rule and sentence it was made with, so a quiet sync changes no row;
  - a `needs_review` decision never removes a stored link (`contact_id` stays; only `outcome` says to review);
  - a person's decisions (`is_manual`) are never changed by automatic matching: a manual link goes to matching
    as a manual stored link, and a client a person said has no Xero contact is not matched at all.
Matching needs the whole mirror (a practice that has never pulled its contacts is not matched).

A person's decisions (for the UI): `link_client`, `unlink_client`, `clear_manual_decision`; `rematch_client` for a
client just created or edited. All are scoped by practice and raise ContactLinkError with a message for the user.
Writing a new automatic link's ContactNumber to Xero is webapp.sync.contact_numbers' job (at the next sync).
"""
from collections import Counter
from datetime import datetime

from webapp.extensions import db
from webapp.models import Client, ClientContactLink, ClientStatus, ContactPull, LinkOutcome, User, XeroContact
from webapp.models.base import utcnow
from webapp.services.bulk_insert import insert_rows
from webapp.sync.matching import ClientRecord, ContactRecord, MatchDecision, Outcome, Rule, match_clients
from webapp.sync.table_stats import analyze_after_writes


class ContactLinkError(Exception):
    """A link that cannot be made or found; `message` says why, for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- reading the practice for matching ------------------------------------------------------------------------
def contact_records(practice_id: int) -> list[ContactRecord]:
    """The mirrored contacts as matching sees them, in Xero's listing order (by name). Reads columns, not rows."""
    c = XeroContact
    rows = db.session.execute(
        db.select(c.contact_id, c.name, c.email, c.contact_number, c.company_number, c.tax_number, c.status,
                  c.merged_to_contact_id, c.postcode, c.is_customer, c.is_supplier)
        .filter(c.practice_id == practice_id).order_by(db.func.lower(c.name), c.contact_id))
    return [ContactRecord(contact_id=r.contact_id, name=r.name, email=r.email, contact_number=r.contact_number,
                          company_number=r.company_number, tax_number=r.tax_number, status=r.status,
                          merged_to_contact_id=r.merged_to_contact_id, postcode=r.postcode,
                          is_customer=r.is_customer, is_supplier=r.is_supplier) for r in rows]


def client_record(client, link: ClientContactLink | None) -> ClientRecord:
    """A client (a Client, or a row with its columns) and its stored decision, as matching sees them."""
    return ClientRecord(id=client.id, code=client.code, name=client.name, email=client.email,
                        company_number=client.company_number, vat_number=client.vat_number,
                        postcode=client.postcode, linked_contact_id=link.contact_id if link else None,
                        link_is_manual=bool(link and link.is_manual))


def is_no_contact(link: ClientContactLink | None) -> bool:
    """A person said this client has no Xero contact: automatic matching leaves it alone."""
    return link is not None and link.is_manual and link.contact_id is None


def _active_clients(practice_id: int):
    return db.session.execute(
        db.select(Client.id, Client.code, Client.name, Client.email, Client.company_number, Client.vat_number,
                  Client.postcode)
        .filter_by(practice_id=practice_id, status=ClientStatus.ACTIVE.value).order_by(Client.code, Client.id))


def _lock_pull_state(practice_id: int) -> ContactPull | None:
    """Take turns with the sync (and other edits) on the practice's decisions; None if contacts were never pulled."""
    return db.session.execute(
        db.select(ContactPull).filter_by(practice_id=practice_id).with_for_update()).scalar_one_or_none()


# -- storing matching's decisions --------------------------------------------------------------------------------
def store_decision(link: ClientContactLink, decision: MatchDecision, now: datetime) -> bool:
    """Store one automatic decision over the client's stored one (see the module's rules); True if it changed. A
    client's first decision has no stored one: it is `new_link_row`."""
    linked = decision.outcome is Outcome.LINKED
    if linked and not decision.new_link and link.outcome == LinkOutcome.LINKED.value \
            and link.contact_id == decision.contact_id:
        return False  # the link is kept, with the rule and sentence it was made with
    contact_id = decision.contact_id if linked else link.contact_id  # needs_review keeps a stored link
    new = (decision.outcome.value, contact_id, decision.rule.value if decision.rule else None,
           list(decision.candidate_ids))
    if new == (link.outcome, link.contact_id, link.rule, list(link.candidate_ids or [])):
        link.reason = decision.reason  # the same decision; its sentence may name other clients differently
        return False
    link.outcome, link.contact_id, link.rule, link.candidate_ids = new
    link.reason = decision.reason
    link.decided_at = now
    if not link.is_manual:
        link.decided_by_id = None
    return True


def new_link_row(practice_id: int, decision: MatchDecision, now: datetime) -> dict:
    """A client's first automatic decision, as a client_contact_links row (inserted in bulk by rematch_practice)."""
    linked = decision.outcome is Outcome.LINKED
    return {"practice_id": practice_id, "client_id": int(decision.client_id), "is_manual": False,
            "outcome": decision.outcome.value, "contact_id": decision.contact_id if linked else None,
            "rule": decision.rule.value if decision.rule else None, "candidate_ids": list(decision.candidate_ids),
            "reason": decision.reason, "decided_at": now, "decided_by_id": None}


def rematch_practice(practice_id: int) -> dict[str, int]:
    """Match the practice's active clients to the mirrored contacts and store the decisions; commits.

    Returns counts for SyncRun.counts (clients linked / needing review / unmatched / marked as having no contact,
    and how many stored decisions changed); {} when the practice's contacts have never been pulled.
    """
    if _lock_pull_state(practice_id) is None:
        return {}
    links = {link.client_id: link for link in db.session.execute(
        db.select(ClientContactLink).filter_by(practice_id=practice_id)).scalars()}
    counts: Counter[str] = Counter()
    records = []
    for client in _active_clients(practice_id):
        if is_no_contact(links.get(client.id)):
            counts["clients_no_contact"] += 1
        else:
            records.append(client_record(client, links.get(client.id)))
    now = utcnow()
    new_rows = []  # a first sync's 2,000 decisions: one INSERT, not 2,000 objects through the unit of work
    for decision in match_clients(records, contact_records(practice_id)):
        counts[f"clients_{decision.outcome.value}"] += 1
        link = links.get(int(decision.client_id))
        if link is None:
            new_rows.append(new_link_row(practice_id, decision, now))
            counts["links_changed"] += 1
        else:
            counts["links_changed"] += store_decision(link, decision, now)
    insert_rows(ClientContactLink, new_rows)
    db.session.commit()
    if analyze_after_writes(ClientContactLink, counts["links_changed"]):  # the contact updates join on it next
        db.session.commit()
    return {key: counts[key] for key in ("clients_linked", "clients_needs_review", "clients_unmatched",
                                         "clients_no_contact", "links_changed")}


# -- one client ----------------------------------------------------------------------------------------------------
def get_client(practice_id: int, client_id: int) -> Client:
    """The practice's client `client_id`; ContactLinkError if there is none (or it is another practice's)."""
    client = db.session.get(Client, client_id)
    if client is None or client.practice_id != practice_id:
        raise ContactLinkError("That client does not exist.")
    return client


def link_for(practice_id: int, client_id: int) -> ClientContactLink | None:
    """The client's stored decision, or None (not matched yet)."""
    return db.session.execute(
        db.select(ClientContactLink).filter_by(practice_id=practice_id, client_id=client_id)).scalar_one_or_none()


def rematch_client(practice_id: int, client_id: int) -> ClientContactLink | None:
    """Decide again after a client was created or edited; returns its decision (None if contacts were never pulled).

    Matching is run for the whole practice (another client may claim the same contact), from the mirror, with no
    call to Xero; a new link's ContactNumber is written to Xero at the next sync.
    """
    get_client(practice_id, client_id)
    rematch_practice(practice_id)
    return link_for(practice_id, client_id)


def record_manual_decision(practice_id: int, client_id: int, contact_id: str | None, user_id: int | None,
                           reason: str) -> ClientContactLink:
    """Store a person's decision (a link, or with `contact_id` None "no Xero contact") as it is; the caller
    checks it and commits. Used by link_client, unlink_client and the demo seed."""
    link = link_for(practice_id, client_id)
    if link is None:
        link = ClientContactLink(practice_id=practice_id, client_id=client_id)
        db.session.add(link)
    link.contact_id = contact_id
    link.outcome = (LinkOutcome.LINKED if contact_id else LinkOutcome.UNMATCHED).value
    link.rule = Rule.STORED.value if contact_id else None
    link.reason, link.candidate_ids, link.is_manual = reason, [], True
    link.decided_at, link.decided_by_id = utcnow(), user_id
    return link


def _user_name(practice_id: int, user_id: int) -> str:
    user = db.session.get(User, user_id)
    if user is None or user.practice_id != practice_id:
        raise ContactLinkError("That user does not belong to this practice.")
    return user.name or user.email


def _other_client_linked_to(practice_id: int, client_id: int, contact_id: str):
    """Another active client of the practice whose link to `contact_id` stands (its code and name), or None."""
    return db.session.execute(
        db.select(Client.code, Client.name)
        .join(ClientContactLink, ClientContactLink.client_id == Client.id)
        .filter(ClientContactLink.practice_id == practice_id, ClientContactLink.contact_id == contact_id,
                ClientContactLink.outcome == LinkOutcome.LINKED.value, Client.id != client_id,
                Client.status == ClientStatus.ACTIVE.value)
        .limit(1)).first()


def link_client(practice_id: int, client_id: int, contact_id: str, user_id: int) -> ClientContactLink:
    """Link the client to an ACTIVE mirrored contact, as a person's decision that matching never changes; commits.

    Refused when another active client's link to that contact stands: two clients on one contact is what matching
    sends to review (DESIGN.md), so a person resolves it by unlinking the other first, not by making it."""
    get_client(practice_id, client_id)
    who = _user_name(practice_id, user_id)
    contact = db.session.execute(db.select(XeroContact).filter_by(
        practice_id=practice_id, contact_id=(contact_id or "").strip().lower())).scalar_one_or_none()
    if contact is None:
        raise ContactLinkError("That contact is not among the Xero contacts Socket has; sync with Xero and try again.")
    if not contact.is_active:
        merged = " (it was merged into another contact)" if contact.merged_to_contact_id else ""
        raise ContactLinkError(f"'{contact.name}' is {contact.status.lower()} in Xero{merged}, and Xero refuses "
                               "invoices to it: choose an active contact.")
    _lock_pull_state(practice_id)
    holder = _other_client_linked_to(practice_id, client_id, contact.contact_id)
    if holder is not None:
        raise ContactLinkError(f"'{contact.name}' is already linked to {holder.code} {holder.name}, and a Xero contact "
                               f"is invoiced for one client: unlink {holder.code} first, or choose another contact.")
    link = record_manual_decision(practice_id, client_id, contact.contact_id, user_id,
                                  f"Linked to '{contact.name}' by {who}.")
    db.session.commit()
    return link


def unlink_client(practice_id: int, client_id: int, user_id: int) -> ClientContactLink:
    """Record that the client has no Xero contact (a person's decision: never linked automatically); commits."""
    get_client(practice_id, client_id)
    who = _user_name(practice_id, user_id)
    _lock_pull_state(practice_id)
    link = record_manual_decision(practice_id, client_id, None, user_id,
                                  f"{who} said this client has no Xero contact.")
    db.session.commit()
    return link


def clear_manual_decision(practice_id: int, client_id: int) -> ClientContactLink | None:
    """Forget a person's decision and let matching decide this client again (from the mirror); commits."""
    get_client(practice_id, client_id)
    _lock_pull_state(practice_id)
    db.session.execute(db.delete(ClientContactLink).filter_by(practice_id=practice_id, client_id=client_id))
    db.session.commit()
    return rematch_client(practice_id, client_id)
