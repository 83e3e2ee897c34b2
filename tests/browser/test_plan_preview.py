"""The Billing Plan's invoice preview in chromium: a row's "Preview" opens the client's invoice in a side panel
(a modal dialog loaded on demand by htmx), by mouse or keyboard; Escape closes it and the page stays where it was.
On a phone each row is a card with this month's amount in view. Saves desktop and phone screenshots."""
import os
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "test-artifacts", "plan")
PLAN = "/billing/plan?month=2026-11"


def billed_rows(page):
    return page.locator("#plan-clients .plan-row:has(.plan-preview-link)")


def test_a_preview_opens_by_mouse_and_keyboard_and_escape_closes_it(page, live_server, sign_in):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in()
    page.goto(f"{live_server}{PLAN}")
    dialog = page.locator("#plan-preview-dialog")
    expect(dialog).to_be_hidden()
    assert page.locator("#plan-clients details").count() == 0  # no expander rows

    third = billed_rows(page).nth(2)
    third.scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    name = third.locator(".plan-client a").inner_text()
    third.get_by_role("link", name=re.compile("^Preview")).click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("#plan-preview-title")).to_contain_text(name)
    expect(dialog.locator(".invoice-lines")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(PLAN) + "$"))  # the plan's address, not the preview's
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, "plan-preview-desktop.png"))

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    link = third.locator(".plan-preview-link")
    expect(link).to_be_focused()  # focus goes back to the row it came from
    assert page.evaluate("window.scrollY") == scrolled

    fourth = billed_rows(page).nth(3)
    other = fourth.locator(".plan-client a").inner_text()
    fourth.locator(".plan-preview-link").focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#plan-preview-title")).to_contain_text(other)
    dialog.get_by_role("button", name="Close").focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(fourth.locator(".plan-preview-link")).to_be_focused()


def test_on_a_phone_each_row_is_a_card_with_this_months_amount_in_view(page, live_server, sign_in):
    sign_in()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}{PLAN}")
    first = billed_rows(page).first
    first.scroll_into_view_if_needed()
    for cell in (".plan-client", ".plan-amount", ".plan-change .chip", ".plan-preview-link"):
        box = first.locator(cell).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, f"{cell} is off screen: {box}"
    amount, client = first.locator(".plan-amount").bounding_box(), first.locator(".plan-client").bounding_box()
    assert abs(amount["y"] - client["y"]) < 12  # the amount sits on the card's first line, beside the name
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing scrolls sideways
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, "plan-phone.png"))
    first.locator(".plan-preview-link").click()
    expect(page.locator("#plan-preview-dialog .invoice-lines")).to_be_visible()
    page.screenshot(path=os.path.join(SHOTS, "plan-preview-phone.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#plan-preview-dialog")).to_be_hidden()


def test_the_preview_link_works_without_htmx_as_a_page(page, live_server, sign_in):
    sign_in()
    page.goto(f"{live_server}{PLAN}")
    href = billed_rows(page).first.locator(".plan-preview-link").get_attribute("href")
    page.goto(f"{live_server}{href}")
    expect(page.locator("#plan-preview .invoice-lines")).to_be_visible()
    expect(page.get_by_role("link", name="Billing Plan · November 2026")).to_be_visible()
