"""No secret in any log, with every logger at DEBUG, through Socket's main journeys against the Xero sandbox.

Socket is served over real HTTP (werkzeug's server, as `flask run`; each request also goes through gunicorn's
access log, written by the Procfile's RedactingGunicornLogger) and the sandbox too; `requests` plays the browser and
the test thread runs the RQ worker. The journeys: sign in with a wrong and then the right password, Connect to Xero
through the sandbox's consent page (code exchange), the first sync (reference data and contacts) in the worker,
approving the month and posting its invoices, a token refresh (the sandbox expires the access token, then Sync now),
a signed webhook delivery and its refresh job, and Disconnect (revocation).

Every logger is at DEBUG: the root logger and urllib3, requests, authlib, werkzeug, sqlalchemy.engine (statements,
parameters and result rows), rq, redis and Socket's own, into one buffer through the handler filter create_app
installs (webapp.log_redaction), plus gunicorn's access and error logs. The buffer holds what Socket's processes
log: the web server's threads, the worker (this thread) and gunicorn. The browser's own request log (urllib3 in
this thread, which prints the callback URL it follows) and the sandbox's (it stands in for Xero) are Xero's and the
user's logs, not Socket's, so they are kept apart (`acting`).

Secret, and so never in the buffer, in clear, URL-encoded or (the client credentials) as HTTP Basic: every access,
refresh and id token the sandbox issued (read from its token responses) and those Socket stores (decrypted), the
OAuth code, state and PKCE verifier, the client secret, the webhook signing key, the token encryption key, Flask's
SECRET_KEY, both passwords typed at sign-in, the owner's password hash, every session cookie value and every CSRF
token the browser held (a CSRF token lets a forged request through for that session). Long secrets are also looked
for in 24-character pieces, since SQLAlchemy shortens long parameter values in its log.

Not secret: the Fernet ciphertext of the stored tokens (in SQL parameters and rows; useless without the key),
User.session_token (half of the login id inside the signed cookie; forging a cookie with it needs SECRET_KEY), the
webhook's HMAC signature (of one body), the PKCE challenge, ids (connections, tenants, flows, jobs).
"""
import base64
import io
import json
import logging
import re
import secrets
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from gunicorn.config import Config as GunicornConfig
from rq import SimpleWorker
from werkzeug.security import generate_password_hash

from tests.live_servers import XERO_KEYS, serve
from webapp.clock import this_month
from webapp.extensions import db
from webapp.log_redaction import REDACTED, RedactingFilter, RedactingGunicornLogger, install_log_redaction
from webapp.models import BillingSettings, Invoice, Practice, User, XeroConnection
from webapp.queue import get_queue
from webapp.services.billing.plan import build_plan
from webapp.services.demo_seed import DEMO_EMAIL, DEMO_PRACTICE_NAME, seed_demo
from webapp.xero.crypto import TokenCipher

pytest.importorskip("xero_sandbox.testing", reason="the Xero sandbox is not available")
from xero_sandbox.constants import DEMO_TENANT_ID
from xero_sandbox.testing import run_sandbox

pytestmark = pytest.mark.integration
CALLBACK = "/settings/integrations/xero/callback"
PIECE = 24  # long secrets are also looked for piece by piece (SQLAlchemy keeps a long value's ends)
NAMED = ("sqlalchemy.engine", "urllib3", "requests", "authlib", "werkzeug", "rq", "rq.worker", "redis", "webapp",
         "jobs", "gunicorn.access", "gunicorn.error")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')

# -- whose log a record is ----------------------------------------------------------------------------------------
_actor = threading.local()


def actor() -> str:
    """Who is running in this thread: 'socket' (web threads, the worker) unless marked otherwise."""
    return getattr(_actor, "name", "socket")


@contextmanager
def acting(name: str):
    """Mark this thread's work (and its log records) as the browser's or the test's own, not Socket's."""
    before = getattr(_actor, "name", None)
    _actor.name = name
    try:
        yield
    finally:
        _actor.name = before if before is not None else "socket"


