"""Fixing clients' Xero contacts where the Billing Plan warns about them (DESIGN.md §1.5, §4).

What the pages show: the Billing Plan's warning (`banner`: how many active clients are unmatched or need review,
only while Xero is connected and its contacts have been pulled), the review list's rows (`review` and `client_row`:
where each client stands, matching's sentence and rule, the candidates and ranked suggestions with their reasons),
the Clients list's Xero column and filter (`xero_states`, `filter_by_xero_state`), and what a person does about it:
link (webapp.sync.contact_links), unlink, let matching decide again, and `create_in_xero`.

Everything is scoped by practice. Errors a person can act on raise webapp.sync.contact_links.ContactLinkError
(CreateRefused when Xero refused a duplicate name and the existing contact can be offered instead).

"Create in Xero" runs while a person waits on the page: one POST /Contacts through webapp.xero.web_client (no
retries, the whole call inside the web request's budget, XERO_WEB_BUDGET), with an Idempotency-Key made from the
client and the details sent, so trying again after a timeout links the contact Xero may have created after all
instead of creating a second one. Nothing is stored unless Xero answered with the new contact.
"""
import enum
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Select

from webapp.extensions import db
from webapp.models import Client, ClientContactLink, ClientStatus, ContactPull, LinkOutcome, User, XeroContact
from webapp.models.base import utcnow
from webapp.services.xero_connection import get_connection, xero_settings
from webapp.sync import contact_links, contact_review
from webapp.sync.contact_body import contact_body
from webapp.sync.contact_links import ContactLinkError
from webapp.sync.contact_review import ContactChoice
from webapp.sync.contacts_pull import BadContact, PullResult, parse_contact, pull_state, store_page
from webapp.sync.match_suggestions import Suggestion, SuggestionIndex, suggest
from webapp.sync.matching import Rule
from webapp.sync.normalise import normalise_name
from webapp.xero import (
    ElementErrors,
    XeroAuthError,
    XeroError,
    XeroRateLimited,
    XeroScopeError,
    XeroUnavailable,
    XeroValidationError,
)
from webapp.xero.budget import Budget
from webapp.xero.idempotency import content_key
from webapp.xero.web_client import web_request_client

log = logging.getLogger(__name__)

ACTIVE = "ACTIVE"
SUGGESTIONS_PER_ROW = 3
OPTIONS_PER_ROW = 5
SEARCH_RESULTS = 20

NOT_SYNCED = ("Socket has not pulled this practice's Xero contacts yet. Connect to Xero in Practice Settings > "
              "Integrations; the first sync pulls them.")
DUPLICATE_NAME = "already assigned to another contact"


class XeroState(str, enum.Enum):
    """Where a client stands with Xero, as the Clients list's chip shows it."""

    LINKED = "linked"
    NEEDS_REVIEW = "needs_review"
    UNMATCHED = "unmatched"
    NO_CONTACT = "no_contact"
    ARCHIVED = "archived"  # linked to a contact that is archived in Xero (which refuses invoices to it)

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {XeroState.LINKED: "Linked", XeroState.NEEDS_REVIEW: "Needs review",
                XeroState.UNMATCHED: "Unmatched", XeroState.NO_CONTACT: "No Xero contact",
                XeroState.ARCHIVED: "Archived in Xero"}
# The Clients list's filter: value -> label ("" is every client).
FILTERS = {"linked": "Linked", "needs_review": "Needs review", "unmatched": "Unmatched",
           "no_contact": "No Xero contact"}
RULE_LABELS = {Rule.CONTACT_NUMBER.value: "Xero contact number is the client code",
               Rule.COMPANY_NUMBER.value: "Same company number", Rule.VAT_NUMBER.value: "Same VAT number",
               Rule.NAME.value: "Same name", Rule.EMAIL.value: "Same email address"}


class CreateRefused(ContactLinkError):
    """Xero refused to create the contact; `existing` is the mirrored contact that already has the name, if any."""

    def __init__(self, message: str, existing: ContactChoice | None = None, status: int = 422):
        super().__init__(message)
        self.existing = existing
        self.status = status  # 409 for a duplicate name, 503 when Xero did not answer or asked Socket to wait


# -- the warning on the Billing Plan -------------------------------------------------------------------------------
def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


