"""Who may reach which route, walked over the app's URL map so a new route is covered without being listed.

Signed out, every route but the few public ones below sends a browser to sign in, and answers an htmx request
401 with HX-Redirect to the sign-in page. Signed in as staff, every owner-and-admin route — Practice Settings,
Xero, Services & Pricing, approving the Billing Plan — refuses whatever changes state (403, or the alert for
htmx) and changes nothing; the only GETs staff may make there are the pages listed below, which show
everything with every control disabled or hidden, and say who can change it.
"""
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
import sqlalchemy as sa

from tests.factories import (
    make_account,
    make_client,
    make_connection,
    make_engagement,
    make_invoice,
    make_menu,
    make_service,
    make_sync_run,
    make_theme,
    make_user,
)
from tests.helpers import HTMX, approve_form, login, route_methods, route_path
from webapp.clock import this_month
from webapp.extensions import db
from webapp.models import (
    BilledCharge,
    BillingRun,
    BillingSettings,
    Invoice,
    InvoicePostingRun,
    Practice,
    PricingMenu,
    Role,
    Service,
    SyncRun,
    XeroAccount,
    XeroBrandingTheme,
    XeroConnection,
)

# Reachable without signing in: the sign-in page itself, static files, "/" (only a redirect to the Billing Plan,
# which asks to sign in), and Xero's webhook (its signature is its authentication: tests/test_webhooks.py). A route
# added later must be listed here, or this walk fails because it does not ask to sign in.
PUBLIC = {"auth.login", "auth.index", "static", "webhooks.xero"}

# An owner-and-admin route: its URL is under /settings (Practice Settings) or /pricing (pricing decides what
# every client pays), or its endpoint names one of these — Xero, integrations, account codes (Xero settings), and
# approving (a Billing Plan approval raises the month's invoices, which go to Xero; posting to Xero will too).
MANAGER_AREAS = ("/settings", "/pricing")
MANAGER_WORDS = ("xero", "integration", "settings", "account_code", "approve")

# The GETs staff may make on those routes: Practice Settings' tabs, read-only ("Only owners and admins change
# them; staff see them read-only"), the sync progress and the account-code selects they contain, the sync history
# and a run's own page, the per-service account codes dialog, and Services & Pricing's pages and a service's row.
# Every other GET there (the Xero callback, choosing the organisation, renaming a menu, editing a service) is part
# of a change and is refused like a POST.
STAFF_MAY_VIEW = {
    "settings.index": "/settings/integrations",  # a redirect to the first tab
    "settings.billing": None,
    "settings.practice": None,
    "settings.integrations": None,
    "settings.xero_sync_status": None,
    "settings.xero_runs": None,
    "settings.xero_run": None,
    "settings.xero_account_codes": None,
    "pricing.billing_settings": None,
    "pricing.index": None,
    "pricing.menu": None,
    "pricing.service_row": None,  # an htmx fragment; a browser is sent to the service's menu
}
# Pages everyone may view that hold an owner-and-admin control (checked like the ones above).
STAFF_READ_ONLY_PAGES = {"billing.plan"}
# What staff are told on those pages (as a page and as the htmx fragment), beside the controls they cannot use.
READ_ONLY_LINES = {
    "pricing.index": "Only owners and admins can change pricing.",
    "pricing.menu": "Only owners and admins can change pricing.",
    "pricing.billing_settings": "Only the practice's owner or an admin can change account codes.",
    "settings.xero_runs": "Only the practice's owner or an admin can start a sync.",
    "settings.xero_run": "Only the practice's owner or an admin can start a sync.",
    "billing.plan": "Only owners and admins can approve the plan.",
}

# What a form on those routes could post: valid values, so a route that forgot its check would save them.
CHANGES = {
    "name": "Staff Were Here Ltd", "time_zone": "Europe/Dublin", "primary_crm": "xero", "invoice_day": "3",
    "payment_terms_days": "30", "xero_post_status": "AUTHORISED", "consolidate_recurring": "consolidated",
    "consolidate_one_off": "consolidated", "branding_theme_id": "t-special", "recurring_account_code": "260",
    "one_off_account_code": "260", "account_code": "260", "confirm": "yes", "tenant_connection": "conn-b",
    "description": "Staff price", "billing_method": "annual_advance", "price": "1", "create_missing_contacts": "",
    "monthly_billing": "automatic",
}


