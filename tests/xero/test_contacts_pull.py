"""Pulling contacts into the mirror with Xero mocked: paging, If-Modified-Since, counts, bad input, the sync run."""
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from jobs.sync_reference import run_reference_sync
from tests.factories import TENANT_ID, make_client
from tests.helpers import fresh, require_postgresql
from tests.xero.helpers import mock_reference, xero_contact
from webapp.extensions import db
from webapp.models import ClientContactLink, ContactPull, SyncRun, XeroContact
from webapp.sync.contact_links import record_manual_decision
from webapp.sync.contacts_pull import PAGE_SIZE, PullResult, parse_contact, pull_contacts, store_page
from webapp.xero import XeroClient, XeroUnavailable

FIRST = datetime(2026, 6, 15, 12, 0, 30, tzinfo=UTC)
SECOND = datetime(2026, 6, 16, 2, 0, tzinfo=UTC)


@pytest.fixture
def xero(settings, connection, fake_time):
    return XeroClient.for_connection(connection, settings, sleep=fake_time.sleep, clock=fake_time.clock)


def contacts_url(settings):
    return f"{settings.accounting_url}/Contacts"


def answer_pages(mocked, settings, *pages, **extra):
    """Xero answering GET /Contacts with `pages` in turn (a dict is sent as the whole body)."""
    answers = iter(pages)

    def reply(request):
        page = next(answers)
        body = page if isinstance(page, dict) else {"Contacts": page, **extra}
        return 200, {}, json.dumps(body)

    mocked.add_callback("GET", contacts_url(settings), callback=reply)


def sent(call) -> tuple[dict, str | None]:
    """The query parameters and If-Modified-Since header of one recorded call."""
    query = {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}
    return query, call.request.headers.get("If-Modified-Since")


def pull(connection, xero, at=FIRST, tenant_id=None):
    return pull_contacts(connection.practice_id, tenant_id or connection.tenant_id, xero, now=lambda: at)


def pull_state(practice_id) -> ContactPull:
    db.session.expire_all()
    return db.session.execute(db.select(ContactPull).filter_by(practice_id=practice_id)).scalar_one()


def mirror(practice_id) -> dict[str, XeroContact]:
    db.session.expire_all()
    return {row.name: row for row in db.session.execute(
        db.select(XeroContact).filter_by(practice_id=practice_id)).scalars()}


def test_the_first_pull_reads_every_page_of_1000_with_archived_contacts(settings, connection, xero, mocked):
    full_page = [xero_contact(f"Client {n:04}") for n in range(PAGE_SIZE)]
    answer_pages(mocked, settings, full_page, [xero_contact("Zed Ltd", ContactStatus="ARCHIVED")])
    result = pull(connection, xero)
    assert [sent(call) for call in mocked.calls] == [
        ({"page": "1", "pageSize": "1000", "includeArchived": "true"}, None),
        ({"page": "2", "pageSize": "1000", "includeArchived": "true"}, None)]
    assert (result.full, result.new, result.archived, result.calls) == (True, 1001, 1, 2)
    assert len(mirror(connection.practice_id)) == 1001
    state = pull_state(connection.practice_id)
    assert (state.tenant_id, state.last_started_at) == (TENANT_ID, FIRST)


def test_a_full_last_page_stops_at_xeros_page_count(settings, connection, xero, mocked):
    answer_pages(mocked, settings, [xero_contact(f"Client {n:04}") for n in range(PAGE_SIZE)],
                 pagination={"page": 1, "pageSize": 1000, "pageCount": 1, "itemCount": 1000})
    assert pull(connection, xero).calls == 1


def test_the_next_pull_asks_only_for_changes_and_a_quiet_day_costs_one_call(settings, connection, xero, mocked):
    answer_pages(mocked, settings, [xero_contact("Abbott & Sons Ltd")], [])
    pull(connection, xero, at=FIRST)
    result = pull(connection, xero, at=SECOND)
    query, since = sent(mocked.calls[1])
    assert query == {"page": "1", "pageSize": "1000", "includeArchived": "true"}
    assert since == "2026-06-15T11:59:30"  # the first pull's start, less a minute for clocks that differ
    assert (result.full, result.calls, result.new, result.changed) == (False, 1, 0, 0)
    assert pull_state(connection.practice_id).last_started_at == SECOND


