"""Fixing clients' Xero contacts where the Billing Plan warns: the warning, the review list, search, link / unlink /
match again / Create in Xero (Xero mocked by `responses`), the Clients list's Xero column and filter, the client
page's section, and who may do it."""
import json
import re

import pytest
import requests
import responses

from tests.factories import TENANT_ID, make_client, make_connection, make_contact_pull, make_user, make_xero_contact
from tests.helpers import HTMX, login
from webapp.extensions import db
from webapp.models import Client, ClientContactLink, Role, XeroConnection, XeroContact
from webapp.services import contact_matching_ui as ui
from webapp.sync.contact_links import rematch_practice, unlink_client
from webapp.xero.settings import XeroSettings

NEW_CONTACT_ID = "0f6e5d4c-3b2a-4190-8877-665544332211"
# Xero's answer to a duplicate name: the 400 example of POST /Contacts in the OpenAPI spec (xero_accounting.yaml).
DUPLICATE_BODY = {
    "ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
    "Elements": [{
        "ContactID": "00000000-0000-0000-0000-000000000000", "Name": "Meadow Farm",
        "EmailAddress": "hello@meadowfarm.co.uk", "Addresses": [], "Phones": [], "ContactGroups": [],
        "ContactPersons": [], "HasValidationErrors": True,
        "ValidationErrors": [{"Message": "The contact name Meadow Farm is already assigned to another contact. "
                                         "The contact name must be unique across all active contacts."}]}],
}


@pytest.fixture
def practice(owner):
    """Xero connected and its contacts pulled; after matching: ABB01 linked, JON01 / KIN01 / SMI01 / SMI02 need
    review, MEA01 and YOR01 unmatched (YOR01 has a suggestion: York Street Pharmacy, St read as Street)."""
    pid = owner.practice_id
    make_connection(pid)
    make_contact_pull(pid)
    for name, fields in (("Abbott & Sons Ltd", {"email": "office@abbott.co.uk"}),
                         ("Jones Family Trust", {}), ("JONES FAMILY TRUST.", {}),
                         ("Kingfisher Hotels Ltd", {"status": "ARCHIVED"}), ("Smith & Co", {}),
                         ("York Street Pharmacy", {"postcode": "YO1 7HH", "email": "shop@yorkpharmacy.co.uk"}),
                         ("Quayside Lettings Ltd", {"email": "lets@quayside.co.uk"})):
        make_xero_contact(pid, name, **fields)
    for code, name, fields in (("ABB01", "Abbott and Sons Limited", {}), ("JON01", "Jones Family Trust", {}),
                               ("KIN01", "Kingfisher Hotels Ltd", {}),
                               ("MEA01", "Meadow Farm", {"email": "hello@meadowfarm.co.uk", "phone": "01904 000111",
                                                         "address_line": "Meadow Lane", "city": "York",
                                                         "postcode": "YO2 1AA", "company_number": "01234567",
                                                         "vat_number": "GB123456789"}),
                               ("SMI01", "Smith & Co", {}), ("SMI02", "Smith and Co", {}),
                               ("YOR01", "York St Pharmacy", {"postcode": "YO1 7HH"})):
        make_client(pid, name, code=code, **fields)
    rematch_practice(pid)
    return owner


def client_id(practice_id, code) -> int:
    return db.session.execute(db.select(Client.id).filter_by(practice_id=practice_id, code=code)).scalar_one()


def contact_id(practice_id, name) -> str:
    return db.session.execute(db.select(XeroContact.contact_id).filter_by(practice_id=practice_id, name=name)
                              ).scalar_one()


def link_of(practice_id, code) -> ClientContactLink | None:
    db.session.expire_all()
    return db.session.execute(db.select(ClientContactLink).filter_by(
        practice_id=practice_id, client_id=client_id(practice_id, code))).scalar_one_or_none()


def row_html(body: str, cid: int) -> str:
    """The review row of client `cid` in a response."""
    start = body.index(f'id="review-row-{cid}"')
    return body[start:body.index("</tr>", start)]


def oob_counts(body: str) -> str:
    found = re.search(r'<span id="xero-unmatched-counts"[^>]*hx-swap-oob="true"[^>]*>([^<]*)</span>', body)
    assert found, f"no out-of-band counts in {body[-600:]}"
    return found.group(1)


