"""Contacts at posting: which Xero contact each client's invoice goes to, and creating the missing ones.

`resolve_contacts` decides from what matching stored (webapp.sync.contact_links) and the mirror, with no call:
  - linked to an ACTIVE contact in the mirror (not merged): that contact;
  - unmatched with no candidate at all (and not a person's "no Xero contact"): create its contact in Xero, unless
    the practice turned that off (BillingSettings.create_missing_contacts) — then the invoice is held;
  - needs review (or unmatched with candidates): held with matching's reason and the candidates, until a person
    decides — never a duplicate contact;
  - linked to an archived, merged or unknown contact, or a person's "no Xero contact": held, saying what to do.

`create_contacts` creates the contacts of the clients to create: POST /Contacts in batches of up to 50 with
`summarizeErrors=false` (each contact succeeds or fails on its own) and an Idempotency-Key made from the batch's
content, so a retried or repeated POST replays Xero's first answer instead of making a second contact. What Xero
created is stored in the mirror and the client linked to it (automatically, rule contact_number: the new
contact's ContactNumber is the client's code); a duplicate-name refusal holds the invoice naming the existing
contact. Xero failures other than refusals (unavailable, rate limited, disconnected) are raised: nothing is
stored for that batch and its invoices stay outstanding.
"""
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from webapp.extensions import db
from webapp.models import Client, ClientContactLink, ClientStatus, ContactPull, LinkOutcome, XeroContact
from webapp.models.base import utcnow
from webapp.sync.contact_body import contact_body
from webapp.sync.contacts_pull import BadContact, PullResult, parse_contact, store_page
from webapp.sync.matching import Rule
from webapp.sync.normalise import normalise_name
from webapp.xero import XeroClient, XeroValidationError
from webapp.xero.idempotency import content_key

BATCH_SIZE = 50
DUPLICATE_NAME = "already assigned to another contact"  # Xero's message for a name an active contact has
REVIEW_WHERE = "on the Billing Plan"
CREATE_SETTING = "'Create missing contacts in Xero' in Billing Settings"
MAX_CANDIDATES_NAMED = 5


@dataclass(frozen=True)
class ContactDecision:
    """Where a client's invoice goes: `contact_id`, or `create` its contact first, or `held_reason`."""

    client_id: int
    contact_id: str | None = None
    create: bool = False
    held_reason: str | None = None

    @property
    def ready(self) -> bool:
        return self.contact_id is not None


@dataclass
class CreateResult:
    """What creating contacts did: a decision per client (linked, or held with why), calls and warnings."""

    decisions: dict[int, ContactDecision] = field(default_factory=dict)
    created: int = 0
    calls: int = 0
    warnings: list[str] = field(default_factory=list)


# -- deciding, from the mirror ------------------------------------------------------------------------------------
def _names(practice_id: int, contact_ids: Iterable[str]) -> dict[str, XeroContact]:
    wanted = sorted({c for c in contact_ids if c})
    if not wanted:
        return {}
    return {row.contact_id: row for row in db.session.execute(db.select(XeroContact).filter(
        XeroContact.practice_id == practice_id, XeroContact.contact_id.in_(wanted))).scalars()}


def _candidates_text(link: ClientContactLink, contacts: dict[str, XeroContact]) -> str:
    named = [f"'{contacts[c].name}'" if c in contacts else c for c in (link.candidate_ids or [])]
    if not named:
        return ""
    more = len(named) - MAX_CANDIDATES_NAMED
    listed = ", ".join(named[:MAX_CANDIDATES_NAMED]) + (f" and {more} more" if more > 0 else "")
    return f" Candidates: {listed}."


def _linked_contact_problem(client: Client, contact: XeroContact | None, contact_id: str) -> str | None:
    if contact is None:
        return (f"{client.code}'s Xero contact ({contact_id}) is not among the contacts Socket has from Xero: run "
                f"Sync now in Practice Settings > Integrations, or link {client.code} to another contact "
                f"{REVIEW_WHERE}.")
    if contact.merged_to_contact_id:
        return (f"{client.code}'s Xero contact '{contact.name}' was merged into another contact in Xero: run Sync "
                f"now so Socket follows the merge, or link {client.code} to the contact to invoice {REVIEW_WHERE}.")
    if contact.status != "ACTIVE":
        return (f"{client.code}'s Xero contact '{contact.name}' is {contact.status.lower()} in Xero, and Xero "
                f"refuses invoices to it: link {client.code} to an active contact {REVIEW_WHERE} (or restore the "
                "contact in Xero and sync).")
    return None


