"""What Socket accepts as typed: numbers in the digits 0-9 only, and text without invisible or control characters.

Python's int(), Decimal() and strptime() read other scripts' digits ("１２３" fullwidth, "٣٤" Arabic-Indic), so
every number a form takes (prices, invoice day, payment terms, dates, ids, page numbers) is checked for 0-9.
Text fields (webapp/forms.py) are normalised to NFC, lose invisible formatting characters (which nobody could see
to remove, and which would make two identical-looking names distinct), and refuse control characters with a
message beside the field.
"""
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.factories import make_client, make_engagement, make_menu, make_service
from tests.helpers import HTMX, fresh
from webapp.extensions import db
from webapp.forms import ascii_int, clean_multiline_text, clean_text
from webapp.models import BillingSettings, Client, Engagement, Practice, PricingMenu, Service
from webapp.services import clients as client_service
from webapp.services import pricing as pricing_service
from webapp.services.billing.plan import parse_period

UNICODE_DIGITS = ["１２３", "٣٤", "１２.５０", "1２3", "£１,２００", "۱۲۳", "१२३"]


# --- numbers: the digits 0-9 only ----------------------------------------------------------------------------

@pytest.mark.parametrize("typed", UNICODE_DIGITS)
def test_prices_in_other_digits_are_refused(typed):
    with pytest.raises(pricing_service.InvalidPrice, match="digits 0 to 9"):
        pricing_service.parse_price(typed)


@pytest.mark.parametrize("typed, price", [("1,200.50", "1200.50"), ("£99", "99.00"), (" 250 ", "250.00"),
                                          ("0.5", "0.50"), ("12,345", "12345.00")])
def test_the_ascii_formats_accepted_before_still_are(typed, price):
    assert pricing_service.parse_price(typed) == Decimal(price)


def test_whole_numbers_and_months_in_other_digits_are_not_read():
    assert ascii_int("12") == 12 and ascii_int(" 7 ") == 7 and ascii_int(3) == 3
    for typed in ("١٢", "１２", "1_2", "", "12.0"):
        with pytest.raises(ValueError):
            ascii_int(typed)
    assert parse_period("2026-11") == date(2026, 11, 1)
    assert parse_period("２０２６-11") is None and parse_period("٢٠٢٦-١١") is None


@pytest.mark.parametrize("typed", ["０１２３４５６７", "SC１２３４５６"])
def test_company_numbers_in_other_digits_are_refused(typed):
    with pytest.raises(client_service.InvalidIdentifier):
        client_service.normalise_company_number(typed)


def test_vat_numbers_in_other_digits_are_refused():
    with pytest.raises(client_service.InvalidIdentifier):
        client_service.normalise_vat_number("GB １２３４５６７８９")


@pytest.mark.parametrize("price", ["１２３", "٣٤"])
def test_a_service_price_in_other_digits_is_refused_beside_the_field(auth_client, owner, price):
    menu = make_menu(owner.practice_id)
    response = auth_client.post(f"/pricing/menus/{menu.id}/services", headers=HTMX,
                                data={"name": "Payroll", "billing_method": "monthly", "price": price})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ('<small id="new-service-price-error" class="field-error">Enter the price using the digits 0 to 9, '
            "e.g. 250 or 99.50.</small>") in body
    assert db.session.execute(sa.select(sa.func.count(Service.id))).scalar_one() == 0


def test_an_edited_service_price_in_other_digits_is_refused(auth_client, owner):
    service = make_service(owner.practice_id)
    response = auth_client.post(f"/pricing/services/{service.id}", headers=HTMX,
                                data={"name": "Payroll", "billing_method": "monthly", "price": "١٢٠"})
    assert response.status_code == 422
    assert f'id="service-{service.id}-price-error"' in response.get_data(as_text=True)
    assert fresh(Service, service.id).price == Decimal("250.00")


def test_an_agreed_price_or_date_in_other_digits_is_refused(auth_client, owner):
    client = make_client(owner.practice_id)
    service = make_service(owner.practice_id)
    price = auth_client.post(f"/clients/{client.id}/engagements", headers=HTMX,
                             data={"service_id": service.id, "price": "٣٤", "start_date": "2026-04-01"})
    assert price.status_code == 422
    assert '<small id="price-error" class="field-error">Enter the price using the digits 0 to 9' in price.get_data(
        as_text=True)
    start = auth_client.post(f"/clients/{client.id}/engagements", headers=HTMX,
                             data={"service_id": service.id, "price": "", "start_date": "２０２６-04-01"})
    assert start.status_code == 422
    assert "Enter the date using the digits 0 to 9" in start.get_data(as_text=True)
    chosen = auth_client.post(f"/clients/{client.id}/engagements", headers=HTMX,
                              data={"service_id": "１" * len(str(service.id)), "price": "",
                                    "start_date": "2026-04-01"})
    assert chosen.status_code == 422 and "Choose a service." in chosen.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Engagement.id))).scalar_one() == 0


