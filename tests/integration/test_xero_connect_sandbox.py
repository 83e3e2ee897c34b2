"""Connect to Xero end to end against the local Xero sandbox, over real HTTP.

Socket's test app is served on a free port; `requests` plays the browser: it signs in, presses
"Connect to Xero", follows the redirect to the sandbox's consent page, ticks both organisations,
comes back through the callback, chooses the company, and sees the green tick. Other tests here refresh
tokens against the sandbox's rotating refresh tokens, including two processes at once.
"""
import multiprocessing
import re
import time
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
import requests

from tests.factories import PASSWORD, make_connection, make_practice
from tests.live_servers import XERO_KEYS, sandbox_for, serve
from webapp.extensions import db
from webapp.models import SyncRun, XeroAccount, XeroConnection
from webapp.xero.crypto import TokenCipher

pytest.importorskip("xero_sandbox.testing", reason="the Xero sandbox is not available")
from xero_sandbox.constants import DEMO_TENANT_ID, SECOND_TENANT_ID

pytestmark = pytest.mark.integration


class FormParser(HTMLParser):
    """The forms of a page: action, method and inputs (name, type, value, checked), radio labels."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._label = None
        self.labels = {}  # radio value -> label text

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "method": attrs.get("method", "get"), "inputs": []})
        elif tag in ("input", "button") and self.forms:
            self.forms[-1]["inputs"].append(attrs | {"tag": tag})
            if tag == "input" and attrs.get("type") == "radio":
                self._label = attrs.get("value")
                self.labels[self._label] = ""

    def handle_data(self, data):
        if self._label is not None:
            self.labels[self._label] += data.strip()

    def handle_endtag(self, tag):
        if tag == "label":
            self._label = None


def parse_forms(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    return parser


@pytest.fixture
def socket_and_sandbox(app):
    """(Socket's URL, the sandbox) with Socket's Xero settings pointed at the sandbox for this test."""
    with serve(app) as socket_url, sandbox_for(app, socket_url) as sandbox:
        yield socket_url, sandbox


def sign_in(socket_url: str, user) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{socket_url}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = browser.post(f"{socket_url}/login", data={"email": user.email, "password": PASSWORD,
                                                         "csrf_token": token}, allow_redirects=False)
    assert response.status_code == 302
    return browser


def submit(browser, page_url: str, html: str, action: str, values: dict, button=None) -> requests.Response:
    """Submit the form whose action ends with `action` as a browser would: its hidden inputs, `values`, and
    the pressed button's name/value."""
    form = next(f for f in parse_forms(html).forms if f["action"].endswith(action))
    data = [(i["name"], i.get("value", "")) for i in form["inputs"]
            if i["tag"] == "input" and i.get("type") == "hidden" and i.get("name")]
    for name, value in values.items():
        data += [(name, v) for v in (value if isinstance(value, list) else [value])]
    if button:
        data.append(button)
    return browser.post(urljoin(page_url, form["action"]), data=data)


def press_connect(browser, socket_url) -> requests.Response:
    """Press "Connect to Xero" on the Integrations page; lands on the sandbox's consent page."""
    page = browser.get(f"{socket_url}/settings/integrations")
    assert "Connect to Xero" in page.text
    consent = submit(browser, page.url, page.text, "/xero/connect", {})
    assert "/identity/connect/authorize" in consent.url and 'name="tenant"' in consent.text
    return consent


def test_connect_choosing_between_two_organisations(app_ctx, socket_and_sandbox):
    socket_url, sandbox = socket_and_sandbox
    owner = make_practice()
    browser = sign_in(socket_url, owner)
    consent = press_connect(browser, socket_url)
    # Tick both organisations on Xero's page and allow: back through the callback to "Select your Xero company".
    chooser = submit(browser, consent.url, consent.text, "/identity/connect/authorize",
                     {"tenant": [DEMO_TENANT_ID, SECOND_TENANT_ID]}, button=("action", "allow"))
    assert chooser.url == f"{socket_url}/settings/integrations/xero/select"
    assert "Select your Xero company" in chooser.text and "Connect this company" in chooser.text
    forms = parse_forms(chooser.text)
    names = sorted(forms.labels.values())
    assert names == ["Demo Company (UK)", "Demo Practice Holdings Ltd"]
    second = next(value for value, label in forms.labels.items() if label == "Demo Practice Holdings Ltd")
    done = submit(browser, chooser.url, chooser.text, "/xero/select", {"tenant_connection": second})
    assert done.url == f"{socket_url}/settings/integrations"
    assert 'id="xero-connected"' in done.text and "Connected to Xero" in done.text
    assert "Demo Practice Holdings Ltd" in done.text

    connection = db.session.execute(db.select(XeroConnection)).scalar_one()
    assert (connection.tenant_id, connection.status) == (SECOND_TENANT_ID, "connected")
    remaining = sandbox.state()
    assert [c["tenant_id"] for c in _connections(remaining)] == [SECOND_TENANT_ID]  # no stray grant

    # The first sync was queued; run it as the worker would, against the sandbox.
    from jobs.sync_reference import run_reference_sync

    run = db.session.execute(db.select(SyncRun)).scalar_one()
    assert run_reference_sync(run.id) == "succeeded"
    db.session.expire_all()
    assert db.session.get(SyncRun, run.id).xero_calls == 4  # accounts, themes, tax rates, one page of contacts
    assert db.session.execute(db.select(db.func.count(XeroAccount.id))).scalar() > 0
    page = browser.get(f"{socket_url}/settings/integrations").text
    assert 'name="recurring_account_code"' in page and "200 — Sales" in page


def test_cancel_on_xeros_page_comes_back_with_a_message(app_ctx, socket_and_sandbox):
    socket_url, sandbox = socket_and_sandbox
    browser = sign_in(socket_url, make_practice())
    consent = press_connect(browser, socket_url)
    back = submit(browser, consent.url, consent.text, "/identity/connect/authorize", {},
                  button=("action", "cancel"))
    assert back.url == f"{socket_url}/settings/integrations"
    assert "You cancelled the connection in Xero" in back.text
    assert db.session.execute(db.select(XeroConnection)).first() is None


def _connections(state: dict) -> list[dict]:
    return state.get("connections", [])


# -- refreshing against the sandbox's rotating refresh tokens ----------------------------------------------------
def store_connection(sandbox, practice_id, scope: str | None = None) -> XeroConnection:
    """A stored connection to the demo organisation, made with the sandbox's consent shortcut."""
    tokens = sandbox.connect(tenants=(DEMO_TENANT_ID,), **({"scope": scope} if scope else {}))
    listing = requests.get(f"{sandbox.url}/connections", timeout=10,
                           headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    return make_connection(practice_id, access=tokens["access_token"], refresh=tokens["refresh_token"],
                           expires_in=timedelta(seconds=-1), tenant_id=DEMO_TENANT_ID,
                           connection_id=listing[0]["id"], tenant_name=listing[0]["tenantName"])


def _refresh_in_a_process(config: dict, connection_id: int, role: str, ready, go, results) -> None:
    """One process (the web or a worker): wait for the signal, then use the connection's token for a call."""
    from webapp import create_app
    from webapp.models import XeroConnection as Connection
    from webapp.xero import XeroClient, XeroSettings
    from webapp.xero.token_store import TokenManager

    app = create_app(config)
    with app.app_context():
        settings = XeroSettings.from_config(app.config)
        manager = TokenManager(settings)
        connection = db.session.get(Connection, connection_id)
        client = XeroClient.for_connection(connection, settings, tokens=manager)
        ready.set()
        go.wait(30)
        try:
            organisation = client.get("Organisation")["Organisations"][0]["Name"]
            results.put((role, "ok", manager.refreshes, organisation))
        except Exception as exc:  # any failure is reported to the parent
            results.put((role, "error", manager.refreshes, repr(exc)))


def test_web_and_worker_refreshing_at_once_keep_one_valid_token_set(app, app_ctx, socket_and_sandbox):
    _, sandbox = socket_and_sandbox
    connection = store_connection(sandbox, make_practice().practice_id)
    sandbox.expire_tokens()
    config = {key: app.config[key] for key in (
        "TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "RQ_QUEUE", "REDIS_KEY_PREFIX",
        "TOKEN_ENCRYPTION_KEY", *XERO_KEYS)}
    context = multiprocessing.get_context("spawn")
    ready = [context.Event(), context.Event()]
    go, results = context.Event(), context.Queue()
    processes = [context.Process(target=_refresh_in_a_process,
                                 args=(config, connection.id, role, ready[i], go, results))
                 for i, role in enumerate(("web", "worker"))]
    for process in processes:
        process.start()
    for event in ready:
        assert event.wait(60), "a process did not start"
    go.set()
    outcomes = sorted(results.get(timeout=60) for _ in processes)
    for process in processes:
        process.join(30)
    assert [(role, status) for role, status, _, _ in outcomes] == [("web", "ok"), ("worker", "ok")], outcomes
    assert sum(refreshes for _, _, refreshes, _ in outcomes) == 1  # the lock let only one refresh happen

    db.session.expire_all()
    row = db.session.get(XeroConnection, connection.id)
    assert row.status == "connected" and row.last_error is None
    # The stored set is the valid one: its refresh token still refreshes, its access token still calls.
    cipher = TokenCipher(app.config["TOKEN_ENCRYPTION_KEY"])
    stored_refresh = cipher.decrypt(row.refresh_token_encrypted)
    assert sandbox.api("GET", "Organisation", cipher.decrypt(row.access_token_encrypted)).status_code == 200
    assert sandbox.refresh(stored_refresh).status_code == 200


def test_a_lost_refresh_response_is_retried_within_the_grace_window(app, app_ctx, socket_and_sandbox):
    from webapp.xero import XeroSettings
    from webapp.xero.token_store import TokenManager

    _, sandbox = socket_and_sandbox
    connection = store_connection(sandbox, make_practice().practice_id)
    sandbox.faults(lose_response=1, on="identity")
    token = TokenManager(XeroSettings.from_config(app.config), sleep=lambda s: None).access_token(connection.id)
    assert sandbox.api("GET", "Organisation", token).status_code == 200
    db.session.expire_all()
    assert db.session.get(XeroConnection, connection.id).status == "connected"


def test_a_connection_revoked_in_xero_needs_reconnecting(app, app_ctx, socket_and_sandbox):
    from webapp.xero import XeroAuthError, XeroClient, XeroSettings

    _, sandbox = socket_and_sandbox
    connection = store_connection(sandbox, make_practice().practice_id)
    client = XeroClient.for_connection(connection, XeroSettings.from_config(app.config), sleep=lambda s: None)
    client.get("Organisation")
    sandbox.revoke(connection.connection_id)
    with pytest.raises(XeroAuthError):
        client.get("Organisation")
    db.session.expire_all()
    row = db.session.get(XeroConnection, connection.id)
    assert row.status == "needs_reconnect" and row.last_error


def test_a_missing_scope_is_reported_without_flipping_the_connection(app, app_ctx, socket_and_sandbox):
    from webapp.xero import XeroClient, XeroScopeError, XeroSettings

    _, sandbox = socket_and_sandbox
    connection = store_connection(sandbox, make_practice().practice_id,
                                  scope="offline_access accounting.settings.read")
    client = XeroClient.for_connection(connection, XeroSettings.from_config(app.config), sleep=lambda s: None)
    assert client.get("Organisation")["Organisations"]
    with pytest.raises(XeroScopeError, match="XERO_SCOPES"):
        client.get("Contacts")
    db.session.expire_all()
    row = db.session.get(XeroConnection, connection.id)
    assert row.status == "connected" and row.last_error is None


def test_a_tenant_no_longer_connected_needs_reconnecting(app, app_ctx, socket_and_sandbox):
    from webapp.xero import XeroAuthError, XeroClient, XeroSettings

    _, sandbox = socket_and_sandbox
    connection = store_connection(sandbox, make_practice().practice_id)
    client = XeroClient(XeroSettings.from_config(app.config), connection.id, SECOND_TENANT_ID, sleep=lambda s: None)
    with pytest.raises(XeroAuthError, match="AuthenticationUnsuccessful"):
        client.get("Organisation")
    db.session.expire_all()
    assert db.session.get(XeroConnection, connection.id).status == "needs_reconnect"


# -- reconnecting: Cancel on "Select your Xero company" keeps the live connection ---------------------------------
def connect_demo(browser, socket_url) -> None:
    """Connect the practice to the demo organisation only, through Xero's page (one organisation: no choice)."""
    consent = press_connect(browser, socket_url)
    done = submit(browser, consent.url, consent.text, "/identity/connect/authorize", {"tenant": [DEMO_TENANT_ID]},
                  button=("action", "allow"))
    assert done.url == f"{socket_url}/settings/integrations" and 'id="xero-connected"' in done.text


def press_reconnect(browser, socket_url) -> requests.Response:
    """Start Connect to Xero again while connected (the page offers no button then; the route accepts it)."""
    page = browser.get(f"{socket_url}/settings/integrations")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    consent = browser.post(f"{socket_url}/settings/integrations/xero/connect", data={"csrf_token": token})
    assert "/identity/connect/authorize" in consent.url and 'name="tenant"' in consent.text
    return consent


def test_cancel_on_the_chooser_keeps_the_live_connection_working(app, app_ctx, socket_and_sandbox):
    from webapp.xero import XeroClient, XeroSettings

    socket_url, sandbox = socket_and_sandbox
    owner = make_practice()
    browser = sign_in(socket_url, owner)
    connect_demo(browser, socket_url)
    live = db.session.execute(db.select(XeroConnection)).scalar_one()
    live_connection_id = live.connection_id
    # Reconnect, tick the connected organisation and a second one, then Cancel on Socket's chooser.
    consent = press_reconnect(browser, socket_url)
    chooser = submit(browser, consent.url, consent.text, "/identity/connect/authorize",
                     {"tenant": [DEMO_TENANT_ID, SECOND_TENANT_ID]}, button=("action", "allow"))
    assert "Select your Xero company" in chooser.text
    assert sorted(c["id"] for c in _connections(sandbox.state())).count(live_connection_id) == 1  # Xero kept its id
    back = submit(browser, chooser.url, chooser.text, "/xero/select/cancel", {})
    assert back.url == f"{socket_url}/settings/integrations"
    assert 'id="xero-connected"' in back.text and "Demo Company (UK)" in back.text

    db.session.expire_all()
    row = db.session.execute(db.select(XeroConnection)).scalar_one()
    assert (row.status, row.tenant_id, row.connection_id) == ("connected", DEMO_TENANT_ID, live_connection_id)
    state = sandbox.state()
    # The unchosen organisation is gone from Xero; the live one stays, on one grant only (the old one revoked).
    assert [(c["id"], c["tenant_id"]) for c in _connections(state)] == [(live_connection_id, DEMO_TENANT_ID)]
    assert state["active_grants"] == 1
    # The stored tokens work: an API call now, and after Xero expires the access token (a refresh).
    client = XeroClient.for_connection(row, XeroSettings.from_config(app.config), sleep=lambda s: None)
    assert client.get("Organisation")["Organisations"][0]["Name"] == "Demo Company (UK)"
    sandbox.expire_tokens()
    assert client.get("Organisation")["Organisations"][0]["Name"] == "Demo Company (UK)"
    db.session.expire_all()
    assert db.session.get(XeroConnection, row.id).status == "connected"


# -- a slow Xero during the callback: a clear message, nothing stored, no grant left in Xero -----------------------
def test_a_slow_xero_at_the_callback_gives_a_message_and_leaves_no_grant(app, app_ctx, socket_and_sandbox,
                                                                         monkeypatch):
    socket_url, sandbox = socket_and_sandbox
    monkeypatch.setitem(app.config, "XERO_WEB_BUDGET", 1.5)
    browser = sign_in(socket_url, make_practice())
    consent = press_connect(browser, socket_url)
    sandbox.faults(latency_ms=2500, count=1)  # on the API: the callback's GET /connections
    started = time.monotonic()
    back = submit(browser, consent.url, consent.text, "/identity/connect/authorize", {"tenant": [DEMO_TENANT_ID]},
                  button=("action", "allow"))
    elapsed = time.monotonic() - started
    assert back.status_code == 200 and back.url == f"{socket_url}/settings/integrations"
    assert "Xero took too long to answer" in back.text and "handed back the access Xero had just given" in back.text
    assert elapsed < 1.5 + 2.0, elapsed  # the budget, plus the token exchange and the revocation
    assert db.session.execute(db.select(XeroConnection)).first() is None
    state = sandbox.state()
    assert state["faults_fired"].get("latency") == 1
    assert _connections(state) == [] and state["active_grants"] == 0  # the new grant was revoked
