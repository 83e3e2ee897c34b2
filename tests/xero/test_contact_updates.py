"""Two-way updates of linked pairs: the pure decision per detail, and the run against Xero (mocked)."""
import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import TENANT_ID, make_client, make_xero_contact
from webapp.extensions import db
from webapp.models import Client, ClientContactLink, ContactSyncIssue, Practice, XeroContact
from webapp.models.base import utcnow
from webapp.sync.contact_updates import (
    FIELDS,
    Conflict,
    contact_update,
    decide,
    equivalent,
    idempotency_key,
    update_contacts,
)
from webapp.xero import XeroClient, XeroUnavailable

EMPTY = dict.fromkeys(FIELDS)


def values(**given):
    return {**EMPTY, **given}


def snapshot(socket, xero):
    return {"socket": socket, "xero": xero}


# -- deciding -------------------------------------------------------------------------------------------------------
def test_the_first_sync_fills_what_one_side_lacks_and_leaves_what_both_hold():
    socket = values(name="Acme Ltd", email="accounts@acme.co.uk", company_number="01234567")
    xero = values(name="ACME LIMITED", phone="020 7946 0000", vat_number="GB123456789")
    decision = decide(socket, xero, None, "socket")
    assert decision.to_xero == {"email": "accounts@acme.co.uk", "company_number": "01234567"}
    assert decision.to_socket == {"phone": "020 7946 0000", "vat_number": "GB123456789"}
    assert decision.conflicts == []


def test_the_first_sync_never_mixes_two_addresses():
    socket = values(name="A", address_line="1 High St")
    xero = values(name="A", address_line="5 Low Rd", city="Leeds", postcode="LS1 1AA")
    assert decide(socket, xero, None, "socket").to_socket == {}
    decision = decide(values(name="A"), xero, None, "socket")
    assert decision.to_socket == {"address_line": "5 Low Rd", "city": "Leeds", "postcode": "LS1 1AA"}
    decision = decide(xero, values(name="A"), None, "xero")
    assert decision.to_xero == {"address_line": "5 Low Rd", "city": "Leeds", "postcode": "LS1 1AA"}


def test_a_change_on_one_side_goes_to_the_other():
    synced = snapshot(values(name="Acme Ltd", email="old@acme.co.uk"), values(name="ACME", email="old@acme.co.uk"))
    socket_changed = decide(values(name="Acme Ltd", email="new@acme.co.uk"),
                            values(name="ACME", email="old@acme.co.uk"), synced, "socket")
    assert (socket_changed.to_xero, socket_changed.to_socket) == ({"email": "new@acme.co.uk"}, {})
    xero_changed = decide(values(name="Acme Ltd", email="old@acme.co.uk"),
                          values(name="ACME Trading", email="old@acme.co.uk"), synced, "socket")
    assert (xero_changed.to_xero, xero_changed.to_socket) == ({}, {"name": "ACME Trading"})


def test_sides_that_differ_without_a_change_are_left_alone():
    synced = snapshot(values(name="Acme Ltd"), values(name="ACME LIMITED"))
    decision = decide(values(name="Acme Ltd"), values(name="ACME LIMITED"), synced, "xero")
    assert (decision.to_xero, decision.to_socket, decision.conflicts) == ({}, {}, [])


def test_clearing_a_detail_is_a_change():
    synced = snapshot(values(name="A", phone="0113 496 0000"), values(name="A", phone="0113 496 0000"))
    assert decide(values(name="A"), values(name="A", phone="0113 496 0000"), synced, "socket").to_xero == \
        {"phone": None}


@pytest.mark.parametrize("primary, to_xero, to_socket", [
    ("socket", {"email": "socket@acme.co.uk"}, {}),
    ("xero", {}, {"email": "xero@acme.co.uk"}),
])
def test_a_detail_changed_on_both_sides_keeps_the_primary_crms_value_and_is_a_conflict(primary, to_xero, to_socket):
    synced = snapshot(values(name="A", email="old@acme.co.uk"), values(name="A", email="old@acme.co.uk"))
    decision = decide(values(name="A", email="socket@acme.co.uk"), values(name="A", email="xero@acme.co.uk"),
                      synced, primary)
    assert (decision.to_xero, decision.to_socket) == (to_xero, to_socket)
    assert decision.conflicts == [Conflict("email", "socket@acme.co.uk", "xero@acme.co.uk", primary)]