def test_a_completion_date_in_other_digits_is_refused(auth_client, owner):
    client = make_client(owner.practice_id)
    engagement = make_engagement(client, make_service(owner.practice_id, method="once"), start=date(2026, 1, 1))
    response = auth_client.post(f"/clients/{client.id}/engagements/{engagement.id}/complete", headers=HTMX,
                                data={"completed_on": "٢٠٢٦-٠١-١٥"})
    assert response.status_code == 422
    assert "Enter the date using the digits 0 to 9" in response.get_data(as_text=True)
    assert fresh(Engagement, engagement.id).completions == []


BILLING = {"consolidate_recurring": "consolidated", "consolidate_one_off": "itemised", "invoice_day": "15",
           "payment_terms_days": "30", "xero_post_status": "AUTHORISED", "create_missing_contacts": "y",
           "monthly_billing": "review"}


@pytest.mark.parametrize("field, typed", [("invoice_day", "１２"), ("invoice_day", "١٢"), ("payment_terms_days", "٣٠"),
                                          ("payment_terms_days", "3_0"), ("invoice_day", "12.0")])
def test_billing_settings_numbers_in_other_digits_are_refused(auth_client, owner, field, typed):
    response = auth_client.post("/settings/billing", data={**BILLING, field: typed})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<small id="{field}-error" class="field-error">Enter a whole number using the digits 0 to 9.</small>' \
        in body
    settings = fresh(BillingSettings, owner.practice_id)
    assert (settings.invoice_day, settings.payment_terms_days) == (1, 14)  # the defaults, unchanged
    inline = auth_client.post("/settings/billing", data={**BILLING, field: typed},
                              headers={**HTMX, "HX-Source": f"input#{field}"})
    assert inline.status_code == 422 and "digits 0 to 9" in inline.get_data(as_text=True)


def test_billing_settings_numbers_in_ascii_digits_still_save(auth_client, owner):
    response = auth_client.post("/settings/billing",
                                data={**BILLING, "invoice_day": " 12 ", "payment_terms_days": "+7"})
    assert response.status_code == 200
    settings = fresh(BillingSettings, owner.practice_id)
    assert (settings.invoice_day, settings.payment_terms_days) == (12, 7)


def test_a_page_number_in_other_digits_is_the_first_page(auth_client, owner):
    make_client(owner.practice_id)
    assert auth_client.get("/clients/?page=٢").status_code == 200
    assert auth_client.get("/billing/invoices?page=２").status_code == 200


# --- text: NFC, no invisible characters, no control characters ----------------------------------------------

@pytest.mark.parametrize("typed, cleaned", [
    ("  Acme Ltd  ", "Acme Ltd"),
    ("Cafe\u0301 Nero", "Caf\u00e9 Nero"),  # NFC: e + combining acute is é
    ("Acme\u200b Ltd", "Acme Ltd"),  # zero-width space
    ("\ufeffAcme", "Acme"),  # byte order mark
    ("Ac\u200dme\u200c", "Acme"),  # zero-width joiner and non-joiner
    ("\u202eevil\u202c", "evil"),  # right-to-left override and pop
    ("\u2066Acme\u2069", "Acme"),  # bidi isolate
    ("\u200eAcme\u200f", "Acme"),  # left-to-right and right-to-left marks
    ("Ac\u00adme", "Acme"),  # soft hyphen
    ("Acme\U000e0041\U000e0042", "Acme"),  # tag characters (invisible "ASCII")
    ("Acme\u00a0Ltd", "Acme Ltd"),  # no-break space is a space
    ("Acme\u3000Ltd\u2009", "Acme Ltd"),  # ideographic and thin spaces
    ("Zoë & Søn", "Zoë & Søn"),  # ordinary accented letters stay
])
def test_text_is_cleaned(typed, cleaned):
    assert clean_text(typed) == cleaned


def test_textareas_keep_line_breaks_as_lf():
    assert clean_multiline_text(" Line one\r\nLine\u200b two\rthree\t(tab) ") == "Line one\nLine two\nthree\t(tab)"


