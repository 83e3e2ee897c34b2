"""Practice Settings > Billing Settings: view, inline save, who may change it, bad input."""
import re

import pytest

from tests.factories import make_connection, make_theme, make_user
from tests.helpers import HTMX, fresh, login
from webapp.extensions import db
from webapp.models import BillingSettings, Role, XeroBrandingTheme

URL = "/settings/billing"
VALID = {"consolidate_recurring": "consolidated", "consolidate_one_off": "itemised", "invoice_day": "15",
         "payment_terms_days": "30", "xero_post_status": "AUTHORISED", "create_missing_contacts": "y",
         "monthly_billing": "review"}


def settings_of(user) -> BillingSettings:
    return fresh(BillingSettings, user.practice_id)


def connect_xero(practice_id, themes=(("t-standard", "Standard", 0), ("t-special", "Special projects", 1))):
    make_connection(practice_id, tenant_id=f"tenant-{practice_id}", tenant_name="Demo Org")
    for theme_id, name, sort_order in themes:
        make_theme(practice_id, theme_id, name, sort_order)


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_page_renders_the_stored_settings_for_the_owner(auth_client):
    response = auth_client.get(URL)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Billing Settings" in body and 'id="billing-settings"' in body
    assert 'name="invoice_day"' in body and 'value="1"' in body
    assert 'name="payment_terms_days"' in body and 'value="14"' in body
    assert f'hx-post="{URL}"' in body


