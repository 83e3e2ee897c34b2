"""Services & Pricing: prices, menus (one active), services, and per-service account codes."""
import re
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tests.factories import (
    make_account,
    make_client,
    make_connection,
    make_engagement,
    make_menu,
    make_service,
    make_user,
)
from tests.helpers import HTMX, login
from webapp.extensions import db
from webapp.models import BillingSettings, ConnectionStatus, PricingMenu, Role, Service
from webapp.services import pricing as pricing_service


def _synced_xero(practice_id):
    """What a sync leaves behind: revenue accounts (and others that must not be offered)."""
    make_account(practice_id, "200", "Sales")
    make_account(practice_id, "260", "Other Revenue", type="OTHERINCOME")
    make_account(practice_id, "210", "Consulting", status="ARCHIVED")
    make_account(practice_id, "400", "Advertising", account_class="EXPENSE", type="EXPENSE")


# --- prices -------------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, price", [
    ("250", Decimal("250.00")), ("99.5", Decimal("99.50")), ("0.01", Decimal("0.01")),
    (" 1,200.00 ", Decimal("1200.00")), ("£75", Decimal("75.00")), (Decimal("12.30"), Decimal("12.30")),
])
def test_good_prices_parse_to_pence_exact_decimals(typed, price):
    parsed = pricing_service.parse_price(typed)
    assert parsed == price and isinstance(parsed, Decimal) and parsed.as_tuple().exponent == -2


@pytest.mark.parametrize("typed, message", [
    ("12.345", "2 decimal places"), ("-1", "more than £0.00"), ("abc", "as a number"), ("0", "more than £0.00"),
    ("0.00", "more than £0.00"), ("", "Enter a price"), ("1e3", "as a number"), ("NaN", "as a number"),
    ("12345678901", "too large"),
])
def test_bad_prices_are_refused_with_a_reason(typed, message):
    with pytest.raises(pricing_service.InvalidPrice, match=message):
        pricing_service.parse_price(typed)


# --- access -------------------------------------------------------------------------------------

def test_pages_render_for_a_signed_in_user(auth_client, owner):
    menu = make_menu(owner.practice_id)
    service = make_service(menu=menu)
    for url in ("/pricing/", f"/pricing/menus/{menu.id}", f"/pricing/menus/{menu.id}/rename",
                f"/pricing/services/{service.id}/edit", f"/pricing/menus/{menu.id}/billing-settings"):
        response = auth_client.get(url)
        assert response.status_code == 200, url
        assert "<html" in response.get_data(as_text=True)


def test_empty_practice_page_invites_a_first_menu(auth_client):
    assert "Create your first pricing menu" in auth_client.get("/pricing/").get_data(as_text=True)