def is_manager_route(rule) -> bool:
    if rule.endpoint in PUBLIC:
        return False
    return rule.rule.startswith(MANAGER_AREAS) or any(word in rule.endpoint for word in MANAGER_WORDS)


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
    assert {("GET", f"/billing/{page}/export.{kind}") for page in ("plan", "invoices") for kind in ("csv", "xlsx")
            } <= checked  # the downloads too


# --- signed in as staff ---------------------------------------------------------------------------------

class Controls(HTMLParser):
    """What on a page could send something, and whether each is disabled: form controls, and any element
    that posts by itself with htmx (hx-post, hx-put, hx-patch, hx-delete; a form's own hx-post only fires
    through its controls).

    A control is disabled by its own attribute or by a <fieldset disabled> around it. Hidden inputs, plain
    buttons (type="button", e.g. closing a dialog), the layout's two sign-out forms and controls of a GET form
    (a filter or search: it only asks for another view of the page) are left out.
    """

    def __init__(self, html: str):
        super().__init__()
        self.fieldsets: list[bool] = []  # open <fieldset>s: disabled or not
        self.form_action: str | None = None
        self.in_get_form = False
        self.enabled: list[str] = []
        self.disabled: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "fieldset":
            self.fieldsets.append("disabled" in attributes)
        elif tag == "form":
            self.form_action = attributes.get("action")
            self.in_get_form = (attributes.get("method") or "get").lower() == "get" and "hx-post" not in attributes
        if self.form_action in ("/logout", "/sessions/sign-out-others") or tag == "form" or self.in_get_form:
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
            self.in_get_form = False


@pytest.fixture
def xero_practice(owner):
    """The owner's practice with everything the owner-and-admin pages show: Xero connected and synced, an active
    menu with a service a client is engaged on (so this month's plan has something to approve), a menu that
    is not active with a service nobody uses, and a nightly sync that failed (its page offers the owner Retry).
    Those are the ids walked: what a staff change would hurt most (the menu could be activated, the service
    deleted, a sync started)."""
    pid = owner.practice_id
    make_connection(pid)
    make_account(pid, "200", "Sales")
    make_account(pid, "260", "Other Revenue", type="OTHERINCOME")
    make_theme(pid, "t-standard", "Standard")
    make_theme(pid, "t-special", "Special projects", sort_order=1)
    menu = make_menu(pid)
    draft = make_menu(pid, "2027/28 Draft", active=False)
    engaged = make_service(pid, name="Payroll", menu=menu)
    make_engagement(make_client(pid), engaged)
    service = make_service(pid, menu=draft, account_code="200")
    run = make_sync_run(pid, status="failed")  # its page offers the owner Retry; the banner shows on every page
    approval = approve_form(pid, f"{this_month('Europe/London'):%Y-%m}")
    invoice = make_invoice(make_client(pid, "Held Ltd", code="HEL01"), status="held")
    return {"menu_id": draft.id, "service_id": service.id, "run_id": run.id, "approval": approval,
            "invoice_id": invoice.id}


def manager_rows(practice_id) -> dict[str, list]:
    """Every row an owner-and-admin route could change, as plain values."""
    db.session.expire_all()
    tables = {model: model.practice_id if model is not Practice else model.id
              for model in (Practice, BillingSettings, XeroConnection, XeroAccount, XeroBrandingTheme, SyncRun,
                            PricingMenu, Service, BillingRun, Invoice, BilledCharge, InvoicePostingRun)}
    return {model.__tablename__: db.session.execute(sa.select(model.__table__).where(column == practice_id)).all()
            for model, column in tables.items()}


def manager_walk(app, ids):
    """(endpoint, method, path) for every owner-and-admin route, from the URL map."""
    for rule in app.url_map.iter_rules():
        if is_manager_route(rule):
            for method in route_methods(rule):
                yield rule.endpoint, method, route_path(rule, ids)


def refused_get_patterns(app) -> list[re.Pattern]:
    """The URLs of the owner-and-admin GETs staff are refused (a page for staff must not link to them)."""
    return [re.compile("^" + re.sub(r"<[^>]+>", "[^/]+", rule.rule) + "$") for rule in app.url_map.iter_rules()
            if is_manager_route(rule) and "GET" in route_methods(rule) and rule.endpoint not in STAFF_MAY_VIEW]


class Links(HTMLParser):
    """Every URL a page links to or loads with htmx (href, hx-get)."""

    def __init__(self, html: str):
        super().__init__()
        self.urls: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.urls += [urlsplit(value).path for name, value in attrs if name in ("href", "hx-get") and value]


