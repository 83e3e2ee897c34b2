"""Posting invoices to Xero (mocked): batches of 50, per-invoice results, idempotency keys, looking up before
sending again after an unknown outcome, contacts created or held, runs that stop, and Xero's bad answers."""
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import make_client, make_connection, make_service
from tests.xero.posting_helpers import (
    PERIOD,
    FakeXero,
    Killed,
    decided_client,
    invoice_state,
    linked_client,
    make_invoice,
    ready_practice,
)
from webapp.extensions import db
from webapp.models import ClientContactLink, InvoicePosting, InvoiceStatus, XeroContact
from webapp.sync import invoice_posting
from webapp.sync.invoice_posting import idempotency_key, post_outstanding, where_references
from webapp.sync.posting_lock import PostingLock
from webapp.xero import XeroClient


@pytest.fixture
def factory(settings, fake_time):
    def make(connection, xero_settings):
        return XeroClient.for_connection(connection, xero_settings, sleep=fake_time.sleep, clock=fake_time.clock)
    return make


@pytest.fixture
def xero(mocked, settings):
    return FakeXero(mocked, settings)


@pytest.fixture
def practice_id(connection):
    ready_practice(connection.practice_id)
    return connection.practice_id


def post(app, practice_id, factory, **kwargs):
    return post_outstanding(practice_id, app.config, client_factory=factory, **kwargs)


def statuses(invoices) -> list[str]:
    return [invoice_state(invoice.id)[0] for invoice in invoices]


# -- the happy path ------------------------------------------------------------------------------------------------
def test_51_invoices_go_in_two_batches_each_with_its_own_result(app, practice_id, xero, factory):
    invoices = []
    for n in range(1, 52):
        client, _ = linked_client(practice_id, f"C{n:03}")
        invoices.append(make_invoice(practice_id, client, f"SKT-{n:06}"))
    result = post(app, practice_id, factory)

    bodies = xero.put_bodies()
    assert [len(body["Invoices"]) for body in bodies] == [50, 1]
    for request in xero.puts:
        assert parse_qs(urlsplit(request.url).query) == {"summarizeErrors": ["false"]}
        assert request.headers["Idempotency-Key"].startswith("socket-invoices-")
        assert len(request.headers["Idempotency-Key"]) <= 128
    assert len({request.headers["Idempotency-Key"] for request in xero.puts}) == 2
    assert (len(result.posted), result.outstanding, result.stopped, result.calls) == (51, 0, None, 2)
    assert set(statuses(invoices)) == {"posted"}
    status, posting = invoice_state(invoices[0].id)
    assert (posting.xero_number, posting.xero_status, posting.attempts, posting.outcome_unknown) == (
        "INV-0001", "DRAFT", 1, False)
    assert posting.xero_invoice_id == xero.invoices[0]["InvoiceID"] and posting.posted_at is not None
    assert str(posting.total) == "300.00" and str(posting.amount_due) == "300.00"
    assert posting.sent["lines"][0]["account_code"] == "200" and posting.sent["sub_total"] == "250.00"

    again = post(app, practice_id, factory)  # nothing outstanding: no call
    assert (again.calls, len(xero.puts), again.posted) == (0, 2, [])


def test_new_invoices_posting_rows_are_made_in_one_insert_with_their_defaults(app, practice_id, xero, factory,
                                                                           count_statements):
    invoices = []
    for n in range(1, 4):
        client, _ = linked_client(practice_id, f"C{n:03}")
        invoices.append(make_invoice(practice_id, client, f"SKT-{n:06}"))
    db.session.commit()
    with count_statements() as statements:
        postings = invoice_posting.postings_for(practice_id, invoices)
        assert not db.session.new  # nothing left for the unit of work to insert one by one
    assert len([s for s in statements if s.startswith("INSERT INTO invoice_xero_postings")]) == 1
    assert sorted(postings) == [invoice.id for invoice in invoices]
    posting = postings[invoices[0].id]
    assert (posting.practice_id, posting.attempts, posting.refusals, posting.outcome_unknown, posting.edited_in_xero,
            posting.xero_edits, posting.found_after_unknown, posting.sent) == (practice_id, 0, 0, False, False, [],
                                                                               False, None)
    assert invoice_posting.postings_for(practice_id, invoices) == postings  # found, not made again


