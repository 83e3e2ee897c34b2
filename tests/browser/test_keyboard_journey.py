"""Socket by keyboard alone, in chromium: sign in, approve the Billing Plan (accepting its confirmation) and open an
invoice from the Invoices list with Tab, Shift+Tab and Enter only (no clicks), every control reached showing
visible focus (an outline or a focus ring while it matches :focus-visible)."""
import re

import pytest
from playwright.sync_api import expect

from webapp.services.demo_seed import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_sign_in_approve_the_plan_and_open_an_invoice_by_keyboard(page, live_server, demo, tab_to):
    page.goto(f"{live_server}/login")
    tab_to(page, "Email")
    page.keyboard.type(DEMO_EMAIL)
    tab_to(page, "Password")
    page.keyboard.type(DEMO_PASSWORD)
    tab_to(page, "Sign in")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/billing/plan"), timeout=20_000)  # the first view builds the plan
    expect(page.get_by_role("heading", level=1)).to_contain_text("Billing Plan")

    confirmations = []
    page.once("dialog", lambda dialog: (confirmations.append(dialog.message), dialog.accept()))
    tab_to(page, "Approve plan")
    page.keyboard.press("Enter")
    expect(page.locator("#plan-status")).to_contain_text("Approved", timeout=20_000)
    assert confirmations and confirmations[0].startswith("Approve ")

    # Back up to the navigation from where the swapped-in plan left focus (or the top of the page).
    page.keyboard.press("Shift+Tab")
    tab_to(page, "Invoices", backwards=True, limit=200)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invoices")
    first_invoice = page.locator("#invoice-list tbody tr").first.get_by_role("link").first
    number = first_invoice.inner_text().strip()
    tab_to(page, number)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/billing/invoices/\d+$"))
    expect(page.locator("main")).to_contain_text(number)