def decide(client: Client, link: ClientContactLink | None, contacts: dict[str, XeroContact],
           create_missing: bool) -> ContactDecision:
    """One client's decision (see the module's docstring). `contacts`: the mirrored contacts its link names."""
    if link is not None and link.outcome == LinkOutcome.LINKED.value and link.contact_id:
        problem = _linked_contact_problem(client, contacts.get(link.contact_id), link.contact_id)
        if problem:
            return ContactDecision(client.id, held_reason=problem)
        return ContactDecision(client.id, contact_id=link.contact_id)
    if link is None:
        if client.status != ClientStatus.ACTIVE.value:
            return ContactDecision(client.id, held_reason=(
                f"{client.code} is archived in Socket and was never matched to a Xero contact: link it to a contact "
                f"{REVIEW_WHERE} (or restore it and sync) to post its invoice."))
        return ContactDecision(client.id, held_reason=(
            f"{client.code} has not been matched to a Xero contact yet: run Sync now in Practice Settings > "
            "Integrations, then post again."))
    if link.is_manual and link.contact_id is None:
        return ContactDecision(client.id, held_reason=(
            f"A person said {client.code} has no Xero contact: link it to a contact (or create one) {REVIEW_WHERE} "
            "to post its invoice."))
    if link.outcome == LinkOutcome.NEEDS_REVIEW.value or link.candidate_ids:
        reason = (link.reason or "").strip()
        return ContactDecision(client.id, held_reason=(
            f"{client.code}'s Xero contact needs a person's review, so Socket did not guess (nor create a "
            f"duplicate): {reason or 'matching found more than one possible contact.'}"
            f"{_candidates_text(link, contacts)} Choose its contact {REVIEW_WHERE}, then post again."))
    if not create_missing:
        return ContactDecision(client.id, held_reason=(
            f"No Xero contact: link {client.code} to a contact {REVIEW_WHERE} or turn on {CREATE_SETTING}."))
    return ContactDecision(client.id, create=True)


def resolve_contacts(practice_id: int, clients: Sequence[Client], create_missing: bool) -> dict[int, ContactDecision]:
    """Each client's decision, by client id (two queries whatever the number of clients)."""
    ids = sorted({client.id for client in clients})
    links = {link.client_id: link for link in db.session.execute(db.select(ClientContactLink).filter(
        ClientContactLink.practice_id == practice_id, ClientContactLink.client_id.in_(ids))).scalars()} if ids else {}
    named = [c for link in links.values() for c in [link.contact_id, *(link.candidate_ids or [])] if c]
    contacts = _names(practice_id, named)
    return {client.id: decide(client, links.get(client.id), contacts, create_missing) for client in clients}


def undecided_clients(practice_id: int, client_ids: Iterable[int]) -> list[int]:
    """The active clients among `client_ids` that matching has not decided yet (no stored decision)."""
    ids = sorted(set(client_ids))
    if not ids:
        return []
    decided = set(db.session.execute(db.select(ClientContactLink.client_id).filter(
        ClientContactLink.practice_id == practice_id, ClientContactLink.client_id.in_(ids))).scalars())
    active = set(db.session.execute(db.select(Client.id).filter(
        Client.id.in_(ids), Client.status == ClientStatus.ACTIVE.value)).scalars())
    return [client_id for client_id in ids if client_id not in decided and client_id in active]


# -- creating, in Xero --------------------------------------------------------------------------------------------
def idempotency_key(tenant_id: str, body: dict) -> str:
    """The same batch of contacts for the same organisation always gets the same key (88 characters)."""
    return content_key("socket-invoice-contacts-", tenant_id, body)


def existing_contact_named(practice_id: int, name: str) -> XeroContact | None:
    """The active mirrored contact with this name: the same apart from case, else the same once normalised."""
    active = db.select(XeroContact).filter(XeroContact.practice_id == practice_id, XeroContact.status == "ACTIVE")
    row = db.session.execute(active.filter(db.func.lower(XeroContact.name) == name.strip().lower())
                             .order_by(XeroContact.contact_id).limit(1)).scalar_one_or_none()
    if row is not None:
        return row
    key = normalise_name(name)
    if not key:
        return None
    for candidate in db.session.execute(active.order_by(db.func.lower(XeroContact.name))).scalars():
        if normalise_name(candidate.name) == key:
            return candidate
    return None


def _refusal_reason(practice_id: int, client: Client, messages: list[str], then: str) -> str:
    if any(DUPLICATE_NAME in message for message in messages):
        existing = existing_contact_named(practice_id, client.name)
        if existing is not None:
            return (f"Xero already has a contact called '{existing.name}' (contact names must be unique in Xero), so "
                    f"Socket did not create another: link {client.code} to '{existing.name}' {REVIEW_WHERE}, then "
                    f"{then}.")
        return (f"Xero already has a contact called '{client.name}' (contact names must be unique in Xero), so Socket "
                f"did not create another: run Sync now in Practice Settings > Integrations, then link {client.code} "
                f"to it {REVIEW_WHERE}.")
    why = "; ".join(m.rstrip(".") for m in messages) or "no reason given"
    return (f"Xero refused to create a contact for {client.code} ({why}). Correct the client's details, or link it to "
            f"a contact {REVIEW_WHERE}, then {then}.")