def test_counts_new_changed_unchanged_archived_and_merged(settings, connection, xero, mocked):
    abbott, baker, carter, dunmore = (xero_contact(name) for name in (
        "Abbott & Sons Ltd", "Baker Street Dental", "Carter & Price LLP", "Dunmore Holdings"))
    answer_pages(mocked, settings, [abbott, baker, carter, dunmore], [
        abbott,  # the same again (If-Modified-Since is inclusive)
        dict(baker, EmailAddress="accounts@baker.co.uk", UpdatedDateUTC="/Date(1781600000000+0000)/"),
        dict(carter, ContactStatus="ARCHIVED"),
        dict(dunmore, ContactStatus="ARCHIVED", MergedToContactID=abbott["ContactID"]),
        xero_contact("Elm Tree Nurseries", TaxNumber="GB 123 4567 89")])
    pull(connection, xero, at=FIRST)
    result = pull(connection, xero, at=SECOND)
    assert result.counts() == {"contacts_full_pull": False, "contacts_new": 1, "contacts_changed": 3,
                               "contacts_unchanged": 1, "contacts_archived": 2, "contacts_merged": 1,
                               "contacts_skipped": 0, "contacts_calls": 1}
    rows = mirror(connection.practice_id)
    assert rows["Baker Street Dental"].email == "accounts@baker.co.uk"
    assert rows["Baker Street Dental"].updated_date_utc == datetime(2026, 6, 16, 8, 53, 20, tzinfo=UTC)
    assert (rows["Dunmore Holdings"].status, rows["Dunmore Holdings"].merged_to_contact_id) == (
        "ARCHIVED", abbott["ContactID"])
    assert rows["Elm Tree Nurseries"].tax_number == "GB 123 4567 89"


BAD_CONTACTS = [
    ({"Name": "No Id Ltd"}, "no ContactID"),
    (xero_contact("Bad Id Ltd", ContactID="not-a-guid"), "is not a Xero id"),
    (xero_contact("Number Name", Name=12345), "Name is not text"),
    (xero_contact("Deleted Ltd", ContactStatus="DELETED"), "ContactStatus 'DELETED'"),
    (xero_contact("Yes Ltd", IsCustomer="yes"), "IsCustomer is not true or false"),
    (xero_contact("Long Email Ltd", EmailAddress="a" * 250 + "@x.com"), "EmailAddress is longer than 255"),
    (xero_contact("Odd Address Ltd", Addresses="1 High St"), "Addresses is not a list"),
    (xero_contact("Bad Date Ltd", UpdatedDateUTC="yesterday"), "UpdatedDateUTC 'yesterday' is not a date"),
    (xero_contact("Bad Merge Ltd", MergedToContactID="merged"), "MergedToContactID 'merged'"),
    (xero_contact("Nul Ltd", Name="Nul\x00Ltd"), "Name contains a NUL character"),
    (xero_contact("Nul Email Ltd", EmailAddress="a\x00@b.com"), "EmailAddress contains a NUL character"),
    (xero_contact("Nul City Ltd", Addresses=[{"AddressType": "STREET", "City": "Le\x00eds"}]),
     "Addresses (STREET): City contains a NUL character"),
    (xero_contact("Far Future Ltd", UpdatedDateUTC="/Date(99999999999999999999+0000)/"), "is not a date"),
    ("a string", "not a contact object"),
]


def test_malformed_contacts_are_skipped_and_recorded_and_the_rest_stored(settings, connection, xero, mocked):
    good = [xero_contact("Abbott & Sons Ltd"), xero_contact("Baker Street Dental")]
    answer_pages(mocked, settings, [good[0], *(item for item, _ in BAD_CONTACTS), good[1]])
    result = pull(connection, xero)
    assert sorted(mirror(connection.practice_id)) == ["Abbott & Sons Ltd", "Baker Street Dental"]
    assert (result.new, result.skipped) == (2, len(BAD_CONTACTS))
    for warning, (_, why) in zip(result.warnings, BAD_CONTACTS, strict=True):
        assert warning.startswith("A contact from Xero was skipped (") and why in warning, warning
    assert "Name 'No Id Ltd'" in result.warnings[0]