@dataclass(frozen=True, slots=True)
class Banner:
    """The active clients Socket cannot invoice in Xero yet: `unmatched` (no contact found) and `needs_review`."""

    unmatched: int
    needs_review: int

    @property
    def total(self) -> int:
        return self.unmatched + self.needs_review

    @property
    def text(self) -> str:
        """"6 clients aren't matched to a Xero contact · 3 need review", with the singular where it is one."""
        if not self.total:
            return "Every active client is matched to a Xero contact."
        parts = []
        if self.unmatched:
            verb = "isn't" if self.unmatched == 1 else "aren't"
            parts.append(f"{_plural(self.unmatched, 'client', 'clients')} {verb} matched to a Xero contact")
        if self.needs_review:
            verb = "needs" if self.needs_review == 1 else "need"
            if self.unmatched:
                parts.append(f"{self.needs_review} {verb} review")
            else:
                parts.append(f"{_plural(self.needs_review, 'client', 'clients')} {verb} their Xero contact "
                             "reviewed")
        return " · ".join(parts)


def contacts_synced(practice_id: int) -> bool:
    """Whether the practice's Xero contacts were pulled in full at least once (so matching has decided)."""
    state = pull_state(practice_id)
    return state is not None and state.last_started_at is not None


def xero_connected(practice_id: int) -> bool:
    connection = get_connection(practice_id)
    return connection is not None and connection.is_connected


def _open_decisions(practice_id: int) -> Select:
    """Active clients whose Xero contact is not settled: no decision, or one that is not a link; a person's
    "no Xero contact" is settled. (The clients webapp.sync.contact_review.unmatched_summary lists.)"""
    link = ClientContactLink
    return (db.select(Client.id, link.outcome).outerjoin(link, link.client_id == Client.id)
            .filter(Client.practice_id == practice_id, Client.status == ClientStatus.ACTIVE.value,
                    db.or_(link.id.is_(None), link.outcome != LinkOutcome.LINKED.value),
                    db.or_(link.id.is_(None), link.is_manual.is_(False), link.contact_id.is_not(None))))


def counts(practice_id: int) -> Banner:
    """How many active clients are unmatched and how many need review (two numbers, one query)."""
    unmatched = needs_review = 0
    for _client_id, outcome in db.session.execute(_open_decisions(practice_id)):
        if outcome == LinkOutcome.NEEDS_REVIEW.value:
            needs_review += 1
        else:
            unmatched += 1
    return Banner(unmatched=unmatched, needs_review=needs_review)


def banner(practice_id: int) -> Banner | None:
    """The Billing Plan's warning, or None: shown only while Xero is connected, its contacts have been pulled, and
    some active client is unmatched or needs review."""
    if not xero_connected(practice_id) or not contacts_synced(practice_id):
        return None
    found = counts(practice_id)
    return found if found.total else None


# -- one client's row --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ContactOption:
    """A contact offered for a client: matching's candidate or a suggestion, with why it is offered."""

    contact_id: str
    name: str
    detail: str  # its email and postcode, to tell two of one name apart
    reasons: tuple[str, ...]
    status: str
    candidate: bool  # found by matching (else a suggestion: a hint, never a link)

    @property
    def linkable(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True, slots=True)
class ClientRow:
    """Where one client stands with Xero, what to choose from, and what a person may do about it."""

    client_id: int
    code: str
    name: str
    state: XeroState
    reason: str
    rule: str | None
    is_manual: bool
    linked: ContactChoice | None  # the stored link (kept through a needs_review decision)
    options: tuple[ContactOption, ...]
    client_archived: bool = False

    @property
    def state_label(self) -> str:
        return self.state.label

    @property
    def rule_label(self) -> str | None:
        """The matching rule that made the decision, in words."""
        if self.rule == Rule.STORED.value:
            return "Linked by a person" if self.is_manual else "Kept from an earlier sync"
        return RULE_LABELS.get(self.rule or "")

    @property
    def settled(self) -> bool:
        return self.state in (XeroState.LINKED, XeroState.NO_CONTACT)


_CHOICE_COLUMNS = (XeroContact.contact_id, XeroContact.name, XeroContact.email, XeroContact.contact_number,
                   XeroContact.status, XeroContact.city, XeroContact.postcode)