def test_status_theme_and_lines_come_from_settings_and_the_invoice(app, connection, xero, factory):
    practice_id = connection.practice_id
    ready_practice(practice_id, xero_post_status="AUTHORISED")
    client, contact = linked_client(practice_id, "ABB01")
    make_invoice(practice_id, client, "SKT-000001", theme="3761ef2b-6a43-4f6d-9f39-1a1b2c3d4e5f", lines=[
        ("Monthly Bookkeeping — November 2026", "250.00", "200", "OUTPUT2"),
        ("Company Formation — November 2026", "150.00", "260", None)])
    post(app, practice_id, factory)
    [sent] = xero.put_bodies()[0]["Invoices"]
    assert sent["Status"] == "AUTHORISED" and sent["Contact"] == {"ContactID": contact.contact_id}
    assert sent["BrandingThemeID"] == "3761ef2b-6a43-4f6d-9f39-1a1b2c3d4e5f"
    assert sent["Reference"] == "November 2026 · SKT-000001"
    assert [(i["AccountCode"], i.get("TaxType"), i["UnitAmount"]) for i in sent["LineItems"]] == [
        ("200", "OUTPUT2", 250.0), ("260", None, 150.0)]


def test_per_invoice_refusals_fail_only_that_invoice(app, practice_id, xero, factory):
    good, _ = linked_client(practice_id, "GOO01")
    bad, bad_contact = linked_client(practice_id, "BAD01")
    invoices = [make_invoice(practice_id, good, "SKT-000001"), make_invoice(practice_id, bad, "SKT-000002")]
    xero.refuse.add(bad_contact.contact_id)
    result = post(app, practice_id, factory)
    assert statuses(invoices) == ["posted", "failed"]
    _, posting = invoice_state(invoices[1].id)
    assert posting.last_error == "Xero refused it: The contact is archived."
    assert (posting.outcome_unknown, posting.refusals) == (False, 1)
    assert [o.number for o in result.failed] == ["SKT-000002"] and result.outstanding == 1

    # Not sent again unless asked: the next run leaves it; a retry sends it with a new key.
    assert post(app, practice_id, factory).calls == 0
    xero.refuse.clear()
    retried = post(app, practice_id, factory, retry_failed=True)
    assert [o.number for o in retried.posted] == ["SKT-000002"] and statuses(invoices) == ["posted", "posted"]
    assert xero.puts[0].headers["Idempotency-Key"] != xero.puts[1].headers["Idempotency-Key"]


def test_the_key_depends_on_the_content_and_refusals_only(app):
    body = {"Invoices": [{"Reference": "November 2026 · SKT-000001", "LineItems": []}]}
    assert idempotency_key("t1", body) == idempotency_key("t1", json.loads(json.dumps(body)))
    assert idempotency_key("t1", body) != idempotency_key("t2", body)
    assert idempotency_key("t1", body, [0]) != idempotency_key("t1", body, [1])
    other = {"Invoices": [{"Reference": "November 2026 · SKT-000002", "LineItems": []}]}
    assert idempotency_key("t1", body) != idempotency_key("t1", other)
    assert len(idempotency_key("t1", body)) == 80


# -- never twice ---------------------------------------------------------------------------------------------------
def test_a_lost_answer_is_replayed_by_the_clients_retry_with_the_same_key(app, practice_id, xero, factory):
    client, _ = linked_client(practice_id, "ABB01")
    invoice = make_invoice(practice_id, client, "SKT-000001")
    xero.lose = 1
    result = post(app, practice_id, factory)
    assert len(xero.invoices) == 1 and len(xero.puts) == 2
    assert xero.puts[0].headers["Idempotency-Key"] == xero.puts[1].headers["Idempotency-Key"]
    assert [o.number for o in result.posted] == ["SKT-000001"] and statuses([invoice]) == ["posted"]


def test_answers_lost_every_time_leave_it_posting_and_the_next_run_finds_it(app, practice_id, xero, factory):
    client, _ = linked_client(practice_id, "ABB01")
    invoice = make_invoice(practice_id, client, "SKT-000001")
    xero.lose = 10
    first = post(app, practice_id, factory)
    assert first.stopped and "could not be reached" in first.stopped and first.outstanding == 1
    status, posting = invoice_state(invoice.id)
    assert (status, posting.outcome_unknown, len(xero.invoices)) == ("posting", True, 1)
    assert "no answer was received" in posting.last_error

    xero.lose = 0
    second = post(app, practice_id, factory)
    assert [o.number for o in second.found] == ["SKT-000001"] and second.posted == []
    assert len(xero.puts) == 4 and len(xero.invoices) == 1  # looked up, never sent again
    where = parse_qs(urlsplit(xero.gets[0].url).query)["where"][0]
    assert where == 'Type=="ACCREC" AND (Reference=="November 2026 · SKT-000001")'
    status, posting = invoice_state(invoice.id)
    assert (status, posting.found_after_unknown, posting.xero_number) == ("posted", True, "INV-0001")