# --- the warning on the Billing Plan ----------------------------------------------------------------------------

def test_the_warning_counts_clients_in_plain_english(auth_client, practice):
    body = auth_client.get("/billing/plan").get_data(as_text=True)
    warnings = body[body.index('<div id="xero-warnings">'):body.index('<section id="billing-plan"')]
    assert "2 clients aren&#39;t matched to a Xero contact · 4 need review" in warnings
    assert 'hx-get="/contacts/review"' in warnings and 'href="/contacts/review"' in warnings  # htmx, and without


@pytest.mark.parametrize("unmatched, needs_review, text", [
    (6, 3, "6 clients aren't matched to a Xero contact · 3 need review"),
    (1, 1, "1 client isn't matched to a Xero contact · 1 needs review"),
    (1, 0, "1 client isn't matched to a Xero contact"),
    (0, 2, "2 clients need their Xero contact reviewed"),
    (0, 1, "1 client needs their Xero contact reviewed"),
    (0, 0, "Every active client is matched to a Xero contact."),
])
def test_the_warning_says_singular_and_plural_right(unmatched, needs_review, text):
    assert ui.Banner(unmatched, needs_review).text == text


def test_the_warning_is_hidden_when_nothing_needs_fixing(auth_client, practice):
    pid = practice.practice_id
    for code in ("JON01", "KIN01", "MEA01", "SMI01", "SMI02", "YOR01"):
        unlink_client(pid, client_id(pid, code), practice.id)  # each "has no Xero contact": settled
    body = auth_client.get("/billing/plan").get_data(as_text=True)
    assert '<div id="xero-warnings">' in body and 'id="xero-unmatched"' not in body


def test_the_warning_is_hidden_until_contacts_are_pulled_and_while_xero_is_not_connected(auth_client, owner):
    pid = owner.practice_id
    connection = make_connection(pid)
    make_client(pid, "Meadow Farm", code="MEA01")
    assert 'id="xero-unmatched"' not in auth_client.get("/billing/plan").get_data(as_text=True)  # never pulled
    make_contact_pull(pid)
    assert 'id="xero-unmatched"' in auth_client.get("/billing/plan").get_data(as_text=True)
    connection.status = "disconnected"
    db.session.commit()
    assert 'id="xero-unmatched"' not in auth_client.get("/billing/plan").get_data(as_text=True)


# --- the review list --------------------------------------------------------------------------------------------