def test_anonymous_users_are_sent_to_login(client, owner):
    menu = make_menu(owner.practice_id)
    for url in ("/pricing/", f"/pricing/menus/{menu.id}", f"/pricing/menus/{menu.id}/billing-settings"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_practices_ids_are_404_on_every_pricing_route(auth_client, other_owner):
    menu = make_menu(other_owner.practice_id, name="Theirs", active=False)
    service = make_service(menu=menu)
    make_account(other_owner.practice_id, "200", "Sales")
    m, s = menu.id, service.id
    gets = [f"/pricing/menus/{m}", f"/pricing/menus/{m}/rename", f"/pricing/menus/{m}/billing-settings",
            f"/pricing/services/{s}", f"/pricing/services/{s}/edit"]
    posts = [f"/pricing/menus/{m}/rename", f"/pricing/menus/{m}/activate", f"/pricing/menus/{m}/services",
             f"/pricing/services/{s}", f"/pricing/services/{s}/delete", f"/pricing/services/{s}/account-code"]
    for url in gets:
        assert auth_client.get(url).status_code == 404, url
    for url in posts:
        data = {"name": "Mine now", "billing_method": "monthly", "price": "1", "account_code": "200"}
        assert auth_client.post(url, data=data).status_code == 404, url
    db.session.refresh(menu)
    db.session.refresh(service)
    assert (menu.name, menu.is_active, service.name, service.account_code) == ("Theirs", False, "Monthly Bookkeeping",
                                                                               None)


def test_staff_may_not_change_pricing(client, owner):
    """Pricing decides what every client pays: owners and admins change it, staff only see it."""
    menu = make_menu(owner.practice_id, "2026/27 Pricing")
    draft = make_menu(owner.practice_id, "Draft", active=False)
    service = make_service(menu=menu)
    login(client, make_user(owner.practice_id, Role.STAFF))
    attempts = [
        ("/pricing/menus", {"name": "Staff menu"}),
        (f"/pricing/menus/{menu.id}/rename", {"name": "Staff were here"}),
        (f"/pricing/menus/{draft.id}/activate", {}),
        (f"/pricing/menus/{menu.id}/services", {"name": "Payroll", "billing_method": "monthly", "price": "120"}),
        (f"/pricing/services/{service.id}", {"name": "Cheap", "billing_method": "monthly", "price": "1"}),
        (f"/pricing/services/{service.id}/delete", {}),
    ]
    for url, data in attempts:
        response = client.post(url, data=data)
        assert response.status_code == 403, url
        assert "Only the practice&#39;s owner or an admin can do that." in response.get_data(as_text=True)
    for url in (f"/pricing/menus/{menu.id}/rename", f"/pricing/services/{service.id}/edit"):
        assert client.get(url).status_code == 403, url
    db.session.expire_all()
    menus = {m.name: m.is_active for m in db.session.execute(sa.select(PricingMenu)).scalars()}
    assert menus == {"2026/27 Pricing": True, "Draft": False}
    assert [(s.name, s.price) for s in db.session.execute(sa.select(Service)).scalars()] == [
        ("Monthly Bookkeeping", Decimal("250.00"))]


def test_staff_see_pricing_read_only_with_who_can_change_it(client, owner):
    menu = make_menu(owner.practice_id)
    make_menu(owner.practice_id, "Draft", active=False)
    service = make_service(menu=menu)
    login(client, make_user(owner.practice_id, Role.STAFF))
    for headers in ({}, HTMX):
        body = client.get(f"/pricing/menus/{menu.id}", headers=headers).get_data(as_text=True)
        assert "Only owners and admins can change pricing." in body
        assert "Monthly Bookkeeping" in body and "£250.00" in body
        for control in ("Create menu", "Make active", "Add a service", ">Rename<", ">Edit<", ">Delete<"):
            assert control not in body, control
    row = client.get(f"/pricing/services/{service.id}", headers=HTMX).get_data(as_text=True)
    assert "Monthly Bookkeeping" in row and ">Edit<" not in row and ">Delete<" not in row


def test_post_without_csrf_token_is_refused(auth_client, owner):
    menu = make_menu(owner.practice_id)
    service = make_service(menu=menu)
    _synced_xero(owner.practice_id)
    assert auth_client.post("/pricing/menus", data={"name": "No token"}, csrf=False).status_code == 400
    response = auth_client.post(f"/pricing/services/{service.id}/account-code", data={"account_code": "200"},
                                headers=HTMX, csrf=False)
    assert response.status_code == 400
    db.session.refresh(service)
    assert service.account_code is None
    assert db.session.execute(sa.select(sa.func.count(PricingMenu.id))).scalar_one() == 1


# --- menus --------------------------------------------------------------------------------------

def test_first_menu_becomes_active_and_later_ones_do_not(auth_client):
    auth_client.post("/pricing/menus", data={"name": "2026/27 Pricing"})
    auth_client.post("/pricing/menus", data={"name": "2027/28 Draft"})
    menus = {m.name: m.is_active for m in db.session.execute(sa.select(PricingMenu)).scalars()}
    assert menus == {"2026/27 Pricing": True, "2027/28 Draft": False}


def test_create_menu_with_htmx_returns_the_body_with_the_new_menu(auth_client, owner):
    response = auth_client.post("/pricing/menus", data={"name": "2026/27 Pricing"}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and body.strip().startswith('<div id="pricing-body"')
    assert "<h2>2026/27 Pricing" in body and "HX-Request" in response.headers["Vary"]
    menu = db.session.execute(sa.select(PricingMenu)).scalar_one()
    assert (menu.practice_id, menu.name, menu.is_active) == (owner.practice_id, "2026/27 Pricing", True)


@pytest.mark.parametrize("name, message", [("", "Enter a name"), ("2026/27 pricing", "already have a menu"),
                                           ("M" * 201, "Menu name must be 200 characters or fewer.")])
def test_bad_menu_names_are_refused_by_the_field(auth_client, owner, name, message):
    make_menu(owner.practice_id, "2026/27 Pricing")
    response = auth_client.post("/pricing/menus", data={"name": name}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    label = re.search(r'<label for="new-menu-name">(.*?)</div>', body, re.S).group(1)
    assert message in label and f'value="{name}"' in label
    assert db.session.execute(sa.select(sa.func.count(PricingMenu.id))).scalar_one() == 1


def test_rename_menu(auth_client, owner):
    menu = make_menu(owner.practice_id, "Old name")
    make_menu(owner.practice_id, "Taken", active=False)
    form = auth_client.get(f"/pricing/menus/{menu.id}/rename", headers=HTMX).get_data(as_text=True)
    assert 'id="rename-menu-name"' in form and 'value="Old name"' in form
    refused = auth_client.post(f"/pricing/menus/{menu.id}/rename", data={"name": "taken"}, headers=HTMX)
    assert refused.status_code == 422 and "already have a menu" in refused.get_data(as_text=True)
    response = auth_client.post(f"/pricing/menus/{menu.id}/rename", data={"name": "New name"}, headers=HTMX)
    assert response.status_code == 200 and "<h2>New name" in response.get_data(as_text=True)
    db.session.refresh(menu)
    assert menu.name == "New name"


def test_activating_a_menu_deactivates_the_others(auth_client, owner, other_owner):
    current = make_menu(owner.practice_id, "Current")
    older = make_menu(owner.practice_id, "Older", active=False)
    theirs = make_menu(other_owner.practice_id, "Theirs")
    response = auth_client.post(f"/pricing/menus/{older.id}/activate", headers=HTMX)
    assert response.status_code == 200 and "is now the Active Pricing Menu" in response.get_data(as_text=True)
    db.session.expire_all()
    assert (current.is_active, older.is_active, theirs.is_active) == (False, True, True)
    assert db.session.execute(sa.select(sa.func.count(PricingMenu.id)).filter_by(
        practice_id=owner.practice_id, is_active=True)).scalar_one() == 1


def test_activate_without_javascript_redirects_to_the_menu(auth_client, owner):
    current = make_menu(owner.practice_id, "Current")
    older = make_menu(owner.practice_id, "Older", active=False)
    response = auth_client.post(f"/pricing/menus/{older.id}/activate")
    assert response.status_code == 303 and response.headers["Location"] == f"/pricing/menus/{older.id}"
    db.session.expire_all()
    assert (current.is_active, older.is_active) == (False, True)


def test_index_shows_the_active_menu(auth_client, owner):
    make_menu(owner.practice_id, "Aardvark", active=False)
    make_menu(owner.practice_id, "The active one")
    assert "<h2>The active one" in auth_client.get("/pricing/").get_data(as_text=True)


# --- services -----------------------------------------------------------------------------------

def test_services_table_shows_each_service(auth_client, owner):
    menu = make_menu(owner.practice_id)
    make_service(name="Monthly Bookkeeping", method="monthly", price="250.00", menu=menu)
    make_service(name="Company Formation", method="once", price="150.00", menu=menu)
    body = auth_client.get(f"/pricing/menus/{menu.id}").get_data(as_text=True)
    rows = re.findall(r'<tr id="service-\d+">(.*?)</tr>', body, re.S)
    assert len(rows) == 2
    assert "Monthly" in rows[0] and "£250.00" in rows[0] and "Recurring" in rows[0]
    assert "Once (one-off)" in rows[1] and "£150.00" in rows[1] and "One-off" in rows[1]


def test_billing_method_select_offers_all_six_methods(auth_client, owner):
    menu = make_menu(owner.practice_id)
    body = auth_client.get(f"/pricing/menus/{menu.id}").get_data(as_text=True)
    for label in ("Monthly", "Quarterly in advance", "Quarterly on completion", "Annual in advance",
                  "Annual on completion", "Once (one-off)"):
        assert f">{label}</option>" in body


def test_add_service_with_htmx_returns_the_section(auth_client, owner):
    menu = make_menu(owner.practice_id)
    response = auth_client.post(f"/pricing/menus/{menu.id}/services", headers=HTMX, data={
        "name": "VAT Returns", "description": "Quarterly MTD return", "billing_method": "quarterly_advance",
        "price": "300"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.strip().startswith('<section id="menu-services">')
    assert "VAT Returns" in body and "Saved" in body
    service = db.session.execute(sa.select(Service)).scalar_one()
    assert (service.price, service.billing_method, service.practice_id) == (
        Decimal("300.00"), "quarterly_advance", owner.practice_id)


@pytest.mark.parametrize("price, message", [
    ("12.345", "2 decimal places"), ("-1", "more than £0.00"), ("abc", "as a number"), ("0", "more than £0.00"),
    ("", "Enter a price"),
])
def test_bad_service_prices_are_refused_by_the_field(auth_client, owner, price, message):
    menu = make_menu(owner.practice_id)
    response = auth_client.post(f"/pricing/menus/{menu.id}/services", headers=HTMX, data={
        "name": "VAT Returns", "billing_method": "monthly", "price": price})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    label = re.search(r'<label for="new-service-price">(.*?)</div>', body, re.S).group(1)
    assert message in label and f'value="{price}"' in label
    assert 'value="VAT Returns"' in body
    assert db.session.execute(sa.select(sa.func.count(Service.id))).scalar_one() == 0


def test_unknown_billing_method_is_refused(auth_client, owner):
    menu = make_menu(owner.practice_id)
    response = auth_client.post(f"/pricing/menus/{menu.id}/services",
                                data={"name": "X", "billing_method": "fortnightly", "price": "1"})
    assert response.status_code == 422
    assert db.session.execute(sa.select(sa.func.count(Service.id))).scalar_one() == 0


def test_edit_service_inline(auth_client, owner):
    menu = make_menu(owner.practice_id)
    service = make_service(menu=menu)
    form = auth_client.get(f"/pricing/services/{service.id}/edit", headers=HTMX)
    assert form.status_code == 200 and 'value="250.00"' in form.get_data(as_text=True)
    refused = auth_client.post(f"/pricing/services/{service.id}", headers=HTMX,
                               data={"name": "Bookkeeping", "billing_method": "monthly", "price": "12.345"})
    assert refused.status_code == 422 and 'value="12.345"' in refused.get_data(as_text=True)
    db.session.refresh(service)
    assert service.price == Decimal("250.00")
    response = auth_client.post(f"/pricing/services/{service.id}", headers=HTMX, data={
        "name": "Bookkeeping", "description": "Monthly books", "billing_method": "annual_completion", "price": "99.99"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.strip().startswith(f'<tr id="service-{service.id}">')
    assert "Saved" in body and "Annual on completion" in body
    db.session.refresh(service)
    assert (service.name, service.price, service.billing_method) == ("Bookkeeping", Decimal("99.99"),
                                                                     "annual_completion")
    cancel = auth_client.get(f"/pricing/services/{service.id}", headers=HTMX)
    assert "Edit</a>" in cancel.get_data(as_text=True)


def test_delete_service(auth_client, owner):
    menu = make_menu(owner.practice_id)
    service = make_service(menu=menu)
    response = auth_client.post(f"/pricing/services/{service.id}/delete", headers=HTMX)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    assert db.session.execute(sa.select(sa.func.count(Service.id))).scalar_one() == 0


def test_service_with_engagements_cannot_be_deleted(auth_client, owner):
    menu = make_menu(owner.practice_id)
    service = make_service(menu=menu)
    make_engagement(make_client(owner.practice_id, "Abbott"), service, price="250", start=date(2026, 1, 1))
    response = auth_client.post(f"/pricing/services/{service.id}/delete", headers=HTMX)
    assert response.status_code == 409 and "cannot be deleted" in response.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Service.id))).scalar_one() == 1


# --- Billing & Engagement Letter Settings --------------------------------------------------------

def test_kebab_menu_only_on_the_active_menu(auth_client, owner):
    active = make_menu(owner.practice_id, "Active")
    inactive = make_menu(owner.practice_id, "Inactive", active=False)
    body = auth_client.get(f"/pricing/menus/{active.id}").get_data(as_text=True)
    assert 'aria-label="Pricing menu actions"' in body
    assert ">Billing &amp; Engagement Letter Settings</a>" in body
    assert f'hx-get="/pricing/menus/{active.id}/billing-settings"' in body
    assert '<dialog id="billing-settings-dialog"' in body
    assert 'aria-label="Pricing menu actions"' not in auth_client.get(
        f"/pricing/menus/{inactive.id}").get_data(as_text=True)


def test_dialog_is_a_fragment_for_htmx_and_a_page_otherwise(auth_client, owner):
    menu = make_menu(owner.practice_id)
    make_service(menu=menu)
    fragment = auth_client.get(f"/pricing/menus/{menu.id}/billing-settings", headers=HTMX)
    page = auth_client.get(f"/pricing/menus/{menu.id}/billing-settings")
    assert fragment.get_data(as_text=True).strip().startswith('<article id="billing-settings-content">')
    assert "<html" not in fragment.get_data(as_text=True) and "<html" in page.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in page.headers["Vary"]


def _dialog_rows(body: str) -> dict[int, str]:
    return {int(sid): html for sid, html in re.findall(
        r'<tr data-service-id="(\d+)" id="service-\d+-account-code">(.*?)</tr>', body, re.S)}


def test_dialog_without_xero_shows_use_default_disabled_with_a_hint(auth_client, owner):
    menu = make_menu(owner.practice_id)
    service = make_service(menu=menu)
    body = auth_client.get(f"/pricing/menus/{menu.id}/billing-settings", headers=HTMX).get_data(as_text=True)
    row = _dialog_rows(body)[service.id]
    assert "Monthly Bookkeeping" in row and "Monthly" in row and "£250.00" in row
    assert 'name="account_code"' in row and "disabled" in row
    assert re.findall(r"<option[^>]*>([^<]*)</option>", row) == ["Use default"]
    assert "Connect Xero in Practice Settings &gt; Integrations to choose account codes" in body


def test_dialog_offers_active_revenue_accounts_and_the_default_per_method(auth_client, owner):
    _synced_xero(owner.practice_id)
    make_account(owner.practice_id, "250", "Fees - one-off")
    settings = db.session.get(BillingSettings, owner.practice_id)
    settings.recurring_account_code, settings.one_off_account_code = "200", "250"
    db.session.commit()
    menu = make_menu(owner.practice_id)
    monthly = make_service(name="Monthly Bookkeeping", method="monthly", menu=menu)
    once = make_service(name="Company Formation", method="once", price="150.00", menu=menu)
    body = auth_client.get(f"/pricing/menus/{menu.id}/billing-settings", headers=HTMX).get_data(as_text=True)
    rows = _dialog_rows(body)
    assert "disabled" not in rows[monthly.id] and "Connect Xero" not in body
    options = re.findall(r"<option[^>]*>([^<]*)</option>", rows[monthly.id])
    assert options == ["Use default (200 — Sales)", "200 — Sales", "250 — Fees - one-off", "260 — Other Revenue"]
    assert re.findall(r"<option[^>]*>([^<]*)</option>", rows[once.id])[0] == "Use default (250 — Fees - one-off)"


def test_saving_an_account_code_confirms_in_place(auth_client, owner):
    _synced_xero(owner.practice_id)
    menu = make_menu(owner.practice_id)
    service = make_service(menu=menu)
    response = auth_client.post(f"/pricing/services/{service.id}/account-code", data={"account_code": "260"},
                                headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert body.strip().startswith(f'<tr data-service-id="{service.id}" id="service-{service.id}-account-code">')
    assert "Saved" in body and '<option value="260" selected>' in body
    db.session.refresh(service)
    assert service.account_code == "260"
    back = auth_client.post(f"/pricing/services/{service.id}/account-code", data={"account_code": ""}, headers=HTMX)
    assert back.status_code == 200 and "Saved" in back.get_data(as_text=True)
    db.session.refresh(service)
    assert service.account_code is None


@pytest.mark.parametrize("code", ["210", "400", "999"])
def test_account_codes_not_in_the_active_revenue_list_are_refused(auth_client, owner, code):
    _synced_xero(owner.practice_id)
    menu = make_menu(owner.practice_id)
    service = make_service(account_code="200", menu=menu)
    response = auth_client.post(f"/pricing/services/{service.id}/account-code", data={"account_code": code},
                                headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "not an active sales account" in body and "Saved" not in body
    assert '<option value="200" selected>' in body
    db.session.refresh(service)
    assert service.account_code == "200"


def test_account_code_refused_when_xero_has_no_synced_accounts(auth_client, owner):
    menu = make_menu(owner.practice_id)
    service = make_service(menu=menu)
    response = auth_client.post(f"/pricing/services/{service.id}/account-code", data={"account_code": "200"})
    assert response.status_code == 422 and "not an active sales account" in response.get_data(as_text=True)
    db.session.refresh(service)
    assert service.account_code is None


def test_disconnected_xero_disables_the_choice(auth_client, owner):
    _synced_xero(owner.practice_id)
    make_connection(owner.practice_id, status=ConnectionStatus.DISCONNECTED.value)
    menu = make_menu(owner.practice_id)
    service = make_service(menu=menu)
    body = auth_client.get(f"/pricing/menus/{menu.id}/billing-settings", headers=HTMX).get_data(as_text=True)
    assert "disabled" in _dialog_rows(body)[service.id] and "Connect Xero in Practice Settings" in body
    assert auth_client.post(f"/pricing/services/{service.id}/account-code",
                            data={"account_code": "200"}).status_code == 422


def test_a_code_chosen_before_disconnecting_is_still_shown_as_in_use(auth_client, owner):
    _synced_xero(owner.practice_id)
    menu = make_menu(owner.practice_id)
    service = make_service(account_code="260", menu=menu)
    make_connection(owner.practice_id, status=ConnectionStatus.DISCONNECTED.value)
    body = auth_client.get(f"/pricing/menus/{menu.id}/billing-settings", headers=HTMX).get_data(as_text=True)
    row = _dialog_rows(body)[service.id]
    assert '<option value="260" selected>260 — Other Revenue (kept while Xero is not connected)</option>' in row
    assert "disabled" in row and "Codes chosen earlier are kept and still used on invoices" in body


def test_staff_see_account_codes_but_only_owner_or_admin_change_them(client, owner):
    _synced_xero(owner.practice_id)
    menu = make_menu(owner.practice_id)
    service = make_service(account_code="200", menu=menu)
    login(client, make_user(owner.practice_id, Role.STAFF))
    body = client.get(f"/pricing/menus/{menu.id}/billing-settings", headers=HTMX).get_data(as_text=True)
    assert "disabled" in _dialog_rows(body)[service.id]
    assert "Only the practice's owner or an admin can change account codes" in body
    response = client.post(f"/pricing/services/{service.id}/account-code", data={"account_code": "260"}, headers=HTMX)
    assert response.status_code == 403
    db.session.refresh(service)
    assert service.account_code == "200"


def test_stored_code_archived_in_xero_shows_the_warning(auth_client, owner):
    _synced_xero(owner.practice_id)
    menu = make_menu(owner.practice_id)
    service = make_service(account_code="210", menu=menu)  # chosen before it was archived in Xero
    fine = make_service(name="Payroll", account_code="200", menu=menu)
    gone = make_service(name="VAT Returns", account_code="299", menu=menu)  # deleted in Xero: no longer synced at all
    body = auth_client.get(f"/pricing/menus/{menu.id}/billing-settings", headers=HTMX).get_data(as_text=True)
    rows = _dialog_rows(body)
    assert "was archived in Xero" in rows[service.id] and 'aria-invalid="true"' in rows[service.id]
    assert '<option value="210" selected>210 — Consulting (not available in Xero)</option>' in rows[service.id]
    assert "no longer exists in Xero" in rows[gone.id]
    assert '<option value="299" selected>299 (not available in Xero)</option>' in rows[gone.id]
    assert "in Xero" not in rows[fine.id] and 'aria-invalid' not in rows[fine.id]


def test_account_code_without_javascript_redirects_back_to_the_settings(auth_client, owner):
    _synced_xero(owner.practice_id)
    menu = make_menu(owner.practice_id)
    service = make_service(menu=menu)
    response = auth_client.post(f"/pricing/services/{service.id}/account-code", data={"account_code": "200"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/pricing/menus/{menu.id}/billing-settings"
    db.session.refresh(service)
    assert service.account_code == "200"
    refused = auth_client.post(f"/pricing/services/{service.id}/account-code", data={"account_code": "400"})
    assert refused.status_code == 422 and "<html" in refused.get_data(as_text=True)
    assert "not an active sales account" in refused.get_data(as_text=True)
    db.session.refresh(service)
    assert service.account_code == "200"


def test_a_menu_refuses_a_second_service_of_the_same_name_beside_the_field(auth_client, owner):
    menu = make_menu(owner.practice_id)
    make_service(menu=menu, name="VAT Returns")
    response = auth_client.post(f"/pricing/menus/{menu.id}/services", headers=HTMX, data={
        "name": "  vat returns ", "billing_method": "monthly", "price": "300"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    label = re.search(r'<label for="new-service-name">(.*?)</div>', body, re.S).group(1)
    assert "already has a service called “vat returns”" in label
    assert db.session.execute(sa.select(sa.func.count(Service.id))).scalar_one() == 1
    # Another menu may have its own VAT Returns.
    other = make_menu(owner.practice_id, name="2027/28 Pricing", active=False)
    added = auth_client.post(f"/pricing/menus/{other.id}/services", headers=HTMX, data={
        "name": "VAT Returns", "billing_method": "monthly", "price": "300"})
    assert added.status_code == 200


def test_renaming_a_service_to_another_ones_name_is_refused_but_keeping_its_own_is_not(auth_client, owner):
    menu = make_menu(owner.practice_id)
    books = make_service(menu=menu, name="Bookkeeping")
    make_service(menu=menu, name="Payroll")
    form = {"billing_method": "monthly", "price": "250"}
    refused = auth_client.post(f"/pricing/services/{books.id}", headers=HTMX, data={"name": "PAYROLL", **form})
    assert refused.status_code == 422 and "already has a service called “PAYROLL”" in refused.get_data(as_text=True)
    db.session.refresh(books)
    assert books.name == "Bookkeeping"
    kept = auth_client.post(f"/pricing/services/{books.id}", headers=HTMX, data={"name": "Bookkeeping", **form})
    assert kept.status_code == 200


def test_an_over_long_service_name_names_the_limit_when_adding_or_renaming(auth_client, owner):
    menu = make_menu(owner.practice_id)
    service = make_service(menu=menu, name="Bookkeeping")
    form = {"name": "S" * 201, "billing_method": "monthly", "price": "250"}
    added = auth_client.post(f"/pricing/menus/{menu.id}/services", headers=HTMX, data=form)
    label = re.search(r'<label for="new-service-name">(.*?)</div>', added.get_data(as_text=True), re.S).group(1)
    assert added.status_code == 422 and "Service name must be 200 characters or fewer." in label
    renamed = auth_client.post(f"/pricing/services/{service.id}", headers=HTMX, data=form)
    assert renamed.status_code == 422
    assert "Service name must be 200 characters or fewer." in renamed.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(Service.id))).scalar_one() == 1
    fits = auth_client.post(f"/pricing/menus/{menu.id}/services", headers=HTMX, data=dict(form, name="S" * 200))
    assert fits.status_code == 200