class Capture(logging.Handler):
    """Every record, formatted with its traceback, kept with the actor whose thread logged it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[tuple[str, str]] = []
        self._lock_lines = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        with self._lock_lines:
            self.lines.append((actor(), line))

    def text(self, who: str = "socket") -> str:
        with self._lock_lines:
            return "\n".join(line for name, line in self.lines if name == who)


@contextmanager
def everything_at_debug(handler: Capture):
    """The root logger and every logger that exists at DEBUG, `handler` the root's only handler, with the redaction
    filter create_app gives the root's handlers; loggers that do not propagate get `handler` too. All undone after."""
    root = logging.getLogger()
    for name in NAMED:
        logging.getLogger(name)  # made now, so that their levels are put back too
    loggers = [root] + [logger for logger in logging.root.manager.loggerDict.values()
                        if isinstance(logger, logging.Logger)]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    others = root.handlers[:]  # pytest's capture: one buffer, and a readable failure
    root.handlers[:] = [handler]
    install_log_redaction()  # what create_app does for the handlers basicConfig gave the root logger
    extra = [logger for logger in loggers[1:] if not logger.propagate]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
    for name in NAMED:
        logging.getLogger(name).setLevel(logging.DEBUG)
    for logger in extra:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in extra:
            logger.removeHandler(handler)
        root.handlers[:] = others
        for logger, level, disabled in saved:
            logger.setLevel(level)
            logger.disabled = disabled
        before = {logger for logger, _, _ in saved}
        for logger in list(logging.root.manager.loggerDict.values()):
            if isinstance(logger, logging.Logger) and logger not in before:
                logger.setLevel(logging.NOTSET)  # made during the run (or set to DEBUG by it, e.g. rq.worker)


# -- the secrets, and finding them ------------------------------------------------------------------------------
class Secrets:
    """Every secret seen during the run, by what it is."""

    def __init__(self):
        self.found: dict[str, str] = {}

    def add(self, what: str, value) -> None:
        if isinstance(value, str) and len(value) >= 6:
            self.found.setdefault(value, what)

    def forms(self, value: str) -> set[str]:
        """The ways `value` could be written in a log: as is, URL-encoded, JSON-escaped, pieces of a long one."""
        forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
        if len(value) > 2 * PIECE:
            forms |= {value[i:i + PIECE] for i in range(0, len(value) - PIECE + 1, PIECE)}
        return forms

    def leaks(self, text: str) -> list[tuple[str, str]]:
        """(what, the form found) for each secret in `text`."""
        leaks = []
        for value, what in self.found.items():
            form = next((form for form in sorted(self.forms(value), key=len, reverse=True) if form in text), None)
            if form is not None:
                leaks.append((what, form))
        return leaks


def check_no_secret(text: str, found: Secrets) -> None:
    leaks = found.leaks(text)
    lines = [line for line in text.splitlines() if any(form in line for _, form in leaks)]
    assert not leaks, (f"{len(leaks)} secret(s) in Socket's DEBUG log: {leaks[:10]}; {len(lines)} line(s), the first:\n"
                       + "\n".join(line[:1000] for line in lines[:5]))


# -- what crosses the wire to and from Xero ------------------------------------------------------------------------
class XeroTraffic:
    """WSGI middleware around the sandbox: marks its threads as Xero's and notes every secret of the OAuth
    exchange: state (authorize), code (the redirect back), code, verifier and refresh token (token requests),
    issued tokens (token responses), revoked tokens."""

    SECRET_FIELDS = ("code", "code_verifier", "refresh_token", "token", "access_token", "id_token", "state")

    def __init__(self, wsgi_app, found: Secrets):
        self.wsgi_app, self.found = wsgi_app, found

    def __call__(self, environ, start_response):
        _actor.name = "xero"
        path = environ.get("PATH_INFO", "")
        for name, values in parse_qs(environ.get("QUERY_STRING", "")).items():
            if name in self.SECRET_FIELDS:
                self.found.add(f"OAuth {name} (query)", values[0])
        if path in ("/connect/token", "/connect/revocation"):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            for name, values in parse_qs(body.decode()).items():
                if name in self.SECRET_FIELDS:
                    self.found.add(f"OAuth {name} (sent to {path})", values[0])

        def noting_redirects(status, headers, exc_info=None):
            for name, value in headers:
                if name.lower() == "location":
                    for field, values in parse_qs(urlsplit(value).query).items():
                        if field in self.SECRET_FIELDS:
                            self.found.add(f"OAuth {field} (redirect)", values[0])
            return start_response(status, headers, exc_info)

        chunks = list(self.wsgi_app(environ, noting_redirects))
        if path == "/connect/token":
            try:
                answer = json.loads(b"".join(chunks))
            except ValueError:
                answer = {}
            for name in ("access_token", "refresh_token", "id_token"):
                self.found.add(f"{name} issued by Xero", answer.get(name))
        return chunks


