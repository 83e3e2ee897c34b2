"""Clients: identifier normalisers, list/search/paging, create/edit with validation, archive, engagements."""
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.factories import make_client, make_engagement, make_menu, make_service, make_theme, make_user
from tests.helpers import HTMX, login
from webapp.extensions import db
from webapp.models import BillingSettings, Client, Engagement, Role
from webapp.services import clients as client_service


def _field_html(body: str, name: str) -> str:
    """The rendered wrapper of one form field (its input and its message)."""
    match = re.search(rf'<div class="field" id="field-{name}">(.*?)</div>', body, re.S)
    assert match, f"field {name} not rendered"
    return match.group(1)


VALID_FORM = {
    "name": "Carter and Price LLP", "code": "car01", "email": "Partners@CarterPrice.co.uk", "phone": "0113 496 0000",
    "address_line": "1 Park Row", "city": "Leeds", "postcode": "LS1 5AB", "company_number": "oc 301122",
    "vat_number": "123 4567 89", "consolidate_recurring": "", "consolidate_one_off": "", "invoice_day": "",
    "payment_terms_days": "",
}


# --- normalisers (reused by the contact matcher) ------------------------------------------------

@pytest.mark.parametrize("typed, stored", [
    ("1234567", "01234567"), ("01234567", "01234567"), ("12", "00000012"), ("sc123456", "SC123456"),
    (" SC 123 456 ", "SC123456"), ("oc301122", "OC301122"),
])
def test_company_number_is_normalised(typed, stored):
    assert client_service.normalise_company_number(typed) == stored


@pytest.mark.parametrize("typed", ["123456789", "ABC12345", "S1234567", "SC12345", "SC1234567", "12-34567", ""])
def test_impossible_company_numbers_are_refused(typed):
    with pytest.raises(client_service.InvalidIdentifier):
        client_service.normalise_company_number(typed)


def test_company_number_key_pads_digits_and_ignores_case_and_spaces():
    assert client_service.company_number_key("9876543") == client_service.company_number_key("09876543")
    assert client_service.company_number_key("sc 123456") == "SC123456"
    assert client_service.company_number_key(None) == ""


@pytest.mark.parametrize("typed, stored", [
    ("GB123456789", "GB123456789"), ("123456789", "GB123456789"), ("gb 123 4567 89", "GB123456789"),
    ("GB123456789012", "GB123456789012"), ("123 456 789 012", "GB123456789012"),
])
def test_vat_number_is_normalised(typed, stored):
    assert client_service.normalise_vat_number(typed) == stored


@pytest.mark.parametrize("typed", ["GB12345678", "GB1234567890", "XI123456789", "DE123456789", "GB12345678A", ""])
def test_impossible_vat_numbers_are_refused(typed):
    with pytest.raises(client_service.InvalidIdentifier):
        client_service.normalise_vat_number(typed)


def test_vat_number_key_makes_the_gb_prefix_optional():
    assert client_service.vat_number_key("gb 123 4567 89") == client_service.vat_number_key("123456789")


def test_email_is_normalised_without_dns_and_bad_ones_refused():
    assert client_service.normalise_email(" Jo@Example.COM ") == "Jo@example.com"
    assert client_service.normalise_email("office@no-such-domain-socket-4f2a.co.uk") == \
        "office@no-such-domain-socket-4f2a.co.uk"
    with pytest.raises(client_service.InvalidIdentifier):
        client_service.normalise_email("not-an-email")


# --- access -------------------------------------------------------------------------------------

def test_pages_render_for_a_signed_in_user(auth_client, owner):
    client = make_client(owner.practice_id)
    for url in ("/clients/", "/clients/new", f"/clients/{client.id}"):
        response = auth_client.get(url)
        assert response.status_code == 200, url
        assert "<html" in response.get_data(as_text=True)