def test_a_worker_killed_after_xero_committed_leaves_exactly_one_invoice_each(app, practice_id, xero, factory):
    invoices = []
    for n in range(1, 61):
        client, _ = linked_client(practice_id, f"C{n:03}")
        invoices.append(make_invoice(practice_id, client, f"SKT-{n:06}"))
    xero.kill = 1  # the first batch of 50 is committed in Xero; the worker dies before it hears back
    with pytest.raises(Killed):
        post(app, practice_id, factory)
    assert statuses(invoices).count("posting") == 50 and statuses(invoices).count("raised") == 10
    lock = PostingLock(practice_id)
    assert lock.acquire()  # the lock was released on the way out
    lock.release()

    result = post(app, practice_id, factory)
    assert len(result.found) == 50 and len(result.posted) == 10 and result.outstanding == 0
    assert sorted(xero.references()) == sorted(f"November 2026 · SKT-{n:06}" for n in range(1, 61))
    assert set(statuses(invoices)) == {"posted"}


def test_an_unknown_outcome_not_found_in_xero_is_sent_again_in_the_same_batch_with_the_same_key(
        app, practice_id, xero, factory):
    clients = [linked_client(practice_id, f"C{n:03}")[0] for n in range(1, 4)]
    invoices = [make_invoice(practice_id, client, f"SKT-{n:06}") for n, client in enumerate(clients, start=1)]
    xero.invoice_answer = {"Oops": []}  # an answer Socket cannot read...
    xero.keys.clear()
    first = post(app, practice_id, factory)
    assert len(first.unknown) == 3 and set(statuses(invoices)) == {"posting"}
    key = xero.puts[0].headers["Idempotency-Key"]
    # ...and Xero had in fact created nothing (forget what the fake did).
    xero.invoices.clear()
    xero.keys.clear()
    second = post(app, practice_id, factory)
    assert len(second.posted) == 3 and xero.puts[1].headers["Idempotency-Key"] == key
    assert len(xero.gets) == 1 and len(xero.invoices) == 3


def test_a_lookup_by_id_when_xero_gave_one(app, practice_id, xero, factory):
    client, _ = linked_client(practice_id, "ABB01")
    invoice = make_invoice(practice_id, client, "SKT-000001")
    post(app, practice_id, factory)
    # Pretend the invoice was left posting with its id known (e.g. a status write that did not finish).
    _, posting = invoice_state(invoice.id)
    posting.invoice.status = InvoiceStatus.POSTING.value
    db.session.commit()
    result = post(app, practice_id, factory)
    assert [o.number for o in result.found] == ["SKT-000001"]
    assert parse_qs(urlsplit(xero.gets[0].url).query)["IDs"] == [posting.xero_invoice_id]


