"""Small things a first user tripped on, in chromium: a short company number says it gets zeros in front as the
user leaves the field, and adding an engagement offers the active menu's services first, the others apart."""
import os
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "test-artifacts", "small-things")


def shoot(page, name, locator):
    """A desktop (1366) and a phone (390) screenshot with `locator` in view."""
    os.makedirs(SHOTS, exist_ok=True)
    for width, height, device in ((1366, 900, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        locator.scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{device}.png"), full_page=False)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_a_short_company_number_says_it_gets_zeros_in_front(page, live_server, sign_in):
    sign_in()
    page.goto(f"{live_server}/clients/new")
    number = page.get_by_label("Company registration number")
    number.fill("123")
    number.press("Tab")
    note = page.locator("#field-company_number .field-note")
    expect(note).to_have_text("Will be saved as 00000123 — Companies House numbers have 8 characters.")
    expect(page.get_by_label("Company registration number")).to_have_value("00000123")
    page.get_by_label("VAT number").fill("GB 123 4567 890")
    page.get_by_label("VAT number").press("Tab")
    expect(page.locator("#field-vat_number .field-error")).to_contain_text("12 for a branch")
    shoot(page, "client-form-notes", page.locator("#field-company_number"))


def test_adding_an_engagement_offers_the_active_menu_first(page, live_server, sign_in):
    sign_in()
    page.goto(f"{live_server}/clients/")
    page.locator("#client-table tbody a").first.click()
    page.get_by_role("button", name="Add engagement").or_(page.get_by_role("link", name="Add engagement")).click()
    select = page.get_by_label("Service")
    groups = select.locator("optgroup")
    expect(groups.first).to_have_attribute("label", "2026/27 Pricing (active menu)")
    expect(groups.nth(1)).to_have_attribute("label", re.compile(r"^Other menus \(not active\): 2025/26 Pricing$"))
    expect(groups.nth(1).locator("option").first).to_have_text(re.compile(r"\(2025/26 Pricing, not active\)$"))
    shoot(page, "add-engagement", page.locator("#engagements"))
