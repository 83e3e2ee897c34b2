"""The review list's "Create all in Xero": the clients with no likely contact in Xero created in one call and linked,
only those the person was shown and only while still creatable, with Xero's refusals and failures said beside the
button and nothing lost."""
import json
import re

import pytest
import requests
import responses

from tests.factories import make_client, make_connection, make_contact_pull, make_user, make_xero_contact
from tests.helpers import HTMX, login
from webapp.extensions import db
from webapp.models import Client, ClientContactLink, Role, XeroConnection, XeroContact
from webapp.sync.contact_links import rematch_practice
from webapp.xero.settings import XeroSettings


@pytest.fixture
def practice(owner):
    """Connected, contacts pulled: MEA01 and NEW01 have nothing likely in Xero; YOR01 has a suggestion (York Street
    Pharmacy); JON01 needs review (two contacts of its name); ABB01 is linked."""
    pid = owner.practice_id
    make_connection(pid)
    make_contact_pull(pid)
    for name, fields in (("Abbott & Sons Ltd", {}), ("Jones Family Trust", {}), ("JONES FAMILY TRUST.", {}),
                         ("York Street Pharmacy", {"postcode": "YO1 7HH"})):
        make_xero_contact(pid, name, **fields)
    for code, name, fields in (("ABB01", "Abbott and Sons Limited", {}), ("JON01", "Jones Family Trust", {}),
                               ("MEA01", "Meadow Farm", {"email": "hello@meadowfarm.co.uk"}),
                               ("NEW01", "Newton Bakery", {"email": "bread@newton.co.uk"}),
                               ("YOR01", "York St Pharmacy", {"postcode": "YO1 7HH"})):
        make_client(pid, name, code=code, **fields)
    rematch_practice(pid)
    return owner


@pytest.fixture
def xero(app):
    settings = XeroSettings.from_config(app.config)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield mocked, f"{settings.accounting_url}/Contacts"


def answer(refuse: tuple[str, ...] = ()):
    """Xero's answer to POST /Contacts?summarizeErrors=false: each contact created, or refused when named."""
    def callback(request):
        elements = []
        for position, sent in enumerate(json.loads(request.body)["Contacts"]):
            if sent["Name"] in refuse:
                elements.append({**sent, "HasValidationErrors": True, "StatusAttributeString": "ERROR",
                                 "ValidationErrors": [{"Message": "Email address must be valid."}]})
            else:
                elements.append({**sent, "ContactID": f"0f6e5d4c-3b2a-4190-8877-66554433221{position}",
                                 "ContactStatus": "ACTIVE", "UpdatedDateUTC": "/Date(1781600000000+0000)/",
                                 "HasValidationErrors": False})
        return 200, {}, json.dumps({"Id": "x", "Status": "OK", "Contacts": elements})
    return callback


def ids(practice_id, *codes) -> list[str]:
    return [str(db.session.execute(db.select(Client.id).filter_by(practice_id=practice_id, code=code)).scalar_one())
            for code in codes]


def link_of(practice_id, code) -> ClientContactLink:
    db.session.expire_all()
    return db.session.execute(db.select(ClientContactLink).join(Client, Client.id == ClientContactLink.client_id)
                              .filter(Client.practice_id == practice_id, Client.code == code)).scalar_one()


def bulk_form(body: str) -> str:
    """The bulk form's HTML, its whitespace collapsed."""
    start = body.index('id="review-bulk-create"')
    return " ".join(body[start:body.index("</form>", start)].split())


def result(body: str) -> str:
    """What the press did, said above the list."""
    found = re.search(r'<p id="review-bulk-result"[^>]*>([^<]*)</p>', body)
    assert found, f"no result in {body[:600]}"
    return " ".join(found.group(1).split())


def test_the_review_list_offers_to_create_exactly_the_clients_with_nothing_likely_in_xero(auth_client, practice):
    body = auth_client.get("/contacts/review", headers=HTMX).get_data(as_text=True)
    form = bulk_form(body)
    assert "2 clients have no likely contact in Xero: Meadow Farm, Newton Bakery." in form
    assert sorted(re.findall(r'name="client_id" value="(\d+)"', form)) == sorted(
        ids(practice.practice_id, "MEA01", "NEW01"))
    assert "Create all 2 in Xero" in form and 'hx-confirm="Create 2 new contacts in Xero' in form
    assert 'name="csrf_token"' in form


def test_creating_them_sends_one_call_links_each_as_the_persons_decision_and_updates_the_counts(
        auth_client, practice, xero):
    mocked, url = xero
    mocked.add_callback("POST", url, callback=answer())
    pid = practice.practice_id
    response = auth_client.post("/contacts/create-missing", headers=HTMX,
                                data={"client_id": ids(pid, "MEA01", "NEW01")})
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body
    [call] = mocked.calls
    assert "summarizeErrors=false" in call.request.url and call.request.headers["Idempotency-Key"]
    assert [c["Name"] for c in json.loads(call.request.body)["Contacts"]] == ["Meadow Farm", "Newton Bakery"]
    for code in ("MEA01", "NEW01"):
        link = link_of(pid, code)
        assert (link.outcome, link.is_manual, link.reason) == ("linked", True, "Created in Xero by Test User.")
        assert db.session.execute(db.select(XeroContact).filter_by(practice_id=pid, contact_id=link.contact_id)
                                  ).scalar_one().contact_number == code
    assert result(body) == "Created 2 contacts in Xero and linked their clients: Meadow Farm, Newton Bakery."
    assert 'data-client-code="MEA01"' not in body and 'data-client-code="YOR01"' in body
    counts = re.search(r'<span id="xero-unmatched-counts"[^>]*hx-swap-oob="true"[^>]*>([^<]*)</span>', body)
    assert counts and counts.group(1) == "1 client isn&#39;t matched to a Xero contact · 1 needs review"