# -- bad answers ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("answer, why", [
    ({"Status": "OK"}, "no Invoices list"),
    ({"Invoices": [{"Reference": "November 2026 · SKT-000001", "Status": "DRAFT"}]}, "no InvoiceID"),
    ({"Invoices": [{"Reference": "November 2026 · SKT-000001", "InvoiceID": 12}]}, "no InvoiceID"),
    ({"Invoices": [{"Reference": "November 2026 · SKT-000001", "InvoiceID": "00000000-0000-0000-0000-000000000000"}]},
     "no InvoiceID"),
    ({"Invoices": [{"Reference": "November 2026 · SKT-000001", "InvoiceID": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "Total": "lots"}]}, "not an amount"),
    ({"Invoices": [{"Reference": "November 2026 · SKT-000001", "InvoiceID": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "InvoiceNumber": ["INV-1"]}]}, "not text"),
    ({"Invoices": [{"Reference": "Someone else's", "InvoiceID": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}]},
     "not an invoice object"),
    (["not", "an", "object"], "no Invoices list"),
    ({"Invoices": [{"Reference": "November 2026 · SKT-000001", "InvoiceID": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "Total": 1e30}]}, "not an amount Socket can store"),
    ({"Invoices": [{"Reference": "November 2026 · SKT-000001", "InvoiceID": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "AmountDue": 12345678901.0}]}, "not an amount Socket can store"),
    ({"Invoices": [{"Reference": "November 2026 · SKT-000001", "InvoiceID": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
                    "Status": ["PAID"]}]}, "is not one Socket knows"),
])
def test_an_unreadable_answer_leaves_the_invoice_outstanding_to_be_looked_up(app, practice_id, xero, factory,
                                                                             answer, why):
    client, _ = linked_client(practice_id, "ABB01")
    invoice = make_invoice(practice_id, client, "SKT-000001")
    xero.invoice_answer = answer
    result = post(app, practice_id, factory)
    status, posting = invoice_state(invoice.id)
    assert (status, posting.outcome_unknown, result.outstanding) == ("posting", True, 1)
    assert why in posting.last_error or why in " ".join(result.warnings), posting.last_error
    assert result.posted == [] and len(result.unknown) == 1

    post(app, practice_id, factory)  # Xero did create it: the next run finds it by its Reference
    status, posting = invoice_state(invoice.id)
    assert (status, posting.found_after_unknown, len(xero.invoices)) == ("posted", True, 1)


@pytest.mark.parametrize("number", ["INV-" + "9" * 300, "INV\x00-1"])
def test_an_invoice_number_socket_cannot_store_is_left_out_and_the_invoice_posted(app, practice_id, xero, factory,
                                                                                  number):
    client, _ = linked_client(practice_id, "ABB01")
    invoice = make_invoice(practice_id, client, "SKT-000001")
    invoice_id = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    xero.invoice_answer = {"Invoices": [{"Reference": "November 2026 · SKT-000001", "InvoiceID": invoice_id,
                                         "InvoiceNumber": number, "Status": "DRAFT", "Total": 300.0}]}
    result = post(app, practice_id, factory)
    status, posting = invoice_state(invoice.id)
    assert (status, posting.xero_invoice_id, posting.xero_number, str(posting.total)) == (
        "posted", invoice_id, None, "300.00")
    assert [outcome.message for outcome in result.posted] == [invoice_id]


def test_a_refusal_message_with_a_nul_is_stored_without_it(app, practice_id, xero, factory):
    client, _ = linked_client(practice_id, "ABB01")
    invoice = make_invoice(practice_id, client, "SKT-000001")
    xero.invoice_answer = {"Invoices": [{"Reference": "November 2026 · SKT-000001", "HasErrors": True,
                                         "ValidationErrors": [{"Message": "The contact\x00 is archived."},
                                                              {"Message": 42}, "junk"]}]}
    post(app, practice_id, factory)
    status, posting = invoice_state(invoice.id)
    assert (status, posting.last_error) == ("failed", "Xero refused it: The contact is archived.")


def test_a_whole_batch_refused_with_400_is_failed_with_xeros_message(app, practice_id, mocked, settings, factory):
    client, _ = linked_client(practice_id, "ABB01")
    invoice = make_invoice(practice_id, client, "SKT-000001")
    mocked.put(f"{settings.accounting_url}/Invoices", status=400, json={
        "ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": "JSON for post data was invalid"})
    result = post(app, practice_id, factory)
    status, posting = invoice_state(invoice.id)
    assert (status, posting.outcome_unknown) == ("failed", False)
    assert "JSON for post data was invalid" in posting.last_error and len(result.failed) == 1


def test_a_400_naming_one_element_fails_it_and_leaves_the_others_for_the_next_run(app, practice_id, mocked, settings,
                                                                                   factory):
    invoices = [make_invoice(practice_id, linked_client(practice_id, f"C{n}")[0], f"SKT-00000{n}") for n in (1, 2)]
    mocked.put(f"{settings.accounting_url}/Invoices", status=400, json={
        "ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": []}, {"ValidationErrors": [{"Message": "Account code '999' is not a "
                                                                                 "valid code for this document."}]}]})
    post(app, practice_id, factory)
    assert statuses(invoices) == ["raised", "failed"]
    assert "not a valid code" in invoice_state(invoices[1].id)[1].last_error