def test_anonymous_users_are_sent_to_login(client, owner):
    existing = make_client(owner.practice_id)
    for url in ("/clients/", "/clients/new", f"/clients/{existing.id}", f"/clients/{existing.id}/engagements/new"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_another_practices_ids_are_404_on_every_client_route(auth_client, other_owner):
    theirs = make_client(other_owner.practice_id, code="RIV01", name="Rival client")
    service = make_service(other_owner.practice_id)
    engagement = make_engagement(theirs, service, price="1.00", start=date(2026, 1, 1))
    c, e = theirs.id, engagement.id
    gets = [f"/clients/{c}", f"/clients/{c}/engagements", f"/clients/{c}/engagements/new",
            f"/clients/{c}/engagements/{e}/edit"]
    posts = [f"/clients/{c}", f"/clients/{c}/archive", f"/clients/{c}/unarchive", f"/clients/{c}/validate/code",
             f"/clients/{c}/engagements", f"/clients/{c}/engagements/{e}", f"/clients/{c}/engagements/{e}/end"]
    for url in gets:
        assert auth_client.get(url).status_code == 404, url
    for url in posts:
        assert auth_client.post(url, data={"name": "x", "code": "X", "end_date": "2026-02-01"}).status_code == 404, url
    db.session.refresh(theirs)
    assert theirs.status == "active" and theirs.name == "Rival client"


def test_engagement_of_another_client_in_the_same_practice_is_404(auth_client, owner):
    first = make_client(owner.practice_id, code="A1", name="First")
    second = make_client(owner.practice_id, code="B1", name="Second")
    service = make_service(owner.practice_id)
    engagement = client_service.save_engagement(first, service, None, date(2026, 1, 1))
    assert auth_client.get(f"/clients/{second.id}/engagements/{engagement.id}/edit").status_code == 404
    assert auth_client.post(f"/clients/{second.id}/engagements/{engagement.id}/end",
                            data={"end_date": "2026-03-31"}).status_code == 404
    db.session.refresh(engagement)
    assert engagement.end_date is None


def test_staff_may_manage_clients(client, owner):
    staff = make_user(owner.practice_id, Role.STAFF)
    login(client, staff)
    response = client.post("/clients/new", data=VALID_FORM)
    assert response.status_code == 303
    assert db.session.execute(sa.select(Client).filter_by(code="CAR01")).scalar_one().practice_id == owner.practice_id


def test_post_without_csrf_token_is_refused(auth_client, owner):
    response = auth_client.post("/clients/new", data=VALID_FORM, csrf=False)
    assert response.status_code == 400
    existing = make_client(owner.practice_id)
    assert auth_client.post(f"/clients/{existing.id}/archive", headers=HTMX, csrf=False).status_code == 400
    assert db.session.execute(sa.select(sa.func.count(Client.id))).scalar_one() == 1
    db.session.refresh(existing)
    assert existing.status == "active"


# --- list, search, paging -----------------------------------------------------------------------

def test_search_matches_name_code_and_email(auth_client, owner):
    make_client(owner.practice_id, code="ABB01", name="Abbott & Sons Ltd", email="office@abbott.co.uk")
    make_client(owner.practice_id, code="BAK01", name="Baker Street Dental", email="reception@bakerst.co.uk")
    make_client(owner.practice_id, code="CAR01", name="Carter and Price LLP", email="partners@carterprice.co.uk")
    for query, expected in (("baker", "BAK01"), ("car0", "CAR01"), ("abbott.co", "ABB01")):
        body = auth_client.get(f"/clients/?q={query}").get_data(as_text=True)
        codes = set(re.findall(r"<td>([A-Z]{3}\d\d)</td>", body))
        assert codes == {expected}, query
    body = auth_client.get("/clients/?q=nobody").get_data(as_text=True)
    assert "No clients match" in body


def test_search_treats_like_wildcards_literally(auth_client, owner):
    make_client(owner.practice_id, code="ABB01", name="Abbott")
    body = auth_client.get("/clients/?q=%25").get_data(as_text=True)
    assert "No clients match" in body


def test_htmx_search_gets_the_table_fragment_and_full_requests_the_page(auth_client, owner):
    make_client(owner.practice_id, code="ABB01", name="Abbott & Sons Ltd")
    fragment = auth_client.get("/clients/?q=abb", headers=HTMX)
    page = auth_client.get("/clients/?q=abb")
    assert fragment.status_code == page.status_code == 200
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'id="client-table"' in fragment.get_data(as_text=True)
    assert "<html" in page.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in page.headers["Vary"]


def test_search_box_is_a_live_htmx_search(auth_client):
    body = auth_client.get("/clients/").get_data(as_text=True)
    assert 'hx-trigger="input changed delay:300ms"' in body
    assert 'hx-target="#client-table"' in body


def test_paging_keeps_the_query(app, auth_client, owner, monkeypatch):
    monkeypatch.setitem(app.config, "CLIENTS_PER_PAGE", 2)
    for number in range(5):
        make_client(owner.practice_id, code=f"PAG0{number}", name=f"Paged client {number}")
    make_client(owner.practice_id, code="OTH01", name="Other")
    first = auth_client.get("/clients/?q=paged").get_data(as_text=True)
    assert "Paged client 0" in first and "Paged client 2" not in first
    assert "/clients/?q=paged&amp;page=2" in first and "/clients/?q=paged&amp;page=3" in first
    second = auth_client.get("/clients/?q=paged&page=2").get_data(as_text=True)
    assert "Paged client 2" in second and "Paged client 3" in second and "Paged client 0" not in second
    last = auth_client.get("/clients/?q=paged&page=99").get_data(as_text=True)
    assert "Paged client 4" in last and "5 clients" in last


def test_the_pager_links_a_window_of_pages_not_every_page(app, auth_client, owner, monkeypatch):
    monkeypatch.setitem(app.config, "CLIENTS_PER_PAGE", 1)
    for number in range(12):
        make_client(owner.practice_id, code=f"PAG{number:02}", name=f"Paged client {number:02}")
    body = auth_client.get("/clients/?page=6").get_data(as_text=True)
    pager = re.search(r'<nav aria-label="Pages" class="pager">(.*?)</nav>', body, re.S).group(1)
    linked = [int(n) for n in re.findall(r'<a href="/clients/\?page=(\d+)"', pager)]
    assert linked == [5, 1, 4, 5, 7, 8, 12, 7]  # previous, the numbers, next
    assert '<strong aria-current="page">6</strong>' in pager and pager.count("…") == 2
    assert 'rel="prev">← Previous</a>' in pager and 'rel="next">Next →</a>' in pager


def test_the_list_takes_the_same_statements_for_more_clients_and_reads_no_engagements(
        app, auth_client, owner, count_statements, monkeypatch):
    monkeypatch.setitem(app.config, "CLIENTS_PER_PAGE", 5)
    books = make_service(owner.practice_id, "Books")
    make_engagement(make_client(owner.practice_id, code="ONE01", name="One"), books)
    with count_statements() as one_client:
        assert auth_client.get("/clients/").status_code == 200
    for number in range(30):
        make_engagement(make_client(owner.practice_id, code=f"MOR{number:02}", name=f"More {number}"), books)
    with count_statements() as many_clients:
        assert auth_client.get("/clients/?page=3").status_code == 200
    assert len(many_clients) == len(one_client)
    assert not [statement for statement in many_clients if "FROM engagements" in statement]
    assert sum("FROM xero_contact_pulls" in statement for statement in many_clients) == 1


def test_archived_clients_are_hidden_unless_asked_for(auth_client, owner):
    make_client(owner.practice_id, code="ACT01", name="Active One")
    make_client(owner.practice_id, code="ARC01", name="Archived One", status="archived")
    default = auth_client.get("/clients/").get_data(as_text=True)
    assert "Active One" in default and "Archived One" not in default
    both = auth_client.get("/clients/?archived=1").get_data(as_text=True)
    assert "Active One" in both and "Archived One" in both


def test_other_practices_clients_never_listed(auth_client, other_owner):
    make_client(other_owner.practice_id, code="RIV01", name="Rival client")
    assert "Rival client" not in auth_client.get("/clients/?archived=1").get_data(as_text=True)


# --- archive ------------------------------------------------------------------------------------

def test_archive_with_htmx_swaps_the_row_in_place(auth_client, owner):
    client = make_client(owner.practice_id)
    response = auth_client.post(f"/clients/{client.id}/archive", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.strip().startswith(f'<tr id="client-{client.id}"') and "<html" not in body
    assert "Archived" in body and "Restore" in body
    db.session.refresh(client)
    assert client.status == "archived"
    assert "Abbott" not in auth_client.get("/clients/").get_data(as_text=True)

    response = auth_client.post(f"/clients/{client.id}/unarchive", headers=HTMX)
    assert "Archive</button>" in response.get_data(as_text=True)
    db.session.refresh(client)
    assert client.status == "active"


def test_archive_without_javascript_redirects_back(auth_client, owner):
    client = make_client(owner.practice_id)
    response = auth_client.post(f"/clients/{client.id}/archive", data={"next": f"/clients/{client.id}"})
    assert response.status_code == 303 and response.headers["Location"] == f"/clients/{client.id}"
    db.session.refresh(client)
    assert client.status == "archived"
    response = auth_client.post(f"/clients/{client.id}/unarchive", data={"next": "https://evil.example/"})
    assert response.status_code == 303 and response.headers["Location"] == "/clients/"
    db.session.refresh(client)
    assert client.status == "active"


# --- create and edit ----------------------------------------------------------------------------

def test_create_client_stores_normalised_identifiers(auth_client, owner):
    response = auth_client.post("/clients/new", data=VALID_FORM)
    assert response.status_code == 303
    client = db.session.execute(sa.select(Client).filter_by(practice_id=owner.practice_id)).scalar_one()
    assert response.headers["Location"] == f"/clients/{client.id}"
    assert (client.code, client.company_number, client.vat_number, client.email) == (
        "CAR01", "OC301122", "GB123456789", "Partners@carterprice.co.uk")
    assert client.consolidate_recurring is None and client.consolidate_one_off is None


@pytest.mark.parametrize("field, value, message", [
    ("email", "partners-at-carterprice", "@"),
    ("company_number", "123456789", "8 characters"),
    ("vat_number", "GB 1234", "9 digits"),
    ("name", "", "Enter the client"),
])
def test_invalid_fields_are_refused_with_input_kept_and_message_by_the_field(auth_client, field, value, message):
    data = dict(VALID_FORM, **{field: value})
    response = auth_client.post("/clients/new", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    html = _field_html(body, field)
    assert message in html and 'aria-invalid="true"' in html
    assert f'value="{value}"' in html
    assert 'value="Carter and Price LLP"' in body or field == "name"
    assert db.session.execute(sa.select(sa.func.count(Client.id))).scalar_one() == 0


@pytest.mark.parametrize("field, label, limit", [
    ("name", "Client name", 200), ("code", "Client code", 32), ("email", "Email", 254), ("phone", "Phone", 50),
    ("address_line", "Postal address", 200), ("city", "Town or city", 100), ("postcode", "Postcode", 16),
])
def test_an_over_long_field_names_the_field_and_its_limit(auth_client, field, label, limit):
    too_long = "x" * (limit + 1) if field != "email" else "a" * (limit - 11) + "@example.com"
    response = auth_client.post("/clients/new", data=dict(VALID_FORM, **{field: too_long}))
    assert response.status_code == 422
    error = re.search(r'class="field-error">(.*?)</small>', _field_html(response.get_data(as_text=True), field))
    assert error.group(1) == f"{label} must be {limit} characters or fewer."  # alone: not also the email's own
    fits = auth_client.post("/clients/validate/name", data={"name": "x" * 200}, headers=HTMX)
    assert fits.status_code == 200  # the limit itself is allowed


def test_a_short_company_number_says_it_was_padded_beside_the_field(auth_client, owner):
    inline = auth_client.post("/clients/validate/company_number", data={"company_number": "123"}, headers=HTMX)
    html = inline.get_data(as_text=True)
    assert inline.status_code == 200 and 'value="00000123"' in html
    assert ('<small class="field-note" role="status">Will be saved as 00000123 — Companies House numbers have 8 '
            'characters.</small>') in html
    assert "field-note" not in auth_client.post("/clients/validate/company_number", headers=HTMX,
                                                data={"company_number": "sc 123456"}).get_data(as_text=True)
    refused = auth_client.post("/clients/new", data=dict(VALID_FORM, company_number="123", email="nope"))
    assert refused.status_code == 422  # another field is wrong: the note stays beside this one
    assert "Will be saved as 00000123" in _field_html(refused.get_data(as_text=True), "company_number")
    saved = auth_client.post("/clients/new", data=dict(VALID_FORM, company_number="123"), follow_redirects=True)
    assert "Company number saved as 00000123 — Companies House numbers have 8 characters." in saved.get_data(
        as_text=True)
    assert db.session.execute(sa.select(Client.company_number)).scalar_one() == "00000123"


def test_a_full_company_number_is_saved_without_a_note(auth_client, owner):
    saved = auth_client.post("/clients/new", data=dict(VALID_FORM, company_number="01234567"), follow_redirects=True)
    assert "Companies House numbers have 8 characters" not in saved.get_data(as_text=True)


def test_the_vat_hint_and_its_error_state_the_rule_the_validator_applies(auth_client, owner):
    rule = "9 digits, or 12 for a branch (the 9 and a 3-digit branch number); GB in front is optional"
    hint = _field_html(auth_client.get("/clients/new").get_data(as_text=True), "vat_number")
    refused = auth_client.post("/clients/validate/vat_number", data={"vat_number": "GB 123 4567 890"}, headers=HTMX)
    error = re.search(r'class="field-error">(.*?)</small>', refused.get_data(as_text=True)).group(1)
    assert rule in hint and error == f"A UK VAT number is {client_service.VAT_NUMBER_FORMAT}" and rule in error
    branch = auth_client.post("/clients/validate/vat_number", data={"vat_number": "GB 123 4567 89 001"}, headers=HTMX)
    assert branch.status_code == 200 and 'value="GB123456789001"' in branch.get_data(as_text=True)


def test_duplicate_client_code_is_refused_on_the_code_field(auth_client, owner, other_owner):
    make_client(owner.practice_id, code="CAR01", name="Existing")
    make_client(other_owner.practice_id, code="DUP01", name="Theirs")  # codes are unique per practice only
    response = auth_client.post("/clients/new", data=VALID_FORM)
    assert response.status_code == 422
    assert "already has the code CAR01" in _field_html(response.get_data(as_text=True), "code")
    assert auth_client.post("/clients/new", data=dict(VALID_FORM, code="dup01")).status_code == 303
    ours = db.session.execute(sa.select(Client.code, Client.name).filter_by(practice_id=owner.practice_id)
                              .order_by(Client.code)).all()
    assert ours == [("CAR01", "Existing"), ("DUP01", "Carter and Price LLP")]


def test_duplicate_code_lost_in_a_race_is_reported_on_the_field(auth_client, owner, monkeypatch):
    make_client(owner.practice_id, code="CAR01", name="Existing")
    # Both the form and the service checked before the other request committed: the unique index decides.
    monkeypatch.setattr(client_service, "code_taken", lambda *args, **kwargs: False)
    response = auth_client.post("/clients/new", data=VALID_FORM)
    assert response.status_code == 422
    assert "already has the code CAR01" in _field_html(response.get_data(as_text=True), "code")
    assert db.session.execute(sa.select(sa.func.count(Client.id))).scalar_one() == 1


def test_edit_client_keeps_its_own_code_and_saves_overrides(auth_client, owner):
    client = make_client(owner.practice_id, code="CAR01", name="Carter")
    data = dict(VALID_FORM, name="Carter & Price LLP", consolidate_recurring="one",
                consolidate_one_off="per_service")
    response = auth_client.post(f"/clients/{client.id}", data=data)
    assert response.status_code == 303
    db.session.refresh(client)
    assert client.name == "Carter & Price LLP"
    assert client.consolidate_recurring is True and client.consolidate_one_off is False
    body = auth_client.get(f"/clients/{client.id}").get_data(as_text=True)
    assert '<option selected value="one">One line</option>' in body


# --- the client's own invoice day and payment terms (blank: the practice's Billing Settings) ----------------

def test_own_invoice_day_and_terms_are_saved_and_blank_means_the_practice_default(auth_client, owner):
    client = make_client(owner.practice_id, code="CAR01", name="Carter")
    response = auth_client.post(f"/clients/{client.id}", data=dict(VALID_FORM, invoice_day="28",
                                                                   payment_terms_days="0"))
    assert response.status_code == 303
    db.session.refresh(client)
    assert (client.invoice_day, client.payment_terms_days) == (28, 0)
    body = auth_client.get(f"/clients/{client.id}").get_data(as_text=True)
    assert 'value="28"' in _field_html(body, "invoice_day") and 'value="0"' in _field_html(body, "payment_terms_days")
    assert auth_client.post(f"/clients/{client.id}", data=VALID_FORM).status_code == 303
    db.session.refresh(client)
    assert (client.invoice_day, client.payment_terms_days) == (None, None)


def test_the_form_names_the_practice_default(auth_client, owner):
    settings = db.session.get(BillingSettings, owner.practice_id)
    settings.invoice_day, settings.payment_terms_days = 2, 30
    db.session.commit()
    body = auth_client.get("/clients/new").get_data(as_text=True)
    assert "Leave blank for the practice default (2nd of the month)." in _field_html(body, "invoice_day")
    assert "Leave blank for the practice default (30 days)." in _field_html(body, "payment_terms_days")


@pytest.mark.parametrize("field, value, message", [
    ("invoice_day", "29", "Enter a day from 1 to 28"),
    ("invoice_day", "0", "Enter a day from 1 to 28"),
    ("invoice_day", "3rd", "Enter a whole number using the digits 0 to 9."),
    ("payment_terms_days", "121", "Enter a number of days from 0 to 120"),
    ("payment_terms_days", "-1", "Enter a number of days from 0 to 120"),
])
def test_an_impossible_day_or_term_is_refused_beside_the_field(auth_client, owner, field, value, message):
    client = make_client(owner.practice_id, code="CAR01", name="Carter", invoice_day=5)
    response = auth_client.post(f"/clients/{client.id}", data=dict(VALID_FORM, **{field: value}))
    assert response.status_code == 422
    html = _field_html(response.get_data(as_text=True), field)
    assert message in html and 'aria-invalid="true"' in html and f'value="{value}"' in html
    db.session.refresh(client)
    assert (client.invoice_day, client.payment_terms_days) == (5, None)
    inline = auth_client.post(f"/clients/{client.id}/validate/{field}", data={field: value}, headers=HTMX)
    assert inline.status_code == 422 and message in inline.get_data(as_text=True)


def test_a_post_without_the_day_or_terms_keeps_the_clients_own(auth_client, owner):
    client = make_client(owner.practice_id, code="CAR01", name="Carter", invoice_day=5, payment_terms_days=30)
    data = {key: value for key, value in VALID_FORM.items() if key not in ("invoice_day", "payment_terms_days")}
    response = auth_client.post(f"/clients/{client.id}", data=data)
    assert response.status_code == 422
    assert "or leave it blank for the practice default" in _field_html(response.get_data(as_text=True), "invoice_day")
    db.session.refresh(client)
    assert (client.invoice_day, client.payment_terms_days) == (5, 30)


def test_edit_to_another_clients_code_is_refused(auth_client, owner):
    make_client(owner.practice_id, code="TAKEN", name="Other")
    client = make_client(owner.practice_id, code="CAR01", name="Carter")
    response = auth_client.post(f"/clients/{client.id}", data=dict(VALID_FORM, code="taken"))
    assert response.status_code == 422
    assert 'value="TAKEN"' in _field_html(response.get_data(as_text=True), "code")
    db.session.refresh(client)
    assert client.code == "CAR01"


def test_inline_validation_returns_the_field_fragment(auth_client, owner):
    make_client(owner.practice_id, code="CAR01", name="Carter")
    response = auth_client.post("/clients/validate/code", data={"code": "car01"}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" not in body
    assert body.strip().startswith('<div class="field" id="field-code">') and "already has the code" in body
    ok = auth_client.post("/clients/validate/company_number", data={"company_number": "1234567"}, headers=HTMX)
    assert ok.status_code == 200 and 'value="01234567"' in ok.get_data(as_text=True)
    bad = auth_client.post("/clients/validate/vat_number", data={"vat_number": "GB12"}, headers=HTMX)
    assert bad.status_code == 422 and 'value="GB12"' in bad.get_data(as_text=True)
    assert auth_client.post("/clients/validate/csrf_token", data={}, headers=HTMX).status_code == 404


def test_inline_code_check_on_the_edit_form_ignores_the_client_itself(auth_client, owner):
    client = make_client(owner.practice_id, code="CAR01", name="Carter")
    response = auth_client.post(f"/clients/{client.id}/validate/code", data={"code": "CAR01"}, headers=HTMX)
    assert response.status_code == 200 and "field-error" not in response.get_data(as_text=True)


def test_form_fields_validate_themselves_on_change(auth_client):
    body = auth_client.get("/clients/new").get_data(as_text=True)
    assert 'hx-post="/clients/validate/email"' in body and 'hx-trigger="change"' in body


# --- invoice template override ------------------------------------------------------------------

def test_template_select_only_when_themes_are_synced(auth_client, owner):
    assert 'name="branding_theme_id"' not in auth_client.get("/clients/new").get_data(as_text=True)
    make_theme(owner.practice_id, "t-standard", "Standard")
    make_theme(owner.practice_id, "t-special", "Special projects", sort_order=1)
    body = auth_client.get("/clients/new").get_data(as_text=True)
    assert 'name="branding_theme_id"' in body
    assert "Use practice default (Standard)" in body and "Special projects" in body


def test_template_override_saved_and_unknown_theme_refused(auth_client, owner):
    make_theme(owner.practice_id, "t-standard", "Standard")
    make_theme(owner.practice_id, "t-special", "Special projects", sort_order=1)
    client = make_client(owner.practice_id, code="CAR01", name="Carter")
    assert auth_client.post(f"/clients/{client.id}",
                            data=dict(VALID_FORM, branding_theme_id="t-special")).status_code == 303
    db.session.refresh(client)
    assert client.branding_theme_id == "t-special"
    response = auth_client.post(f"/clients/{client.id}", data=dict(VALID_FORM, branding_theme_id="made-up"))
    assert response.status_code == 422
    assert "Choose one of your Xero invoice templates" in response.get_data(as_text=True)
    db.session.refresh(client)
    assert client.branding_theme_id == "t-special"


def test_deleted_template_shows_the_warning(auth_client, owner):
    make_theme(owner.practice_id, "t-standard", "Standard")
    make_theme(owner.practice_id, "t-gone", "Old letterhead", present_in_xero=False)
    client = make_client(owner.practice_id, code="CAR01", name="Carter", branding_theme_id="t-gone")
    body = auth_client.get(f"/clients/{client.id}").get_data(as_text=True)
    assert "was deleted in Xero" in body and "Old letterhead (deleted in Xero)" in body
    # Saving other details does not force a new template choice.
    assert auth_client.post(f"/clients/{client.id}",
                            data=dict(VALID_FORM, branding_theme_id="t-gone")).status_code == 303
    db.session.refresh(client)
    assert (client.name, client.branding_theme_id) == ("Carter and Price LLP", "t-gone")


def test_template_kept_when_themes_are_not_offered(auth_client, owner):
    client = make_client(owner.practice_id, code="CAR01", name="Carter", branding_theme_id="t-kept")
    assert auth_client.post(f"/clients/{client.id}", data=VALID_FORM).status_code == 303
    db.session.refresh(client)
    assert client.branding_theme_id == "t-kept"


def test_practice_default_template_named_from_billing_settings(auth_client, owner):
    make_theme(owner.practice_id, "t-standard", "Standard")
    make_theme(owner.practice_id, "t-special", "Special projects", sort_order=1)
    db.session.get(BillingSettings, owner.practice_id).default_branding_theme_id = "t-special"
    db.session.commit()
    assert "Use practice default (Special projects)" in auth_client.get("/clients/new").get_data(as_text=True)


# --- engagements --------------------------------------------------------------------------------

def test_client_page_lists_engagements(auth_client, owner):
    client = make_client(owner.practice_id)
    service = make_service(owner.practice_id, name="VAT Returns", price="300.00", method="quarterly_advance")
    client_service.save_engagement(client, service, Decimal("275.50"), date(2026, 1, 1), date(2026, 12, 31))
    body = auth_client.get(f"/clients/{client.id}").get_data(as_text=True)
    section = body[body.index('<section id="engagements">'):]
    assert "VAT Returns" in section and "£275.50" in section and "1 Jan 2026" in section and "31 Dec 2026" in section


def test_add_engagement_defaults_to_the_service_price(auth_client, owner):
    client = make_client(owner.practice_id)
    service = make_service(owner.practice_id, price="250.00")
    response = auth_client.post(f"/clients/{client.id}/engagements", headers=HTMX,
                                data={"service_id": service.id, "price": "", "start_date": "2026-04-01"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and body.strip().startswith('<section id="engagements">')
    engagement = db.session.execute(sa.select(Engagement)).scalar_one()
    assert engagement.price == Decimal("250.00") and engagement.start_date == date(2026, 4, 1)
    assert engagement.end_date is None


def test_add_engagement_with_agreed_price_without_javascript(auth_client, owner):
    client = make_client(owner.practice_id)
    service = make_service(owner.practice_id)
    response = auth_client.post(f"/clients/{client.id}/engagements",
                                data={"service_id": service.id, "price": "199.99", "start_date": "2026-04-01"})
    assert response.status_code == 303
    assert db.session.execute(sa.select(Engagement.price)).scalar_one() == Decimal("199.99")


@pytest.mark.parametrize("price", ["12.345", "-1", "abc", "0", "1e3"])
def test_bad_engagement_prices_are_refused_by_the_field(auth_client, owner, price):
    client = make_client(owner.practice_id)
    service = make_service(owner.practice_id)
    response = auth_client.post(f"/clients/{client.id}/engagements", headers=HTMX,
                                data={"service_id": service.id, "price": price, "start_date": "2026-04-01"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    label = re.search(r'<label for="price">(.*?)</div>', body, re.S).group(1)
    assert f'value="{price}"' in label and 'class="field-error"' in label
    assert db.session.execute(sa.select(sa.func.count(Engagement.id))).scalar_one() == 0


def test_engagement_service_must_be_the_practices_own(auth_client, owner, other_owner):
    client = make_client(owner.practice_id)
    make_service(owner.practice_id)
    theirs = make_service(other_owner.practice_id, name="Their service")
    response = auth_client.post(f"/clients/{client.id}/engagements",
                                data={"service_id": theirs.id, "start_date": "2026-04-01"})
    assert response.status_code == 422 and "Choose one of your practice" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Engagement.id))).scalar_one() == 0
    assert "Their service" not in auth_client.get(f"/clients/{client.id}/engagements/new").get_data(as_text=True)


def test_engagement_end_before_start_is_refused(auth_client, owner):
    client = make_client(owner.practice_id)
    service = make_service(owner.practice_id)
    response = auth_client.post(f"/clients/{client.id}/engagements", data={
        "service_id": service.id, "start_date": "2026-04-01", "end_date": "2026-03-01"})
    assert response.status_code == 422 and "cannot be before the start date" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Engagement.id))).scalar_one() == 0


def test_edit_engagement(auth_client, owner):
    client = make_client(owner.practice_id)
    service = make_service(owner.practice_id)
    other = make_service(owner.practice_id, name="Payroll", price="120.00", menu=service.pricing_menu)
    engagement = client_service.save_engagement(client, service, None, date(2026, 1, 1))
    form = auth_client.get(f"/clients/{client.id}/engagements/{engagement.id}/edit", headers=HTMX)
    assert form.status_code == 200 and 'value="250.00"' in form.get_data(as_text=True)
    response = auth_client.post(f"/clients/{client.id}/engagements/{engagement.id}", headers=HTMX, data={
        "service_id": other.id, "price": "130", "start_date": "2026-02-01"})
    assert response.status_code == 200
    db.session.refresh(engagement)
    assert (engagement.service_id, engagement.price, engagement.start_date) == (
        other.id, Decimal("130.00"), date(2026, 2, 1))


def test_end_engagement(auth_client, owner):
    client = make_client(owner.practice_id)
    service = make_service(owner.practice_id)
    engagement = client_service.save_engagement(client, service, None, date(2026, 1, 1))
    refused = auth_client.post(f"/clients/{client.id}/engagements/{engagement.id}/end", headers=HTMX,
                               data={"end_date": "2025-12-31"})
    assert refused.status_code == 422 and "cannot be before the start date" in refused.get_data(as_text=True)
    response = auth_client.post(f"/clients/{client.id}/engagements/{engagement.id}/end", headers=HTMX,
                                data={"end_date": "2026-06-30"})
    assert response.status_code == 200 and "30 Jun 2026" in response.get_data(as_text=True)
    db.session.refresh(engagement)
    assert engagement.end_date == date(2026, 6, 30)


def test_new_engagement_form_full_page_and_fragment(auth_client, owner):
    client = make_client(owner.practice_id)
    make_service(owner.practice_id)
    page = auth_client.get(f"/clients/{client.id}/engagements/new")
    fragment = auth_client.get(f"/clients/{client.id}/engagements/new", headers=HTMX)
    assert "<html" in page.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert "Add engagement" in fragment.get_data(as_text=True)
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]


def test_add_engagement_offers_the_active_menu_and_the_others_apart_and_marked(auth_client, owner):
    client = make_client(owner.practice_id)
    old = make_menu(owner.practice_id, "2025/26 Pricing", active=False)
    current = make_menu(owner.practice_id, "2026/27 Pricing", active=True)
    old_books = make_service(name="Bookkeeping", price="200.00", menu=old)
    make_service(name="Bookkeeping", price="250.00", menu=current)
    body = auth_client.get(f"/clients/{client.id}/engagements/new", headers=HTMX).get_data(as_text=True)
    select = re.search(r'<select[^>]*name="service_id".*?</select>', body, re.S).group(0)
    groups = re.findall(r'<optgroup label="([^"]*)">(.*?)</optgroup>', select, re.S)
    assert [label for label, _ in groups] == ["2026/27 Pricing (active menu)",
                                              "Other menus (not active): 2025/26 Pricing"]
    assert re.findall(r">([^<]+)</option>", groups[0][1]) == ["Bookkeeping — £250.00"]
    assert re.findall(r">([^<]+)</option>", groups[1][1]) == ["Bookkeeping — £200.00 (2025/26 Pricing, not active)"]
    # Offered apart, so it may still be chosen on purpose.
    response = auth_client.post(f"/clients/{client.id}/engagements", headers=HTMX,
                                data={"service_id": old_books.id, "start_date": "2026-04-01"})
    assert response.status_code == 200
    assert db.session.execute(sa.select(Engagement.service_id)).scalar_one() == old_books.id


def test_an_engagement_on_a_not_active_menus_service_still_shows_and_saves(auth_client, owner):
    client = make_client(owner.practice_id)
    old = make_menu(owner.practice_id, "2025/26 Pricing", active=False)
    make_service(name="Payroll", price="120.00", menu=make_menu(owner.practice_id, "2026/27 Pricing"))
    engagement = make_engagement(client, make_service(name="Bookkeeping", price="200.00", menu=old),
                                 start=date(2026, 1, 1))
    row = re.search(rf'<tr id="engagement-{engagement.id}">(.*?)</tr>', auth_client.get(
        f"/clients/{client.id}").get_data(as_text=True), re.S).group(1)
    assert "Bookkeeping" in row and "2025/26 Pricing (not active)" in row
    form = auth_client.get(f"/clients/{client.id}/engagements/{engagement.id}/edit", headers=HTMX)
    assert re.search(rf'<option selected value="{engagement.service_id}">Bookkeeping — £200.00 \(2025/26 Pricing, '
                     r'not active\)</option>', form.get_data(as_text=True))
    saved = auth_client.post(f"/clients/{client.id}/engagements/{engagement.id}", headers=HTMX, data={
        "service_id": engagement.service_id, "price": "210", "start_date": "2026-01-01"})
    assert saved.status_code == 200
    db.session.refresh(engagement)
    assert engagement.price == Decimal("210.00")