@pytest.mark.parametrize("typed, message", [
    ("Acme\x07 Ltd", "Remove the hidden control character (U+0007) from this field"),
    ("Acme\tLtd", "Remove the tab from this field"),
    ("Acme\nLtd", "Remove the line break from this field"),
    ("Acme\x85Ltd", "Remove the hidden control character (U+0085) from this field"),
    ("Acme\x7fLtd", "Remove the hidden control character (U+007F) from this field"),
    ("Acme\u2028Ltd", "Remove the line break from this field"),
])
def test_a_client_name_with_a_control_character_is_refused_beside_the_field(auth_client, owner, typed, message):
    response = auth_client.post("/clients/new", data={"name": typed, "code": "ACM01", "consolidate_recurring": "",
                                                      "consolidate_one_off": "", "invoice_day": "",
                                                      "payment_terms_days": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'<small id="name-error" class="field-error">{message}: it is often pasted in by accident.</small>' in body
    assert db.session.execute(sa.select(sa.func.count(Client.id))).scalar_one() == 0


def test_a_control_character_is_refused_by_the_inline_check_too(auth_client, owner):
    response = auth_client.post("/clients/validate/city", data={"city": "Leeds\x1b[31m"})
    assert response.status_code == 422
    assert "Remove the hidden control character (U+001B)" in response.get_data(as_text=True)


def test_a_client_is_stored_clean(auth_client, owner):
    response = auth_client.post("/clients/new", data={
        "name": "\u202eCafe\u0301\u200b Nero\u00a0Ltd ", "code": "caf\u200b01", "email": "\ufeffInfo@Cafe.example",
        "phone": "0113\u2009496 0000", "address_line": "1\u00a0Park Row", "city": "Leeds\u200d", "postcode": "LS1 5AB",
        "consolidate_recurring": "", "consolidate_one_off": "", "invoice_day": "", "payment_terms_days": ""})
    assert response.status_code == 303, response.get_data(as_text=True)
    client = db.session.execute(sa.select(Client)).scalar_one()
    assert (client.name, client.code, client.email, client.phone, client.address_line, client.city) == (
        "Caf\u00e9 Nero Ltd", "CAF01", "info@cafe.example", "0113 496 0000", "1 Park Row", "Leeds")


def test_a_client_code_differing_only_by_invisible_characters_is_the_same_code(auth_client, owner):
    make_client(owner.practice_id, code="ABB01")
    response = auth_client.post("/clients/new", data={"name": "Lookalike Ltd", "code": "ABB\u200b01\u2060",
                                                      "consolidate_recurring": "", "consolidate_one_off": "",
                                                      "invoice_day": "", "payment_terms_days": ""})
    assert response.status_code == 422
    assert "Another client already has the code ABB01." in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Client.id))).scalar_one() == 1


@pytest.mark.parametrize("name", ["2026/27\u200b Pricing", "\u202d2026/27 Pricing", "2026/27\u00a0Pricing",
                                  "2026/27 Pricing\ufeff"])
def test_a_menu_name_differing_only_by_invisible_characters_is_a_duplicate(auth_client, owner, name):
    make_menu(owner.practice_id, "2026/27 Pricing")
    response = auth_client.post("/pricing/menus", data={"name": name}, headers=HTMX)
    assert response.status_code == 422
    assert "You already have a menu with this name." in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(PricingMenu.id))).scalar_one() == 1


def test_a_menu_name_of_only_invisible_characters_is_no_name(auth_client, owner):
    response = auth_client.post("/pricing/menus", data={"name": "\u200b\u200b\u00a0"}, headers=HTMX)
    assert response.status_code == 422 and "Enter a name for the menu." in response.get_data(as_text=True)


def test_service_names_and_descriptions_are_cleaned_and_checked(auth_client, owner):
    menu = make_menu(owner.practice_id)
    refused = auth_client.post(f"/pricing/menus/{menu.id}/services", headers=HTMX, data={
        "name": "Pay\x00roll", "description": "", "billing_method": "monthly", "price": "120"})
    assert refused.status_code == 400  # NUL never reaches a form (webapp/errors.py)
    refused = auth_client.post(f"/pricing/menus/{menu.id}/services", headers=HTMX, data={
        "name": "Payroll", "description": "Colour\x1b[31m", "billing_method": "monthly", "price": "120"})
    assert refused.status_code == 422
    assert '<small id="new-service-description-error" class="field-error">Remove the hidden control character ' \
           "(U+001B)" in refused.get_data(as_text=True)
    saved = auth_client.post(f"/pricing/menus/{menu.id}/services", headers=HTMX, data={
        "name": " Pay\u200broll ", "description": "Weekly\r\nand monthly\u2028runs", "billing_method": "monthly",
        "price": "120"})
    assert saved.status_code == 200
    service = db.session.execute(sa.select(Service)).scalar_one()
    assert (service.name, service.description) == ("Payroll", "Weekly\nand monthly\nruns")


def test_the_practice_name_is_cleaned_and_checked(auth_client, owner):
    data = {"time_zone": "Europe/London", "primary_crm": "socket"}
    for typed, message in (("   ", "Enter the practice&#39;s name."), ("\u200b", "Enter the practice&#39;s name."),
                           ("Acme\x08", "Remove the hidden control character (U+0008)")):
        response = auth_client.post("/settings/practice", data={**data, "name": typed})
        assert response.status_code == 422 and message in response.get_data(as_text=True), typed
        assert fresh(Practice, owner.practice_id).name == "Acme Accountants"
    saved = auth_client.post("/settings/practice", data={**data, "name": "\u202eAcme\u00a0& Co\u200b "})
    assert saved.status_code == 200
    assert fresh(Practice, owner.practice_id).name == "Acme & Co"