# -- runs that stop ------------------------------------------------------------------------------------------------
def test_xero_unavailable_stops_the_run_and_the_rest_waits(app, practice_id, mocked, settings, factory):
    invoices = []
    for n in range(1, 61):
        invoices.append(make_invoice(practice_id, linked_client(practice_id, f"C{n:03}")[0], f"SKT-{n:06}"))
    mocked.put(f"{settings.accounting_url}/Invoices", status=503, json={"Title": "Service Unavailable"})
    result = post(app, practice_id, factory)
    assert "could not be reached or kept failing" in result.stopped and result.outstanding == 60
    assert len(mocked.calls) == 4  # the client's own retries of the first batch, then the run stopped
    assert statuses(invoices).count("posting") == 50 and statuses(invoices).count("raised") == 10


def test_a_long_rate_limit_stops_the_run(app, practice_id, mocked, settings, factory):
    make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    mocked.put(f"{settings.accounting_url}/Invoices", status=429,
               headers={"Retry-After": "3600", "X-Rate-Limit-Problem": "day"})
    result = post(app, practice_id, factory)
    assert "day limit" in result.stopped and len(mocked.calls) == 1


def test_a_disconnect_stops_the_run_with_a_clear_reason(app, practice_id, mocked, settings, factory):
    make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    mocked.put(f"{settings.accounting_url}/Invoices", status=403,
               json={"Type": "AuthenticationUnsuccessful", "Title": "Forbidden",
                     "Detail": "AuthenticationUnsuccessful"})
    result = post(app, practice_id, factory)
    assert "reconnect in Practice Settings > Integrations" in result.stopped


def test_nothing_is_sent_when_xero_is_not_connected(app, app_ctx, mocked, factory):
    connection = make_connection(status="needs_reconnect")
    ready_practice(connection.practice_id)
    invoice = make_invoice(connection.practice_id, linked_client(connection.practice_id, "ABB01")[0], "SKT-000001")
    result = post(app, connection.practice_id, factory)
    assert "reconnect" in result.stopped and result.outstanding == 1 and len(mocked.calls) == 0
    assert statuses([invoice]) == ["raised"]


def test_another_run_holding_the_lock_means_this_one_does_nothing(app, practice_id, xero, factory):
    make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    other = PostingLock(practice_id)
    assert other.acquire()
    try:
        result = post(app, practice_id, factory)
    finally:
        other.release()
    assert result.busy and xero.puts == []
    assert len(post(app, practice_id, factory).posted) == 1


def test_the_lease_works_where_advisory_locks_do_not(app, practice_id):
    first, second = PostingLock(practice_id, use_advisory=False), PostingLock(practice_id, use_advisory=False)
    assert first.acquire() and not second.acquire()
    first.renew()
    first.release()
    assert second.acquire()
    second.release()


# -- contacts at posting -------------------------------------------------------------------------------------------
def test_a_client_with_no_candidate_gets_its_contact_created_and_linked(app, practice_id, xero, factory):
    client = decided_client(practice_id, "NEW01", "unmatched", name="New Client Ltd", email="hi@new.example",
                            company_number="01234567", vat_number="GB123456789", address_line="1 High St",
                            city="Leeds", postcode="LS1 1AA")
    invoice = make_invoice(practice_id, client, "SKT-000001")
    result = post(app, practice_id, factory)
    [request] = xero.contact_posts
    assert parse_qs(urlsplit(request.url).query) == {"summarizeErrors": ["false"]}
    assert request.headers["Idempotency-Key"].startswith("socket-invoice-contacts-")
    assert json.loads(request.body)["Contacts"] == [{
        "Name": "New Client Ltd", "ContactNumber": "NEW01", "EmailAddress": "hi@new.example",
        "CompanyNumber": "01234567", "TaxNumber": "GB123456789",
        "Addresses": [{"AddressType": "POBOX", "AddressLine1": "1 High St", "City": "Leeds", "PostalCode": "LS1 1AA"}]}]
    contact_id = xero.contacts[0]["ContactID"]
    assert xero.put_bodies()[0]["Invoices"][0]["Contact"] == {"ContactID": contact_id}
    assert result.contacts_created == 1 and statuses([invoice]) == ["posted"]
    db.session.expire_all()
    link = db.session.execute(db.select(ClientContactLink).filter_by(client_id=client.id)).scalar_one()
    assert (link.outcome, link.contact_id, link.rule, link.is_manual) == ("linked", contact_id, "contact_number", False)
    assert "when its invoice SKT-000001 was posted" in link.reason
    mirrored = db.session.execute(db.select(XeroContact).filter_by(contact_id=contact_id)).scalar_one()
    assert (mirrored.name, mirrored.contact_number) == ("New Client Ltd", "NEW01")