def test_the_review_list_shows_where_each_client_stands_with_its_choices(auth_client, practice):
    pid = practice.practice_id
    response = auth_client.get("/contacts/review", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and 'id="contact-review"' in body
    codes = re.findall(r'data-client-code="([A-Z0-9]+)"', body)
    assert codes == ["JON01", "KIN01", "MEA01", "SMI01", "SMI02", "YOR01"]  # by name; ABB01 is linked
    jones = row_html(body, client_id(pid, "JON01"))
    assert "Needs review" in jones and "Rule: Same name" in jones
    assert "Jones Family Trust" in jones and "JONES FAMILY TRUST." in jones and jones.count(">Link</button>") == 2
    kingfisher = row_html(body, client_id(pid, "KIN01"))
    assert "archived in Xero: Xero refuses invoices to it" in kingfisher and ">Link</button>" not in kingfisher
    york = row_html(body, client_id(pid, "YOR01"))
    assert "Unmatched" in york and "York Street Pharmacy" in york and "suggestion" in york
    assert "St read as Street" in york and "same postcode YO1 7HH" in york
    assert york.count(">Create in Xero</button>") == 1 and 'hx-target="closest tr"' in york
    assert f'hx-get="/contacts/clients/{client_id(pid, "YOR01")}/search"' in york


def test_the_review_list_reads_as_many_rows_in_as_many_queries(practice, count_statements):
    pid = practice.practice_id
    with count_statements() as few:
        assert len(ui.review(pid).rows) == 6
    for n in range(10):
        make_client(pid, f"York Street Bakery {n}", code=f"BAK{n:02}", postcode="YO1 7HH")  # each with suggestions
    with count_statements() as many:
        assert len(ui.review(pid).rows) == 16
    assert len(many) == len(few)


def test_the_review_page_works_without_javascript(auth_client, practice):
    body = auth_client.get("/contacts/review").get_data(as_text=True)
    assert "<h1>Xero contacts to review</h1>" in body and 'id="xero-unmatched-counts"' in body
    assert "2 clients aren&#39;t matched to a Xero contact · 4 need review" in body


# --- link, unlink, match again -----------------------------------------------------------------------------------

def test_linking_a_suggestion_returns_the_row_and_the_warnings_new_counts(auth_client, practice):
    pid = practice.practice_id
    york = client_id(pid, "YOR01")
    pharmacy = contact_id(pid, "York Street Pharmacy")
    response = auth_client.post(f"/contacts/clients/{york}/link", headers=HTMX,
                                data={"contact_id": pharmacy, "context": "review"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    row = row_html(body, york)
    assert 'data-state="linked"' in row and "York Street Pharmacy" in row and "Rule: Linked by a person" in row
    assert "YOR01 is now linked to &#39;York Street Pharmacy&#39; in Xero." in row and ">Unlink</button>" in row
    assert oob_counts(body) == "1 client isn&#39;t matched to a Xero contact · 4 need review"
    link = link_of(pid, "YOR01")
    assert (link.outcome, link.contact_id, link.rule, link.is_manual, link.decided_by_id) == (
        "linked", pharmacy, "stored", True, practice.id)


def test_linking_without_javascript_redirects_back_with_a_flash(auth_client, practice):
    pid = practice.practice_id
    york = client_id(pid, "YOR01")
    response = auth_client.post(f"/contacts/clients/{york}/link",
                                data={"contact_id": contact_id(pid, "York Street Pharmacy")})
    assert (response.status_code, response.headers["Location"]) == (303, "/contacts/review")
    page = auth_client.get("/contacts/review").get_data(as_text=True)
    assert "YOR01 is now linked to &#39;York Street Pharmacy&#39; in Xero." in page
    response = auth_client.post(f"/contacts/clients/{york}/unlink", data={"context": "client"})
    assert response.headers["Location"] == f"/clients/{york}#client-xero"


def test_linking_refuses_a_missing_an_archived_or_another_practices_contact(auth_client, practice, other_owner):
    pid = practice.practice_id
    kin = client_id(pid, "KIN01")
    missing = auth_client.post(f"/contacts/clients/{kin}/link", headers=HTMX, data={"context": "review"})
    assert missing.status_code == 422 and "Choose the Xero contact" in missing.get_data(as_text=True)
    archived = auth_client.post(f"/contacts/clients/{kin}/link", headers=HTMX,
                                data={"contact_id": contact_id(pid, "Kingfisher Hotels Ltd")})
    assert archived.status_code == 422 and "archived in Xero" in archived.get_data(as_text=True)
    theirs = make_xero_contact(other_owner.practice_id, "Kingfisher Hotels (2024) Ltd")
    assert auth_client.post(f"/contacts/clients/{kin}/link", data={"contact_id": theirs.contact_id}
                            ).status_code == 404
    their_client = make_client(other_owner.practice_id, "Rival Client", code="RIV01")
    assert auth_client.post(f"/contacts/clients/{their_client.id}/link",
                            data={"contact_id": contact_id(pid, "Smith & Co")}).status_code == 404
    assert link_of(pid, "KIN01").outcome == "needs_review" and link_of(other_owner.practice_id, "RIV01") is None


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["browser", "htmx"])
def test_linking_a_contact_another_client_has_says_so_where_the_person_chose(auth_client, practice, headers):
    pid = practice.practice_id
    smi02 = client_id(pid, "SMI02")
    smith = contact_id(pid, "Smith & Co")
    auth_client.post(f"/contacts/clients/{client_id(pid, 'SMI01')}/link", data={"contact_id": smith})
    response = auth_client.post(f"/contacts/clients/{smi02}/link", headers=headers,
                                data={"contact_id": smith, "context": "review"})
    if headers:
        assert response.status_code == 422
        shown = response.get_data(as_text=True)
    else:  # a browser post goes back to the list, which says it
        assert (response.status_code, response.headers["Location"]) == (303, "/contacts/review")
        shown = auth_client.get("/contacts/review").get_data(as_text=True)
    assert "&#39;Smith &amp; Co&#39; is already linked to SMI01 Smith &amp; Co" in shown
    assert link_of(pid, "SMI02").outcome == "needs_review"


def test_unlinking_and_matching_again_update_the_row_and_the_counts(auth_client, practice):
    pid = practice.practice_id
    abbott = client_id(pid, "ABB01")
    response = auth_client.post(f"/contacts/clients/{abbott}/unlink", headers=HTMX, data={"context": "review"})
    body = response.get_data(as_text=True)
    assert 'data-state="no_contact"' in row_html(body, abbott) and ">Match automatically</button>" in body
    assert oob_counts(body) == "2 clients aren&#39;t matched to a Xero contact · 4 need review"  # settled either way
    assert (link_of(pid, "ABB01").contact_id, link_of(pid, "ABB01").is_manual) == (None, True)
    response = auth_client.post(f"/contacts/clients/{abbott}/rematch", headers=HTMX, data={"context": "review"})
    row = row_html(response.get_data(as_text=True), abbott)
    assert 'data-state="linked"' in row and "Rule: Same name" in row
    assert link_of(pid, "ABB01").is_manual is False


def test_an_action_on_the_client_page_returns_its_section_without_counts(auth_client, practice):
    pid = practice.practice_id
    york = client_id(pid, "YOR01")
    response = auth_client.post(f"/contacts/clients/{york}/link", headers=HTMX,
                                data={"contact_id": contact_id(pid, "York Street Pharmacy"), "context": "client"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="client-xero"')
    assert "hx-swap-oob" not in body and 'hx-target="#client-xero"' in body


# --- search -------------------------------------------------------------------------------------------------------

def test_searching_the_mirror_lists_contacts_with_link_buttons(auth_client, practice):
    pid = practice.practice_id
    mea = client_id(pid, "MEA01")
    response = auth_client.get(f"/contacts/clients/{mea}/search?q=smith&context=review", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert "Smith &amp; Co" in body and 'aria-label="Link MEA01 to Smith &amp; Co"' in body
    assert f'hx-post="/contacts/clients/{mea}/link"' in body and 'value="review"' in body
    archived = auth_client.get(f"/contacts/clients/{mea}/search?q=kingfisher", headers=HTMX).get_data(as_text=True)
    assert "No active Xero contact matches “kingfisher”." in archived
    held = auth_client.get(f"/contacts/clients/{mea}/search?q=abbott", headers=HTMX).get_data(as_text=True)
    assert "already linked to ABB01" in held


def test_an_empty_or_over_long_search_says_so_beside_the_field(auth_client, practice):
    mea = client_id(practice.practice_id, "MEA01")
    empty = auth_client.get(f"/contacts/clients/{mea}/search?q=++", headers=HTMX)
    assert empty.status_code == 200 and "Type part of a contact's name" in empty.get_data(as_text=True)
    long = auth_client.get(f"/contacts/clients/{mea}/search?q={'x' * 101}", headers=HTMX)
    assert long.status_code == 422 and "Search for at most 100 characters." in long.get_data(as_text=True)
    page = auth_client.get(f"/contacts/clients/{mea}/search?q={'x' * 101}")
    body = page.get_data(as_text=True)
    assert page.status_code == 422 and 'aria-invalid="true"' in body and 'id="contact-search-error"' in body


# --- Create in Xero -----------------------------------------------------------------------------------------------

@pytest.fixture
def xero(app):
    settings = XeroSettings.from_config(app.config)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked, f"{settings.accounting_url}/Contacts"


def created(body: dict) -> dict:
    """Xero's answer to creating the contact in `body`."""
    sent = body["Contacts"][0]
    return {"Id": "x", "Status": "OK", "Contacts": [{**sent, "ContactID": NEW_CONTACT_ID, "ContactStatus": "ACTIVE",
                                                     "UpdatedDateUTC": "/Date(1781600000000+0000)/",
                                                     "IsCustomer": False, "IsSupplier": False,
                                                     "HasValidationErrors": False}]}


def test_create_in_xero_sends_the_clients_details_stores_the_contact_and_links_it(auth_client, practice, xero):
    mocked, url = xero
    mocked.add_callback("POST", url, callback=lambda request: (200, {}, json.dumps(created(json.loads(request.body)))))
    pid = practice.practice_id
    mea = client_id(pid, "MEA01")
    response = auth_client.post(f"/contacts/clients/{mea}/create", headers=HTMX, data={"context": "review"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    [call] = mocked.calls
    assert json.loads(call.request.body) == {"Contacts": [{
        "Name": "Meadow Farm", "ContactNumber": "MEA01", "EmailAddress": "hello@meadowfarm.co.uk",
        "CompanyNumber": "01234567", "TaxNumber": "GB123456789",
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "01904 000111"}],
        "Addresses": [{"AddressType": "POBOX", "AddressLine1": "Meadow Lane", "City": "York", "PostalCode": "YO2 1AA"}],
    }]}
    key = call.request.headers["Idempotency-Key"]
    assert key.startswith("socket-create-contact-") and len(key) <= 128 and call.request.headers["xero-tenant-id"]
    db.session.expire_all()
    contact = db.session.execute(db.select(XeroContact).filter_by(practice_id=pid, contact_id=NEW_CONTACT_ID)
                                 ).scalar_one()
    assert (contact.name, contact.contact_number, contact.postcode) == ("Meadow Farm", "MEA01", "YO2 1AA")
    link = link_of(pid, "MEA01")
    assert (link.outcome, link.contact_id, link.rule, link.is_manual) == ("linked", NEW_CONTACT_ID, "stored", True)
    assert link.reason == "Created in Xero by Test User."
    assert 'data-state="linked"' in row_html(body, mea) and "Created in Xero by Test User." in body
    assert oob_counts(body) == "1 client isn&#39;t matched to a Xero contact · 4 need review"


def test_the_same_client_and_details_always_get_the_same_idempotency_key(practice):
    client = db.session.get(Client, client_id(practice.practice_id, "MEA01"))
    body = ui.contact_body(client)
    assert ui.idempotency_key(TENANT_ID, client.id, body) == ui.idempotency_key(TENANT_ID, client.id, dict(body))
    assert ui.idempotency_key(TENANT_ID, client.id, body) != ui.idempotency_key(
        TENANT_ID, client.id, {**body, "EmailAddress": "new@meadowfarm.co.uk"})


def test_a_duplicate_name_offers_the_existing_contact_and_stores_nothing(auth_client, practice, xero):
    mocked, url = xero
    mocked.post(url, status=400, json=DUPLICATE_BODY)
    pid = practice.practice_id
    existing = make_xero_contact(pid, "MEADOW FARM", email="accounts@meadowfarm.co.uk")
    mea = client_id(pid, "MEA01")
    contacts_before = db.session.execute(db.select(db.func.count()).select_from(XeroContact)).scalar_one()
    response = auth_client.post(f"/contacts/clients/{mea}/create", headers=HTMX, data={"context": "review"})
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    row = row_html(body, mea)
    assert "Xero already has a contact called &#39;Meadow Farm&#39;" in row and "nothing was created" in row
    assert "Already in Xero: <strong>MEADOW FARM</strong>" in row
    assert f'name="contact_id" value="{existing.contact_id}"' in row
    assert len(mocked.calls) == 1
    assert db.session.execute(db.select(db.func.count()).select_from(XeroContact)).scalar_one() == contacts_before
    assert link_of(pid, "MEA01").outcome == "unmatched"
    # The offered contact links with one click.
    linked = auth_client.post(f"/contacts/clients/{mea}/link", headers=HTMX,
                              data={"contact_id": existing.contact_id, "context": "review"})
    assert linked.status_code == 200 and link_of(pid, "MEA01").contact_id == existing.contact_id


@pytest.mark.parametrize("failure", [{"status": 503, "body": "Service Unavailable"},
                                     {"body": requests.exceptions.ReadTimeout("slow")},
                                     {"body": requests.exceptions.ConnectionError("down")}],
                         ids=["503", "timeout", "connection"])
def test_xero_unavailable_stores_nothing_and_is_not_retried(auth_client, practice, xero, failure):
    mocked, url = xero
    mocked.post(url, **failure)
    pid = practice.practice_id
    mea = client_id(pid, "MEA01")
    contacts_before = db.session.execute(db.select(db.func.count()).select_from(XeroContact)).scalar_one()
    response = auth_client.post(f"/contacts/clients/{mea}/create", headers=HTMX, data={"context": "review"})
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Xero did not answer in time, so Socket stored nothing" in row_html(body, mea)
    assert len(mocked.calls) == 1  # the web request never sits in retries
    assert db.session.execute(db.select(db.func.count()).select_from(XeroContact)).scalar_one() == contacts_before
    assert link_of(pid, "MEA01").outcome == "unmatched"
    browser = auth_client.post(f"/contacts/clients/{mea}/create")
    assert browser.status_code == 303
    assert "Xero did not answer in time" in auth_client.get("/contacts/review").get_data(as_text=True)


def test_create_in_xero_is_refused_before_calling_xero_when_it_cannot_work(auth_client, practice, xero):
    mocked, _ = xero
    pid = practice.practice_id
    abbott = auth_client.post(f"/contacts/clients/{client_id(pid, 'ABB01')}/create", headers=HTMX)
    assert abbott.status_code == 422 and "already linked" in abbott.get_data(as_text=True)
    db.session.execute(db.update(XeroConnection).values(status="needs_reconnect"))
    db.session.commit()
    refused = auth_client.post(f"/contacts/clients/{client_id(pid, 'MEA01')}/create", headers=HTMX)
    assert refused.status_code == 422 and "not connected to Xero" in refused.get_data(as_text=True)
    assert len(mocked.calls) == 0


# --- who may do it --------------------------------------------------------------------------------------------------

def test_staff_see_the_list_read_only_and_are_refused_every_change(client, practice, xero):
    mocked, _ = xero
    pid = practice.practice_id
    login(client, make_user(pid, Role.STAFF))
    body = client.get("/contacts/review", headers=HTMX).get_data(as_text=True)
    assert "Only owners and admins can link clients to Xero contacts." in body
    assert "<form" not in body and "<button" not in body
    detail = client.get(f"/clients/{client_id(pid, 'YOR01')}").get_data(as_text=True)
    section = detail[detail.index('<section id="client-xero"'):detail.index("</section>", detail.index(
        '<section id="client-xero"'))]
    assert "Only owners and admins can link clients to Xero contacts." in section and "<form" not in section
    before = {code: (link.outcome, link.contact_id, link.is_manual) for code in ("ABB01", "YOR01", "MEA01")
              for link in [link_of(pid, code)]}
    york, abbott, mea = client_id(pid, "YOR01"), client_id(pid, "ABB01"), client_id(pid, "MEA01")
    for path, data in ((f"/contacts/clients/{york}/link", {"contact_id": contact_id(pid, "York Street Pharmacy")}),
                       (f"/contacts/clients/{abbott}/unlink", {}), (f"/contacts/clients/{abbott}/rematch", {}),
                       (f"/contacts/clients/{mea}/create", {})):
        assert client.post(path, data=data).status_code == 403, path
        htmx = client.post(path, data=data, headers=HTMX)
        assert htmx.status_code == 403 and htmx.headers["HX-Retarget"] == "#htmx-alerts", path
    assert len(mocked.calls) == 0
    assert {code: (link.outcome, link.contact_id, link.is_manual) for code in ("ABB01", "YOR01", "MEA01")
            for link in [link_of(pid, code)]} == before


# --- the Clients list and the client page ------------------------------------------------------------------------

def chips(body: str) -> dict[str, str]:
    """Client code -> the Xero chip's label, for each row of the Clients list."""
    rows = re.findall(r'<tr id="client-\d+"[^>]*>\s*<td>([A-Z0-9]+)</td>.*?</tr>', body, re.S)
    found = {}
    for code in rows:
        start = body.index(f"<td>{code}</td>")
        chip = re.search(r'<span class="chip chip-[a-z_]+">([^<]+)</span>', body[start:body.index("</tr>", start)])
        found[code] = chip.group(1) if chip else None
    return found


def test_the_clients_list_shows_a_xero_chip_for_each_client(auth_client, practice):
    pid = practice.practice_id
    unlink_client(pid, client_id(pid, "SMI02"), practice.id)
    kingfisher = contact_id(pid, "Kingfisher Hotels Ltd")
    link = link_of(pid, "KIN01")
    link.contact_id = kingfisher  # a stored link to a contact since archived in Xero
    db.session.commit()
    body = auth_client.get("/clients/").get_data(as_text=True)
    assert '<th scope="col">Xero</th>' in body
    assert chips(body) == {"ABB01": "Linked", "JON01": "Needs review", "KIN01": "Archived in Xero",
                           "MEA01": "Unmatched", "SMI01": "Needs review", "SMI02": "No Xero contact",
                           "YOR01": "Unmatched"}


@pytest.mark.parametrize("state, codes", [("linked", ["ABB01"]), ("needs_review", ["JON01", "KIN01", "SMI01"]),
                                          ("unmatched", ["MEA01", "YOR01"]), ("no_contact", ["SMI02"]),
                                          ("", ["ABB01", "JON01", "KIN01", "MEA01", "SMI01", "SMI02", "YOR01"]),
                                          ("nonsense", ["ABB01", "JON01", "KIN01", "MEA01", "SMI01", "SMI02",
                                                        "YOR01"])])
def test_the_clients_list_filters_on_the_xero_column(auth_client, practice, state, codes):
    pid = practice.practice_id
    unlink_client(pid, client_id(pid, "SMI02"), practice.id)
    for headers in ({}, HTMX):
        body = auth_client.get(f"/clients/?xero={state}", headers=headers).get_data(as_text=True)
        assert list(chips(body)) == codes, headers
    page = auth_client.get(f"/clients/?xero={state}").get_data(as_text=True)
    if state == "linked":
        assert '<option value="linked" selected>Linked</option>' in page


def test_the_xero_filter_works_with_search_and_paging(app, auth_client, practice, monkeypatch):
    monkeypatch.setitem(app.config, "CLIENTS_PER_PAGE", 1)
    body = auth_client.get("/clients/?q=smi&xero=needs_review").get_data(as_text=True)
    assert list(chips(body)) == ["SMI01"]
    assert 'href="/clients/?q=smi&amp;xero=needs_review&amp;page=2"' in body
    second = auth_client.get("/clients/?q=smi&xero=needs_review&page=2", headers=HTMX).get_data(as_text=True)
    assert list(chips(second)) == ["SMI02"]
    none = auth_client.get("/clients/?q=abb&xero=unmatched", headers=HTMX).get_data(as_text=True)
    assert "No clients match “abb” with Xero status “Unmatched”." in none


def test_the_clients_list_has_no_xero_column_before_contacts_are_pulled(auth_client, owner):
    make_client(owner.practice_id)
    body = auth_client.get("/clients/").get_data(as_text=True)
    table = body[body.index('id="client-table"'):]
    assert ">Xero</th>" not in table and 'name="xero"' not in body and 'class="chip' not in table
    assert 'name="xero"' not in body


def test_an_archived_or_restored_row_keeps_its_xero_column(auth_client, practice):
    abbott = client_id(practice.practice_id, "ABB01")
    row = auth_client.post(f"/clients/{abbott}/archive", headers=HTMX).get_data(as_text=True)
    assert row.count("<td") == 7  # code, name, email, company no., status, Xero, actions
    row = auth_client.post(f"/clients/{abbott}/unarchive", headers=HTMX).get_data(as_text=True)
    assert 'class="chip chip-linked"' in row


def test_the_client_page_shows_its_link_the_rule_and_the_actions(auth_client, practice):
    pid = practice.practice_id
    body = auth_client.get(f"/clients/{client_id(pid, 'ABB01')}").get_data(as_text=True)
    section = body[body.index('<section id="client-xero"'):]
    section = section[:section.index("</section>")]
    assert "<h2 id=\"client-xero-heading\">Xero contact</h2>" in section
    assert 'chip-linked">Linked</span> <strong class="linked-contact">Abbott &amp; Sons Ltd</strong>' in section
    assert "Rule: Same name" in section and "Linked to &#39;Abbott &amp; Sons Ltd&#39; by name" in section
    assert ">Unlink</button>" in section and 'name="context" value="client"' in section
    york = auth_client.get(f"/clients/{client_id(pid, 'YOR01')}").get_data(as_text=True)
    assert "York Street Pharmacy" in york and ">Create in Xero</button>" in york
    assert f'id="contact-search-{client_id(pid, "YOR01")}-client"' in york
