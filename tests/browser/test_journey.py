"""The practice manager's journey through Socket in a real browser."""
import re

import pytest
from playwright.sync_api import expect

from webapp.services.demo_seed import DEMO_EMAIL, DEMO_PASSWORD, seed_demo

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app_ctx):
    seed_demo()


def sign_in(page, live_server):
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/billing/plan"))


def test_sign_in_visit_every_page_and_approve_the_plan(page, live_server, demo):
    page.goto(f"{live_server}/billing/plan")
    expect(page).to_have_url(re.compile(r"/login"))
    sign_in(page, live_server)

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
    page.get_by_role("button", name="Approve plan").click()
    expect(page.locator("#plan-status")).to_contain_text("Approved")

    page.reload()
    expect(page.locator("#plan-status")).to_contain_text("Approved")