class GunicornAccessLog:
    """WSGI middleware around Socket: marks its threads as Socket's web process and writes each request to
    gunicorn's access log as the Procfile's RedactingGunicornLogger would (its default format, plus the query and
    raw URI atoms a deployment might add)."""

    FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(q)s %(U)s %({raw_uri}e)s'

    def __init__(self, wsgi_app, handler: logging.Handler):
        self.wsgi_app = wsgi_app
        cfg = GunicornConfig()
        cfg.set("accesslog", "-")
        cfg.set("access_log_format", self.FORMAT)
        self.logger = RedactingGunicornLogger(cfg)
        for log in (self.logger.access_log, self.logger.error_log):
            log.handlers = [handler]

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for log in (self.logger.access_log, self.logger.error_log):
            log.handlers = []

    def __call__(self, environ, start_response):
        _actor.name = "socket"
        started = time.monotonic()
        response = SimpleNamespace(status="500", sent=0, headers=[])

        def remembering(status, headers, exc_info=None):
            response.status, response.headers = status, headers
            return start_response(status, headers, exc_info)

        chunks = list(self.wsgi_app(environ, remembering))
        response.sent = sum(len(chunk) for chunk in chunks)
        request = SimpleNamespace(headers=[(key[5:].replace("_", "-"), value) for key, value in environ.items()
                                           if key.startswith("HTTP_")])
        self.logger.access(response, request, environ, timedelta(seconds=time.monotonic() - started))
        return chunks


# -- the browser ----------------------------------------------------------------------------------------------------
class Browser:
    """`requests` as the user's browser (its own log is not Socket's); remembers every session cookie value and
    CSRF token it held, as secrets."""

    def __init__(self, base_url: str, found: Secrets):
        self.base_url, self.found, self.http = base_url, found, requests.Session()
        self.csrf = ""

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        with acting("browser"):
            response = self.http.request(method, url if "://" in url else self.base_url + url, timeout=30, **kwargs)
        for cookie in self.http.cookies:
            self.found.add(f"cookie {cookie.name}", cookie.value)
        for page in (*response.history, response):
            for match in CSRF.finditer(page.text):
                self.csrf = match.group(1) or match.group(2)
                self.found.add("CSRF token", self.csrf)
        return response

    def get(self, url: str, **kwargs) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, data: dict | list | None = None, **kwargs) -> requests.Response:
        data = list((data or {}).items()) if isinstance(data, dict) else list(data or [])
        return self.request("POST", url, data=[("csrf_token", self.csrf), *data], **kwargs)


# -- the run ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def secret_config(app, monkeypatch):
    """Fresh secrets for Socket's settings (the session app's are fixed strings), noted."""
    found = Secrets()
    values = {"SECRET_KEY": secrets.token_urlsafe(32), "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
              "XERO_WEBHOOK_KEY": secrets.token_urlsafe(40), "XERO_CLIENT_SECRET": secrets.token_urlsafe(30)}
    for key, value in values.items():
        monkeypatch.setitem(app.config, key, value)
        found.add(key, value)
    for key in XERO_KEYS:
        monkeypatch.setitem(app.config, key, app.config[key])
    return found


@contextmanager
def socket_and_sandbox(app, found: Secrets, handler: Capture, monkeypatch):
    """(Socket's URL, the sandbox): both over HTTP, the sandbox holding Socket's client secret and webhook key."""
    access_log = GunicornAccessLog(app.wsgi_app, handler)
    monkeypatch.setattr(app, "wsgi_app", access_log)
    with serve(app) as socket_url, access_log:
        callback = f"{socket_url}{CALLBACK}"
        with run_sandbox({"SANDBOX_REDIRECT_URIS": callback, "SANDBOX_LIMITS": "relaxed",
                          "SANDBOX_CLIENT_SECRET": app.config["XERO_CLIENT_SECRET"],
                          "SANDBOX_WEBHOOK_URL": f"{socket_url}/webhooks/xero",
                          "SANDBOX_WEBHOOK_KEY": app.config["XERO_WEBHOOK_KEY"]}) as sandbox:
            sandbox.app.wsgi_app = XeroTraffic(sandbox.app.wsgi_app, found)
            app.config.update(XERO_CLIENT_ID=sandbox.client_id, XERO_REDIRECT_URI=callback,
                              XERO_LOGIN_URL=sandbox.url, XERO_IDENTITY_URL=sandbox.url, XERO_API_URL=sandbox.url)
            basic = base64.b64encode(f"{sandbox.client_id}:{sandbox.client_secret}".encode()).decode()
            found.add("client credentials (HTTP Basic)", basic)
            yield socket_url, sandbox


