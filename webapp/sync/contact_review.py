"""What the UI shows to fix a client's Xero contact: the clients left to review, contact search, suggestions.

Read-only and scoped by practice; errors a user can fix raise webapp.sync.contact_links.ContactLinkError.
Making the choice is webapp.sync.contact_links' `link_client` / `unlink_client`.
"""
from dataclasses import dataclass

from webapp.extensions import db
from webapp.models import Client, ClientContactLink, ClientStatus, LinkOutcome, XeroContact
from webapp.sync.contact_links import ContactLinkError, client_record, contact_records, get_client, link_for
from webapp.sync.contacts_pull import pull_state
from webapp.sync.match_suggestions import Suggestion, SuggestionIndex, suggest

MAX_TERM = 100
MAX_RESULTS = 100
NOT_MATCHED_YET = "Not matched yet: Socket matches clients to Xero contacts at every sync."


@dataclass(frozen=True, slots=True)
class ContactChoice:
    """A mirrored Xero contact, as a person chooses among them."""

    contact_id: str
    name: str
    email: str | None
    contact_number: str | None
    status: str
    city: str | None
    postcode: str | None


@dataclass(frozen=True, slots=True)
class ReviewRow:
    """An active client without a usable link: `outcome` unmatched or needs_review, matching's sentence, the
    contacts to choose from (needs_review), and the stored link a review keeps (`linked`), if any."""

    client_id: int
    client_code: str
    client_name: str
    outcome: str
    reason: str
    candidates: tuple[ContactChoice, ...]
    linked: ContactChoice | None


@dataclass(frozen=True, slots=True)
class UnmatchedSummary:
    """`synced` is False until the practice's contacts were pulled (then nothing is counted). `no_contact` counts
    clients a person said have no Xero contact; they are not in `rows`."""

    synced: bool
    unmatched: int
    needs_review: int
    no_contact: int
    rows: list[ReviewRow]


_CHOICE_COLUMNS = (XeroContact.contact_id, XeroContact.name, XeroContact.email, XeroContact.contact_number,
                   XeroContact.status, XeroContact.city, XeroContact.postcode)


def _choices(practice_id: int, contact_ids: set[str]) -> dict[str, ContactChoice]:
    if not contact_ids:
        return {}
    rows = db.session.execute(db.select(*_CHOICE_COLUMNS).filter(
        XeroContact.practice_id == practice_id, XeroContact.contact_id.in_(sorted(contact_ids))))
    return {row.contact_id: ContactChoice(*row) for row in rows}


def unmatched_summary(practice_id: int) -> UnmatchedSummary:
    """Active clients left unmatched or needing review (by name), with counts: what the Billing Plan warns about."""
    if pull_state(practice_id) is None:
        return UnmatchedSummary(synced=False, unmatched=0, needs_review=0, no_contact=0, rows=[])
    link = ClientContactLink
    rows = db.session.execute(
        db.select(Client.id, Client.code, Client.name, link.outcome, link.reason, link.candidate_ids,
                  link.contact_id, link.is_manual)
        .outerjoin(link, link.client_id == Client.id)
        .filter(Client.practice_id == practice_id, Client.status == ClientStatus.ACTIVE.value,
                db.or_(link.id.is_(None), link.outcome != LinkOutcome.LINKED.value))
        .order_by(db.func.lower(Client.name), Client.id)).all()
    no_contact = sum(1 for row in rows if row.is_manual and row.contact_id is None)
    rows = [row for row in rows if not (row.is_manual and row.contact_id is None)]
    wanted = {cid for row in rows for cid in row.candidate_ids or []}
    wanted |= {row.contact_id for row in rows if row.contact_id}
    choices = _choices(practice_id, wanted)
    review = [ReviewRow(client_id=row.id, client_code=row.code, client_name=row.name,
                        outcome=row.outcome or LinkOutcome.UNMATCHED.value, reason=row.reason or NOT_MATCHED_YET,
                        candidates=tuple(choices[cid] for cid in row.candidate_ids or [] if cid in choices),
                        linked=choices.get(row.contact_id) if row.contact_id else None) for row in rows]
    return UnmatchedSummary(synced=True, no_contact=no_contact, rows=review,
                            unmatched=sum(r.outcome == LinkOutcome.UNMATCHED.value for r in review),
                            needs_review=sum(r.outcome == LinkOutcome.NEEDS_REVIEW.value for r in review))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_contacts(practice_id: int, term: str, limit: int = 20,
                    include_archived: bool = False) -> list[ContactChoice]:
    """Mirrored contacts whose name, email or contact number contains `term` (any case), by name; active ones
    only unless asked. An empty term, or one over 100 characters, raises ContactLinkError."""
    term = (term or "").strip()
    if not term:
        raise ContactLinkError("Type part of a contact's name, email or contact number to search for.")
    if len(term) > MAX_TERM:
        raise ContactLinkError(f"Search for at most {MAX_TERM} characters.")
    pattern = f"%{_escape_like(term)}%"
    statement = db.select(*_CHOICE_COLUMNS).filter(
        XeroContact.practice_id == practice_id,
        db.or_(XeroContact.name.ilike(pattern, escape="\\"), XeroContact.email.ilike(pattern, escape="\\"),
               XeroContact.contact_number.ilike(pattern, escape="\\")))
    if not include_archived:
        statement = statement.filter(XeroContact.status == "ACTIVE")
    limit = min(max(int(limit), 1), MAX_RESULTS)
    rows = db.session.execute(statement.order_by(db.func.lower(XeroContact.name), XeroContact.contact_id)
                              .limit(limit))
    return [ContactChoice(*row) for row in rows]


def suggestions_for(practice_id: int, client_id: int, limit: int = 5) -> list[Suggestion]:
    """Ranked hints (similar name, same email domain, same postcode) for a client, never links; contacts already
    linked to another client are left out. Builds the suggestion index from the whole mirror."""
    client = get_client(practice_id, client_id)
    contacts = contact_records(practice_id)
    if not contacts:
        return []
    taken = db.session.execute(db.select(ClientContactLink.contact_id).filter(
        ClientContactLink.practice_id == practice_id, ClientContactLink.client_id != client_id,
        ClientContactLink.contact_id.is_not(None))).scalars()
    link = link_for(practice_id, client_id)
    exclude = set(taken) | ({link.contact_id} if link and link.contact_id else set())
    return suggest(client_record(client, None), SuggestionIndex(contacts), limit, exclude=exclude)