def _element_messages(element: dict) -> list[str]:
    errors = element.get("ValidationErrors")
    if not isinstance(errors, list):
        return []
    return [str(e["Message"]) for e in errors if isinstance(e, dict) and e.get("Message")]


def _refused(element: dict) -> bool:
    return (element.get("StatusAttributeString") == "ERROR" or element.get("HasValidationErrors") is True
            or bool(_element_messages(element)))


def _link_created(practice_id: int, client: Client, contact_id: str, number: str | None,
                  result: CreateResult) -> None:
    link = db.session.execute(db.select(ClientContactLink).filter_by(
        practice_id=practice_id, client_id=client.id)).scalar_one_or_none()
    if link is not None and link.is_manual:
        # A person decided while the contact was being created: their decision stands.
        result.warnings.append(f"A contact was created in Xero for {client.code}, but a person had meanwhile decided "
                               "its contact; their decision was kept.")
        result.decisions[client.id] = decide(client, link, _names(practice_id, [link.contact_id or ""]), False)
        return
    if link is None:
        link = ClientContactLink(practice_id=practice_id, client_id=client.id)
        db.session.add(link)
    link.contact_id, link.outcome, link.rule = contact_id, LinkOutcome.LINKED.value, Rule.CONTACT_NUMBER.value
    link.candidate_ids, link.is_manual, link.decided_by_id, link.decided_at = [], False, None, utcnow()
    link.reason = ("Created in Xero from the client's details when its invoice"
                   f"{' ' + number if number else ''} was posted (its contact number is the client code).")
    result.decisions[client.id] = ContactDecision(client.id, contact_id=contact_id)
    result.created += 1


def _store_answer(practice_id: int, batch: list[Client], answer: object, numbers: dict[int, str],
                  result: CreateResult, then: str) -> None:
    elements = answer.get("Contacts") if isinstance(answer, dict) else None
    if not isinstance(elements, list):
        for client in batch:
            result.decisions[client.id] = ContactDecision(client.id, held_reason=(
                f"Xero's answer to creating {client.code}'s contact had no Contacts list. If Xero created it, the "
                "next sync links it (its contact number is the client code); otherwise the next run creates it."))
        return
    # Take turns with a sync storing contacts and with a person's decisions (they lock the pull state too).
    db.session.execute(db.select(ContactPull).filter_by(practice_id=practice_id).with_for_update())
    for position, client in enumerate(batch):
        element = elements[position] if position < len(elements) else None
        if isinstance(element, dict) and isinstance(element.get("ContactNumber"), str) \
                and element["ContactNumber"].strip() != client.code:
            element = None  # not the answer for this client: never link a client to someone else's contact
        if isinstance(element, dict) and _refused(element):
            result.decisions[client.id] = ContactDecision(
                client.id, held_reason=_refusal_reason(practice_id, client, _element_messages(element), then))
            continue
        try:
            contact = parse_contact(element)
        except BadContact as problem:
            result.decisions[client.id] = ContactDecision(client.id, held_reason=(
                f"Xero's answer to creating {client.code}'s contact could not be read ({problem}). If Xero created "
                "it, the next sync links it (its contact number is the client code); otherwise the next run "
                "creates it."))
            continue
        store_page(practice_id, [element], PullResult(full=False), utcnow())
        _link_created(practice_id, client, contact.contact_id, numbers.get(client.id), result)


def create_contacts(practice_id: int, tenant_id: str, api: XeroClient, clients: Sequence[Client],
                    invoice_numbers: dict[int, str] | None = None, then: str = "post again") -> CreateResult:
    """Create the clients' contacts in Xero (batches of 50), store them in the mirror and link the clients; commits
    after each batch. `invoice_numbers` (client id -> invoice number) go into the link's reason; `then` ends a
    refusal's advice (what the person does once they have fixed it).

    A refusal holds that client's invoice (the decision says why); XeroErrors other than a refusal of the whole
    batch are raised, with nothing stored for the batch in flight (a repeat replays Xero's answer by its key).
    """
    result = CreateResult()
    calls_before = api.calls
    for start in range(0, len(clients), BATCH_SIZE):
        batch = list(clients[start:start + BATCH_SIZE])
        body = {"Contacts": [contact_body(client) for client in batch]}
        try:
            answer = api.post("Contacts", json=body, params={"summarizeErrors": "false"},
                              headers={"Idempotency-Key": idempotency_key(tenant_id, body)})
        except XeroValidationError as exc:
            by_index = {element.index: element.messages for element in exc.elements}
            for position, client in enumerate(batch):
                messages = by_index.get(position) or [exc.message]
                result.decisions[client.id] = ContactDecision(
                    client.id, held_reason=_refusal_reason(practice_id, client, messages, then))
            continue
        finally:
            result.calls = api.calls - calls_before
        _store_answer(practice_id, batch, answer, invoice_numbers or {}, result, then)
        db.session.commit()
    return result

