"""Form fields (templates/macros/forms.html): every aria-describedby names only elements that are there.

First each macro on its own, with and without a hint and an error; then the pages and fragments that have forms,
in the states that show the most messages (refused input, Xero problems), parsed with the standard library.
"""
from datetime import date
from html.parser import HTMLParser

import pytest
from flask import render_template, render_template_string
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from tests.factories import (
    make_account,
    make_client,
    make_connection,
    make_engagement,
    make_menu,
    make_service,
    make_theme,
)
from tests.helpers import HTMX
from webapp.extensions import db
from webapp.models import BillingMethod, BillingSettings


class Page(HTMLParser):
    """The ids in a piece of HTML, and the elements that refer to ids (aria-describedby, label for)."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.described: list[tuple[str, dict]] = []  # (tag, attributes) of each element with aria-describedby
        self.invalid: list[tuple[str, dict]] = []
        self.label_for: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(attributes["id"])
        if "aria-describedby" in attributes:
            self.described.append((tag, attributes))
        if attributes.get("aria-invalid") == "true":
            self.invalid.append((tag, attributes))
        if tag == "label" and attributes.get("for"):
            self.label_for.append(attributes["for"])

    def describedby(self) -> list[str]:
        return [ref for _, attributes in self.described for ref in (attributes["aria-describedby"] or "").split()]


def assert_references_resolve(html: str) -> Page:
    """Every aria-describedby id and every label's `for` is an element of the same response; no id twice."""
    page = Page(html)
    duplicates = {i for i in page.ids if page.ids.count(i) > 1}
    assert not duplicates, f"ids used twice: {sorted(duplicates)}"
    for tag, attributes in page.described:
        refs = (attributes["aria-describedby"] or "").split()
        assert refs, f"empty aria-describedby on <{tag} id={attributes.get('id')}>"
        missing = [ref for ref in refs if ref not in page.ids]
        assert not missing, f"<{tag} id={attributes.get('id')}> is described by missing {missing}"
    missing_targets = [target for target in page.label_for if target not in page.ids]
    assert not missing_targets, f"labels for missing controls: {missing_targets}"
    return page


# --- the macros on their own -----------------------------------------------------------------------------

class SampleForm(FlaskForm):
    class Meta:
        csrf = False

    text = StringField("Text")
    notes = TextAreaField("Notes")
    choice = SelectField("Choice", choices=[SelectChoice("a", "A"), SelectChoice("b", "B")])
    agree = BooleanField("Agree")
    pick = RadioField("Pick", choices=[SelectChoice("x", "X"), SelectChoice("y", "Y")])


CALLS = {
    "text": '{{ text_field(form.text, hint=hint, error=error, attrs={"hx-post": "/somewhere"}) }}',
    "textarea": "{{ textarea_field(form.notes, hint=hint, error=error) }}",
    "select": '{{ select_field(form.choice, hint=hint, error=error, attrs={"hx-trigger": "change"}) }}',
    "checkbox": "{{ checkbox_field(form.agree, hint=hint, error=error) }}",
    "radios": "{{ radio_fields(form.pick, hint=hint, error=error) }}",
    "plain select": ('{{ select_field(id="plain", name="plain", label="Plain", options=[("1", "One")], selected="1",'
                     ' empty_option="None", hint=hint, error=error, attrs={"disabled": true}) }}'),
    "plain input": ('{{ text_field(id="when", name="when", type="date", label="When", label_hidden=true,'
                    ' value="2026-01-01", hint=hint, error=error, attrs={"max": "2026-12-31"}) }}'),
}
IDS = {"text": "text", "textarea": "notes", "select": "choice", "checkbox": "agree", "radios": "pick",
       "plain select": "plain", "plain input": "when"}
IMPORT = ('{% from "macros/forms.html" import text_field, textarea_field, select_field, checkbox_field, '
          "radio_fields %}")


def render_macro(kind: str, hint: str, error: str) -> str:
    form = SampleForm(formdata=None)
    return render_template_string(IMPORT + CALLS[kind], form=form, hint=hint, error=error)


@pytest.mark.parametrize("kind", list(CALLS))
@pytest.mark.parametrize("hint, error", [("", ""), ("What to enter.", ""), ("", "What went wrong."),
                                         ("What to enter.", "What went wrong.")])
