"""Who may reach which route, walked over the app's URL map so a new route is covered without being listed.

Signed out, every route but the few public ones below sends a browser to sign in, and answers an htmx request
401 with HX-Redirect to the sign-in page. Signed in as staff, every Practice Settings or Xero route refuses
whatever changes state (403, or the alert for htmx) and changes nothing; the only GETs staff may make there
are the pages listed below, which show the settings with every control disabled.
"""
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import sqlalchemy as sa

from tests.factories import make_account, make_connection, make_menu, make_service, make_theme, make_user
from tests.helpers import HTMX, login, route_methods, route_path
from webapp.extensions import db
from webapp.models import (
    BillingSettings,
    Practice,
    Role,
    Service,
    SyncRun,
    XeroAccount,
    XeroBrandingTheme,
    XeroConnection,
)

# Reachable without signing in: the sign-in page itself, static files, and "/" (only a redirect to the
# Billing Plan, which asks to sign in). There is no Xero webhook or health check route today; one added
# later must be listed here, or this walk fails because it does not ask to sign in.
PUBLIC = {"auth.login", "auth.index", "static"}

# A route is a Practice Settings or Xero route when its URL is under /settings or its endpoint names one of
# these (which also takes in Services & Pricing's per-service account codes, a Xero setting as well).
SETTINGS_WORDS = ("xero", "integration", "settings", "account_code")

# The GETs staff may make on those routes: Practice Settings' tabs, read-only ("Only owners and admins change
# them; staff see them read-only"), the sync progress and the account-code selects they contain, and the
# per-service account codes dialog. Every other GET there (the Xero callback, choosing the organisation) is
# part of changing the connection and is refused like a POST.
STAFF_MAY_VIEW = {
    "settings.index": "/settings/billing",  # a redirect to the first tab
    "settings.billing": None,
    "settings.practice": None,
    "settings.integrations": None,
    "settings.xero_sync_status": None,
    "settings.xero_account_codes": None,
    "pricing.billing_settings": None,
}

# What a form on those routes could post: valid values, so a route that forgot its check would save them.
CHANGES = {
    "name": "Staff Were Here Ltd", "time_zone": "Europe/Dublin", "primary_crm": "xero", "invoice_day": "3",
    "payment_terms_days": "30", "xero_post_status": "AUTHORISED", "consolidate_recurring": "consolidated",
    "consolidate_one_off": "consolidated", "branding_theme_id": "t-special", "recurring_account_code": "260",
    "one_off_account_code": "260", "account_code": "260", "confirm": "yes", "tenant_connection": "conn-b",
}


def is_settings_route(rule) -> bool:
    return rule.rule.startswith("/settings") or any(word in rule.endpoint for word in SETTINGS_WORDS)


# --- signed out ---------------------------------------------------------------------------------------

def test_the_public_routes_are_in_the_url_map_and_answer_signed_out(app, client):
    assert PUBLIC <= {rule.endpoint for rule in app.url_map.iter_rules()}
    assert client.get("/login").status_code == 200
    assert client.get("/").headers["Location"] == "/billing/plan"
    with client.get("/static/favicon.svg") as static:
        assert static.status_code == 200


def test_every_other_route_and_method_sends_a_signed_out_user_to_sign_in(app, client):
    checked = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        path = route_path(rule, ids={name: 1 for name in rule.arguments})
        for method in route_methods(rule):
            browser = client.open(path, method=method, data=CHANGES)
            assert browser.status_code == 302, f"{method} {path} answered {browser.status_code} signed out"
            location = urlsplit(browser.headers["Location"])
            assert location.path == "/login" and parse_qs(location.query)["next"] == [path], f"{method} {path}"

            htmx = client.open(path, method=method, data=CHANGES,
                               headers={**HTMX, "HX-Current-URL": "http://localhost/clients/?q=abb"})
            assert htmx.status_code == 401, f"{method} {path} (htmx) answered {htmx.status_code} signed out"
            assert htmx.headers["HX-Redirect"] == "/login?next=/clients/?q%3Dabb" and htmx.get_data() == b""
            checked.add((method, rule.rule))
    assert len(checked) >= 40  # 51 today; the floor only shows the walk really walked


# --- signed in as staff ---------------------------------------------------------------------------------