def test_a_changed_control_saves_only_itself_and_comes_back_alone_with_saved(auth_client, owner):
    response = auth_client.post(URL, data=VALID, headers={**HTMX, "HX-Source": "input#invoice_day"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and 'id="payment_terms_days"' not in body  # just this control, swapped in place
    assert 'id="invoice_day-control"' in body and 'hx-target="#invoice_day-control"' in body
    assert body.index('id="invoice_day"') < body.index("Saved")
    stored = settings_of(owner)
    assert stored.invoice_day == 15
    assert (stored.consolidate_recurring, stored.payment_terms_days, stored.xero_post_status) == (False, 14, "DRAFT")


def test_a_bad_value_elsewhere_does_not_block_saving_the_control_that_changed(auth_client, owner):
    bad_day = {**VALID, "invoice_day": "40"}
    refused = auth_client.post(URL, data=bad_day, headers={**HTMX, "HX-Source": "input#invoice_day"})
    assert refused.status_code == 422 and "Enter a day from 1 to 28" in refused.get_data(as_text=True)
    saved = auth_client.post(URL, data=bad_day, headers={**HTMX, "HX-Source": "select#xero_post_status"})
    assert saved.status_code == 200 and "Saved" in saved.get_data(as_text=True)
    stored = settings_of(owner)
    assert (stored.invoice_day, stored.xero_post_status) == (1, "AUTHORISED")


def test_the_whole_form_saves_everything_without_htmx(auth_client, owner):
    response = auth_client.post(URL, data=VALID)
    assert response.status_code == 200 and "Saved" in response.get_data(as_text=True)
    stored = settings_of(owner)
    assert (stored.consolidate_recurring, stored.consolidate_one_off) == (True, False)
    assert (stored.invoice_day, stored.payment_terms_days, stored.xero_post_status) == (15, 30, "AUTHORISED")


def test_draft_is_stored_as_draft(auth_client, owner):
    auth_client.post(URL, data={**VALID, "xero_post_status": "DRAFT"})
    assert settings_of(owner).xero_post_status == "DRAFT"


def test_admin_may_change_settings(client, owner):
    admin = make_user(owner.practice_id, Role.ADMIN)
    login(client, admin)
    assert client.post(URL, data=VALID).status_code == 200
    assert settings_of(owner).invoice_day == 15


def test_staff_sees_settings_read_only_and_cannot_change_them(client, owner):
    staff = make_user(owner.practice_id, Role.STAFF)
    login(client, staff)
    page = client.get(URL).get_data(as_text=True)
    assert "<fieldset disabled>" in page
    assert "hx-post" not in page
    response = client.post(URL, data=VALID)
    assert response.status_code == 403
    assert settings_of(owner).invoice_day == 1


@pytest.mark.parametrize("field, value, message", [
    ("invoice_day", "31", "Enter a day from 1 to 28"),
    ("invoice_day", "0", "Enter a day from 1 to 28"),
    ("invoice_day", "", "Enter a day from 1 to 28"),
    ("payment_terms_days", "-1", "from 0 to 120"),
    ("payment_terms_days", "121", "from 0 to 120"),
    ("xero_post_status", "SENT", "Choose Draft or Approved"),
    ("consolidate_one_off", "sometimes", "Choose one line or one line per service"),
])
def test_bad_input_is_refused_beside_the_field_and_nothing_is_saved(auth_client, owner, field, value, message):
    response = auth_client.post(URL, data={**VALID, field: value}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    error_at = body.index(f'id="{field}-error"')
    assert body.rindex(f'id="{field}"', 0, error_at) > body.rindex("<label", 0, error_at)  # same label
    assert message in body[error_at:error_at + 200]
    assert "Saved" not in body
    stored = settings_of(owner)
    assert (stored.invoice_day, stored.payment_terms_days, stored.xero_post_status) == (1, 14, "DRAFT")


def test_rejected_input_is_kept_in_the_form(auth_client, owner):
    response = auth_client.post(URL, data={**VALID, "invoice_day": "31"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'value="31"' in body and 'value="30"' in body
    stored = settings_of(owner)
    assert (stored.invoice_day, stored.payment_terms_days) == (1, 14)  # the whole form is refused


def test_save_without_csrf_token_is_refused(auth_client, owner):
    response = auth_client.post(URL, data=VALID, csrf=False)
    assert response.status_code == 400
    assert settings_of(owner).invoice_day == 1


# --- default invoice template -----------------------------------------------------------------------

def test_without_xero_the_template_select_is_disabled_with_a_hint(auth_client):
    body = auth_client.get(URL).get_data(as_text=True)
    assert '<select id="branding_theme_id" name="branding_theme_id" disabled' in body
    assert re.search(r"Connect Xero</a>\s+to choose one of your Xero invoice templates", body)


def test_saving_without_xero_leaves_the_template_alone(auth_client, owner):
    assert auth_client.post(URL, data=VALID).status_code == 200
    assert settings_of(owner).default_branding_theme_id is None


def test_xero_default_theme_is_preselected_when_none_is_stored(auth_client, owner):
    connect_xero(owner.practice_id, themes=(("t-special", "Special projects", 2), ("t-standard", "Standard", 0)))
    body = auth_client.get(URL).get_data(as_text=True)
    assert '<option value="t-standard" selected>Standard (Xero default)</option>' in body
    assert '<option value="t-special" >Special projects</option>' in body


def test_owner_chooses_a_synced_theme(auth_client, owner):
    connect_xero(owner.practice_id)
    response = auth_client.post(URL, data={**VALID, "branding_theme_id": "t-special"},
                                headers={**HTMX, "HX-Source": "select#branding_theme_id"})
    assert response.status_code == 200
    assert settings_of(owner).default_branding_theme_id == "t-special"
    assert '<option value="t-special" selected>' in response.get_data(as_text=True)


def test_a_theme_not_in_the_synced_list_is_refused(auth_client, owner):
    connect_xero(owner.practice_id)
    response = auth_client.post(URL, data={**VALID, "branding_theme_id": "made-up"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a template from the list synced from Xero" in body
    stored = settings_of(owner)
    assert stored.default_branding_theme_id is None and stored.invoice_day == 1


def test_another_practices_theme_is_refused(auth_client, owner, other_owner):
    connect_xero(other_owner.practice_id, themes=(("t-rival", "Rival", 0),))
    connect_xero(owner.practice_id)
    assert auth_client.post(URL, data={**VALID, "branding_theme_id": "t-rival"}).status_code == 422
    stored = settings_of(owner)
    assert (stored.default_branding_theme_id, stored.invoice_day) == (None, 1)


def test_a_stored_theme_deleted_in_xero_shows_the_warning(auth_client, owner):
    connect_xero(owner.practice_id)
    db.session.execute(db.update(XeroBrandingTheme).filter_by(branding_theme_id="t-special")
                       .values(present_in_xero=False))
    settings_of(owner).default_branding_theme_id = "t-special"
    db.session.commit()
    body = auth_client.get(URL).get_data(as_text=True)
    assert "The invoice template “Special projects” was deleted in Xero" in body
    assert "Special projects (deleted in Xero)" in body
    # Changing another field keeps the (still stored) deleted theme rather than refusing the save.
    response = auth_client.post(URL, data={**VALID, "branding_theme_id": "t-special"})
    assert response.status_code == 200
    assert settings_of(owner).invoice_day == 15


def test_an_inline_theme_not_in_the_synced_list_is_refused_beside_it(auth_client, owner):
    connect_xero(owner.practice_id)
    response = auth_client.post(URL, data={**VALID, "branding_theme_id": "made-up"},
                                headers={**HTMX, "HX-Source": "select#branding_theme_id"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="branding_theme_id-control"' in body and "Choose a template from the list synced from Xero" in body
    assert settings_of(owner).default_branding_theme_id is None


# --- create missing contacts in Xero when posting -------------------------------------------------------------

def test_create_missing_contacts_is_on_by_default_with_its_help(auth_client, owner):
    assert settings_of(owner).create_missing_contacts is True
    body = auth_client.get(URL).get_data(as_text=True)
    control = body[body.index('id="create_missing_contacts-control"'):]
    control = control[:control.index("</div>")]
    assert re.search(r'<input[^>]*type="checkbox"[^>]*name="create_missing_contacts"[^>]*checked', control) or \
        re.search(r'<input[^>]*checked[^>]*name="create_missing_contacts"', control)
    assert "Create missing contacts in Xero when posting" in control
    assert ("When a client has no Xero contact and no likely match, Socket creates one from the client&#39;s details "
            "as it posts the invoice. Off: the invoice waits until you link the client.") in control
    # Unticked, the box sends nothing: the hidden "" beside it still says the field was there.
    assert '<input type="hidden" name="create_missing_contacts" value="">' in body


@pytest.mark.parametrize("headers", [{}, {**HTMX, "HX-Source": "input#create_missing_contacts"}],
                         ids=["whole form", "inline"])
def test_create_missing_contacts_can_be_turned_off_and_on(auth_client, owner, headers):
    off = auth_client.post(URL, data={**VALID, "create_missing_contacts": ""}, headers=headers)
    body = off.get_data(as_text=True)
    assert off.status_code == 200 and "Saved" in body
    assert settings_of(owner).create_missing_contacts is False
    # Shown again unticked, the box still sends "y" when ticked (not the hidden "" it was posted with).
    box = re.search(r'<input[^>]*type="checkbox"[^>]*>', body).group(0)
    assert 'value="y"' in box and "checked" not in box
    on = auth_client.post(URL, data={**VALID, "create_missing_contacts": ["", "y"]}, headers=headers)
    box = re.search(r'<input[^>]*type="checkbox"[^>]*>', on.get_data(as_text=True)).group(0)
    assert on.status_code == 200 and 'value="y"' in box and "checked" in box
    assert settings_of(owner).create_missing_contacts is True


def test_a_post_without_create_missing_contacts_leaves_it_alone_and_says_so(auth_client, owner):
    settings = settings_of(owner)
    settings.create_missing_contacts = False
    db.session.commit()
    data = {key: value for key, value in VALID.items() if key != "create_missing_contacts"}
    response = auth_client.post(URL, data=data)
    assert response.status_code == 422
    assert "Say whether Socket should create missing contacts in Xero when posting." in response.get_data(as_text=True)
    assert settings_of(owner).create_missing_contacts is False


def test_staff_cannot_change_create_missing_contacts(client, owner):
    login(client, make_user(owner.practice_id, Role.STAFF))
    page = client.get(URL).get_data(as_text=True)
    assert 'name="create_missing_contacts"' in page and "<fieldset disabled>" in page
    assert client.post(URL, data={**VALID, "create_missing_contacts": ""}).status_code == 403
    assert settings_of(owner).create_missing_contacts is True


# --- automatic monthly billing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {**HTMX, "HX-Source": "select#monthly_billing"}],
                         ids=["whole form", "inline"])
def test_monthly_billing_is_reviewed_by_default_and_can_be_made_automatic(auth_client, owner, headers):
    assert settings_of(owner).approve_automatically is False
    body = auth_client.get(URL).get_data(as_text=True)
    assert "Approve automatically on the invoice day" in body and "exactly as pressing Approve would" in body
    saved = auth_client.post(URL, data={**VALID, "monthly_billing": "automatic"}, headers=headers)
    assert saved.status_code == 200 and settings_of(owner).approve_automatically is True
    refused = auth_client.post(URL, data={**VALID, "monthly_billing": "sometimes"}, headers=headers)
    assert refused.status_code == 422
    assert "Choose to review each month or to approve automatically." in refused.get_data(as_text=True)
    assert settings_of(owner).approve_automatically is True