def test_both_sides_changed_to_the_same_value_is_no_conflict():
    synced = snapshot(values(name="A", company_number="01234567"), values(name="A", company_number="1234567"))
    decision = decide(values(name="A", company_number="07654321"), values(name="A", company_number="7654321"),
                      synced, "socket")
    assert (decision.to_xero, decision.to_socket, decision.conflicts) == ({}, {}, [])


@pytest.mark.parametrize("column, a, b, same", [
    ("name", "Acme  Ltd ", "Acme Ltd", True),
    ("name", "Acme Ltd", "ACME LTD", False),
    ("email", "Jo@Acme.CO.UK", "Jo@acme.co.uk", True),
    ("company_number", "1234567", "01234567", True),
    ("vat_number", "GB 123 4567 89", "123456789", True),
    ("vat_number", "not a number", "123456789", False),
    ("phone", None, "", True),
])
def test_equivalent_values(column, a, b, same):
    assert equivalent(column, a, b) is same


def test_the_contact_element_writes_the_postal_address_whole_and_the_default_phone():
    xero_now = values(name="A", address_line="5 Low Rd", city="Leeds", postcode="LS1 1AA")
    element = contact_update("c-1", {"postcode": "LS2 2BB", "phone": "0113 496 0000", "email": None},
                             xero_now)
    assert element == {
        "ContactID": "c-1", "EmailAddress": "",
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "0113 496 0000", "PhoneAreaCode": "",
                    "PhoneCountryCode": ""}],
        "Addresses": [{"AddressType": "POBOX", "AddressLine1": "5 Low Rd", "AddressLine2": "", "AddressLine3": "",
                       "AddressLine4": "", "City": "Leeds", "PostalCode": "LS2 2BB"}]}
    assert contact_update("c-1", {"name": "B", "vat_number": "GB123456789", "company_number": "01234567"},
                          xero_now) == {"ContactID": "c-1", "Name": "B", "TaxNumber": "GB123456789",
                                        "CompanyNumber": "01234567"}


# -- the run against Xero (mocked) --------------------------------------------------------------------------------
@pytest.fixture
def xero(settings, connection, fake_time):
    return XeroClient.for_connection(connection, settings, sleep=fake_time.sleep, clock=fake_time.clock)


def linked_pair(practice_id, name="Acme Ltd", code="ACM01", contact_name=None, manual=False, client_fields=None,
                contact_fields=None):
    client = make_client(practice_id, name, code=code, **(client_fields or {}))
    contact = make_xero_contact(practice_id, contact_name or name, **(contact_fields or {}))
    link = ClientContactLink(practice_id=practice_id, client_id=client.id, contact_id=contact.contact_id,
                             outcome="linked", rule="stored" if manual else "name", reason="Linked.",
                             is_manual=manual)
    db.session.add(link)
    db.session.commit()
    return client, contact, link


def xero_answers(mocked, settings, refuse_name=None, answer=None):
    """Xero answering POST /Contacts (summarizeErrors=false): each contact updated, except one renamed to
    `refuse_name`; or `answer` as given."""
    def reply(request):
        if answer is not None:
            return 200, {}, json.dumps(answer)
        elements = []
        for element in json.loads(request.body)["Contacts"]:
            if refuse_name is not None and element.get("Name") == refuse_name:
                elements.append({**element, "StatusAttributeString": "ERROR", "HasValidationErrors": True,
                                 "ValidationErrors": [{"Message": f"The contact name {refuse_name} is already "
                                                                  "assigned to another contact."}]})
                continue
            stored = db.session.execute(db.select(XeroContact).filter_by(contact_id=element["ContactID"])).scalar_one()
            elements.append({"ContactID": stored.contact_id, "Name": element.get("Name", stored.name),
                             "EmailAddress": element.get("EmailAddress", stored.email or ""),
                             "TaxNumber": element.get("TaxNumber", stored.tax_number or ""),
                             "ContactStatus": "ACTIVE", "Phones": element.get("Phones", []),
                             "Addresses": element.get("Addresses", []),
                             "UpdatedDateUTC": "/Date(1781600000000+0000)/", "StatusAttributeString": "OK"})
        return 200, {}, json.dumps({"Status": "OK", "Contacts": elements})

    mocked.add_callback("POST", f"{settings.accounting_url}/Contacts", callback=reply)


