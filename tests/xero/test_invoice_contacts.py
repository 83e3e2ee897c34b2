"""Contacts at posting (mocked Xero): decisions from the stored links, contacts created in batches of 50 with
content keys, refusals and unreadable answers held."""
import json

import pytest

from tests.factories import TENANT_ID, make_client, make_contact_pull, make_xero_contact
from tests.xero.posting_helpers import FakeXero, decided_client, linked_client
from webapp.extensions import db
from webapp.models import ClientContactLink
from webapp.sync.invoice_contacts import create_contacts, decide, idempotency_key, resolve_contacts
from webapp.xero import XeroClient


@pytest.fixture
def api(settings, connection, fake_time):
    make_contact_pull(connection.practice_id)
    return XeroClient.for_connection(connection, settings, sleep=fake_time.sleep, clock=fake_time.clock)


def test_decisions(app, connection):
    practice_id = connection.practice_id
    linked, contact = linked_client(practice_id, "LIN01")
    merged, _ = linked_client(practice_id, "MER01")
    db.session.execute(db.update(type(contact)).filter_by(name="Client MER01").values(
        status="ARCHIVED", merged_to_contact_id=contact.contact_id))
    unmatched = decided_client(practice_id, "UNM01", "unmatched")
    with_candidates = decided_client(practice_id, "CAN01", "unmatched", candidates=[contact.contact_id])
    never = make_client(practice_id, "Never Matched", code="NEV01")
    archived_never = make_client(practice_id, "Gone Client", code="GON01", status="archived")
    db.session.commit()
    decisions = resolve_contacts(practice_id, [linked, merged, unmatched, with_candidates, never, archived_never],
                                 create_missing=True)
    assert decisions[linked.id].contact_id == contact.contact_id
    assert "was merged into another contact in Xero" in decisions[merged.id].held_reason
    assert decisions[unmatched.id].create and not decisions[unmatched.id].ready
    assert "Candidates: 'Client LIN01'." in decisions[with_candidates.id].held_reason
    assert "has not been matched to a Xero contact yet" in decisions[never.id].held_reason
    assert "archived in Socket" in decisions[archived_never.id].held_reason
    link = db.session.execute(db.select(ClientContactLink).filter_by(client_id=linked.id)).scalar_one()
    assert "not among the contacts Socket has" in decide(linked, link, {}, True).held_reason


def test_51_contacts_go_in_two_batches_with_content_keys(app, connection, api, mocked, settings):
    practice_id = connection.practice_id
    xero = FakeXero(mocked, settings)
    clients = [decided_client(practice_id, f"N{n:03}", "unmatched") for n in range(1, 52)]
    result = create_contacts(practice_id, TENANT_ID, api, clients)
    assert [len(json.loads(r.body)["Contacts"]) for r in xero.contact_posts] == [50, 1]
    for request in xero.contact_posts:
        assert request.headers["Idempotency-Key"] == idempotency_key(TENANT_ID, json.loads(request.body))
    assert (result.created, result.calls) == (51, 2) and all(d.ready for d in result.decisions.values())

    again = create_contacts(practice_id, TENANT_ID, api, clients[:50])  # the same batch: Xero replays its answer
    assert again.created == 50 and len(xero.contacts) == 51


def test_a_batch_refused_as_a_whole_holds_each_with_its_message(app, connection, api, mocked, settings):
    clients = [decided_client(connection.practice_id, f"N{n}", "unmatched") for n in (1, 2)]
    mocked.post(f"{settings.accounting_url}/Contacts", status=400, json={
        "ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": []}, {"ValidationErrors": [{"Message": "Email address must be valid."}]}]})
    result = create_contacts(connection.practice_id, TENANT_ID, api, clients)
    assert "Xero refused to create a contact for N2 (Email address must be valid)" in \
        result.decisions[clients[1].id].held_reason
    assert "A validation exception occurred" not in result.decisions[clients[1].id].held_reason
    assert result.decisions[clients[0].id].held_reason and result.created == 0


@pytest.mark.parametrize("answer", [{"Nothing": []}, {"Contacts": [{"Name": "x"}]},
                                    {"Contacts": [{"ContactID": "5b9c4e2a-0000-4000-8000-000000000001",
                                                   "ContactNumber": "SOMEONE-ELSE", "Name": "x"}]}])
def test_an_unreadable_answer_holds_and_links_nothing(app, connection, api, mocked, settings, answer):
    client = decided_client(connection.practice_id, "N1", "unmatched")
    mocked.post(f"{settings.accounting_url}/Contacts", json=answer)
    result = create_contacts(connection.practice_id, TENANT_ID, api, [client])
    assert result.created == 0 and "the next sync links it" in result.decisions[client.id].held_reason
    link = db.session.execute(db.select(ClientContactLink).filter_by(client_id=client.id)).scalar_one()
    assert link.contact_id is None


def test_a_persons_decision_made_meanwhile_is_kept(app, connection, api, mocked, settings):
    practice_id = connection.practice_id
    FakeXero(mocked, settings)
    client = decided_client(practice_id, "N1", "unmatched")
    chosen = make_xero_contact(practice_id, "Chosen By Hand")
    link = db.session.execute(db.select(ClientContactLink).filter_by(client_id=client.id)).scalar_one()
    link.is_manual, link.contact_id, link.outcome = True, chosen.contact_id, "linked"
    db.session.commit()
    result = create_contacts(practice_id, TENANT_ID, api, [client])
    assert result.decisions[client.id].contact_id == chosen.contact_id and result.warnings


def test_a_duplicate_name_found_once_normalised_or_not_synced_yet(app, connection, api, mocked, settings):
    practice_id = connection.practice_id
    xero = FakeXero(mocked, settings)
    make_xero_contact(practice_id, "Smith and Sons Limited")
    normalised = decided_client(practice_id, "SMI01", "unmatched", name="Smith & Sons Ltd")
    unknown = decided_client(practice_id, "UNK01", "unmatched", name="Nobody Here Ltd")
    xero.refuse_names.update({"Smith & Sons Ltd", "Nobody Here Ltd"})
    result = create_contacts(practice_id, TENANT_ID, api, [normalised, unknown])
    assert "link SMI01 to 'Smith and Sons Limited'" in result.decisions[normalised.id].held_reason
    assert "run Sync now in Practice Settings > Integrations, then link UNK01" in \
        result.decisions[unknown.id].held_reason


def test_a_client_without_a_stored_decision_gets_one_when_its_contact_is_created(app, connection, api, mocked,
                                                                               settings):
    FakeXero(mocked, settings)
    client = make_client(connection.practice_id, "Fresh Ltd", code="FRE01")
    result = create_contacts(connection.practice_id, TENANT_ID, api, [client])
    link = db.session.execute(db.select(ClientContactLink).filter_by(client_id=client.id)).scalar_one()
    assert result.created == 1 and link.outcome == "linked" and "when its invoice was posted" in link.reason
