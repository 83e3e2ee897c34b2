"""Writing client codes to empty ContactNumbers in Xero (mocked): batches of 50, idempotency keys, refusals."""
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import TENANT_ID, make_client, make_xero_contact
from webapp.extensions import db
from webapp.models import ClientContactLink, XeroContact
from webapp.sync.contact_links import record_manual_decision
from webapp.sync.contact_numbers import contacts_to_stamp, idempotency_key, stamp_contact_numbers
from webapp.xero import XeroClient


@pytest.fixture
def xero(settings, connection, fake_time):
    return XeroClient.for_connection(connection, settings, sleep=fake_time.sleep, clock=fake_time.clock)


def automatic_link(client, contact) -> None:
    db.session.add(ClientContactLink(practice_id=client.practice_id, client_id=client.id,
                                     contact_id=contact.contact_id, outcome="linked", rule="name", reason="Linked."))
    db.session.commit()


def linked_clients(practice_id, count) -> dict[str, str]:
    """`count` clients (C001...) each linked automatically to a contact with no ContactNumber: code -> ContactID."""
    linked = {}
    for n in range(1, count + 1):
        client = make_client(practice_id, f"Client {n:03}", code=f"C{n:03}")
        contact = make_xero_contact(practice_id, f"Contact {n:03}")
        automatic_link(client, contact)
        linked[client.code] = contact.contact_id
    return linked


def xero_accepts(mocked, settings, refuse=None):
    """Xero answering POST /Contacts with summarizeErrors=false: each contact OK, except `refuse` (ERROR)."""
    def reply(request):
        answers = []
        for contact in json.loads(request.body)["Contacts"]:
            if contact["ContactNumber"] == refuse:
                answers.append({**contact, "StatusAttributeString": "ERROR", "HasValidationErrors": True,
                                "ValidationErrors": [{"Message": "The ContactNumber must be unique."}]})
            else:
                answers.append({**contact, "Name": "x", "UpdatedDateUTC": "/Date(1781600000000+0000)/",
                                "StatusAttributeString": "OK"})
        return 200, {}, json.dumps({"Status": "OK", "Contacts": answers})

    mocked.add_callback("POST", f"{settings.accounting_url}/Contacts", callback=reply)


def numbers(practice_id) -> dict[str, str | None]:
    db.session.expire_all()
    return {row.contact_id: row.contact_number for row in db.session.execute(
        db.select(XeroContact).filter_by(practice_id=practice_id)).scalars()}


def test_51_contacts_go_in_two_batches_with_content_keys_and_one_refusal_is_recorded(settings, connection, xero,
                                                                                     mocked):
    practice_id = connection.practice_id
    linked = linked_clients(practice_id, 51)
    xero_accepts(mocked, settings, refuse="C007")
    result = stamp_contact_numbers(practice_id, TENANT_ID, xero)

    assert len(mocked.calls) == 2 and result.calls == 2
    bodies = [json.loads(call.request.body) for call in mocked.calls]
    assert [len(body["Contacts"]) for body in bodies] == [50, 1]
    assert bodies[0]["Contacts"][0] == {"ContactID": linked["C001"], "ContactNumber": "C001"}
    for call, body in zip(mocked.calls, bodies, strict=True):
        assert parse_qs(urlsplit(call.request.url).query) == {"summarizeErrors": ["false"]}
        assert call.request.headers["Idempotency-Key"] == idempotency_key(TENANT_ID, body)
    keys = [call.request.headers["Idempotency-Key"] for call in mocked.calls]
    assert keys[0] != keys[1] and all(len(key) <= 128 for key in keys)

    assert (result.stamped, result.failed) == (50, 1)
    assert result.warnings == ["Could not write client code C007 to the ContactNumber of 'Contact 007' in Xero: "
                               "The ContactNumber must be unique."]
    stored = numbers(practice_id)
    assert stored[linked["C051"]] == "C051" and stored[linked["C007"]] is None
    assert contacts_to_stamp(practice_id) == [(linked["C007"], "C007", "Contact 007")]  # tried again next sync