def fresh(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


def test_the_first_run_fills_blanks_both_ways_and_a_second_run_reads_nothing(settings, connection, xero, mocked):
    practice_id = connection.practice_id
    client, contact, link = linked_pair(practice_id, client_fields={"email": "accounts@acme.co.uk"},
                                        contact_fields={"tax_number": "GB123456789"})
    xero_answers(mocked, settings)
    result = update_contacts(practice_id, TENANT_ID, xero)

    [call] = mocked.calls
    assert parse_qs(urlsplit(call.request.url).query) == {"summarizeErrors": ["false"]}
    body = json.loads(call.request.body)
    assert body == {"Contacts": [{"ContactID": contact.contact_id, "EmailAddress": "accounts@acme.co.uk"}]}
    assert call.request.headers["Idempotency-Key"] == idempotency_key(TENANT_ID, body)
    assert (result.sent, result.received, result.calls) == (1, 1, 1), result.warnings
    assert fresh(Client, client.id).vat_number == "GB123456789"
    assert fresh(XeroContact, contact.id).email == "accounts@acme.co.uk"
    synced = fresh(ClientContactLink, link.id)
    assert synced.synced_contact_id == contact.contact_id
    assert synced.synced_values["socket"]["email"] == "accounts@acme.co.uk"

    again = update_contacts(practice_id, TENANT_ID, xero)
    assert (again.sent, again.received, again.calls, len(mocked.calls)) == (0, 0, 0, 1)


def test_details_taken_from_xero_for_many_pairs_are_written_together_and_not_read_again(settings, connection, xero,
                                                                                        mocked, count_statements):
    """A first sync of thousands of pairs must not flush (an UPDATE and a session scan) once a pair."""
    practice_id = connection.practice_id
    pairs = [linked_pair(practice_id, f"Client {n} Ltd", code=f"C{n:03d}",
                         contact_fields={"tax_number": f"GB{n:09d}", "phone": "020 7946 0000"}) for n in range(30)]
    with count_statements() as statements:
        result = update_contacts(practice_id, TENANT_ID, xero)
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE CLIENTS")]
    assert (result.received, result.sent, result.calls) == (30, 0, 0)
    assert len(updates) <= 2, f"{len(updates)} UPDATE clients statements for 30 clients"
    assert [fresh(Client, client.id).vat_number for client, _, _ in pairs[:2]] == ["GB000000000", "GB000000001"]
    assert update_contacts(practice_id, TENANT_ID, xero).received == 0  # each pair synced after its client changed
    assert all(fresh(ClientContactLink, link.id).synced_at >= fresh(Client, client.id).updated_at
               for client, _, link in pairs)


def test_a_person_editing_the_client_is_sent_and_xeros_edit_is_taken(settings, connection, xero, mocked):
    practice_id = connection.practice_id
    client, contact, link = linked_pair(practice_id, client_fields={"email": "a@acme.co.uk"},
                                        contact_fields={"email": "a@acme.co.uk"})
    xero_answers(mocked, settings)
    update_contacts(practice_id, TENANT_ID, xero)  # baseline: nothing differs, nothing sent
    assert len(mocked.calls) == 0

    fresh(Client, client.id).phone = "0113 496 0000"
    mirrored = fresh(XeroContact, contact.id)
    mirrored.name, mirrored.synced_at = "Acme Trading Ltd", utcnow() + timedelta(seconds=1)
    db.session.commit()
    result = update_contacts(practice_id, TENANT_ID, xero)
    [call] = mocked.calls
    assert json.loads(call.request.body)["Contacts"][0] == {
        "ContactID": contact.contact_id, "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "0113 496 0000",
                                                     "PhoneAreaCode": "", "PhoneCountryCode": ""}]}
    assert fresh(Client, client.id).name == "Acme Trading Ltd"
    assert fresh(XeroContact, contact.id).phone == "0113 496 0000"
    assert (result.sent, result.received, result.conflicts) == (1, 1, 0)


@pytest.mark.parametrize("primary, kept_email", [("socket", "socket@acme.co.uk"), ("xero", "xero@acme.co.uk")])
def test_a_conflict_keeps_the_primary_crms_value_and_is_recorded_once(settings, connection, xero, mocked, primary,
                                                                      kept_email):
    practice_id = connection.practice_id
    db.session.get(Practice, practice_id).primary_crm = primary
    client, contact, link = linked_pair(practice_id, client_fields={"email": "old@acme.co.uk"},
                                        contact_fields={"email": "old@acme.co.uk"})
    xero_answers(mocked, settings)
    update_contacts(practice_id, TENANT_ID, xero)
    fresh(Client, client.id).email = "socket@acme.co.uk"
    mirrored = fresh(XeroContact, contact.id)
    mirrored.email, mirrored.synced_at = "xero@acme.co.uk", utcnow() + timedelta(seconds=1)
    db.session.commit()

    result = update_contacts(practice_id, TENANT_ID, xero)
    assert result.conflicts == 1
    assert fresh(Client, client.id).email == kept_email
    assert fresh(XeroContact, contact.id).email == kept_email
    [issue] = db.session.execute(db.select(ContactSyncIssue)).scalars()
    assert (issue.client_id, issue.field, issue.kind, issue.socket_value, issue.xero_value, issue.kept) == (
        client.id, "email", "conflict", "socket@acme.co.uk", "xero@acme.co.uk", primary)


