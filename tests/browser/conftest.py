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


# -- accessibility: axe-core, screenshots of every page, keyboard focus ----------------------------------------------
AXE_SCRIPT = os.path.join(os.path.dirname(__file__), "vendor", "axe-core-4.14.1.min.js")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
BLOCKING_IMPACTS = ("serious", "critical")
PAGE_SCREENSHOTS = os.path.join(ARTIFACTS, "pages")
# What axe reports per violation: small enough to cross from the browser, enough to find the element.
RUN_AXE = """async (tags) => {
    const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
    return results.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.map((node) => node.target.join(" "))}));
}"""


class Audit:
    """Saves a full-page screenshot of each page it is shown and runs axe on it, keeping the serious and critical
    violations; `assert_clean()` fails with every one of them (rule, help, elements), page by page."""

    def __init__(self, viewport_name: str):
        self.viewport_name = viewport_name
        self.checked: list[str] = []
        self.problems: dict[str, list[dict]] = {}
        self.minor: dict[str, list[dict]] = {}
        with open(AXE_SCRIPT, encoding="utf-8") as script:
            self._axe_source = script.read()

    def check(self, page, name: str) -> None:
        """Screenshot `page` as test-artifacts/pages/<name>-<viewport>.png and record what axe finds on it."""
        page.wait_for_load_state()
        os.makedirs(PAGE_SCREENSHOTS, exist_ok=True)
        # Long pages (the Billing Plan) take seconds to capture whole on a busy machine. caret="initial": hiding
        # the caret sets style="caret-color: …" on inputs, which htmx copies onto a swapped-in element of the same
        # id, and the Content-Security-Policy refuses that.
        page.screenshot(path=os.path.join(PAGE_SCREENSHOTS, f"{name}-{self.viewport_name}.png"), full_page=True,
                        caret="initial", timeout=60_000)
        # Evaluated through the DevTools protocol rather than added as a <script>, so Socket's
        # Content-Security-Policy stays on (it allows no inline script) and no refusal is reported.
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(self._axe_source)
        violations = page.evaluate(RUN_AXE, AXE_TAGS)
        self.checked.append(name)
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        if blocking:
            self.problems[name] = blocking
        if len(blocking) < len(violations):
            self.minor[name] = [v for v in violations if v["impact"] not in BLOCKING_IMPACTS]

    def report(self, problems: dict[str, list[dict]]) -> str:
        lines = []
        for name, violations in problems.items():
            for violation in violations:
                lines.append(f"{name} ({self.viewport_name}): {violation['id']} [{violation['impact']}] "
                             f"{violation['help']}: {', '.join(violation['targets'][:8])}")
        return "\n".join(lines)

    def assert_clean(self) -> None:
        assert not self.problems, "axe found serious or critical violations:\n" + self.report(self.problems)


@pytest.fixture
def audit():
    """An `Audit` for one viewport: call `audit(name)` to get it (once per test)."""
    return Audit


def focused_outline(page) -> dict:
    """The focused element's accessible name (roughly: aria-label, label or text) and whether it shows focus (an
    outline or a box-shadow while it matches :focus-visible)."""
    return page.evaluate("""() => {
        const el = document.activeElement;
        if (!el || el === document.body) return {name: "", visible: false, tag: "body"};
        const style = getComputedStyle(el);
        const labelled = el.labels && el.labels.length ? el.labels[0].innerText : "";
        const name = (el.getAttribute("aria-label") || labelled || el.innerText || el.value || "").trim();
        const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
        const shadow = style.boxShadow && style.boxShadow !== "none";
        return {name, visible: el.matches(":focus-visible") && (outline || shadow), tag: el.tagName.toLowerCase()};
    }""")


@pytest.fixture
def tab_to():
    """`tab_to(page, name)` presses Tab (Shift+Tab with backwards=True) until the focused control's accessible
    name is `name` (a str, matched exactly after trimming, or a compiled regex), at most `limit` times; asserts
    every control it passes shows visible focus and returns how many presses it took."""

    def tab(page, name, limit: int = 60, backwards: bool = False) -> int:
        passed = []
        for presses in range(1, limit + 1):
            page.keyboard.press("Shift+Tab" if backwards else "Tab")
            focus = focused_outline(page)
            passed.append(focus["name"][:40])
            if focus["tag"] != "body":
                assert focus["visible"], f"no visible focus on {focus['tag']} {focus['name']!r}"
            matches = name.search(focus["name"]) if isinstance(name, re.Pattern) else focus["name"] == name
            if matches:
                return presses
        raise AssertionError(f"{name!r} was not reached in {limit} presses of Tab; passed {passed}")

    return tab