def run_worker(app) -> None:
    """What the web process queued, run to the end by an RQ worker logging at DEBUG (this thread: Socket's)."""
    queue = get_queue(app.config)
    SimpleWorker([queue], connection=queue.connection).work(burst=True, logging_level="DEBUG")


def note_stored_tokens(app, found: Secrets) -> None:
    with acting("test"):
        db.session.expire_all()
        cipher = TokenCipher(app.config["TOKEN_ENCRYPTION_KEY"])
        for row in db.session.execute(db.select(XeroConnection)).scalars():
            found.add("access token (Socket's store)", cipher.decrypt(row.access_token_encrypted))
            found.add("refresh token (Socket's store)", cipher.decrypt(row.refresh_token_encrypted))
        db.session.commit()


def run_the_journeys(app, socket_url: str, sandbox, found: Secrets, password: str, practice_id: int) -> None:
    browser = Browser(socket_url, found)
    # Sign in: a wrong password, then the right one.
    browser.get("/login")
    wrong = secrets.token_urlsafe(12)
    found.add("wrong password", wrong)
    assert browser.post("/login", {"email": DEMO_EMAIL, "password": wrong}).status_code == 422
    signed_in = browser.post("/login", {"email": DEMO_EMAIL, "password": password})
    assert signed_in.status_code == 200 and signed_in.url.endswith("/billing/plan")

    # Connect to Xero: Xero's consent page, allow, back through the callback (the code exchange), connected.
    consent = browser.post("/settings/integrations/xero/connect")
    assert "/identity/connect/authorize" in consent.url and 'name="tenant"' in consent.text
    form = {name: value for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', consent.text)}
    done = browser.request("POST", consent.url, data={**form, "tenant": DEMO_TENANT_ID, "action": "allow"})
    assert done.url == f"{socket_url}/settings/integrations" and 'id="xero-connected"' in done.text, done.text[:2000]
    assert any(CALLBACK in step.url for step in done.history)
    note_stored_tokens(app, found)

    # The first sync (reference data and contacts), queued by connecting, in the worker.
    run_worker(app)
    page = browser.get("/settings/integrations").text
    assert "200 — Sales" in page

    # Approve this month and post its invoices.
    with acting("test"):
        month = this_month(db.session.get_one(Practice, practice_id).time_zone)
        fingerprint = build_plan(practice_id, month).fingerprint
    approved = browser.post("/billing/plan/approve", {"month": f"{month:%Y-%m}", "fingerprint": fingerprint,
                                                      "invoice_date": "today"})
    assert approved.status_code == 200, approved.text[:2000]
    run_worker(app)
    with acting("test"):
        db.session.expire_all()
        posted = db.session.execute(db.select(Invoice.xero_invoice_id).filter(
            Invoice.practice_id == practice_id, Invoice.xero_invoice_id.is_not(None))).scalars().all()
        db.session.commit()
    assert posted, "no invoice reached Xero"

    # A token refresh: Xero expires the access token, then Sync now.
    with acting("test"):
        sandbox.expire_tokens()
    assert browser.post("/settings/integrations/xero/sync").status_code == 200
    refreshes_before = len([v for v, what in found.found.items() if what == "access_token issued by Xero"])
    run_worker(app)
    assert len([v for v, what in found.found.items() if what == "access_token issued by Xero"]) > refreshes_before
    note_stored_tokens(app, found)

    # A webhook: an invoice edited in Xero, delivered signed to Socket, refreshed by the worker.
    with acting("test"):
        sandbox.edit_invoice(posted[0], description="Changed in Xero")
        delivered = sandbox.deliver_webhooks()
    assert delivered["status"] == 200 and delivered["delivered"] > 0, delivered
    run_worker(app)
    note_stored_tokens(app, found)

    # Disconnect: the refresh token revoked at Xero.
    browser.get("/settings/integrations")
    gone = browser.post("/settings/integrations/xero/disconnect", {"confirm": "yes"})
    assert "Disconnected from Xero" in gone.text, gone.text[:2000]
    with acting("test"):
        assert sandbox.state()["active_grants"] == 0


def test_no_secret_reaches_any_log_at_debug(app, app_ctx, secret_config, monkeypatch):
    found = secret_config
    seed_demo()
    owner = db.session.execute(db.select(User).filter_by(email=DEMO_EMAIL)).scalar_one()
    password = secrets.token_urlsafe(15)
    owner.set_password(password)
    db.session.commit()
    found.add("password (right)", password)
    found.add("password hash", owner.password_hash)
    settings = db.session.get(BillingSettings, owner.practice_id)
    settings.recurring_account_code, settings.one_off_account_code = "200", "260"
    db.session.commit()
    practice_id = owner.practice_id
    assert owner.practice.name == DEMO_PRACTICE_NAME

    handler = Capture()
    try:
        with everything_at_debug(handler), socket_and_sandbox(app, found, handler, monkeypatch) as (socket_url,
                                                                                                  sandbox):
            run_the_journeys(app, socket_url, sandbox, found, password, practice_id)
    finally:
        get_queue(app.config).empty()

    logged = handler.text("socket")
    # The journeys were logged as asked: the request log, SQL with its parameters and rows, HTTP to Xero, the worker.
    assert f"GET {CALLBACK}?code=REDACTED" in logged
    for sign in ("sqlalchemy.engine.Engine INFO [", "sqlalchemy.engine.Engine DEBUG Row", "urllib3.connectionpool",
                 "POST /connect/token", "POST /connect/revocation", "rq.worker", "gunicorn.access", "werkzeug INFO",
                 "POST /webhooks/xero"):
        assert sign in logged, sign
    kinds = set(found.found.values())
    for kind in ("OAuth code (redirect)", "OAuth state (query)", "OAuth code_verifier (sent to /connect/token)",
                 "access_token issued by Xero", "refresh_token issued by Xero", "cookie session", "CSRF token"):
        assert kind in kinds, kind
    check_no_secret(logged, found)


def test_the_check_finds_a_secret_in_each_form_it_could_take():
    found = Secrets()
    token = "eyJhbGciOiJSUzI1NiJ9." + "a1B2c3D4" * 20 + ".sig"
    found.add("access token", token)
    found.add("password", "p@ss word/+")
    for text in (f"Bearer {token}", f"refresh_token={quote(token)}", "data=p%40ss+word%2F%2B",
                 json.dumps({"p": "p@ss word/+"}), f"('{token[:100]}...(800 characters truncated)...')"):
        with pytest.raises(AssertionError, match=r"secret\(s\) in Socket's DEBUG log"):
            check_no_secret(text, found)
    check_no_secret("nothing secret here: pass word, eyJhbGciOiJSUzI1NiJ9", found)


def test_a_password_hash_in_a_record_is_redacted_by_the_filter_create_app_installs():
    """SQLAlchemy logs each result row at DEBUG (the users table's on every signed-in request) and a new hash in an
    INSERT's parameters at INFO; the root handlers' filter takes the hash out."""
    methods = ("scrypt:1024:8:1", "pbkdf2:sha256:1000", "pbkdf2:sha1:1000")  # cheap, and each form werkzeug writes
    hashes = [generate_password_hash("pw", method) for method in methods]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.debug_log_secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Row %r", (1, "demo@socket.test", hashes[0], "owner"))
        logger.warning("[generated in 0.0001s] %r", {"password_hash": hashes[1], "email": "a@b.c"})
        logger.warning("%s", f"UPDATE users SET password_hash='{hashes[2]}' WHERE id=1")
    finally:
        logger.removeHandler(handler)
    logged = out.getvalue()
    assert logged.count(REDACTED) == 3 and "demo@socket.test" in logged and "'owner'" in logged, logged
    for value in hashes:
        assert value.split("$")[2] not in logged and value.split("$")[1] not in logged