@pytest.mark.parametrize("fields", [{"Name": "x" * 100_000}, {"ContactID": "y" * 100_000},
                                    {"ContactStatus": "z" * 100_000}, {"UpdatedDateUTC": "w" * 100_000}])
def test_a_warning_quotes_at_most_80_characters_of_a_huge_value(settings, connection, xero, mocked, fields):
    answer_pages(mocked, settings, [xero_contact("Huge Ltd", **fields)])
    [warning] = pull(connection, xero).warnings
    assert warning.startswith("A contact from Xero was skipped") and len(warning) < 400


@pytest.mark.parametrize("bad_answer", [{"Status": "OK"}, {"Contacts": None}, {"Contacts": {"ContactID": "x"}}])
def test_an_answer_without_a_contacts_list_changes_nothing(settings, connection, xero, mocked, bad_answer):
    answer_pages(mocked, settings, [xero_contact("Abbott & Sons Ltd")], bad_answer)
    pull(connection, xero, at=FIRST)
    with pytest.raises(XeroUnavailable, match="no Contacts list, so nothing more was changed"):
        pull(connection, xero, at=SECOND)
    assert list(mirror(connection.practice_id)) == ["Abbott & Sons Ltd"]
    assert pull_state(connection.practice_id).last_started_at == FIRST  # the next pull asks from the same point


@pytest.mark.parametrize("pagination", [True, "1", [1], None])
def test_a_pagination_block_that_is_not_an_object_is_ignored(settings, connection, xero, mocked, pagination):
    answer_pages(mocked, settings, [xero_contact("Abbott & Sons Ltd")], pagination=pagination)
    assert pull(connection, xero).new == 1


def test_a_first_answer_without_a_list_stores_nothing(settings, connection, xero, mocked):
    answer_pages(mocked, settings, {"Id": "x"})
    with pytest.raises(XeroUnavailable):
        pull(connection, xero)
    assert db.session.execute(db.select(ContactPull)).first() is None and mirror(connection.practice_id) == {}


def test_a_pull_that_stops_part_way_is_read_again_from_the_same_point(settings, connection, xero, mocked):
    answer_pages(mocked, settings, [xero_contact(f"Client {n:04}") for n in range(PAGE_SIZE)], {"Status": "OK"},
                 [xero_contact("Client 0000")])
    with pytest.raises(XeroUnavailable):
        pull(connection, xero, at=FIRST)
    assert len(mirror(connection.practice_id)) == PAGE_SIZE  # the page read is kept
    again = pull(connection, xero, at=SECOND)
    assert again.full and sent(mocked.calls[2])[1] is None


def test_the_postal_address_comes_first_and_the_default_phone(settings):
    street = {"AddressType": "STREET", "AddressLine1": "1 Mill Lane", "City": "Leeds", "PostalCode": "LS1 4DT"}
    pobox = {"AddressType": "POBOX", "AddressLine1": "PO Box 12", "AddressLine2": "Wharf St", "City": "York",
             "PostalCode": "YO1 7HH", "Country": "United Kingdom"}
    phones = [{"PhoneType": "MOBILE", "PhoneNumber": "07700 900123"},
              {"PhoneType": "DEFAULT", "PhoneCountryCode": "44", "PhoneAreaCode": "0113", "PhoneNumber": "496 0000"}]
    contact = parse_contact(xero_contact("Abbott", Addresses=[street, pobox], Phones=phones))
    assert (contact.address_line, contact.city, contact.postcode) == ("PO Box 12, Wharf St", "York", "YO1 7HH")
    assert contact.phone == "44 0113 496 0000"
    empty_pobox = {"AddressType": "POBOX", "AddressLine1": "", "City": "", "PostalCode": "", "Country": "UK"}
    contact = parse_contact(xero_contact("Abbott", Addresses=[empty_pobox, street], Phones=phones[:1]))
    assert (contact.address_line, contact.city, contact.postcode, contact.phone) == (
        "1 Mill Lane", "Leeds", "LS1 4DT", "07700 900123")


