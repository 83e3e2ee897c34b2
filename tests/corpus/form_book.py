"""What the form corpus posts against: two practices with something for every form, and how a post is judged.

Every route that takes a POST is in tests/test_form_errors.py's FORMS, with a payload that would succeed; the
corpus mutates those payloads. Both practices (the signed-in owner's and a rival's) get the same book, so every
id a form names has a twin that belongs to another practice.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from flask.testing import FlaskClient

from tests.factories import (
    batched,
    make_connection,
    make_contact_pull,
    make_xero_contact,
)
from tests.test_form_errors import make_form_rows, visible_errors


def make_book(practice_id: int, tenant_id: str) -> dict[str, int | str]:
    """The practice's rows for every form (as tests/test_form_errors.py's `book`), and a mirrored Xero contact;
    returns the ids by the names FORMS's paths use."""
    with batched():
        make_connection(practice_id, tenant_id=tenant_id, connection_id=str(uuid.uuid4()))
        ids = make_form_rows(practice_id)
        make_contact_pull(practice_id, tenant_id=tenant_id)
        contact = make_xero_contact(practice_id, "Abbott and Sons Limited")
        return {**ids, "contact": contact.contact_id}


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