def _choices(practice_id: int, contact_ids: Iterable[str]) -> dict[str, ContactChoice]:
    """The practice's mirrored contacts among `contact_ids` (one query)."""
    wanted = sorted(set(contact_ids))
    if not wanted:
        return {}
    rows = db.session.execute(db.select(*_CHOICE_COLUMNS).filter(XeroContact.practice_id == practice_id,
                                                                 XeroContact.contact_id.in_(wanted)))
    return {row.contact_id: ContactChoice(*row) for row in rows}


def _detail(choice: ContactChoice) -> str:
    return " · ".join(part for part in (choice.email, choice.postcode) if part)


def _state(outcome: str | None, contact_id: str | None, is_manual: bool, contact_status: str | None) -> XeroState:
    if outcome is None:
        return XeroState.UNMATCHED
    if is_manual and contact_id is None:
        return XeroState.NO_CONTACT
    if contact_id and contact_status is not None and contact_status != ACTIVE:
        return XeroState.ARCHIVED
    if outcome == LinkOutcome.LINKED.value:
        return XeroState.LINKED
    if outcome == LinkOutcome.NEEDS_REVIEW.value:
        return XeroState.NEEDS_REVIEW
    return XeroState.UNMATCHED


def _candidate_options(candidates: Iterable[ContactChoice], linked: ContactChoice | None) -> list[ContactOption]:
    options = []
    for choice in candidates:
        if choice.status != ACTIVE:
            reasons: tuple[str, ...] = (f"{choice.status.lower()} in Xero: Xero refuses invoices to it",)
        elif linked is not None and choice.contact_id == linked.contact_id:
            reasons = ("the contact it is linked to",)
        else:
            reasons = ("found by matching",)
        options.append(ContactOption(choice.contact_id, choice.name, _detail(choice), reasons, choice.status,
                                     candidate=True))
    return options


def _suggestion_options(suggestions: Sequence[Suggestion], seen: set[str],
                        choices: dict[str, ContactChoice]) -> list[ContactOption]:
    fresh = [s for s in suggestions if s.contact_id not in seen][:SUGGESTIONS_PER_ROW]
    return [ContactOption(s.contact_id, s.name, _detail(choices[s.contact_id]) if s.contact_id in choices else "",
                          s.reasons, ACTIVE, candidate=False) for s in fresh]


def _row(client_id: int, code: str, name: str, state: XeroState, reason: str, rule: str | None, is_manual: bool,
         linked: ContactChoice | None, candidates: Sequence[ContactChoice], suggestions: Sequence[Suggestion],
         choices: dict[str, ContactChoice], client_archived: bool = False) -> ClientRow:
    """`choices`: the mirrored contacts of the suggestions (for their email and postcode)."""
    options = _candidate_options(candidates, linked) if state is not XeroState.LINKED else []
    if not (state is XeroState.LINKED or client_archived):
        options += _suggestion_options(suggestions, {o.contact_id for o in options}, choices)
    return ClientRow(client_id=client_id, code=code, name=name, state=state, reason=reason, rule=rule,
                     is_manual=is_manual, linked=linked, options=tuple(options[:OPTIONS_PER_ROW]),
                     client_archived=client_archived)


def client_row(practice_id: int, client_id: int) -> ClientRow | None:
    """The client's row (None when the practice's contacts have never been pulled); ContactLinkError if the
    client is not the practice's."""
    client = contact_links.get_client(practice_id, client_id)
    if not contacts_synced(practice_id):
        return None
    link = contact_links.link_for(practice_id, client_id)
    stored = _choices(practice_id, [*(link.candidate_ids or []), *([link.contact_id] if link.contact_id else [])]
                      if link else [])
    linked = stored.get(link.contact_id) if link and link.contact_id else None
    state = _state(link.outcome if link else None, link.contact_id if link else None,
                   bool(link and link.is_manual), linked.status if linked else None)
    reason = link.reason if link and link.reason else contact_review.NOT_MATCHED_YET
    if client.is_archived:
        reason = "Archived in Socket: archived clients are not matched or invoiced. " + (link.reason if link else "")
    candidates = [stored[c] for c in (link.candidate_ids or []) if c in stored] if link else []
    suggestions = [] if state is XeroState.LINKED or client.is_archived else \
        contact_review.suggestions_for(practice_id, client_id, limit=OPTIONS_PER_ROW)
    return _row(client.id, client.code, client.name, state, reason.strip(), link.rule if link else None,
                bool(link and link.is_manual), linked, candidates, suggestions,
                _choices(practice_id, [s.contact_id for s in suggestions]), client_archived=client.is_archived)