def test_each_macro_describes_its_control_by_exactly_the_messages_it_shows(app, kind, hint, error):
    with app.test_request_context():
        html = render_macro(kind, hint, error)
    page = assert_references_resolve(html)
    field_id = IDS[kind]
    expected = [f"{field_id}-error"] * bool(error) + [f"{field_id}-hint"] * bool(hint)
    assert sorted(page.describedby()) == sorted(expected)
    assert "aria-describedby" in html if expected else "aria-describedby" not in html
    assert (f'id="{field_id}-error"' in html) == bool(error) and (f'id="{field_id}-hint"' in html) == bool(hint)
    if error:
        assert error in html and page.invalid, "an error marks the control aria-invalid"
        assert all(attributes.get("id", "").startswith(field_id) for _, attributes in page.invalid)
    else:
        assert not page.invalid and "aria-invalid" not in html
    if hint:
        assert hint in html


def test_a_wtforms_fields_own_errors_and_description_are_the_defaults(app):
    class Described(FlaskForm):
        class Meta:
            csrf = False

        code = StringField("Client code", description="Unique in your practice.")

    with app.test_request_context():
        form = Described(formdata=None)
        form.code.errors = ["Another client already has the code ABB01."]
        html = render_template_string('{% from "macros/forms.html" import text_field %}{{ text_field(form.code) }}',
                                      form=form)
    page = assert_references_resolve(html)
    assert page.describedby() == ["code-error", "code-hint"]
    assert '<label for="code">Client code</label>' in html
    assert "Unique in your practice." in html and "already has the code ABB01" in html


def test_attributes_pass_through_to_the_control_in_order(app):
    with app.test_request_context():
        html = render_template_string(
            IMPORT + '{{ select_field(id="s", name="s", label="S", options=[], attrs={"hx-post": "/save", '
            '"hx-target": "closest tr", "hx-swap": "outerHTML", "hx-include": "#other", "disabled": false}) }}'
            + '{{ checkbox_field(name="c", id="c", value="1", checked=true, label="C", '
            'attrs={"form": "f", "data-submit-on-change-without-htmx": true}) }}')
    assert '<select id="s" name="s" hx-post="/save" hx-target="closest tr" hx-swap="outerHTML" hx-include="#other">' \
        in html  # disabled=false leaves the attribute out
    assert ('<input type="checkbox" id="c" name="c" value="1" form="f" data-submit-on-change-without-htmx checked>'
            in html)


# --- the pages with forms --------------------------------------------------------------------------------

VALID_CLIENT = {"name": "Carter and Price LLP", "code": "car01", "consolidate_recurring": "",
                "consolidate_one_off": "", "invoice_day": "", "payment_terms_days": ""}


