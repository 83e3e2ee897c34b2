"""The frame in a browser: a left navigation on a desktop, a Menu button that opens it on a phone (by mouse or
keyboard), the Xero chip on every page, and buttons as wide as their words."""
import re

from playwright.sync_api import expect

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def nav_link(page, name):
    return page.locator("#app-nav-panel").get_by_role("link", name=name, exact=True)


def test_on_a_phone_the_links_are_hidden_until_menu_is_pressed(page, live_server, sign_in):
    sign_in()
    page.set_viewport_size(PHONE)
    menu = page.get_by_role("button", name="Menu", exact=True)
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav_link(page, "Clients")).to_be_hidden()
    expect(page.locator("#xero-chip")).to_be_visible()  # the chip stays in the slim bar

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav_link(page, "Clients")).to_be_visible()
    expect(page.locator("#user-menu")).to_be_visible()
    menu.click()
    expect(nav_link(page, "Clients")).to_be_hidden()

    # The bar stays within the phone's width: nothing scrolls sideways.
    assert page.evaluate("document.querySelector('.app-bar').scrollWidth") <= PHONE["width"]


def test_the_phone_menu_works_by_keyboard(page, live_server, sign_in):
    sign_in()
    page.set_viewport_size(PHONE)
    menu = page.get_by_role("button", name="Menu", exact=True)
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav_link(page, "Billing Plan")).to_be_visible()

    page.keyboard.press("Tab")  # into the panel: the first link after the button
    expect(nav_link(page, "Billing Plan")).to_be_focused()
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    expect(nav_link(page, "Billing Plan")).to_be_hidden()

    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(nav_link(page, "Invoices")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/billing/invoices$"))
    # a new page: the menu starts closed again
    expect(page.get_by_role("button", name="Menu", exact=True)).to_have_attribute("aria-expanded", "false")


def test_on_a_desktop_the_navigation_is_always_there(page, live_server, sign_in):
    page.set_viewport_size(DESKTOP)
    sign_in()
    expect(page.get_by_role("button", name="Menu", exact=True)).to_be_hidden()
    current = page.locator('#app-nav-panel [aria-current="page"]')
    expect(current).to_have_text("Billing Plan")
    nav_link(page, "Services & Pricing").click()
    expect(current).to_have_text("Services & Pricing")

    # The navigation is a column beside the page, not above it.
    nav, main = page.locator(".app-nav").bounding_box(), page.locator("main").bounding_box()
    assert nav["x"] == 0 and nav["height"] >= DESKTOP["height"] - 1 and main["x"] >= nav["width"]

    chip = page.locator("#xero-chip")
    expect(chip).to_have_text("Xero not connected")
    chip.click()
    expect(page).to_have_url(re.compile(r"/settings/integrations$"))
    expect(current).to_have_text("Practice Settings")


def test_buttons_are_as_wide_as_their_words(page, live_server, sign_in):
    page.set_viewport_size(DESKTOP)
    sign_in()
    approve = page.get_by_role("button", name="Approve plan")
    main = page.locator("main").bounding_box()
    assert approve.bounding_box()["width"] < main["width"] / 4


def test_a_focused_link_shows_a_visible_outline(page, live_server, sign_in):
    sign_in()
    page.keyboard.press("Tab")  # the skip link comes first, then the brand
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    expect(page.get_by_role("link", name="Skip to content")).to_be_in_viewport()
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