@dataclass(frozen=True, slots=True)
class Review:
    """The review list: whether there is anything to show (`synced`, `connected`), the counts and the rows."""

    synced: bool
    connected: bool
    counts: Banner
    rows: list[ClientRow]


def review(practice_id: int) -> Review:
    """Every active client left unmatched or needing review, by name, with its options (one suggestion index)."""
    connected = xero_connected(practice_id)
    if not contacts_synced(practice_id):
        return Review(synced=False, connected=connected, counts=Banner(0, 0), rows=[])
    summary = contact_review.unmatched_summary(practice_id)
    index = None
    exclude: set[str] = set()
    if summary.rows:
        contacts = contact_links.contact_records(practice_id)
        index = SuggestionIndex(contacts) if contacts else None
        exclude = set(db.session.execute(db.select(ClientContactLink.contact_id).filter(
            ClientContactLink.practice_id == practice_id, ClientContactLink.contact_id.is_not(None))).scalars())
    records = {}
    if index is not None:
        records = {c.id: c for c in db.session.execute(db.select(Client).filter(
            Client.practice_id == practice_id, Client.id.in_([r.client_id for r in summary.rows]))).scalars()}
    decided = {row.client_id: row for row in db.session.execute(
        db.select(ClientContactLink.client_id, ClientContactLink.rule, ClientContactLink.is_manual).filter(
            ClientContactLink.practice_id == practice_id,
            ClientContactLink.client_id.in_([r.client_id for r in summary.rows])))} if summary.rows else {}
    suggested: dict[int, list[Suggestion]] = {}
    for item in summary.rows:
        if index is not None and item.client_id in records:
            record = contact_links.client_record(records[item.client_id], None)
            suggested[item.client_id] = suggest(record, index, OPTIONS_PER_ROW, exclude=exclude)
    choices = _choices(practice_id, [s.contact_id for found in suggested.values() for s in found])
    rows = []
    for item in summary.rows:
        rule, is_manual = (decided[item.client_id].rule, decided[item.client_id].is_manual) \
            if item.client_id in decided else (None, False)
        state = _state(item.outcome, item.linked.contact_id if item.linked else None, is_manual,
                       item.linked.status if item.linked else None)
        rows.append(_row(item.client_id, item.client_code, item.client_name, state, item.reason, rule, is_manual,
                         item.linked, item.candidates, suggested.get(item.client_id, []), choices))
    return Review(synced=True, connected=connected, rows=rows,
                  counts=Banner(unmatched=summary.unmatched, needs_review=summary.needs_review))


# -- the Clients list's Xero column and filter --------------------------------------------------------------------
def xero_states(practice_id: int, client_ids: Iterable[int]) -> dict[int, XeroState] | None:
    """Each client's chip (None for the whole list when the practice's contacts have never been pulled)."""
    ids = sorted(set(client_ids))
    if not contacts_synced(practice_id):
        return None
    if not ids:
        return {}
    link, contact = ClientContactLink, XeroContact
    rows = db.session.execute(
        db.select(link.client_id, link.outcome, link.contact_id, link.is_manual, contact.status)
        .outerjoin(contact, db.and_(contact.practice_id == link.practice_id, contact.contact_id == link.contact_id))
        .filter(link.practice_id == practice_id, link.client_id.in_(ids))).all()
    states = {row.client_id: _state(row.outcome, row.contact_id, row.is_manual, row.status) for row in rows}
    return {client_id: states.get(client_id, XeroState.UNMATCHED) for client_id in ids}


def filter_by_xero_state(statement: Select, state: str | None) -> Select:
    """`statement` (a select of Client) limited to clients whose Xero decision is `state` (a FILTERS key);
    any other value leaves it as it is."""
    if state not in FILTERS:
        return statement
    link = ClientContactLink
    statement = statement.outerjoin(link, link.client_id == Client.id)
    no_contact = db.and_(link.is_manual.is_(True), link.contact_id.is_(None))
    if state == "linked":
        return statement.filter(link.outcome == LinkOutcome.LINKED.value)
    if state == "needs_review":
        return statement.filter(link.outcome == LinkOutcome.NEEDS_REVIEW.value)
    if state == "no_contact":
        return statement.filter(no_contact)
    return statement.filter(db.or_(link.id.is_(None),
                                   db.and_(link.outcome == LinkOutcome.UNMATCHED.value, db.not_(no_contact))))


