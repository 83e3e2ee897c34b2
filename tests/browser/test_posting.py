"""Approving the Billing Plan posts its invoices to Xero, in a real browser against the sandbox: the plan shows each
invoice's Xero number once the worker has posted them (the summary polls, then the plan reloads itself), clients
that need a person are held with the reason, and the sandbox's own page lists the invoices it received."""
import re

import pytest
from playwright.sync_api import expect

from tests.demo_sandbox import connect_demo_practice, run_sync
from tests.helpers import run_queued_jobs
from webapp.extensions import db
from webapp.models import BillingSettings, Invoice, InvoiceStatus

pytestmark = pytest.mark.browser


def test_approving_the_plan_posts_its_invoices_to_xero(app, page, live_server, sign_in, sandbox):
    practice_id = connect_demo_practice(sandbox)
    run_sync(practice_id, "connect")
    settings = db.session.get(BillingSettings, practice_id)
    settings.recurring_account_code, settings.one_off_account_code = "200", "260"
    db.session.commit()

    sign_in()
    page.evaluate("window.socketNoReload = true")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Approve plan").click()
    expect(page.locator("#plan-notice")).to_contain_text("Posting them to Xero now.")
    expect(page.locator("#xero-posting")).to_contain_text("waiting")

    run_queued_jobs(app)
    # The summary's next poll sees the run finished and the plan reloads itself with Xero's numbers.
    expect(page.locator("#xero-posting [data-count=posted]")).to_be_visible(timeout=15_000)
    db.session.expire_all()
    invoices = db.session.execute(db.select(Invoice).filter_by(practice_id=practice_id)).scalars().all()
    posted = [i for i in invoices if i.status == InvoiceStatus.POSTED.value]
    held = [i for i in invoices if i.status == InvoiceStatus.HELD.value]
    assert posted and held and len(posted) + len(held) == len(invoices)
    expect(page.locator("#xero-posting [data-count=posted]")).to_have_text(f"{len(posted)} posted")
    first = page.locator(f"#posting-{posted[0].id}")
    expect(first.locator(".xero-number")).to_have_text(re.compile(r"INV-\d+"))
    expect(page.locator(f"#posting-{held[0].id}")).to_contain_text("Held")
    assert page.evaluate("window.socketNoReload") is True  # fragments swapped in place; no full reload
    number = re.search(r"INV-\d+", first.locator(".xero-number").inner_text()).group(0)

    page.goto(f"{sandbox.url}/_sandbox/orgs/{sandbox.DEMO_TENANT_ID}/invoices")
    expect(page.locator("body")).to_contain_text(number)
