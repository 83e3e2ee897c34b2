"""The behaviours moved out of inline handlers into static/js/socket.js, in chromium, under Socket's own strict
Content-Security-Policy (webapp/security/headers.py: no inline script, handler or style may run), and their
fallbacks. Every browser test fails on a refusal (tests/browser/conftest.py); these check the policy bites."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def refused(csp_violations):
    """What the browser refused under the policy (the page fixture fails the test if any are left)."""
    return csp_violations


@pytest.fixture
def strict_page(page):
    """`page`, served with Socket's own Content-Security-Policy like every page."""
    return page


def test_pages_are_served_with_the_strict_policy(strict_page, live_server):
    policy = strict_page.goto(f"{live_server}/login").headers["content-security-policy"]
    assert "script-src 'self';" in policy and "style-src 'self';" in policy and "unsafe" not in policy
    strict_page.wait_for_function("window.htmx !== undefined")
    # htmx read layout.html's htmx-config and left its indicator CSS to socket.css (none injected).
    assert strict_page.evaluate("htmx.config.includeIndicatorCSS") is False
    assert strict_page.evaluate("document.adoptedStyleSheets.length") == 0


def test_the_policy_really_blocks_inline_handlers(strict_page, live_server, refused):
    page = strict_page
    page.goto(f"{live_server}/login")
    page.evaluate("""document.querySelector('main').insertAdjacentHTML('beforeend',
        '<button type="button" id="inline" onclick="document.title = \\'ran\\'">Inline</button>')""")
    page.locator("#inline").click()
    expect(page.locator("#inline")).to_be_visible()
    page.wait_for_timeout(200)
    assert page.title() != "ran" and refused, "the policy must refuse inline handlers"
    refused.clear()


def test_the_policy_really_blocks_inline_styles(strict_page, live_server, refused):
    page = strict_page
    page.goto(f"{live_server}/login")
    page.evaluate("""document.querySelector('main').insertAdjacentHTML('beforeend',
        '<p id="styled" style="display: none">Styled</p><style>main { display: none }</style>')""")
    expect(page.locator("#styled")).to_be_visible()  # neither the attribute nor the <style> applied
    page.wait_for_timeout(200)
    assert len(refused) >= 2, f"the policy must refuse inline style attributes and <style>: {refused}"
    events = [message for message in refused if message.startswith("Content Security Policy violation:")]
    assert len(events) == 2, f"the securitypolicyviolation listener must report each refusal too: {refused}"
    refused.clear()


def test_an_htmx_error_alert_can_be_dismissed(strict_page, live_server, sign_in):
    page = strict_page
    sign_in()
    page.goto(f"{live_server}/clients/")
    page.context.clear_cookies()  # signed out behind the page's back: the next htmx post has no CSRF session
    page.locator("#client-table tbody tr").first.get_by_role("button", name="Archive").click()
    alert = page.locator("#htmx-alerts .flash-error")
    expect(alert).to_contain_text("Your session expired")
    alert.get_by_role("button", name="Dismiss").click()
    expect(alert).to_have_count(0)
    expect(page.locator("#client-table")).to_be_visible()  # the rest of the page is left alone


def test_billing_settings_dialog_opens_closes_and_gives_focus_back(strict_page, live_server, sign_in):
    page = strict_page
    sign_in()
    page.get_by_role("link", name="Services & Pricing", exact=True).first.click()
    dialog = page.locator("#billing-settings-dialog")
    menu = page.locator("#pricing-menu-actions")
    expect(dialog).to_be_hidden()

    menu.click()
    page.get_by_role("link", name="Billing & Engagement Letter Settings").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("tr[data-service-id]").first).to_be_visible()  # htmx loaded the content
    assert page.evaluate("document.querySelector('details.kebab').open") is False
    assert page.evaluate("document.getElementById('billing-settings-dialog').matches(':modal')")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(menu).to_be_focused()

    menu.click()  # Escape closes it too, with the focus given back the same way
    page.get_by_role("link", name="Billing & Engagement Letter Settings").click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(menu).to_be_focused()
    expect(page).to_have_url(re.compile(r"/pricing/"))  # the page itself never left


def test_billing_settings_as_a_page_closes_by_going_back(strict_page, live_server, sign_in):
    page = strict_page
    sign_in()
    page.get_by_role("link", name="Services & Pricing", exact=True).first.click()
    pricing_url = page.url
    page.goto(live_server + page.locator("#open-billing-settings").get_attribute("href"))
    expect(page.get_by_role("heading", name="Billing & Engagement Letter Settings")).to_be_visible()
    page.get_by_role("button", name="Close").click()
    expect(page).to_have_url(pricing_url)


def _archive_first_client(page, live_server) -> str:
    page.goto(f"{live_server}/clients/")
    row = page.locator("#client-table tbody tr").first
    name = row.locator("td").nth(1).inner_text()
    row.get_by_role("button", name="Archive").click()
    expect(page.locator("#client-table tbody tr").first.get_by_role("button", name="Restore")).to_be_visible()
    page.reload()
    expect(page.locator("#client-table")).not_to_contain_text(name)
    return name


def test_show_archived_with_htmx_refreshes_the_table(strict_page, live_server, sign_in):
    page = strict_page
    sign_in()
    name = _archive_first_client(page, live_server)
    page.get_by_label("Show archived clients").check()
    expect(page.locator("#client-table")).to_contain_text(name)
    expect(page).to_have_url(re.compile(r"archived=1"))


def test_show_archived_without_htmx_submits_the_search_form(strict_page, live_server, sign_in):
    page = strict_page
    sign_in()
    name = _archive_first_client(page, live_server)
    page.route(re.compile(r".*/static/vendor/htmx-[^/]*\.js$"), lambda route: route.abort())  # htmx fails to load
    page.reload()
    assert page.evaluate("typeof window.htmx") == "undefined"
    page.get_by_label("Search clients").fill("")
    with page.expect_navigation():
        page.get_by_label("Show archived clients").check()
    expect(page).to_have_url(re.compile(r"/clients/\?(.*&)?archived=1"))
    expect(page.locator("#client-table")).to_contain_text(name)
    expect(page.get_by_label("Show archived clients")).to_be_checked()
