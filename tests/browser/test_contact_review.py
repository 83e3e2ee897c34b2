"""The Billing Plan's warning about clients not matched to a Xero contact, fixed where it is, in a real browser:
the demo practice synced with the sandbox's demo organisation, one client linked to a suggestion and one created in
Xero, the warning's counts falling in place without a reload."""

import pytest
from playwright.sync_api import expect

from tests.demo_sandbox import connect_demo_practice, run_sync
from webapp.extensions import db
from webapp.models import Client, ClientContactLink

pytestmark = pytest.mark.browser


@pytest.fixture
def synced_demo(demo, sandbox):
    """The demo practice connected to the sandbox's demo organisation (consent, then the stored tokens) and synced
    once: contacts pulled and every client matched (tests/data/expected_matches.csv: 4 unmatched, 6 to review)."""
    practice_id = connect_demo_practice(sandbox)
    run_sync(practice_id, "connect")
    return practice_id


def decision(practice_id: int, code: str) -> tuple:
    db.session.expire_all()
    link = db.session.execute(db.select(ClientContactLink).join(Client, Client.id == ClientContactLink.client_id)
                              .filter(Client.practice_id == practice_id, Client.code == code)).scalar_one()
    return link.outcome, link.is_manual, link.reason


def test_fix_unmatched_clients_from_the_billing_plan(page, live_server, sign_in, synced_demo, sandbox):
    sign_in()
    counts = page.locator("#xero-unmatched-counts")
    expect(counts).to_have_text("4 clients aren't matched to a Xero contact · 6 need review")
    page.evaluate("window.socketNoReload = true")  # gone if anything below reloads the page

    page.locator("#xero-unmatched summary").click()
    review = page.locator("#contact-review")
    expect(review.locator("tr.review-row")).to_have_count(10)

    # York Street Pharmacy is "York St Pharmacy" in Xero: "St" is not "Street", so matching left it for a person;
    # its suggestion says why, and one click links it.
    york = review.locator("tr[data-client-code=YOR01]")
    expect(york.locator(".contact-options")).to_contain_text("St read as Street")
    york.get_by_role("button", name="Link YOR01 to York St Pharmacy").click()
    york = review.locator("tr[data-client-code=YOR01]")
    expect(york).to_have_attribute("data-state", "linked")
    expect(york.locator(".saved")).to_contain_text("YOR01 is now linked to 'York St Pharmacy'")
    expect(counts).to_have_text("3 clients aren't matched to a Xero contact · 6 need review")

    # Meadow Farm Partnership has no contact in Xero: create it from the client's details (after confirming).
    meadow = review.locator("tr[data-client-code=MEA01]")
    page.once("dialog", lambda dialog: dialog.accept())
    meadow.get_by_role("button", name="Create in Xero: Meadow Farm Partnership").click()
    meadow = review.locator("tr[data-client-code=MEA01]")
    expect(meadow).to_have_attribute("data-state", "linked")
    expect(meadow).to_contain_text("Created in Xero by")
    expect(counts).to_have_text("2 clients aren't matched to a Xero contact · 6 need review")

    # A search of the mirrored contacts, as you type; an over-long term is explained beside the field.
    search = review.locator("tr[data-client-code=NOR01] input[type=search]")
    search.fill("x" * 101)
    expect(review.locator("tr[data-client-code=NOR01] .search-results")).to_contain_text(
        "Search for at most 100 characters.")

    assert page.evaluate("window.socketNoReload") is True
    assert decision(synced_demo, "YOR01")[:2] == ("linked", True)
    assert decision(synced_demo, "MEA01") == ("linked", True, "Created in Xero by Dana Hartley.")
    token = sandbox.connect(tenants=(sandbox.DEMO_TENANT_ID,))["access_token"]
    created = sandbox.api("GET", "Contacts", token, params={"searchTerm": "Meadow Farm"}).json()["Contacts"]
    assert [(c["Name"], c.get("ContactNumber"), c.get("EmailAddress")) for c in created] == [
        ("Meadow Farm Partnership", "MEA01", "meadowfarm@example.co.uk")]

    # Reloaded, the warning keeps the new counts, and the Clients list filters on the Xero column.
    page.reload()
    expect(counts).to_have_text("2 clients aren't matched to a Xero contact · 6 need review")
    page.goto(f"{live_server}/clients/")
    page.get_by_label("Xero contact").select_option("unmatched")
    expect(page.locator("#client-table tbody tr")).to_have_count(2)
    expect(page.locator("#client-table .chip")).to_have_text(["Unmatched", "Unmatched"])