def test_a_change_xero_refuses_is_recorded_on_the_client_and_not_sent_again(settings, connection, xero, mocked):
    practice_id = connection.practice_id
    client, contact, link = linked_pair(practice_id)
    make_xero_contact(practice_id, "Bramble Ltd")
    xero_answers(mocked, settings, refuse_name="Bramble Ltd")
    update_contacts(practice_id, TENANT_ID, xero)
    fresh(Client, client.id).name = "Bramble Ltd"
    db.session.commit()

    result = update_contacts(practice_id, TENANT_ID, xero)
    assert (result.sent, result.refused, len(mocked.calls)) == (0, 1, 1)
    assert result.warnings == ["Xero refused updating the contact of 'Bramble Ltd': The contact name Bramble Ltd is "
                               "already assigned to another contact."]
    [issue] = db.session.execute(db.select(ContactSyncIssue)).scalars()
    assert (issue.kind, issue.field, issue.socket_value, issue.xero_value) == (
        "refused_by_xero", "name", "Bramble Ltd", "Acme Ltd")
    assert fresh(Client, client.id).name == "Bramble Ltd"  # nothing a person typed is lost
    update_contacts(practice_id, TENANT_ID, xero)
    assert len(mocked.calls) == 1


def test_a_xero_value_socket_cannot_take_is_recorded_and_the_client_keeps_its_own(settings, connection, xero,
                                                                                 mocked):
    practice_id = connection.practice_id
    client, contact, link = linked_pair(practice_id, contact_fields={"tax_number": "VAT pending"})
    result = update_contacts(practice_id, TENANT_ID, xero)
    assert (result.received, result.refused) == (0, 1)
    assert fresh(Client, client.id).vat_number is None
    [issue] = db.session.execute(db.select(ContactSyncIssue)).scalars()
    assert issue.kind == "not_accepted" and "VAT number 'VAT pending'" in issue.message
    assert update_contacts(practice_id, TENANT_ID, xero).refused == 0  # recorded once, not every night


def test_an_answer_without_contacts_is_sent_again_next_time(settings, connection, xero, mocked):
    practice_id = connection.practice_id
    client, contact, link = linked_pair(practice_id, client_fields={"email": "a@acme.co.uk"})
    xero_answers(mocked, settings, answer={"Status": "OK"})
    result = update_contacts(practice_id, TENANT_ID, xero)
    assert result.sent == 0 and "had no Contacts list" in result.warnings[0]
    assert fresh(ClientContactLink, link.id).synced_values is None
    update_contacts(practice_id, TENANT_ID, xero)
    assert len(mocked.calls) == 2


def test_xero_unreachable_keeps_what_was_decided_and_sends_the_rest_next_time(settings, connection, xero, mocked):
    practice_id = connection.practice_id
    client, contact, link = linked_pair(practice_id, client_fields={"email": "a@acme.co.uk"},
                                        contact_fields={"phone": "0113 496 0000"})
    mocked.post(f"{settings.accounting_url}/Contacts", status=503)
    with pytest.raises(XeroUnavailable):
        update_contacts(practice_id, TENANT_ID, xero)
    assert fresh(Client, client.id).phone == "0113 496 0000"
    assert fresh(ClientContactLink, link.id).synced_values is None


def test_archived_merged_and_unlinked_pairs_are_not_touched(settings, connection, xero, mocked):
    practice_id = connection.practice_id
    linked_pair(practice_id, "Archived Co", code="ARC01", client_fields={"email": "a@archived.co.uk"},
                contact_fields={"status": "ARCHIVED"})
    linked_pair(practice_id, "Merged Co", code="MER01", client_fields={"email": "a@merged.co.uk"},
                contact_fields={"merged_to_contact_id": "5d8e1c4e-0000-4000-8000-000000000001"})
    client, contact, link = linked_pair(practice_id, "Review Co", code="REV01",
                                        client_fields={"email": "a@review.co.uk"})
    link.outcome = "needs_review"
    db.session.commit()
    result = update_contacts(practice_id, TENANT_ID, xero)
    assert (result.sent, result.received, len(mocked.calls)) == (0, 0, 0)
