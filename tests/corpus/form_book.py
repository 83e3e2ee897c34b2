"""What the form corpus posts against: two practices with something for every form, and how a post is judged.

Every route that takes a POST is in tests/test_form_errors.py's FORMS, with a payload that would succeed; the
corpus mutates those payloads. Both practices (the signed-in owner's and a rival's) get the same book, so every
id a form names has a twin that belongs to another practice.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from flask.testing import FlaskClient

from tests.factories import (
    batched,
    make_account,
    make_client,
    make_completion,
    make_connection,
    make_contact_pull,
    make_engagement,
    make_invoice,
    make_menu,
    make_service,
    make_sync_issue,
    make_theme,
    make_xero_contact,
)
from tests.test_form_errors import visible_errors
from webapp.models import BillingMethod


def make_book(practice_id: int, tenant_id: str) -> dict[str, int | str]:
    """The practice's rows for every form (as tests/test_form_errors.py's `book`), and a mirrored Xero contact;
    returns the ids by the names FORMS's paths use."""
    with batched():
        make_connection(practice_id, tenant_id=tenant_id, connection_id=str(uuid.uuid4()))
        make_account(practice_id, "200", "Sales")
        make_theme(practice_id, "t-standard", "Standard")
        menu = make_menu(practice_id)
        draft = make_menu(practice_id, "Draft", active=False)
        service = make_service(practice_id, menu=menu)
        one_off = make_service(practice_id, name="Accounts", method=BillingMethod.ONCE, menu=menu)
        unused = make_service(practice_id, name="Unused", menu=menu)
        client = make_client(practice_id)
        engagement = make_engagement(client, service)
        one_off_engagement = make_engagement(client, one_off, start=date(2026, 1, 1))
        completion = make_completion(one_off_engagement, date(2026, 1, 10))
        sync_issue = make_sync_issue(client)
        invoice = make_invoice(make_client(practice_id, "Held Ltd", code="HEL01"), status="held")
        make_contact_pull(practice_id, tenant_id=tenant_id)
        contact = make_xero_contact(practice_id, "Abbott and Sons Limited")
        return {"client": client.id, "engagement": engagement.id, "one_off": one_off_engagement.id,
                "completion": completion.id, "sync_issue": sync_issue.id, "invoice": invoice.id, "menu": menu.id,
                "draft_menu": draft.id, "service": service.id, "unused_service": unused.id,
                "contact": contact.contact_id}


@dataclass
class Outcome:
    """How the app answered one post: refused (with what it showed) or accepted."""
    status: int
    shown: list[str] = field(default_factory=list)
    error_flashed: bool = False

    @property
    def refused(self) -> bool:
        if self.status >= 400:  # a 503 too: Xero did not answer (the corpus allows no other 5xx)
            return True
        return bool(self.shown) or self.error_flashed


def judge(client: FlaskClient, response) -> Outcome:
    """Read the answer: its status, the errors its page shows, and (for a redirect) whether it flashed an error.
    The flashes are taken out of the session, as the next page would."""
    outcome = Outcome(response.status_code)
    if response.status_code < 300 or response.status_code >= 400:
        outcome.shown = visible_errors(response.get_data(as_text=True))
    with client.session_transaction() as session:
        flashes = session.pop("_flashes", [])
    # A success flashed beside an error is a partial success (disconnected here, though Xero did not confirm).
    categories = {category for category, _ in flashes}
    outcome.error_flashed = "error" in categories and "success" not in categories
    if outcome.error_flashed:
        outcome.shown += [message for category, message in flashes if category == "error"]
    return outcome
