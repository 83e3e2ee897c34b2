"""Every page of Socket, its dialogs and its error states, checked by axe-core in chromium at desktop (1366 px) and
phone (390 px) width: no serious or critical violation. Each page's full-page screenshot is saved to
test-artifacts/pages/<page>-<viewport>.png on every run.

The pages come from the app's own routes: a GET route that is neither visited here nor skipped below (with a
reason) fails the test, so a new page cannot be forgotten. One browser context per viewport, signed in once, walks
the demo practice from not connected, through Xero's consent and company choice, to an approved month."""
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from werkzeug.exceptions import MethodNotAllowed, NotFound

from tests.helpers import run_queued_jobs
from webapp.extensions import db
from webapp.models import BillingSettings, Client, Engagement, Invoice, PricingMenu, Service, SyncRun, XeroConnection
from webapp.services.demo_seed import DEMO_EMAIL, OLD_MENU

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}

# GET routes that are not pages of their own, each with why it is not visited.
SKIPPED = {
    "static": "stylesheets, scripts and images, not pages",
    "auth.index": "redirects to the Billing Plan",
    "settings.index": "redirects to the first Practice Settings tab",
    "settings.xero_callback": "Xero's OAuth redirect back to Socket: answers with a redirect (taken during connect)",
    "settings.xero_sync_status": "a fragment the Integrations page polls: checked inside that page",
    "billing.posting_status": "a fragment the approved plan polls: checked inside that page",
    "pricing.service_row": "a table row for htmx; a plain GET redirects to its pricing menu",
    "billing.export_plan": "a download (CSV or an Excel workbook), not a page: tests/test_exports.py",
    "billing.export_invoices": "a download (CSV or an Excel workbook), not a page: tests/test_exports.py",
}


def get_endpoints(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}


def endpoint_of(app, url: str) -> str | None:
    """The endpoint that served `url` (None for a page no route serves, such as the 404 page)."""
    try:
        return app.url_map.bind("localhost").match(urlsplit(url).path, method="GET")[0]
    except (NotFound, MethodNotAllowed):
        return None


