"""Bad GET /Contacts pages through webapp.sync.contacts_pull.pull_contacts (the real client, Xero mocked).

Each example is a new practice whose mirror already holds contacts and whose earlier pull was complete; Xero answers
one page mixing valid contacts (shaped as the spec's Contact and the sandbox's answers), mutated ones (some of them
stored contacts' ids with broken fields), duplicated ids, or a broken answer. Properties: only Socket's own XeroError
comes out; the good contacts of the page are stored; every skipped contact has a warning; a stored contact is never
deleted, and changes only to what an item of the answer with its id says; a failed page changes nothing."""
import json
import uuid

import responses
from hypothesis import given
from hypothesis import strategies as st

from tests.corpus.xero_bodies import ODD_TEXT, Reply, RolledBack, dates, mutated, page
from tests.factories import batched, make_connection, make_contact_pull, make_xero_contact
from tests.hypothesis_corpus import examples
from webapp.extensions import db
from webapp.models import ContactPull, XeroContact
from webapp.sync.contacts_pull import pull_contacts
from webapp.xero import XeroClient, XeroError

COLUMNS = ("name", "email", "contact_number", "status", "merged_to_contact_id", "is_customer", "phone",
           "address_line", "city", "postcode", "updated_date_utc")


def valid_contact(contact_id: str, name: str) -> dict:
    """A Contact as the spec (and the sandbox) shape it."""
    return {"ContactID": contact_id, "ContactStatus": "ACTIVE", "Name": name, "FirstName": "Ada",
            "LastName": "Lovelace", "EmailAddress": "ada@example.com", "ContactNumber": "ABB01",
            "Addresses": [{"AddressType": "POBOX", "AddressLine1": "1 High St", "City": "Leeds",
                           "PostalCode": "LS1 1AA", "Country": "UK"}, {"AddressType": "STREET"}],
            "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "0113 496 0000", "PhoneAreaCode": "",
                        "PhoneCountryCode": "44"}, {"PhoneType": "MOBILE"}],
            "UpdatedDateUTC": "/Date(1767603600000+0000)/", "IsSupplier": False, "IsCustomer": True,
            "HasValidationErrors": False}


STORED = [("Stored One", "ACTIVE"), ("Stored Two", "ARCHIVED"), ("Stored Three", "ACTIVE")]


@st.composite
def answers(draw):
    """(good items, the whole page as Xero sends it, which stored names are broken in it)."""
    good = [valid_contact(str(draw(st.uuids())), f"Good {n} {draw(st.sampled_from(['Ltd', 'LLP', '🦄', 'عربي']))}")
            for n in range(draw(st.integers(min_value=0, max_value=4)))]
    for item in good:
        if draw(st.booleans()):
            item["UpdatedDateUTC"] = draw(st.sampled_from(["2026-11-30T10:00:00", "/Date(1700000000000+0000)/"]))
    broken = []
    for n in range(draw(st.integers(min_value=0, max_value=4))):
        target = draw(st.sampled_from(["new", "stored", "garbage", "date", "odd text"]))
        if target == "odd text":  # a valid contact but for one text field: NUL, RTL, emoji, 100k characters
            field = draw(st.sampled_from(["Name", "EmailAddress", "ContactNumber", "TaxNumber", "Addresses",
                                          "Phones"]))
            value = draw(st.sampled_from(ODD_TEXT))
            item = valid_contact(str(draw(st.uuids())), f"Odd {n}")
            if field == "Addresses":
                item[field] = [{"AddressType": "STREET", "City": value, "AddressLine2": value}]
            elif field == "Phones":
                item[field] = [{"PhoneType": "DEFAULT", "PhoneNumber": value}]
            else:
                item[field] = value
            broken.append(item)
        elif target == "garbage":
            broken.append(draw(st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.none()))))
        elif target == "date":
            broken.append(dict(valid_contact(str(draw(st.uuids())), f"Dated {n}"), UpdatedDateUTC=draw(dates)))
        else:
            contact_id = "STORED" if target == "stored" else str(draw(st.uuids()))
            broken.append(draw(mutated(valid_contact(contact_id, f"Broken {n}"))))
    if good and draw(st.booleans()):  # a duplicated id: the same contact twice in a page
        broken.append(draw(mutated(dict(good[0]), keep=("ContactID",))))
    items = draw(st.permutations(good + broken))
    return good, items, draw(page("Contacts", items))


def _rows(practice_id: int) -> dict[str, tuple]:
    db.session.expire_all()
    return {row.contact_id: tuple(getattr(row, column) for column in COLUMNS)
            for row in db.session.execute(db.select(XeroContact).filter_by(practice_id=practice_id)).scalars()}


@examples(60)
@given(answer=answers())
def test_a_bad_contacts_page_never_loses_stored_contacts_and_keeps_the_good_ones(app_ctx, settings, fake_time,
                                                                                  answer):
    good, items, reply = answer
    with batched():
        connection = make_connection(tenant_id=str(uuid.uuid4()))
        practice_id = connection.practice_id
        stored_ids = [make_xero_contact(practice_id, name, status=status).contact_id for name, status in STORED]
        pull = make_contact_pull(practice_id, tenant_id=connection.tenant_id)
    started_before = pull.last_started_at
    body = reply.body.replace('"STORED"', json.dumps(stored_ids[0]))
    before = _rows(practice_id)
    client = XeroClient.for_connection(connection, settings, sleep=fake_time.sleep, clock=fake_time.clock)
    with RolledBack(), responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add_callback("GET", f"{settings.accounting_url}/Contacts",
                            callback=lambda request: Reply(body, reply.content_type).as_callback_result())
        try:
            result = pull_contacts(practice_id, connection.tenant_id, client)
        except XeroError as error:
            assert error.message and "Traceback" not in error.message
            assert _rows(practice_id) == before  # a page that could not be read changes nothing
            state = db.session.execute(db.select(ContactPull).filter_by(practice_id=practice_id)).scalar_one()
            assert state.last_started_at == started_before  # the next pull starts from the same point
            return
    after = _rows(practice_id)
    assert set(before) <= set(after)  # nothing deleted
    sent = json.loads(body)[("Contacts")]
    by_id: dict[str, list] = {}
    for item in sent:
        if isinstance(item, dict) and isinstance(item.get("ContactID"), str):
            by_id.setdefault(item["ContactID"].lower(), []).append(item)
    for item in good:
        assert item["ContactID"] in after, f"a good contact was not stored: {item['Name']}"
        if len(by_id[item["ContactID"]]) == 1:
            assert after[item["ContactID"]][0] == item["Name"]
    for contact_id, values in after.items():
        if values != before.get(contact_id):  # new or changed: its name is one the answer gave for that id
            names = {(i.get("Name") or "").strip() for i in by_id[contact_id] if isinstance(i.get("Name") or "", str)}
            assert values[0] in names
    assert result.skipped == len(result.warnings)
    assert all(w.startswith("A contact from Xero was skipped") and len(w) < 1000 for w in result.warnings)
    assert result.new == len(set(after) - set(before))