def _body(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def test_sign_in_page_with_errors(client, app_ctx):
    assert_references_resolve(_body(client.get("/login"), 200))
    page = assert_references_resolve(_body(client.post("/login", data={"email": "", "password": ""}), 422))
    assert set(page.describedby()) == {"email-error", "password-error"}


def test_client_form_with_errors_and_the_inline_check(auth_client, owner):
    assert_references_resolve(_body(auth_client.get("/clients/new"), 200))
    make_client(owner.practice_id, name="Carter", code="CAR01")  # the code posted is taken
    refused = {**VALID_CLIENT, "name": "", "email": "nope", "company_number": "123456789", "vat_number": "GB12"}
    page = assert_references_resolve(_body(auth_client.post("/clients/new", data=refused), 422))
    assert {"name-error", "code-error", "code-hint", "email-error", "company_number-error", "company_number-hint",
            "vat_number-error", "vat_number-hint"} <= set(page.describedby())
    fragment = _body(auth_client.post("/clients/validate/code", data={"code": "car01"}, headers=HTMX), 422)
    assert assert_references_resolve(fragment).describedby() == ["code-error", "code-hint"]
    fine = _body(auth_client.post("/clients/validate/phone", data={"phone": "0113"}, headers=HTMX), 200)
    assert "aria-describedby" not in fine and "aria-invalid" not in fine


def test_client_form_with_a_template_deleted_in_xero(auth_client, owner):
    make_theme(owner.practice_id, "t-standard", "Standard")
    make_theme(owner.practice_id, "t-gone", "Old letterhead", present_in_xero=False)
    client = make_client(owner.practice_id, branding_theme_id="t-gone")
    page = assert_references_resolve(_body(auth_client.get(f"/clients/{client.id}"), 200))
    assert "branding_theme_id-error" in page.describedby()  # the warning, beside the select
    refused = _body(auth_client.post(f"/clients/{client.id}",
                                     data={**VALID_CLIENT, "code": client.code, "branding_theme_id": "made-up"}), 422)
    assert "branding_theme_id-error" in assert_references_resolve(refused).describedby()
    # A refused choice on a client whose stored template is fine: once described by a warning that was not there.
    other = make_client(owner.practice_id, name="Dawson Ltd")
    refused = _body(auth_client.post(f"/clients/{other.id}",
                                     data={**VALID_CLIENT, "code": other.code, "branding_theme_id": "made-up"}), 422)
    assert "Choose one of your Xero invoice templates" in refused
    assert "branding_theme_id-error" in assert_references_resolve(refused).describedby()


def test_engagement_forms_with_errors(auth_client, owner):
    client = make_client(owner.practice_id)
    monthly = make_service(owner.practice_id)
    once = make_service(owner.practice_id, "Company Formation", BillingMethod.ONCE, "150.00")
    engagement = make_engagement(client, monthly, start=date(2026, 4, 1))
    one_off = make_engagement(client, once, start=date(2026, 4, 1))
    base = f"/clients/{client.id}/engagements"
    assert_references_resolve(_body(auth_client.get(f"/clients/{client.id}"), 200))
    assert_references_resolve(_body(auth_client.get(f"{base}/new", headers=HTMX), 200))
    added = _body(auth_client.post(base, headers=HTMX, data={"service_id": "", "price": "abc", "start_date": ""}), 422)
    assert {"service_id-error", "price-error", "price-hint", "start_date-error"} <= set(
        assert_references_resolve(added).describedby())
    edited = _body(auth_client.post(f"{base}/{engagement.id}", headers=HTMX, data={
        "service_id": monthly.id, "price": "250", "start_date": "2026-04-01", "end_date": "2026-01-01"}), 422)
    assert "end_date-error" in assert_references_resolve(edited).describedby()
    ended = _body(auth_client.post(f"{base}/{engagement.id}/end", headers=HTMX, data={"end_date": "2020-01-01"}), 422)
    assert f"engagement-{engagement.id}-end-date-error" in assert_references_resolve(ended).describedby()
    completed = _body(auth_client.post(f"{base}/{one_off.id}/complete", headers=HTMX, data={"completed_on": ""}), 422)
    assert f"engagement-{one_off.id}-completed-on-error" in assert_references_resolve(completed).describedby()
    # The whole page without htmx, too (the section is the same template).
    assert_references_resolve(_body(auth_client.post(f"{base}/{engagement.id}/end", data={"end_date": "x"}), 422))


def test_pricing_forms_with_errors(auth_client, owner):
    menu = make_menu(owner.practice_id)
    service = make_service(menu=menu)
    assert_references_resolve(_body(auth_client.get(f"/pricing/menus/{menu.id}"), 200))
    created = _body(auth_client.post("/pricing/menus", data={"name": ""}, headers=HTMX), 422)
    assert assert_references_resolve(created).describedby() == ["new-menu-name-error"]
    renamed = _body(auth_client.post(f"/pricing/menus/{menu.id}/rename", data={"name": ""}, headers=HTMX), 422)
    assert "rename-menu-name-error" in assert_references_resolve(renamed).describedby()
    added = _body(auth_client.post(f"/pricing/menus/{menu.id}/services", headers=HTMX,
                                   data={"name": "", "billing_method": "monthly", "price": "abc"}), 422)
    assert {"new-service-name-error", "new-service-price-error"} <= set(assert_references_resolve(added).describedby())
    assert_references_resolve(_body(auth_client.get(f"/pricing/services/{service.id}/edit", headers=HTMX), 200))
    edited = _body(auth_client.post(f"/pricing/services/{service.id}", headers=HTMX,
                                    data={"name": "Payroll", "billing_method": "monthly", "price": "-1"}), 422)
    assert f"service-{service.id}-price-error" in assert_references_resolve(edited).describedby()


def test_billing_and_engagement_letter_settings_with_problems(auth_client, owner):
    menu = make_menu(owner.practice_id)
    archived = make_service(menu=menu, account_code="210")
    fine = make_service(menu=menu, name="Payroll")
    url = f"/pricing/menus/{menu.id}/billing-settings"
    assert_references_resolve(_body(auth_client.get(url), 200))  # no Xero: disabled, nothing to describe
    make_account(owner.practice_id, "200", "Sales")
    make_account(owner.practice_id, "210", "Consulting", status="ARCHIVED")
    page = assert_references_resolve(_body(auth_client.get(url, headers=HTMX), 200))
    assert page.describedby() == [f"service-{archived.id}-account-code-select-error"]
    refused = _body(auth_client.post(f"/pricing/services/{fine.id}/account-code", data={"account_code": "999"},
                                     headers=HTMX), 422)
    assert assert_references_resolve(refused).describedby() == [f"service-{fine.id}-account-code-select-error"]
    saved = _body(auth_client.post(f"/pricing/services/{fine.id}/account-code", data={"account_code": "200"},
                                   headers=HTMX), 200)
    assert "Saved" in saved and "aria-describedby" not in saved


BILLING_VALID = {"consolidate_recurring": "consolidated", "consolidate_one_off": "itemised", "invoice_day": "15",
                 "payment_terms_days": "30", "xero_post_status": "AUTHORISED", "create_missing_contacts": "y",
                 "monthly_billing": "review"}


def test_billing_settings_with_errors_and_templates(auth_client, owner):
    page = assert_references_resolve(_body(auth_client.get("/settings/billing"), 200))
    assert "branding_theme_id-hint" in page.describedby()  # "Connect Xero" beside the disabled select
    refused = _body(auth_client.post("/settings/billing", data={
        **BILLING_VALID, "invoice_day": "31", "payment_terms_days": "-1", "xero_post_status": "SENT"}), 422)
    assert {"invoice_day-error", "invoice_day-hint", "payment_terms_days-error", "xero_post_status-error"} <= set(
        assert_references_resolve(refused).describedby())
    inline = _body(auth_client.post("/settings/billing", data={**BILLING_VALID, "invoice_day": "40"},
                                    headers={**HTMX, "HX-Source": "input#invoice_day"}), 422)
    assert assert_references_resolve(inline).describedby() == ["invoice_day-error", "invoice_day-hint"]
    saved = _body(auth_client.post("/settings/billing", data=BILLING_VALID,
                                   headers={**HTMX, "HX-Source": "input#invoice_day"}), 200)
    assert "Saved" in saved and "aria-describedby" not in saved
    make_connection(owner.practice_id)
    make_theme(owner.practice_id, "t-standard", "Standard")
    make_theme(owner.practice_id, "t-gone", "Old letterhead", present_in_xero=False)
    db.session.get(BillingSettings, owner.practice_id).default_branding_theme_id = "t-gone"
    db.session.commit()
    page = assert_references_resolve(_body(auth_client.get("/settings/billing"), 200))
    assert "branding_theme_id-error" in page.describedby()  # deleted in Xero: the warning beside it


def test_practice_settings_with_errors(auth_client):
    assert_references_resolve(_body(auth_client.get("/settings/practice"), 200))
    refused = _body(auth_client.post("/settings/practice", data={"name": "", "time_zone": "Mars/Olympus",
                                                                 "primary_crm": "excel"}), 422)
    page = assert_references_resolve(refused)
    assert {"name-error", "time_zone-error", "time_zone-hint", "primary_crm-error"} <= set(page.describedby())


def test_default_account_codes_with_problems(auth_client, owner):
    make_connection(owner.practice_id)
    assert_references_resolve(_body(auth_client.get("/settings/integrations"), 200))  # nothing synced yet
    make_account(owner.practice_id, "200", "Sales")
    make_account(owner.practice_id, "210", "Old Sales", status="ARCHIVED")
    db.session.get(BillingSettings, owner.practice_id).one_off_account_code = "210"
    db.session.commit()
    page = assert_references_resolve(_body(auth_client.get("/settings/integrations"), 200))
    assert set(page.describedby()) == {"recurring_account_code-hint", "one_off_account_code-error"}
    refused = _body(auth_client.post("/settings/integrations/account-codes",
                                     data={"recurring_account_code": "999"}), 422)
    assert "recurring_account_code-error" in assert_references_resolve(refused).describedby()
    fragment = _body(auth_client.post("/settings/integrations/account-codes", data={"recurring_account_code": "999"},
                                      headers=HTMX), 422)
    assert assert_references_resolve(fragment).describedby() == ["recurring_account_code-error"]


def test_select_your_xero_company_with_an_error(app, owner):
    from webapp.settings.integrations_routes import ChooseCompanyForm

    class Org:
        def __init__(self, id, tenant_name):
            self.id, self.tenant_name = id, tenant_name

    choices = [Org("conn-a", "Demo Company (UK)"), Org("conn-b", "Second Org Ltd")]
    with app.test_request_context("/settings/integrations/xero/select", method="POST",
                                  data={"tenant_connection": "conn-zzz"}):
        form = ChooseCompanyForm()
        form.tenant_connection.choices = [(org.id, org.tenant_name) for org in choices]
        html = render_template("settings/_xero_select_company.html", choose_form=form, choices=choices,
                               choose_error="Choose one of the organisations listed.")
    page = assert_references_resolve(html)
    assert page.describedby() == ["tenant_connection-error", "tenant_connection-hint"]
    assert [attributes["value"] for _, attributes in page.invalid] == ["conn-a", "conn-b"]