def ids(practice_client_code: str = "ABB01") -> dict[str, int]:
    """The demo data's ids the pages with ids are visited with."""
    client = db.session.execute(db.select(Client).filter_by(code=practice_client_code)).scalar_one()
    old_menu = db.session.execute(db.select(PricingMenu).filter_by(name=OLD_MENU)).scalar_one()
    return {
        "client": client.id,
        "engagement": db.session.execute(db.select(Engagement.id).filter_by(client_id=client.id)
                                         .order_by(Engagement.id).limit(1)).scalar_one(),
        "old_menu": old_menu.id,
        "service": db.session.execute(db.select(Service.id).filter_by(pricing_menu_id=old_menu.id)
                                      .order_by(Service.id).limit(1)).scalar_one(),
        "invoice": db.session.execute(db.select(Invoice.id).order_by(Invoice.id).limit(1)).scalar_one(),
        "run": db.session.execute(db.select(SyncRun.id).order_by(SyncRun.id.desc()).limit(1)).scalar_one(),
    }


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_page_dialog_and_error_state_passes_axe(app, page, live_server, sign_in, sandbox, audit, viewport):
    page.set_viewport_size(VIEWPORTS[viewport])
    checks = audit(viewport)
    visited: set[str] = set()

    def check(name: str, path: str | None = None) -> None:
        if path is not None:
            page.goto(f"{live_server}{path}")
        checks.check(page, name)
        endpoint = endpoint_of(app, page.url)
        if endpoint:
            visited.add(endpoint)

    # Signed out: the sign-in page, a wrong password, and the 404 page.
    check("login", "/login")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("form")).to_contain_text(re.compile("password", re.I))
    check("login-wrong-password")
    check("not-found-signed-out", "/no-such-page")

    sign_in()
    check("integrations-not-connected", "/settings/integrations")

    # Connect to Xero: the sandbox's consent screen (not Socket's page), then Socket's company choice.
    page.get_by_role("button", name="Connect to Xero").click()
    page.get_by_label("Demo Company (UK)").check()
    page.get_by_label("Demo Practice Holdings Ltd").check()
    page.get_by_role("button", name="Allow access").click()
    expect(page.get_by_text("Select your Xero company")).to_be_visible()
    check("xero-select-company")
    page.get_by_label("Demo Company (UK)").check()
    page.get_by_role("button", name="Connect this company").click()
    expect(page.locator("#xero-sync-status")).to_contain_text("queued")
    run_queued_jobs(app)
    expect(page.locator("#xero-last-sync")).to_contain_text("succeeded")
    check("integrations")
    db.session.expire_all()
    settings = db.session.get_one(BillingSettings, db.session.execute(db.select(XeroConnection.practice_id))
                                  .scalar_one())
    settings.recurring_account_code, settings.one_off_account_code = "200", "260"
    db.session.commit()

    # The Billing Plan with its Xero warning, opened; then approved (posting its invoices to the sandbox).
    page.goto(f"{live_server}/billing/plan")
    page.locator("#xero-unmatched summary").click()
    expect(page.locator("#contact-review tr.review-row").first).to_be_visible()
    check("billing-plan")
    # A client's invoice preview, in its side panel.
    page.locator("#plan-clients .plan-preview-link").first.click()
    panel = page.locator("#plan-preview-dialog")
    expect(panel.locator("table").first).to_be_visible()
    check("billing-plan-preview-panel")
    page.keyboard.press("Escape")
    expect(panel).not_to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Approve plan").click()
    expect(page.locator("#plan-status")).to_contain_text("Approved", timeout=20_000)
    run_queued_jobs(app)
    expect(page.locator("#xero-posting [data-count=posted]")).to_be_visible(timeout=15_000)
    # Checked with the pointer on a row of chips: a hovered row's background once took their contrast under 4.5:1.
    page.locator("#plan-clients tbody tr:has(.chip-invoice-posted)").first.hover()
    check("billing-plan-approved")

    at = ids()
    client, engagement = at["client"], at["engagement"]
    for name, path in (
        ("invoices", "/billing/invoices"),
        ("invoice", f"/billing/invoices/{at['invoice']}"),
        ("plan-preview-page", f"/billing/plan/clients/{client}/preview"),
        ("clients", "/clients/"),
        ("client", f"/clients/{client}"),
        ("client-engagements", f"/clients/{client}/engagements"),
        ("engagement-new", f"/clients/{client}/engagements/new"),
        ("engagement-edit", f"/clients/{client}/engagements/{engagement}/edit"),
        ("contact-review", "/contacts/review"),
        ("contact-search", f"/contacts/clients/{client}/search?q=Pharmacy"),
        ("pricing-menu", f"/pricing/menus/{at['old_menu']}"),
        ("pricing-menu-rename", f"/pricing/menus/{at['old_menu']}/rename"),
        ("pricing-billing-settings", f"/pricing/menus/{at['old_menu']}/billing-settings"),
        ("pricing-service-edit", f"/pricing/services/{at['service']}/edit"),
        ("settings-billing", "/settings/billing"),
        ("settings-practice", "/settings/practice"),
        ("xero-account-codes", "/settings/integrations/xero/account-codes"),
        ("xero-runs", "/settings/integrations/xero/runs"),
        ("xero-run", f"/settings/integrations/xero/runs/{at['run']}"),
        ("not-found", "/clients/2147483647"),
    ):
        check(name, path)

    # A client form with errors: the error summary and the inline errors.
    check("client-new", "/clients/new")
    page.get_by_role("button", name="Add client").click()
    expect(page.locator(".field-error").first).to_be_visible()
    check("client-new-errors")

    # Services & Pricing, and its ⋮ menu's Billing & Engagement Letter Settings dialog.
    check("pricing", "/pricing/")
    page.get_by_label("Pricing menu actions").click()
    page.get_by_role("link", name="Billing & Engagement Letter Settings").click()
    dialog = page.locator("#billing-settings-dialog")
    expect(dialog.locator("tr[data-service-id]").first).to_be_visible()
    check("pricing-billing-settings-dialog")
    page.keyboard.press("Escape")
    expect(dialog).not_to_be_visible()

    # The connection needs reconnecting: the banner on every page, and the Integrations card.
    db.session.execute(db.update(XeroConnection).values(status="needs_reconnect"))
    db.session.commit()
    page.goto(f"{live_server}/settings/integrations")
    expect(page.locator("#xero-reconnect-banner")).to_be_visible()
    check("integrations-needs-reconnect")

    forgotten = get_endpoints(app) - visited - set(SKIPPED)
    assert not forgotten, f"pages neither visited nor skipped with a reason: {sorted(forgotten)}"
    assert not set(SKIPPED) & visited, "a skipped route was visited after all: drop it from SKIPPED"
    assert set(SKIPPED) <= get_endpoints(app), "SKIPPED names a route that no longer exists"
    print(checks.report(checks.minor))  # moderate and minor: shown with -s or on failure
    checks.assert_clean()