def test_another_organisation_starts_again_keeping_only_a_persons_decisions(settings, connection, xero, mocked):
    practice_id = connection.practice_id
    answer_pages(mocked, settings, [xero_contact("Old Org Contact")], [xero_contact("New Org Contact")])
    pull(connection, xero, at=FIRST)
    old = mirror(practice_id)["Old Org Contact"]
    automatic, manual = make_client(practice_id, "Abbott"), make_client(practice_id, "Baker")
    db.session.add(ClientContactLink(practice_id=practice_id, client_id=automatic.id, contact_id=old.contact_id,
                                     outcome="linked", rule="name", reason="Linked."))
    record_manual_decision(practice_id, manual.id, old.contact_id, None, "Linked by a person.")
    db.session.commit()
    result = pull(connection, xero, at=SECOND, tenant_id="99999999-2222-3333-4444-555555555555")
    assert result.full and sent(mocked.calls[1])[1] is None
    assert list(mirror(practice_id)) == ["New Org Contact"]
    assert [link.client_id for link in db.session.execute(db.select(ClientContactLink)).scalars()] == [manual.id]


def test_the_sync_run_records_the_pull_its_warnings_and_its_calls(settings, connection, mocked):
    mock_reference(mocked, settings, contacts=[xero_contact("Abbott & Sons Ltd"), {"Name": "No Id Ltd"}])
    run = SyncRun(practice_id=connection.practice_id, trigger="manual", status="queued", counts={})
    db.session.add(run)
    db.session.commit()
    assert run_reference_sync(run.id) == "succeeded"
    run = fresh(SyncRun, run.id)
    assert run.xero_calls == 4
    assert {key: run.counts[key] for key in ("contacts_full_pull", "contacts_new", "contacts_skipped",
                                             "contacts_calls", "contact_numbers_calls")} == {
        "contacts_full_pull": True, "contacts_new": 1, "contacts_skipped": 1, "contacts_calls": 1,
        "contact_numbers_calls": 0}
    assert run.counts["warnings"] == ["A contact from Xero was skipped (Name 'No Id Ltd'): it has no ContactID."]


def test_a_pull_that_wrote_many_contacts_refreshes_the_planners_statistics(settings, connection, xero, mocked,
                                                                          count_statements):
    """A first pull's thousands of new rows are analyzed at once (planned as an empty table, the joins on the mirror
    that follow read every contact once per link); a quiet pull analyzes nothing."""
    require_postgresql("ANALYZE")
    answer_pages(mocked, settings, [xero_contact(f"Client {n:04}") for n in range(600)], [])
    with count_statements() as first:
        pull(connection, xero, at=FIRST)
    with count_statements() as quiet:
        pull(connection, xero, at=SECOND)
    assert [s for s in first if s.startswith("ANALYZE")] == ["ANALYZE xero_contacts"]
    assert not [s for s in quiet if s.startswith("ANALYZE")]


def test_a_pages_new_contacts_are_inserted_in_one_statement(settings, connection, xero, mocked, count_statements):
    """A first pull of 10,000 contacts spent more in the ORM's unit of work than in reading them: each page's new
    rows go in one INSERT, and the mirror holds them as the ORM would have stored them."""
    answer_pages(mocked, settings, [xero_contact(f"Client {n:04}", ContactNumber=f"C{n:04}") for n in range(PAGE_SIZE)],
                 [xero_contact("Zed Ltd", ContactStatus="ARCHIVED", Phones=[{"PhoneType": "DEFAULT",
                                                                             "PhoneNumber": "123"}])])
    with count_statements() as statements:
        result = pull(connection, xero)
    inserts = [s for s in statements if s.startswith("INSERT INTO xero_contacts")]
    assert len(inserts) == 2 and not [s for s in inserts if "RETURNING" in s]  # one a page, no ORM objects back
    assert (result.new, result.archived, result.changed) == (1001, 1, 0)
    rows = mirror(connection.practice_id)
    zed = rows["Zed Ltd"]
    assert (zed.status, zed.phone, zed.is_customer, zed.synced_at) == ("ARCHIVED", "123", True, FIRST)
    assert rows["Client 0007"].contact_number == "C0007"


def test_storing_a_page_of_new_contacts_leaves_nothing_for_the_unit_of_work(connection):
    store_page(connection.practice_id, [xero_contact(f"Client {n:04}") for n in range(3)], PullResult(full=True),
               FIRST)
    assert not db.session.new
    assert len(mirror(connection.practice_id)) == 3