def test_with_creation_turned_off_the_invoice_is_held(app, connection, xero, factory):
    ready_practice(connection.practice_id, create_missing_contacts=False)
    client = decided_client(connection.practice_id, "NEW01", "unmatched")
    invoice = make_invoice(connection.practice_id, client, "SKT-000001")
    result = post(app, connection.practice_id, factory)
    status, posting = invoice_state(invoice.id)
    assert status == "held" and xero.contact_posts == [] and xero.puts == []
    assert posting.held_reason == ("No Xero contact: link NEW01 to a contact on the Billing Plan or turn on 'Create "
                                   "missing contacts in Xero' in Billing Settings.")
    assert result.outstanding == 1 and result.calls == 0


def test_a_duplicate_name_holds_the_invoice_naming_the_existing_contact(app, practice_id, xero, factory):
    linked_client(practice_id, "OTH01", "Acme Widgets Ltd")  # the existing contact, linked to another client
    client = decided_client(practice_id, "ACM02", "unmatched", name="ACME Widgets Ltd")
    invoice = make_invoice(practice_id, client, "SKT-000001")
    xero.refuse_names.add("ACME Widgets Ltd")
    post(app, practice_id, factory)
    status, posting = invoice_state(invoice.id)
    assert status == "held" and xero.puts == []
    assert posting.held_reason.startswith("Xero already has a contact called 'Acme Widgets Ltd'")
    assert "link ACM02 to 'Acme Widgets Ltd' on the Billing Plan" in posting.held_reason


def test_needs_review_is_held_with_the_reason_and_candidates_never_a_new_contact(app, practice_id, xero, factory):
    _, first = linked_client(practice_id, "SMI01", "Smith & Co")
    client = decided_client(practice_id, "SMI02", "needs_review", candidates=[first.contact_id],
                            reason="Needs review: two clients claim one contact.")
    invoice = make_invoice(practice_id, client, "SKT-000001")
    result = post(app, practice_id, factory)
    status, posting = invoice_state(invoice.id)
    assert status == "held" and xero.contact_posts == [] and xero.puts == []
    assert "two clients claim one contact." in posting.held_reason and "Candidates: 'Smith & Co'." in \
        posting.held_reason
    assert [o.number for o in result.held] == ["SKT-000001"]


def test_a_held_invoice_is_posted_once_its_problem_is_fixed(app, practice_id, xero, factory):
    client = decided_client(practice_id, "NOC01", "unmatched", manual=True)  # a person said: no Xero contact
    invoice = make_invoice(practice_id, client, "SKT-000001")
    post(app, practice_id, factory)
    status, posting = invoice_state(invoice.id)
    assert status == "held" and "A person said NOC01 has no Xero contact" in posting.held_reason
    _, contact = linked_client(practice_id, "ZZZ99", "The Right Contact")
    link = db.session.execute(db.select(ClientContactLink).filter_by(client_id=client.id)).scalar_one()
    link.contact_id, link.outcome = contact.contact_id, "linked"
    db.session.commit()
    result = post(app, practice_id, factory)
    assert [o.number for o in result.posted] == ["SKT-000001"]
    status, posting = invoice_state(invoice.id)
    assert (status, posting.held_reason) == ("posted", None)


def test_an_archived_linked_contact_holds_and_only_that_invoice(app, practice_id, xero, factory):
    archived, _ = linked_client(practice_id, "KIN01", "Kingfisher", status="ARCHIVED")
    fine, _ = linked_client(practice_id, "ABB01")
    invoices = [make_invoice(practice_id, archived, "SKT-000001"), make_invoice(practice_id, fine, "SKT-000002")]
    post(app, practice_id, factory)
    assert statuses(invoices) == ["held", "posted"]
    assert "'Kingfisher' is archived in Xero" in invoice_state(invoices[0].id)[1].held_reason


def test_a_client_never_matched_is_matched_from_the_mirror_first(app, practice_id, xero, factory):
    client = make_client(practice_id, "Brand New Ltd", code="BRA01")  # created after the last sync
    make_invoice(practice_id, client, "SKT-000001")
    post(app, practice_id, factory)
    link = db.session.execute(db.select(ClientContactLink).filter_by(client_id=client.id)).scalar_one()
    assert link.outcome == "linked" and len(xero.contacts) == 1  # unmatched by matching, so created


