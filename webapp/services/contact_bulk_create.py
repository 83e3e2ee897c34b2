"""Create in Xero, in one step, the contacts of the review list's clients that have nothing likely in Xero.

The review list offers it for the clients it shows as unmatched with no contact to choose from (`creatable`): a
person sees their names, confirms once, and Socket sends them in one POST /Contacts (webapp.sync.invoice_contacts:
`summarizeErrors=false`, so each contact succeeds or fails on its own, and an Idempotency-Key from the batch's
content, so pressing again after a timeout replays Xero's first answer instead of making second contacts). The call
runs inside the web request's budget with no retries, as "Create in Xero" on one row does.

Only the clients the person was shown are created, and only those still creatable when the request arrives: one
linked or given a candidate meanwhile is left out and counted, never created twice. Each created contact is linked
as that person's decision ("Created in Xero by <user>."), as a single create is.
"""
from collections.abc import Iterable
from dataclasses import dataclass, field

from webapp.extensions import db
from webapp.models import Client
from webapp.services import contact_matching_ui as ui
from webapp.services.xero_connection import xero_settings
from webapp.sync import contact_links
from webapp.sync.contact_links import ContactLinkError
from webapp.sync.contacts_pull import pull_state
from webapp.sync.invoice_contacts import BATCH_SIZE, create_contacts
from webapp.xero import XeroError
from webapp.xero.budget import Budget
from webapp.xero.web_client import web_request_client

MAX_PER_PRESS = BATCH_SIZE  # one call to Xero per press; more are created by pressing again


@dataclass
class BulkCreated:
    """What one press did: the clients now linked to a new contact, those Xero refused (with why), and how many
    asked for were no longer creatable."""

    created: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    skipped: int = 0
    left: int = 0  # creatable clients beyond this press's batch

    @property
    def message(self) -> str:
        parts = []
        if self.created:
            count = len(self.created)
            parts.append(f"Created {count} contact{'' if count == 1 else 's'} in Xero and linked "
                         f"{'its client' if count == 1 else 'their clients'}: {', '.join(self.created)}.")
        if self.refused:
            parts.append(" ".join(f"{name}: {why}" if name else why for name, why in self.refused))
        if self.skipped:
            parts.append(f"{self.skipped} of the clients shown had been linked or given a contact to choose from "
                         "meanwhile, so Socket left them for you to review.")
        if self.left:
            parts.append(f"{self.left} more have no likely contact: press again to create them.")
        return " ".join(parts) or "There was nothing to create."


def creatable(review: ui.Review) -> list[ui.ClientRow]:
    """The review list's clients that have no contact in Xero to choose from: unmatched, nothing offered."""
    return [row for row in review.rows
            if row.state is ui.XeroState.UNMATCHED and not row.options and not row.linked and not row.client_archived]


def create_missing(practice_id: int, client_ids: Iterable[int], user_id: int) -> BulkCreated:
    """Create the Xero contacts of `client_ids` (the ones the person was shown) that are still creatable, and link
    each client to its new contact as the person's decision; commits. Raises ContactLinkError, with nothing stored,
    when Xero cannot be asked or did not answer."""
    asked = {int(client_id) for client_id in client_ids}
    if not asked:
        raise ContactLinkError("Choose the clients to create in Xero.")
    who = ui.user_name(practice_id, user_id)
    state = pull_state(practice_id)
    if state is None or state.last_started_at is None:
        raise ContactLinkError(ui.NOT_SYNCED)
    connection = ui.connection_for_creating(practice_id, state.tenant_id)
    now_creatable = [row.client_id for row in creatable(ui.review(practice_id))]
    chosen = [client_id for client_id in now_creatable if client_id in asked]
    result = BulkCreated(skipped=len(asked - set(now_creatable)), left=max(0, len(chosen) - MAX_PER_PRESS))
    chosen = chosen[:MAX_PER_PRESS]
    if not chosen:
        return result
    clients = db.session.execute(db.select(Client).filter(Client.practice_id == practice_id, Client.id.in_(chosen))
                                 .order_by(Client.id)).scalars().all()
    settings = xero_settings()
    api = web_request_client(settings, connection, Budget(settings.web_budget))
    try:
        outcome = create_contacts(practice_id, connection.tenant_id, api, clients, then="try again")
    except XeroError as exc:
        db.session.rollback()
        raise ContactLinkError(ui.not_created(exc, "the contacts", "them")) from None
    for client in clients:
        decision = outcome.decisions.get(client.id)
        link = contact_links.link_for(practice_id, client.id)
        if decision is None or (link is not None and link.is_manual):
            continue  # a person decided while Xero created it: create_contacts kept their decision (a warning)
        if decision.contact_id:
            contact_links.record_manual_decision(practice_id, client.id, decision.contact_id, user_id,
                                                 f"Created in Xero by {who}.")
            result.created.append(client.name)
        elif decision.held_reason:
            result.refused.append((client.name, decision.held_reason))
    result.refused += [("", warning) for warning in outcome.warnings]
    db.session.commit()
    return result