def test_only_the_clients_shown_and_still_creatable_are_created(auth_client, practice, other_owner, xero):
    mocked, url = xero
    mocked.add_callback("POST", url, callback=answer())
    pid = practice.practice_id
    stranger = make_client(other_owner.practice_id, "Elsewhere Ltd", code="ELS01")
    asked = ids(pid, "MEA01", "YOR01", "JON01", "ABB01") + [str(stranger.id)]
    body = auth_client.post("/contacts/create-missing", headers=HTMX, data={"client_id": asked}).get_data(as_text=True)
    [call] = mocked.calls
    assert [c["Name"] for c in json.loads(call.request.body)["Contacts"]] == ["Meadow Farm"]
    assert "4 of the clients shown had been linked or given a contact to choose from meanwhile" in body
    assert link_of(pid, "YOR01").outcome == "unmatched" and link_of(pid, "JON01").outcome == "needs_review"
    assert link_of(pid, "NEW01").outcome == "unmatched"  # not asked for: not created


def test_a_contact_xero_refuses_is_explained_and_the_others_are_linked(auth_client, practice, xero):
    mocked, url = xero
    mocked.add_callback("POST", url, callback=answer(refuse=("Newton Bakery",)))
    pid = practice.practice_id
    body = auth_client.post("/contacts/create-missing", headers=HTMX,
                            data={"client_id": ids(pid, "MEA01", "NEW01")}).get_data(as_text=True)
    assert "Created 1 contact in Xero and linked its client: Meadow Farm." in body
    assert "Newton Bakery: Xero refused to create a contact for NEW01 (Email address must be valid)" in body
    assert "then try again." in body and "post again" not in body  # nothing is being posted here
    assert link_of(pid, "MEA01").outcome == "linked" and link_of(pid, "NEW01").outcome == "unmatched"
    assert 'data-client-code="NEW01"' in body  # still on the list, to fix


@pytest.mark.parametrize("failure", [{"status": 503, "body": "Service Unavailable"},
                                     {"body": requests.exceptions.ReadTimeout("slow")}], ids=["503", "timeout"])
def test_xero_not_answering_stores_nothing_says_so_beside_the_button_and_is_not_retried(
        auth_client, practice, xero, failure):
    mocked, url = xero
    mocked.post(url, **failure)
    pid = practice.practice_id
    contacts_before = db.session.execute(db.select(db.func.count()).select_from(XeroContact)).scalar_one()
    response = auth_client.post("/contacts/create-missing", headers=HTMX,
                                data={"client_id": ids(pid, "MEA01", "NEW01")})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Xero did not answer in time, so Socket stored nothing" in result(body)
    assert len(mocked.calls) == 1
    assert db.session.execute(db.select(db.func.count()).select_from(XeroContact)).scalar_one() == contacts_before
    assert link_of(pid, "MEA01").outcome == "unmatched" and link_of(pid, "NEW01").outcome == "unmatched"


def test_bad_input_and_a_broken_connection_are_refused_before_calling_xero(auth_client, practice, xero):
    mocked, _ = xero
    pid = practice.practice_id
    for data in ({}, {"client_id": ["abc", "-1", "9" * 30]}):
        response = auth_client.post("/contacts/create-missing", headers=HTMX, data=data)
        assert response.status_code == 422
        assert result(response.get_data(as_text=True)) == "Choose the clients to create in Xero."
    db.session.execute(db.update(XeroConnection).values(status="needs_reconnect"))
    db.session.commit()
    refused = auth_client.post("/contacts/create-missing", headers=HTMX, data={"client_id": ids(pid, "MEA01")})
    assert refused.status_code == 422 and "not connected to Xero" in refused.get_data(as_text=True)
    assert len(mocked.calls) == 0


def test_without_javascript_it_redirects_to_the_review_page_with_a_flash(auth_client, practice, xero):
    mocked, url = xero
    mocked.add_callback("POST", url, callback=answer())
    response = auth_client.post("/contacts/create-missing", data={"client_id": ids(practice.practice_id, "MEA01")})
    assert response.status_code == 303 and response.headers["Location"].endswith("/contacts/review")
    assert "Created 1 contact in Xero and linked its client: Meadow Farm." in auth_client.get(
        "/contacts/review").get_data(as_text=True)


def test_staff_are_not_offered_it_and_are_refused(client, practice, xero):
    mocked, _ = xero
    pid = practice.practice_id
    login(client, make_user(pid, Role.STAFF))
    assert 'id="review-bulk-create"' not in client.get("/contacts/review", headers=HTMX).get_data(as_text=True)
    response = client.post("/contacts/create-missing", headers=HTMX, data={"client_id": ids(pid, "MEA01")})
    assert response.status_code == 403
    assert link_of(pid, "MEA01").outcome == "unmatched" and len(mocked.calls) == 0