# -- scope ---------------------------------------------------------------------------------------------------------
def test_period_and_invoice_scope(app, practice_id, xero, factory):
    client, _ = linked_client(practice_id, "ABB01")
    october = make_invoice(practice_id, client, "SKT-000001", period=PERIOD.replace(month=10))
    november = make_invoice(practice_id, client, "SKT-000002")
    result = post(app, practice_id, factory, period=PERIOD)
    assert [o.number for o in result.posted] == ["SKT-000002"] and statuses([october, november]) == ["raised",
                                                                                                      "posted"]
    assert [o.number for o in post(app, practice_id, factory, invoice_ids=[october.id]).posted] == ["SKT-000001"]


def test_where_references_refuses_what_it_cannot_quote():
    assert where_references(["A", "B"]) == 'Type=="ACCREC" AND (Reference=="A" OR Reference=="B")'
    with pytest.raises(ValueError):
        where_references(['say "hi"'])


def test_postings_rows_are_one_per_invoice(app, practice_id, xero, factory):
    client, _ = linked_client(practice_id, "ABB01")
    invoice = make_invoice(practice_id, client, "SKT-000001")
    xero.lose = 10
    post(app, practice_id, factory)
    xero.lose = 0
    post(app, practice_id, factory)
    assert db.session.execute(db.select(db.func.count(InvoicePosting.id)).filter_by(
        invoice_id=invoice.id)).scalar_one() == 1
    assert invoice_posting.BATCH_SIZE == 50


def test_an_unconfirmed_send_to_the_previous_organisation_waits_for_a_person(app, practice_id, xero, factory):
    invoice = make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    xero.lose = 10
    post(app, practice_id, factory)
    _, posting = invoice_state(invoice.id)
    posting.sent = {**posting.sent, "tenant_id": "the-old-organisation"}  # as if the practice switched since
    db.session.commit()
    result = post(app, practice_id, factory)
    status, posting = invoice_state(invoice.id)
    assert status == "failed" and "another Xero organisation" in posting.last_error and xero.gets == []
    assert [o.number for o in result.failed] == ["SKT-000001"]
    xero.lose = 0
    retried = post(app, practice_id, factory, invoice_ids=[invoice.id])  # Retry: posted to this organisation
    assert [o.number for o in retried.posted] == ["SKT-000001"]


# -- the rest of the edges -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("element, why", [
    ({"InvoiceID": "not-a-guid"}, "no InvoiceID"),
    ({"InvoiceID": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "Status": "LOST"}, "Status 'LOST'"),
    ({"InvoiceID": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "AmountDue": "NaN"}, "not an amount"),
    ({"InvoiceID": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "AmountPaid": "x"}, "not an amount"),
    ({"InvoiceID": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "Total": True}, "not an amount"),
])
def test_read_created_says_what_is_wrong(element, why):
    with pytest.raises(invoice_posting._Unreadable, match=why):
        invoice_posting.read_created(element)


def test_read_created_takes_what_it_can():
    created = invoice_posting.read_created({"InvoiceID": "3FA85F64-5717-4562-B3FC-2C963F66AFA6", "Total": "12.5",
                                            "UpdatedDateUTC": "not a date"})
    assert created.invoice_id == "3fa85f64-5717-4562-b3fc-2c963f66afa6" and str(created.total) == "12.50"
    assert created.updated_at is None and created.amount_due is None


def test_an_answer_without_references_is_read_by_position(app, practice_id, mocked, settings, factory):
    invoice = make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    mocked.put(f"{settings.accounting_url}/Invoices", json={"Invoices": [
        {"InvoiceID": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "InvoiceNumber": "INV-9", "Status": "DRAFT"}]})
    post(app, practice_id, factory)
    status, posting = invoice_state(invoice.id)
    assert (status, posting.xero_number) == ("posted", "INV-9")


def test_a_lookup_xero_cannot_answer_stops_the_run_before_anything_is_sent(app, practice_id, mocked, settings,
                                                                             factory):
    invoice = make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001",
                           status=InvoiceStatus.POSTING.value)
    mocked.get(f"{settings.accounting_url}/Invoices", json={"Nothing": []})
    result = post(app, practice_id, factory)
    assert "could not be reached or kept failing" in result.stopped and statuses([invoice]) == ["posting"]
    assert [call.request.method for call in mocked.calls] == ["GET"]