# -- searching the mirror -------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SearchResult:
    contact: ContactChoice
    linked_to: tuple[str, ...]  # codes of other clients already linked to it

    @property
    def detail(self) -> str:
        return _detail(self.contact)


def search(practice_id: int, client_id: int, term: str) -> list[SearchResult]:
    """Active mirrored contacts matching `term` for linking to the client; ContactLinkError for an empty or
    over-long term (or a client that is not the practice's)."""
    contact_links.get_client(practice_id, client_id)
    found = contact_review.search_contacts(practice_id, term, limit=SEARCH_RESULTS)
    held: dict[str, list[str]] = {}
    if found:
        rows = db.session.execute(
            db.select(ClientContactLink.contact_id, Client.code).join(Client, Client.id == ClientContactLink.client_id)
            .filter(ClientContactLink.practice_id == practice_id, ClientContactLink.client_id != client_id,
                    ClientContactLink.outcome == LinkOutcome.LINKED.value,
                    ClientContactLink.contact_id.in_([c.contact_id for c in found]))
            .order_by(Client.code))
        for contact_id, code in rows:
            held.setdefault(contact_id, []).append(code)
    return [SearchResult(choice, tuple(held.get(choice.contact_id, ()))) for choice in found]


def mirrored_contact(practice_id: int, contact_id: str) -> ContactChoice | None:
    """The practice's mirrored contact `contact_id` (any case), or None (another practice's ids do not exist)."""
    wanted = (contact_id or "").strip().lower()
    if not wanted or len(wanted) > 36:
        return None
    return _choices(practice_id, {wanted}).get(wanted)


# -- creating the contact in Xero ----------------------------------------------------------------------------------
def idempotency_key(tenant_id: str, client_id: int, body: dict) -> str:
    """The same client with the same details for the same organisation always gets the same key (86 characters;
    Xero allows 128), so a retried create replays Xero's first answer instead of making a second contact."""
    return content_key("socket-create-contact-", tenant_id, client_id, body)


def contact_named(practice_id: int, name: str) -> ContactChoice | None:
    """The active mirrored contact with this name: the same apart from case, else the same once normalised."""
    active = db.select(*_CHOICE_COLUMNS).filter(XeroContact.practice_id == practice_id, XeroContact.status == ACTIVE)
    row = db.session.execute(active.filter(db.func.lower(XeroContact.name) == name.strip().lower())
                             .order_by(XeroContact.contact_id).limit(1)).first()
    if row is not None:
        return ContactChoice(*row)
    key = normalise_name(name)
    if not key:
        return None
    for row in db.session.execute(active.order_by(db.func.lower(XeroContact.name), XeroContact.contact_id)):
        if normalise_name(row.name) == key:
            return ContactChoice(*row)
    return None


def user_name(practice_id: int, user_id: int) -> str:
    user = db.session.get(User, user_id)
    if user is None or user.practice_id != practice_id:
        raise ContactLinkError("That user does not belong to this practice.")
    return user.name or user.email


def _refusal(exc: XeroError, client: Client, practice_id: int) -> ContactLinkError:
    """What to tell the person when Xero did not create the contact (nothing was stored in Socket)."""
    if isinstance(exc, XeroValidationError):
        messages = exc.messages or [exc.message]
        if any(DUPLICATE_NAME in message for message in messages):
            existing = contact_named(practice_id, client.name)
            message = (f"Xero already has a contact called '{client.name}' (contact names must be unique in Xero), "
                       "so nothing was created.")
            if existing is not None:
                message += f" Link {client.code} to '{existing.name}' instead?"
            else:
                message += (" Socket has not pulled that contact yet: run Sync now in Practice Settings > "
                            "Integrations, then link it here.")
            return CreateRefused(message, existing, status=409)
        return CreateRefused("Xero refused the contact, so nothing was created: " + "; ".join(messages))
    status = 503 if isinstance(exc, XeroRateLimited | XeroUnavailable) else 422
    return CreateRefused(not_created(exc, "the contact", "it"), status=status)


