"""Security headers on every response: every GET page and fragment in the URL map (as a signed-in owner, as a
browser and as htmx), errors, redirects and static files; templates that need no inline style to look right."""
import os
import re
from datetime import date

import pytest
import responses

from tests.factories import make_sync_run
from tests.helpers import HTMX, route_path
from webapp import create_app
from webapp.extensions import db
from webapp.models import Client, Engagement, EngagementCompletion, Invoice, PricingMenu, Service, SyncRun
from webapp.services.billing.approval import approve_plan
from webapp.services.demo_seed import DEMO_EMAIL, DEMO_PASSWORD, DEMO_STAFF_EMAIL, seed_demo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ID_MODELS = {"client_id": Client, "completion_id": EngagementCompletion, "engagement_id": Engagement,
             "invoice_id": Invoice, "menu_id": PricingMenu, "run_id": SyncRun, "service_id": Service}
POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self' https://login.xero.com",
    "base-uri": "'self'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
}


def policy_of(response) -> dict[str, str]:
    directives = [d.strip().split(" ", 1) for d in response.headers["Content-Security-Policy"].split(";")]
    return {name: value for name, value in directives}


def assert_secure_headers(response, what: str, https: bool = False) -> None:
    assert policy_of(response) == POLICY, f"{what}: {response.headers.get('Content-Security-Policy')}"
    assert "unsafe" not in response.headers["Content-Security-Policy"], what
    assert response.headers["X-Frame-Options"] == "DENY", what
    assert response.headers["X-Content-Type-Options"] == "nosniff", what
    assert response.headers["Referrer-Policy"] == "same-origin", what
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions, f"{what}: {permissions}"
    if https:
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", what
    else:
        assert "Strict-Transport-Security" not in response.headers, what


@pytest.fixture
def demo_ids(app_ctx):
    """The demo practice, with one id of each kind for the routes that take one (a month approved: invoices; a
    nightly sync that failed: its page)."""
    seed_demo(today=date(2026, 11, 24))
    practice_id = db.session.execute(db.select(Client.practice_id)).scalars().first()
    approve_plan(practice_id, date(2026, 11, 1), None)
    make_sync_run(practice_id, status="failed")
    return {name: db.session.execute(db.select(model.id).filter_by(practice_id=practice_id)).scalars().first()
            for name, model in ID_MODELS.items()}


def sign_in(client, email=DEMO_EMAIL):
    assert client.post("/login", data={"email": email, "password": DEMO_PASSWORD}).status_code == 302


def test_every_page_and_fragment_carries_the_headers(app, client, demo_ids):
    sign_in(client)
    checked = {}
    with responses.RequestsMock(assert_all_requests_are_fired=False):  # nothing may reach Xero
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint in ("static", "auth.login"):
                continue
            path = route_path(rule, demo_ids)
            for headers in ({}, HTMX):
                response = client.get(path, headers=headers)
                assert_secure_headers(response, f"GET {path} {headers}")
                checked[(path, bool(headers))] = response.status_code
    assert len(checked) >= 40  # 2 x 24 GET routes today
    assert sum(status == 200 for status in checked.values()) >= 30, checked  # pages really rendered (39 today)
    downloads = {(f"/billing/{page}/export.{kind}", htmx) for page in ("plan", "invoices") for kind in ("csv", "xlsx")
                 for htmx in (False, True)}
    assert {key: checked.get(key) for key in downloads} == dict.fromkeys(downloads, 200)  # the files, served


def test_sign_in_page_errors_redirects_and_static_files_carry_the_headers(app, client, demo_ids):
    assert_secure_headers(client.get("/login"), "sign-in page")
    assert_secure_headers(client.post("/login", data={"email": DEMO_EMAIL, "password": "wrong"}), "wrong password")
    assert_secure_headers(client.post("/login", data={}, csrf=False), "CSRF refused (400)")
    signed_out = client.get("/billing/plan")
    assert signed_out.status_code == 302
    assert_secure_headers(signed_out, "signed-out redirect")
    assert_secure_headers(client.get("/billing/plan", headers=HTMX), "signed-out htmx (401)")
    with client.get("/static/css/socket.css") as static:
        assert static.status_code == 200
        assert_secure_headers(static, "static file")

    sign_in(client, DEMO_STAFF_EMAIL)
    for headers in ({}, HTMX):
        forbidden = client.post("/settings/billing", data={"invoice_day": "3"}, headers=headers)
        assert forbidden.status_code == 403
        assert_secure_headers(forbidden, f"403 {headers}")
        missing = client.get("/no/such/page", headers=headers)
        assert missing.status_code == 404
        assert_secure_headers(missing, f"404 {headers}")
    not_allowed = client.get("/logout")
    assert not_allowed.status_code == 405
    assert_secure_headers(not_allowed, "405")
    assert_secure_headers(client.post("/logout"), "sign-out redirect")


def test_a_server_error_page_carries_the_headers():
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert_secure_headers(response, "500")


def test_strict_transport_security_only_when_served_over_https(app, client, monkeypatch):
    assert_secure_headers(client.get("/login"), "plain HTTP")
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    assert_secure_headers(client.get("/login"), "HTTPS", https=True)
    with client.get("/static/favicon.svg") as static:
        assert_secure_headers(static, "HTTPS static file", https=True)


def test_forms_may_post_through_to_the_configured_xero_sign_in_host_only(app, client, monkeypatch):
    """"Connect to Xero" is a POST answered with a redirect to Xero's sign-in, which form-action also governs."""
    monkeypatch.setitem(app.config, "XERO_LOGIN_URL", "http://127.0.0.1:5050")
    assert policy_of(client.get("/login"))["form-action"] == "'self' http://127.0.0.1:5050"
    monkeypatch.setitem(app.config, "XERO_LOGIN_URL", "")
    assert policy_of(client.get("/login"))["form-action"] == "'self'"


# --- nothing inline for the policy to refuse ------------------------------------------------------------------

def template_files():
    for folder, _, files in os.walk(os.path.join(ROOT, "templates")):
        for name in files:
            path = os.path.join(folder, name)
            with open(path) as handle:
                yield os.path.relpath(path, ROOT), handle.read()


def test_templates_carry_no_inline_style():
    found = [(path, match) for path, text in template_files()
             for match in re.findall(r"""\sstyle\s*=\s*["'][^"']*["']|<style\b""", text, re.IGNORECASE)]
    assert found == [], "move these into static/css/socket.css (the CSP refuses inline style):\n" + "\n".join(
        f"{path}: {match}" for path, match in found)


def test_htmx_is_told_not_to_inject_its_indicator_style_and_socket_css_has_it(client):
    with open(os.path.join(ROOT, "static", "vendor", "htmx-4.0.1.min.js")) as handle:
        assert "includeIndicatorCSS:!0" in handle.read()  # the key the meta below turns off
    page = client.get("/login").get_data(as_text=True)
    assert """<meta name="htmx-config" content='{"includeIndicatorCSS": false}'>""" in page
    with open(os.path.join(ROOT, "static", "css", "socket.css")) as handle:
        css = handle.read()
    assert ".htmx-indicator { opacity: 0; visibility: hidden; }" in css
    assert ".htmx-request .htmx-indicator, .htmx-request.htmx-indicator { opacity: 1; visibility: visible;" in css
