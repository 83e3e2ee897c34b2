"""Billing Settings and Practice save control by control in a real browser: one bad value blocks nothing else;
without JavaScript the Save button still saves."""
import pytest
from playwright.sync_api import expect

from webapp.extensions import db
from webapp.models import BillingSettings, Practice
from webapp.services.demo_seed import DEMO_EMAIL, DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_each_control_saves_itself_and_keeps_what_is_typed_elsewhere(page, live_server, sign_in, app):
    sign_in()
    page.goto(f"{live_server}/settings/billing")

    page.locator("#invoice_day").fill("40")
    page.locator("#invoice_day").press("Tab")
    expect(page.locator("#invoice_day-error")).to_contain_text("Enter a day from 1 to 28")
    page.locator("#payment_terms_days").fill("30")  # typed while the error is shown: must not be wiped

    page.locator("#xero_post_status").select_option("AUTHORISED")
    expect(page.locator("#xero_post_status-control .saved")).to_have_text("Saved")
    expect(page.locator("#payment_terms_days")).to_have_value("30")
    expect(page.locator("#invoice_day")).to_have_value("40")

    page.locator("#payment_terms_days").press("Tab")
    expect(page.locator("#payment_terms_days-control .saved")).to_have_text("Saved")

    page.reload()
    expect(page.locator("#xero_post_status")).to_have_value("AUTHORISED")
    expect(page.locator("#payment_terms_days")).to_have_value("30")
    expect(page.locator("#invoice_day")).to_have_value("1")
    with app.app_context():
        settings = db.session.execute(db.select(BillingSettings)).scalars().one()
        assert (settings.invoice_day, settings.payment_terms_days, settings.xero_post_status) == (1, 30, "AUTHORISED")


def test_practice_details_save_on_change_with_errors_beside_the_field(page, live_server, sign_in, app):
    sign_in()
    page.get_by_role("link", name="Practice Settings", exact=True).click()
    expect(page.locator(".tabs [aria-current=page]")).to_have_text("Integrations")  # it opens on Integrations
    page.get_by_role("link", name="Practice", exact=True).click()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)  # saved as each control changes

    name = page.locator("#name")
    name.fill("")
    name.press("Tab")
    expect(page.locator("#name-error")).to_have_text("Enter the practice's name.")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_attribute("aria-describedby", "name-error")

    zone = page.locator("#time_zone")
    zone.fill("GB")
    zone.press("Tab")
    expect(page.locator("#time_zone-error")).to_contain_text("Choose a time zone from the list")
    expect(zone).to_have_attribute("aria-describedby", "time_zone-error time_zone-hint")
    zone.fill("Europe/Jersey")
    zone.press("Tab")
    expect(page.locator("#time_zone-control .saved")).to_have_text("Saved")
    expect(page.locator("#name-error")).to_be_visible()  # the other control's error stays until it is put right

    page.get_by_label("Xero: Xero contacts also become Socket clients").check()
    expect(page.locator("#primary_crm-control .saved")).to_have_text("Saved")
    page.locator("#nightly_sync_at").select_option("23:00")
    expect(page.locator("#nightly_sync_at-control .saved")).to_have_text("Saved")

    page.reload()
    expect(page.locator("#time_zone")).to_have_value("Europe/Jersey")
    expect(page.locator("#nightly_sync_at")).to_have_value("23:00")
    expect(page.get_by_label("Xero: Xero contacts also become Socket clients")).to_be_checked()
    expect(page.locator("#name")).not_to_have_value("")
    with app.app_context():
        practice = db.session.execute(db.select(Practice)).scalars().one()
        assert (practice.time_zone, practice.primary_crm, f"{practice.nightly_sync_at:%H:%M}") == (
            "Europe/Jersey", "xero", "23:00")


def test_without_javascript_the_practice_tab_saves_with_its_button(browser, live_server, demo, app):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/settings/practice")
    page.locator("#time_zone").fill("Mars/Olympus")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".error-summary")).to_contain_text("Choose a time zone from the list")
    expect(page.locator("#time_zone-error")).to_be_visible()
    page.locator("#time_zone").fill("Europe/Dublin")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#practice-form .saved")).to_have_text("Saved")
    context.close()
    with app.app_context():
        assert db.session.execute(db.select(Practice)).scalars().one().time_zone == "Europe/Dublin"
