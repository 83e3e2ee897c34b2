"""Billing Settings save control by control in a real browser: one bad value blocks nothing else."""
import pytest
from playwright.sync_api import expect

from webapp.extensions import db
from webapp.models import BillingSettings

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