class Controls(HTMLParser):
    """What on a page could send something, and whether each is disabled: form controls, and any element
    that posts by itself with htmx (hx-post, hx-put, hx-patch, hx-delete; a form's own hx-post only fires
    through its controls).

    A control is disabled by its own attribute or by a <fieldset disabled> around it. Hidden inputs, plain
    buttons (type="button", e.g. closing a dialog) and the sign-out form in the layout are left out.
    """

    def __init__(self, html: str):
        super().__init__()
        self.fieldsets: list[bool] = []  # open <fieldset>s: disabled or not
        self.form_action: str | None = None
        self.enabled: list[str] = []
        self.disabled: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "fieldset":
            self.fieldsets.append("disabled" in attributes)
        elif tag == "form":
            self.form_action = attributes.get("action")
        if self.form_action == "/logout" or tag == "form":
            return
        sends = any(f"hx-{verb}" in attributes for verb in ("post", "put", "patch", "delete"))
        if tag in ("input", "select", "textarea", "button") or sends:
            if not sends and (attributes.get("type") == "hidden"
                              or (tag == "button" and attributes.get("type") == "button")):
                return
            name = f"{tag} {attributes.get('name') or attributes.get('id') or attributes.get('type')}"
            off = "disabled" in attributes or any(self.fieldsets)
            (self.disabled if off else self.enabled).append(name)

    def handle_endtag(self, tag):
        if tag == "fieldset" and self.fieldsets:
            self.fieldsets.pop()
        elif tag == "form":
            self.form_action = None


@pytest.fixture
def xero_practice(owner):
    """The owner's practice with everything the settings pages show: Xero connected and synced, a priced menu."""
    pid = owner.practice_id
    make_connection(pid)
    make_account(pid, "200", "Sales")
    make_account(pid, "260", "Other Revenue", type="OTHERINCOME")
    make_theme(pid, "t-standard", "Standard")
    make_theme(pid, "t-special", "Special projects", sort_order=1)
    menu = make_menu(pid)
    service = make_service(pid, menu=menu, account_code="200")
    return {"menu_id": menu.id, "service_id": service.id}


def settings_rows(practice_id) -> dict[str, list]:
    """Every row a settings or Xero route could change, as plain values."""
    db.session.expire_all()
    tables = {model: model.practice_id if model is not Practice else model.id
              for model in (Practice, BillingSettings, XeroConnection, XeroAccount, XeroBrandingTheme, SyncRun,
                            Service)}
    return {model.__tablename__: db.session.execute(sa.select(model.__table__).where(column == practice_id)).all()
            for model, column in tables.items()}


def settings_walk(app, ids):
    """(endpoint, method, path) for every Practice Settings or Xero route, from the URL map."""
    for rule in app.url_map.iter_rules():
        if is_settings_route(rule):
            for method in route_methods(rule):
                yield rule.endpoint, method, route_path(rule, ids)


def test_staff_are_refused_every_settings_change_and_every_get_not_listed(app, client, owner, xero_practice):
    login(client, make_user(owner.practice_id, Role.STAFF))
    before = settings_rows(owner.practice_id)
    refused = set()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as xero:  # nothing may reach Xero
        for endpoint, method, path in settings_walk(app, xero_practice):
            if method == "GET" and endpoint in STAFF_MAY_VIEW:
                continue
            browser = client.open(path, method=method, data=CHANGES)
            assert browser.status_code == 403, f"staff {method} {path} answered {browser.status_code}"
            htmx = client.open(path, method=method, data=CHANGES, headers=HTMX)
            assert htmx.status_code == 403, f"staff {method} {path} (htmx) answered {htmx.status_code}"
            assert htmx.headers["HX-Retarget"] == "#htmx-alerts"
            refused.add((method, path))
        assert len(xero.calls) == 0
    assert settings_rows(owner.practice_id) == before
    with client.session_transaction() as session:
        assert "xero_oauth" not in session  # no Xero sign-in was started either
    assert len(refused) >= 9  # 11 today: 9 POSTs and 2 GETs (the Xero callback, choosing the organisation)


def test_staff_see_the_settings_pages_with_every_control_disabled(app, client, owner, xero_practice):
    staff = make_user(owner.practice_id, Role.STAFF)
    walk = [(endpoint, path) for endpoint, method, path in settings_walk(app, xero_practice) if method == "GET"]
    assert {endpoint for endpoint, _ in walk} >= set(STAFF_MAY_VIEW), "STAFF_MAY_VIEW names a route that is gone"
    pages = [(endpoint, path) for endpoint, path in walk if endpoint in STAFF_MAY_VIEW]

    login(client, owner)  # the same pages give the owner controls to use: the check below can tell
    for endpoint, path in pages:
        if STAFF_MAY_VIEW[endpoint] is None:
            assert Controls(client.get(path).get_data(as_text=True)).enabled, f"the owner can change nothing on {path}"

    client.post("/logout")
    login(client, staff)
    for endpoint, path in pages:
        for headers in ({}, HTMX):
            response = client.get(path, headers=headers)
            if STAFF_MAY_VIEW[endpoint] is not None:
                assert (response.status_code, response.headers["Location"]) == (302, STAFF_MAY_VIEW[endpoint])
                continue
            assert response.status_code == 200, f"staff GET {path} answered {response.status_code}"
            controls = Controls(response.get_data(as_text=True))
            assert controls.enabled == [], f"staff can use {controls.enabled} on {path}"
    assert len(pages) == len(STAFF_MAY_VIEW)
