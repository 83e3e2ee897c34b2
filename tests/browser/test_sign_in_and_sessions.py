"""Signing in and out in chromium, under the Content-Security-Policy: the throttling message, the user menu's
"Sign out other sessions" and "Sign out"."""
import re

import pytest
from playwright.sync_api import expect

from webapp.services.demo_seed import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_too_many_wrong_passwords_show_how_long_to_wait(page, live_server, demo):
    page.goto(f"{live_server}/login")
    for _ in range(5):
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Too many sign-in attempts. Try again in 15 minutes.")
    expect(page.get_by_label("Email")).to_have_value(DEMO_EMAIL)

    page.get_by_label("Password").fill(DEMO_PASSWORD)  # the right one is refused too until the time is up
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many sign-in attempts")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_sign_out_other_sessions_from_the_user_menu(page, second_page, live_server, sign_in):
    phone = second_page
    phone.goto(f"{live_server}/login")
    phone.get_by_label("Email").fill(DEMO_EMAIL)
    phone.get_by_label("Password").fill(DEMO_PASSWORD)
    phone.get_by_role("button", name="Sign in").click()
    expect(phone).to_have_url(re.compile(r"/billing/plan"))

    sign_in()
    page.get_by_role("link", name="Clients", exact=True).first.click()
    menu = page.locator("#user-menu")
    expect(menu).to_have_text("Dana Hartley")
    expect(page.get_by_role("button", name="Sign out other sessions")).to_be_hidden()  # folded into the menu
    menu.click()
    expect(page.get_by_text(f"Signed in as {DEMO_EMAIL}")).to_be_visible()
    page.get_by_role("button", name="Sign out other sessions").click()
    expect(page.locator(".flash")).to_contain_text("You are signed out on every other browser and device")
    expect(page).to_have_url(re.compile(r"/clients/$"))  # back where it was, still signed in

    phone.reload()
    expect(phone).to_have_url(re.compile(r"/login\?next="))

    page.locator("#user-menu").click()
    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.locator(".flash")).to_have_text("You are signed out.")
    expect(page).to_have_url(re.compile(r"/login$"))