def test_the_key_depends_only_on_the_batch_so_a_retry_is_safe(settings, connection, xero, mocked):
    linked = linked_clients(connection.practice_id, 2)
    mocked.post(f"{settings.accounting_url}/Contacts", status=503, json={"Title": "Service Unavailable"})
    xero_accepts(mocked, settings)
    result = stamp_contact_numbers(connection.practice_id, TENANT_ID, xero)
    first, retry = (call.request for call in mocked.calls)
    assert first.headers["Idempotency-Key"] == retry.headers["Idempotency-Key"] and first.body == retry.body
    assert (result.stamped, result.calls) == (2, 2) and set(numbers(connection.practice_id).values()) == {
        "C001", "C002"} and len(linked) == 2
    body = {"Contacts": [{"ContactID": linked["C001"], "ContactNumber": "C001"},
                         {"ContactID": linked["C002"], "ContactNumber": "C002"}]}
    assert first.headers["Idempotency-Key"] == idempotency_key(TENANT_ID, body)
    assert idempotency_key("another-tenant", body) != idempotency_key(TENANT_ID, body)


def test_only_automatic_links_to_contacts_without_a_number_are_written(settings, connection, xero, mocked):
    practice_id = connection.practice_id
    numbered = make_xero_contact(practice_id, "Numbered", contact_number="OTHER-SYSTEM-9")
    automatic_link(make_client(practice_id, "Has Number", code="NUM01"), numbered)
    by_hand = make_xero_contact(practice_id, "By Hand")
    record_manual_decision(practice_id, make_client(practice_id, "Manual", code="MAN01").id, by_hand.contact_id,
                           None, "Linked by a person.")
    shared = make_xero_contact(practice_id, "Shared")
    for code in ("SHA01", "SHA02"):
        automatic_link(make_client(practice_id, code, code=code), shared)
    archived_client = make_client(practice_id, "Gone", code="GON01", status="archived")
    automatic_link(archived_client, make_xero_contact(practice_id, "Gone Contact"))
    db.session.commit()
    assert contacts_to_stamp(practice_id) == []
    assert stamp_contact_numbers(practice_id, TENANT_ID, xero).calls == 0 and len(mocked.calls) == 0


def test_a_batch_refused_as_a_whole_is_recorded_and_the_next_batch_still_goes(settings, connection, xero, mocked):
    linked_clients(connection.practice_id, 51)
    mocked.post(f"{settings.accounting_url}/Contacts", status=400, json={
        "ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": [{"Message": "Something is wrong with the batch."}]}]})
    xero_accepts(mocked, settings)
    result = stamp_contact_numbers(connection.practice_id, TENANT_ID, xero)
    assert (result.stamped, result.failed, result.calls) == (1, 50, 2)
    assert "Something is wrong with the batch." in result.warnings[0]


@pytest.mark.parametrize("answered", [{"x": 1}, ["C001"], "N" * 51, "C\x00001", 42])
def test_a_contact_number_xero_answers_that_socket_cannot_store_is_read_as_the_code_sent(settings, connection, xero,
                                                                                         mocked, answered):
    linked = linked_clients(connection.practice_id, 1)
    mocked.post(f"{settings.accounting_url}/Contacts", json={"Contacts": [
        {"ContactID": linked["C001"], "ContactNumber": answered, "StatusAttributeString": "OK"}]})
    result = stamp_contact_numbers(connection.practice_id, TENANT_ID, xero)
    assert result.stamped == 1 and numbers(connection.practice_id)[linked["C001"]] == "C001"


@pytest.mark.parametrize("errors", [42, {"Message": "x"}, [{"Message": "Bad\x00 number"}, "junk"]])
def test_validation_errors_of_an_odd_shape_are_still_a_refusal(settings, connection, xero, mocked, errors):
    linked = linked_clients(connection.practice_id, 1)
    mocked.post(f"{settings.accounting_url}/Contacts", json={"Contacts": [
        {"ContactID": linked["C001"], "StatusAttributeString": "ERROR", "ValidationErrors": errors}]})
    result = stamp_contact_numbers(connection.practice_id, TENANT_ID, xero)
    assert result.failed == 1 and "\x00" not in result.warnings[0]
    assert numbers(connection.practice_id)[linked["C001"]] is None