def test_two_invoices_in_xero_with_one_reference_are_recorded_once_with_a_warning(app, practice_id, xero, factory):
    invoice = make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    xero.lose = 10
    post(app, practice_id, factory)
    xero.lose = 0
    xero.invoices.append({**xero.invoices[0], "InvoiceID": "3fa85f64-5717-4562-b3fc-2c963f66afa6"})
    xero.invoices.append({**xero.invoices[0], "InvoiceID": "4fa85f64-5717-4562-b3fc-2c963f66afa6",
                          "Status": "DELETED"})
    result = post(app, practice_id, factory)
    assert [o.number for o in result.found] == ["SKT-000001"]
    assert result.warnings == ["Xero holds 2 invoices with the Reference 'November 2026 · SKT-000001'; Socket "
                               "recorded the first. Check Xero for a duplicate."]
    assert invoice_state(invoice.id)[1].xero_invoice_id == xero.invoices[0]["InvoiceID"]


def test_a_found_invoice_xero_describes_badly_stays_outstanding(app, practice_id, xero, factory):
    invoice = make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    xero.lose = 10
    post(app, practice_id, factory)
    xero.lose = 0
    xero.invoices[0]["InvoiceNumber"] = 42
    result = post(app, practice_id, factory)
    status, posting = invoice_state(invoice.id)
    assert status == "posting" and "could not be read" in posting.last_error and len(result.unknown) == 1
    assert len(xero.puts) == 4  # never sent again


def test_an_archived_code_is_replaced_and_the_line_keeps_what_was_sent(app, practice_id, xero, factory):
    service = make_service(practice_id, "Bookkeeping")  # no code of its own: the recurring default
    billing = db.session.get(invoice_posting.BillingSettings, practice_id)
    billing.recurring_account_code = "210"
    db.session.commit()
    invoice = make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001",
                           lines=[("Bookkeeping — November 2026", "250.00", "215", "OUTPUT2")],
                           services={0: service.id})
    post(app, practice_id, factory)
    assert xero.put_bodies()[0]["Invoices"][0]["LineItems"][0]["AccountCode"] == "210"
    db.session.expire_all()
    line = db.session.get(type(invoice), invoice.id).lines[0]
    assert (line.account_code, line.tax_type) == ("210", "OUTPUT2")


def test_a_post_status_xero_does_not_know_holds_rather_than_sends(app, connection, xero, factory):
    ready_practice(connection.practice_id, xero_post_status="APPROVED")
    invoice = make_invoice(connection.practice_id, linked_client(connection.practice_id, "ABB01")[0], "SKT-000001")
    post(app, connection.practice_id, factory)
    status, posting = invoice_state(invoice.id)
    assert status == "held" and "could not put this invoice into Xero's form" in posting.held_reason
    assert xero.puts == []


def test_contacts_xero_cannot_create_now_stop_the_run(app, practice_id, mocked, settings, factory):
    invoice = make_invoice(practice_id, decided_client(practice_id, "NEW01", "unmatched"), "SKT-000001")
    mocked.post(f"{settings.accounting_url}/Contacts", status=503)
    result = post(app, practice_id, factory)
    assert "posting stopped" in result.stopped and statuses([invoice]) == ["raised"]


def test_any_other_xero_error_stops_the_run(app, practice_id, mocked, settings, factory):
    make_invoice(practice_id, linked_client(practice_id, "ABB01")[0], "SKT-000001")
    mocked.put(f"{settings.accounting_url}/Invoices", status=409, json={"Detail": "A request with this "
                                                                        "Idempotency-Key is already in progress"})
    result = post(app, practice_id, factory)
    assert result.stopped.startswith("Xero answered with an error") and "already in progress" in result.stopped


def test_a_lock_held_elsewhere_is_waited_for_then_given_up(app, practice_id):
    holder = PostingLock(practice_id)
    assert holder.acquire()
    slept = []
    clock = iter([0.0, 0.5, 1.5, 2.5, 3.5])
    waiter = PostingLock(practice_id, wait=2.0, sleep=slept.append, clock=lambda: next(clock))
    try:
        assert waiter.acquire() is False and slept == [1.0, 1.0]
    finally:
        holder.release()
    with PostingLock(practice_id) as held:
        assert held
