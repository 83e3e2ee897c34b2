"""Refreshing what Xero's webhooks said changed: the contacts and invoices named, fetched by id.

The ids wait in Redis (webapp.services.xero_webhooks); one job per practice takes them all. Contacts are fetched 50
ids a call (GET /Contacts?IDs=...), stored in the mirror as a pull stores them, then clients are matched again and
linked pairs updated both ways, as after a sync. Only an organisation whose contacts were pulled in full before
(the mirror is of that organisation) is refreshed; otherwise the ids are dropped: the next sync reads everything.
A Xero failure puts the ids back for the next delivery or run and is raised, so RQ retries the job.
"""
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from webapp.extensions import db
from webapp.models import ConnectionStatus, XeroConnection
from webapp.models.base import utcnow
from webapp.services.xero_webhooks import put_back, take_pending
from webapp.sync import invoice_status
from webapp.sync.contact_links import rematch_practice
from webapp.sync.contact_updates import update_contacts
from webapp.sync.contacts_pull import PullResult, pull_state, store_page
from webapp.xero import XeroClient, XeroError, XeroSettings, XeroUnavailable

log = logging.getLogger(__name__)

IDS_PER_CALL = 50

InvoiceRefresher = Callable[[int, list[str], XeroClient], dict]


@dataclass
class RefreshResult:
    contacts: int = 0
    invoices: int = 0
    calls: int = 0
    counts: dict = field(default_factory=dict)


def fetch_contacts(practice_id: int, ids: list[str], client: XeroClient) -> PullResult:
    """Fetch the contacts `ids` from Xero and store them in the mirror; commits after each call."""
    result = PullResult(full=False)
    for start in range(0, len(ids), IDS_PER_CALL):
        chunk = ids[start:start + IDS_PER_CALL]
        body = client.get("Contacts", params={"IDs": ",".join(chunk), "includeArchived": "true"})
        items = body.get("Contacts") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise XeroUnavailable("Xero's answer for Contacts had no Contacts list; the contacts are fetched again "
                                  "later.")
        store_page(practice_id, items, result, utcnow())
        db.session.commit()
    return result


def refresh_from_webhooks(practice_id: int, config: Mapping, client_factory=None,
                          refresh_invoices: InvoiceRefresher | None = invoice_status.refresh_invoices) -> RefreshResult:
    """Refresh the practice's contacts and invoices that webhooks named (invoices read back as the sync does:
    paid, voided, edited in Xero; `refresh_invoices` None leaves their ids waiting)."""
    result = RefreshResult()
    connection = db.session.execute(db.select(XeroConnection).filter_by(practice_id=practice_id)).scalar_one_or_none()
    contact_ids = take_pending(practice_id, "contacts")
    invoice_ids = take_pending(practice_id, "invoices") if refresh_invoices is not None else []
    if connection is None or connection.status != ConnectionStatus.CONNECTED.value or not connection.tenant_id:
        log.info("Webhook refresh for practice %s dropped: not connected to Xero", practice_id)
        return result
    state = pull_state(practice_id)
    if state is None or state.tenant_id != connection.tenant_id or state.last_started_at is None:
        contact_ids = []  # no complete mirror of this organisation yet: the next sync reads every contact
    client = (client_factory or XeroClient.for_connection)(connection, XeroSettings.from_config(config))
    try:
        if contact_ids:
            pulled = fetch_contacts(practice_id, contact_ids, client)
            result.contacts = pulled.new + pulled.changed
            result.counts.update(pulled.counts())
            result.counts.update(rematch_practice(practice_id))
            result.counts.update(update_contacts(practice_id, connection.tenant_id, client).counts())
        contact_ids = []
        if invoice_ids and refresh_invoices is not None:
            result.counts.update(refresh_invoices(practice_id, invoice_ids, client))
            result.invoices = len(invoice_ids)
        invoice_ids = []
    except XeroError:
        db.session.rollback()
        put_back(practice_id, "contacts", contact_ids)
        put_back(practice_id, "invoices", invoice_ids)
        raise
    finally:
        result.calls = client.calls
    return result