def not_created(exc: XeroError, what: str, pronoun: str) -> str:
    """What to tell a person when creating `what` ("the contact", "the contacts") in Xero failed other than by
    Xero refusing its details: nothing was stored, and what to do next."""
    if isinstance(exc, XeroScopeError):
        return ("Xero refused Socket permission to create contacts, so nothing was created. Reconnect to Xero in "
                "Practice Settings > Integrations, allowing access to contacts.")
    if isinstance(exc, XeroAuthError):
        return ("Xero refused Socket's connection, so nothing was created. Reconnect to Xero in Practice Settings > "
                "Integrations, then try again.")
    if isinstance(exc, XeroRateLimited):
        return "Xero is limiting how often Socket may call it just now, so nothing was created. Try again in a minute."
    if isinstance(exc, XeroUnavailable):
        return (f"Xero did not answer in time, so Socket stored nothing. Try again shortly: if Xero did create "
                f"{what}, trying again links {pronoun} instead of creating {pronoun} twice.")
    return f"Xero did not create {what} ({exc.message}), so nothing was stored."


def connection_for_creating(practice_id: int, mirrored_tenant_id: str | None):
    """The practice's Xero connection, when contacts may be created through it now: connected, and to the
    organisation whose contacts Socket mirrors (`mirrored_tenant_id`). Raises ContactLinkError saying what to do."""
    connection = get_connection(practice_id)
    if connection is None or not connection.is_connected:
        raise ContactLinkError("Socket is not connected to Xero just now, so nothing was created. Connect (or "
                               "reconnect) in Practice Settings > Integrations.")
    if connection.tenant_id != mirrored_tenant_id:
        raise ContactLinkError("Socket's copy of your Xero contacts is of another organisation: run Sync now in "
                               "Practice Settings > Integrations first.")
    return connection


def create_in_xero(practice_id: int, client_id: int, user_id: int) -> ClientContactLink:
    """Create the client's contact in Xero from its details and link the client to it (a person's link, reason
    "Created in Xero by <user>."); commits. Raises ContactLinkError (CreateRefused for Xero's refusals) with
    nothing stored."""
    client = contact_links.get_client(practice_id, client_id)
    who = user_name(practice_id, user_id)
    if client.is_archived:
        raise ContactLinkError(f"{client.name} is archived in Socket: restore it before creating its Xero contact.")
    state = pull_state(practice_id)
    if state is None or state.last_started_at is None:
        raise ContactLinkError(NOT_SYNCED)
    link = contact_links.link_for(practice_id, client_id)
    if link is not None and link.outcome == LinkOutcome.LINKED.value and link.contact_id:
        raise ContactLinkError(f"{client.code} is already linked to a Xero contact: unlink it first.")
    connection = connection_for_creating(practice_id, state.tenant_id)
    body = contact_body(client)
    settings = xero_settings()
    api = web_request_client(settings, connection, Budget(settings.web_budget))
    try:
        answer = api.post("Contacts", json={"Contacts": [body]},
                          headers={"Idempotency-Key": idempotency_key(connection.tenant_id, client.id, body)})
    except XeroError as exc:
        log.info("Creating a Xero contact for client %s refused: %s", client.id, type(exc).__name__)
        raise _refusal(exc, client, practice_id) from None
    items = answer.get("Contacts") if isinstance(answer, dict) else None
    item = items[0] if isinstance(items, list) and items else None
    if isinstance(item, dict) and item.get("ValidationErrors"):  # an answer per contact (summarizeErrors=false)
        messages = [str(e.get("Message")) for e in item["ValidationErrors"] if isinstance(e, dict)]
        raise _refusal(XeroValidationError("; ".join(messages), [ElementErrors(index=0, messages=messages)]),
                       client, practice_id)
    try:
        contact_id = parse_contact(item).contact_id
    except BadContact as problem:
        log.warning("Xero's answer to creating a contact for client %s was unreadable: %s", client.id, problem)
        raise ContactLinkError("Xero's answer could not be read, so Socket stored nothing. If Xero created the "
                               "contact, the next sync links it (its contact number is the client code).") from None
    # Take turns with a sync storing the same contact (and with other edits of the practice's decisions).
    db.session.execute(db.select(ContactPull).filter_by(practice_id=practice_id).with_for_update())
    store_page(practice_id, [item], PullResult(full=False), utcnow())
    link = contact_links.record_manual_decision(practice_id, client.id, contact_id, user_id,
                                                f"Created in Xero by {who}.")
    db.session.commit()
    return link