def test_the_owner_and_admin_routes_include_pricing_and_approval(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if is_manager_route(rule)}
    assert {"billing.approve", "pricing.create_menu", "pricing.rename_menu", "pricing.activate_menu",
            "pricing.add_service", "pricing.edit_service", "pricing.update_service", "pricing.delete_service",
            "pricing.save_account_code", "settings.billing_save"} <= endpoints
    assert not endpoints & {"clients.new", "clients.detail", "clients.add_engagement", "billing.plan",
                            "billing.export_plan", "billing.export_invoices"}  # staff may download (read-only)


def test_staff_are_refused_every_owner_and_admin_change_and_every_get_not_listed(app, client, owner,
                                                                                 xero_practice):
    login(client, make_user(owner.practice_id, Role.STAFF))
    before = manager_rows(owner.practice_id)
    changes = {**CHANGES, **xero_practice["approval"]}  # this month's plan as shown: an approval would go through
    refused = set()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as xero:  # nothing may reach Xero
        for endpoint, method, path in manager_walk(app, xero_practice):
            if method == "GET" and endpoint in STAFF_MAY_VIEW:
                continue
            browser = client.open(path, method=method, data=changes)
            assert browser.status_code == 403, f"staff {method} {path} answered {browser.status_code}"
            htmx = client.open(path, method=method, data=changes, headers=HTMX)
            assert htmx.status_code == 403, f"staff {method} {path} (htmx) answered {htmx.status_code}"
            assert htmx.headers["HX-Retarget"] == "#htmx-alerts"
            refused.add((method, path))
        assert len(xero.calls) == 0
    assert manager_rows(owner.practice_id) == before
    with client.session_transaction() as session:
        assert "xero_oauth" not in session  # no Xero sign-in was started either
    # 20 today: settings and Xero 9 POSTs and 2 GETs (the Xero callback, choosing the organisation); pricing 7 POSTs
    # (menus: create, rename, activate; services: add, save, delete, account code) and 2 GETs (the rename and edit
    # forms); approving the plan.
    assert len(refused) >= 20


def test_staff_see_the_owner_and_admin_pages_with_every_control_disabled(app, client, owner, xero_practice):
    staff = make_user(owner.practice_id, Role.STAFF)
    walk = [(endpoint, path) for endpoint, method, path in manager_walk(app, xero_practice) if method == "GET"]
    assert {endpoint for endpoint, _ in walk} >= set(STAFF_MAY_VIEW), "STAFF_MAY_VIEW names a route that is gone"
    pages = [(endpoint, path) for endpoint, path in walk if endpoint in STAFF_MAY_VIEW]
    pages += [(endpoint, route_path(rule, xero_practice)) for rule in app.url_map.iter_rules()
              for endpoint in [rule.endpoint] if endpoint in STAFF_READ_ONLY_PAGES]
    refused_gets = refused_get_patterns(app)
    assert refused_gets, "no refused GET to look for links to"

    login(client, owner)  # the same pages give the owner controls to use: the check below can tell
    for endpoint, path in pages:
        if STAFF_MAY_VIEW.get(endpoint) is None:
            enabled = [Controls(client.get(path, headers=headers).get_data(as_text=True)).enabled
                       for headers in ({}, HTMX)]
            assert any(enabled), f"the owner can change nothing on {path}"

    client.post("/logout")
    login(client, staff)
    for endpoint, path in pages:
        for headers in ({}, HTMX):
            response = client.get(path, headers=headers)
            if STAFF_MAY_VIEW.get(endpoint) is not None:
                assert (response.status_code, response.headers["Location"]) == (302, STAFF_MAY_VIEW[endpoint])
                continue
            if endpoint == "pricing.service_row" and not headers:  # the row alone is for htmx
                assert (response.status_code, response.headers["Location"]) == (
                    302, f"/pricing/menus/{xero_practice['menu_id']}")
                continue
            body = response.get_data(as_text=True)
            assert response.status_code == 200, f"staff GET {path} answered {response.status_code}"
            controls = Controls(body)
            assert controls.enabled == [], f"staff can use {controls.enabled} on {path}"
            links = [url for url in Links(body).urls if any(pattern.match(url) for pattern in refused_gets)]
            assert links == [], f"{path} offers staff {links}, which they are refused"
            if endpoint in READ_ONLY_LINES:
                assert READ_ONLY_LINES[endpoint] in body, f"{path} does not say who can change it"
    assert len(pages) == len(STAFF_MAY_VIEW) + len(STAFF_READ_ONLY_PAGES)
