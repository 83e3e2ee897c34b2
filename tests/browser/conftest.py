"""Browser tests: the app served over real HTTP in a thread, driven by Playwright in Debian's chromium."""
import os
import re

import pytest

from tests.live_servers import serve
from webapp.services.demo_seed import DEMO_EMAIL, DEMO_PASSWORD, seed_demo

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "..", "test-artifacts")


@pytest.fixture(scope="session")
def live_server(app):
    """Serve the test app on a free loopback port for the whole session."""
    with serve(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


# Every page reports what its Content-Security-Policy refused: chromium logs each refusal to the console, and the
# securitypolicyviolation event (listened for before any of the page's own scripts run) is logged here too.
REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) => console.error(
    `Content Security Policy violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`));"""


@pytest.fixture
def csp_violations():
    """What the browser refused under Socket's Content-Security-Policy; any left at the end fails the test (a test
    that provokes a refusal on purpose clears the list)."""
    return []


def watch_for_csp_violations(page, violations: list) -> None:
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))


@pytest.fixture
def page(browser, request, csp_violations):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    watch_for_csp_violations(page, csp_violations)
    yield page
    if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
        os.makedirs(ARTIFACTS, exist_ok=True)
        page.screenshot(path=os.path.join(ARTIFACTS, f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not csp_violations, f"refused by the Content-Security-Policy: {csp_violations}"


@pytest.fixture
def second_page(browser, csp_violations):
    """A page in a browser context of its own (another person's browser, or the same person's phone), watched
    for refusals like `page`."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    other = context.new_page()
    watch_for_csp_violations(other, csp_violations)
    yield other
    context.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def sandbox(app, live_server):
    """A fresh Xero sandbox with Socket's callback (on the live server) registered and Socket pointed at it."""
    from tests.live_servers import sandbox_for

    with sandbox_for(app, live_server) as sandbox:
        yield sandbox


@pytest.fixture
def demo(app_ctx):
    """The demo practice, as `bin/dev` seeds it."""
    seed_demo()


@pytest.fixture
def sign_in(page, live_server, demo):
    """Call it to sign the demo owner in on `page` (the test may look at the signed-out page first)."""
    from playwright.sync_api import expect

    def sign_in_demo_owner():
        page.goto(f"{live_server}/login")
        page.get_by_label("Email").fill(DEMO_EMAIL)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/billing/plan"))

    return sign_in_demo_owner
