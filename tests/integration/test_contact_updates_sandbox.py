"""Two-way contact updates between the demo practice and the sandbox's demo organisation, over real HTTP: a
person's edits in Socket reach Xero, edits in Xero reach the client, a conflict keeps the primary CRM's value and
is recorded, a change Xero refuses is recorded and not sent again, and a quiet sync sends nothing."""
from datetime import date

import pytest

from tests.demo_sandbox import connect_demo_practice, run_sync
from tests.live_servers import sandbox_for
from webapp.extensions import db
from webapp.models import Client, ClientContactLink, ContactSyncIssue, Practice
from webapp.services.demo_seed import seed_demo

pytest.importorskip("xero_sandbox.testing", reason="the Xero sandbox is not available")
from xero_sandbox.constants import DEMO_TENANT_ID

pytestmark = pytest.mark.integration


@pytest.fixture
def sandbox(app):
    with sandbox_for(app, "http://127.0.0.1:9") as sandbox:
        yield sandbox


class XeroSide:
    """The demo organisation as a person in Xero sees and edits it (its own grant, beside Socket's)."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.token = sandbox.connect(tenants=(DEMO_TENANT_ID,))["access_token"]

    def contact(self, contact_id: str) -> dict:
        [contact] = self.sandbox.api("GET", f"Contacts/{contact_id}", self.token).json()["Contacts"]
        return contact

    def edit(self, contact_id: str, **fields) -> None:
        answer = self.sandbox.api("POST", f"Contacts/{contact_id}", self.token, json={"Contacts": [fields]})
        assert answer.status_code == 200, answer.text


def linked_client(practice_id: int, code: str) -> tuple[Client, str]:
    db.session.expire_all()
    client = db.session.execute(db.select(Client).filter_by(practice_id=practice_id, code=code)).scalar_one()
    link = db.session.execute(db.select(ClientContactLink).filter_by(client_id=client.id)).scalar_one()
    assert link.outcome == "linked"
    return client, link.contact_id


def first_linked_code(practice_id: int) -> str:
    return db.session.execute(
        db.select(Client.code).join(ClientContactLink, ClientContactLink.client_id == Client.id)
        .filter(Client.practice_id == practice_id, ClientContactLink.outcome == "linked")
        .order_by(Client.code)).scalars().first()


def test_edits_travel_both_ways_and_a_quiet_sync_sends_nothing(app, app_ctx, sandbox):
    seed_demo(today=date(2026, 11, 15))
    practice_id = connect_demo_practice(sandbox)
    first = run_sync(practice_id, "connect")
    assert first.counts["contact_update_conflicts"] == 0
    xero = XeroSide(sandbox)

    code = first_linked_code(practice_id)
    client, contact_id = linked_client(practice_id, code)
    street_before = [a for a in xero.contact(contact_id).get("Addresses", []) if a.get("AddressType") == "STREET"]
    client.email, client.phone = "new.accounts@example.co.uk", "0113 496 0001"
    client.address_line, client.city, client.postcode = "2 Park Row", "Leeds", "LS1 5HD"
    db.session.commit()

    sent = run_sync(practice_id, "manual")
    assert (sent.counts["contact_updates_sent"], sent.counts["contact_updates_calls"]) == (1, 1)
    in_xero = xero.contact(contact_id)
    assert in_xero["EmailAddress"] == "new.accounts@example.co.uk"
    assert [p["PhoneNumber"] for p in in_xero["Phones"] if p["PhoneType"] == "DEFAULT"] == ["0113 496 0001"]
    [postal] = [a for a in in_xero["Addresses"] if a["AddressType"] == "POBOX"]
    assert (postal["AddressLine1"], postal["City"], postal["PostalCode"]) == ("2 Park Row", "Leeds", "LS1 5HD")
    assert [a for a in in_xero["Addresses"] if a.get("AddressType") == "STREET"] == street_before

    quiet = run_sync(practice_id, "manual")
    assert (quiet.counts["contact_updates_sent"], quiet.counts["contact_updates_received"],
            quiet.counts["contact_updates_calls"]) == (0, 0, 0)

    xero.edit(contact_id, Name=f"{client.name} Group", TaxNumber="GB 123 4567 89")
    received = run_sync(practice_id, "manual")
    assert received.counts["contact_updates_received"] == 1
    client, _ = linked_client(practice_id, code)
    assert client.name.endswith(" Group") and client.vat_number == "GB123456789"
    assert received.counts["contact_updates_calls"] == 0  # Xero's spelling is left as Xero has it


def test_a_conflict_keeps_the_primary_crms_value_on_both_sides_and_shows_on_the_client(app, app_ctx, sandbox):
    seed_demo(today=date(2026, 11, 15))
    practice_id = connect_demo_practice(sandbox)
    run_sync(practice_id, "connect")
    xero = XeroSide(sandbox)
    code = first_linked_code(practice_id)

    client, contact_id = linked_client(practice_id, code)
    client.email = "socket.side@example.co.uk"
    db.session.commit()
    xero.edit(contact_id, EmailAddress="xero.side@example.co.uk")
    run_sync(practice_id, "manual")
    assert xero.contact(contact_id)["EmailAddress"] == "socket.side@example.co.uk"  # Socket is the primary CRM

    db.session.get(Practice, practice_id).primary_crm = "xero"
    db.session.commit()
    client, _ = linked_client(practice_id, code)
    client.email = "socket.again@example.co.uk"
    db.session.commit()
    xero.edit(contact_id, EmailAddress="xero.again@example.co.uk")
    run_sync(practice_id, "manual")
    client, _ = linked_client(practice_id, code)
    assert client.email == "xero.again@example.co.uk"

    issues = db.session.execute(db.select(ContactSyncIssue).filter_by(client_id=client.id)
                                .order_by(ContactSyncIssue.id)).scalars().all()
    assert [(i.kind, i.field, i.socket_value, i.xero_value, i.kept) for i in issues] == [
        ("conflict", "email", "socket.side@example.co.uk", "xero.side@example.co.uk", "socket"),
        ("conflict", "email", "socket.again@example.co.uk", "xero.again@example.co.uk", "xero")]


def test_a_rename_xero_refuses_is_recorded_and_not_sent_again(app, app_ctx, sandbox):
    seed_demo(today=date(2026, 11, 15))
    practice_id = connect_demo_practice(sandbox)
    run_sync(practice_id, "connect")
    xero = XeroSide(sandbox)
    linked = db.session.execute(
        db.select(Client.code).join(ClientContactLink, ClientContactLink.client_id == Client.id)
        .filter(Client.practice_id == practice_id, ClientContactLink.outcome == "linked")
        .order_by(Client.code)).scalars().all()
    client, contact_id = linked_client(practice_id, linked[0])
    _, other_contact_id = linked_client(practice_id, linked[1])
    taken = xero.contact(other_contact_id)["Name"]
    client.name = taken
    db.session.commit()

    refused = run_sync(practice_id, "manual")
    assert refused.counts["contact_updates_refused"] == 1
    assert any("already assigned to another contact" in warning for warning in refused.counts["warnings"])
    [issue] = db.session.execute(db.select(ContactSyncIssue).filter_by(client_id=client.id)).scalars()
    assert (issue.kind, issue.field, issue.socket_value) == ("refused_by_xero", "name", taken)
    assert xero.contact(contact_id)["Name"] != taken
    client, _ = linked_client(practice_id, linked[0])
    assert client.name == taken  # what the person typed is kept

    again = run_sync(practice_id, "manual")
    assert again.counts["contact_updates_calls"] == 0
