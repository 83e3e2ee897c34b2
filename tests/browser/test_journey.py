"""The practice manager's journey through Socket in a real browser."""
import re

import pytest
from playwright.sync_api import expect

from tests.helpers import run_queued_jobs
from webapp.sync.practice_sync import STEPS

pytestmark = pytest.mark.browser


def test_sign_in_visit_every_page_and_approve_the_plan(page, live_server, sign_in):
    page.goto(f"{live_server}/billing/plan")
    expect(page).to_have_url(re.compile(r"/login"))
    sign_in()

    for link, heading in (("Clients", "Clients"), ("Services & Pricing", "Services & Pricing"),
                          ("Practice Settings", "Practice Settings")):
        page.get_by_role("link", name=link, exact=True).first.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    page.get_by_role("link", name="Integrations").click()
    expect(page.locator("#xero-card")).to_be_visible()
    page.get_by_role("link", name="Billing Settings").click()
    expect(page).to_have_url(re.compile(r"/settings/billing"))

    page.get_by_role("link", name="Billing Plan", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Billing Plan")
    # Approving asks first, naming what it raises; declining raises nothing.
    messages = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.dismiss()))
    page.get_by_role("button", name="Approve plan").click()
    expect(page.locator("#plan-status")).to_contain_text("Awaiting approval")
    assert re.search(r"This raises \d+ invoices totalling £[\d,]+\.\d\d excl\. VAT", messages[0])
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Approve plan").click()
    expect(page.locator("#plan-status")).to_contain_text("Approved")

    page.reload()
    expect(page.locator("#plan-status")).to_contain_text("Approved")


def test_connect_xero_pick_the_company_and_choose_account_codes(page, live_server, sign_in, sandbox, app):
    sign_in()
    page.get_by_role("link", name="Practice Settings", exact=True).click()
    page.get_by_role("link", name="Integrations").click()
    page.get_by_role("button", name="Connect to Xero").click()

    # Xero's consent screen (the sandbox): tick both organisations and allow.
    expect(page.get_by_role("button", name="Allow access")).to_be_visible()
    page.get_by_label("Demo Company (UK)").check()
    page.get_by_label("Demo Practice Holdings Ltd").check()
    page.get_by_role("button", name="Allow access").click()

    # Back in Socket: two organisations were granted, so the practice picks one.
    expect(page.get_by_text("Select your Xero company")).to_be_visible()
    page.get_by_label("Demo Company (UK)").check()
    page.get_by_role("button", name="Connect this company").click()
    expect(page.locator("#xero-connected")).to_contain_text("Connected to Xero")
    expect(page.locator("#xero-org-name")).to_have_text("Demo Company (UK)")

    # The first sync was queued; the page polls its progress and shows the codes once the worker is done.
    expect(page.locator("#xero-sync-status")).to_contain_text("queued")
    run_queued_jobs(app)
    expect(page.locator("#xero-last-sync")).to_contain_text("succeeded")
    recurring = page.locator("select[name=recurring_account_code]")
    expect(recurring).to_be_enabled()
    recurring.select_option("200")
    expect(page.locator("#recurring_account_code-field .saved")).to_have_text("Saved")
    page.locator("select[name=one_off_account_code]").select_option("260")
    expect(page.locator("#one_off_account_code-field .saved")).to_have_text("Saved")

    # One service gets its own code in Services & Pricing > ⋮ > Billing & Engagement Letter Settings.
    page.get_by_role("link", name="Services & Pricing", exact=True).first.click()
    page.get_by_label("Pricing menu actions").click()
    page.get_by_role("link", name="Billing & Engagement Letter Settings").click()
    vat_row = page.locator("tr[data-service-id]", has_text="VAT Returns")
    vat_select = vat_row.locator("select[name=account_code]")
    expect(vat_select).to_contain_text("Use default (200")
    vat_select.select_option("210")
    expect(page.locator("tr[data-service-id]", has_text="VAT Returns").locator(".saved")).to_have_text("Saved")

    # Everything is kept after a reload.
    page.reload()
    page.get_by_label("Pricing menu actions").click()
    page.get_by_role("link", name="Billing & Engagement Letter Settings").click()
    expect(page.locator("tr[data-service-id]", has_text="VAT Returns").locator("select[name=account_code]")
           ).to_have_value("210")
    page.goto(f"{live_server}/settings/integrations")
    expect(page.locator("#xero-connected")).to_contain_text("Connected to Xero")
    expect(page.locator("select[name=recurring_account_code]")).to_have_value("200")
    expect(page.locator("select[name=one_off_account_code]")).to_have_value("260")

    # Sync now: the widget follows the run step by step, stops polling once it is done, and the run is in the history.
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#xero-sync-status")).to_contain_text("queued")
    expect(page.get_by_role("button", name="Sync now")).to_be_disabled()
    run_queued_jobs(app)
    expect(page.locator("#xero-last-sync")).to_contain_text("succeeded")
    steps = page.locator("#xero-sync-status .sync-step")
    expect(steps).to_have_count(len(STEPS))
    for position in range(len(STEPS)):
        expect(steps.nth(position).locator(".chip")).to_have_text("Done")
    expect(steps.first).to_contain_text("account codes")
    expect(page.locator("#xero-sync-status")).not_to_have_attribute("hx-trigger", re.compile("every"))
    expect(page.get_by_role("button", name="Sync now")).to_be_enabled()

    page.get_by_role("link", name="Sync history").click()
    expect(page).to_have_url(re.compile(r"/settings/integrations/xero/runs$"))
    rows = page.locator("#xero-runs tbody tr")
    expect(rows).to_have_count(2)  # the first sync, on connecting, and this one
    expect(rows.first).to_contain_text("Sync now")
    expect(rows.first.locator(".chip")).to_have_text("Succeeded")
    expect(rows.nth(1)).to_contain_text("Connected")
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text("Sync on")
    expect(page.locator("#xero-run .sync-step")).to_have_count(len(STEPS))
    expect(page.locator("#xero-run .run-facts")).to_contain_text("Sync now")
    expect(page.locator("#xero-run .run-facts")).to_contain_text("Xero calls")
