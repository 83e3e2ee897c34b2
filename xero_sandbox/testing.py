"""Serve the sandbox over real HTTP for tests, browsers and benchmarks.

    from xero_sandbox.testing import run_sandbox

    with run_sandbox({"SANDBOX_LIMITS": "relaxed"}) as sb:
        sb.url            # e.g. http://127.0.0.1:54321 (use for XERO_LOGIN_URL/IDENTITY_URL/API_URL)
        sb.client_id, sb.client_secret, sb.redirect_uris, sb.redirect_uri
        sb.reset(); sb.faults(status=503, count=2); sb.revoke(connection_id); sb.expire_tokens(); sb.state()
        sb.invoices(); sb.pay_invoice(invoice_id, "100.00"); sb.void_invoice(invoice_id); sb.edit_invoice(...)
        tokens = sb.connect()  # consent + code exchange in one call, for tests that need a token fast

The server runs in a daemon thread (werkzeug, threaded) on a free 127.0.0.1 port with a fresh temporary
SQLite file; the environment's SANDBOX_* variables are ignored so runs are reproducible. `config` takes the
same keys as create_app (SANDBOX_LIMITS, SANDBOX_ACCESS_TOKEN_TTL, SANDBOX_WEBHOOK_URL, clock, ...).
"""
from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import tempfile
import threading
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlparse

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from . import create_app
from .constants import DEMO_TENANT_ID, SECOND_TENANT_ID

DEFAULT_SCOPE = "offline_access accounting.settings.read accounting.contacts accounting.invoices"


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # keep test output clean; errors are still logged
        pass


class SandboxServer:
    DEMO_TENANT_ID = DEMO_TENANT_ID
    SECOND_TENANT_ID = SECOND_TENANT_ID

    def __init__(self, app, server, db_path):
        self.app = app
        self.server = server
        self.db_path = db_path
        self.sandbox = app.extensions["xero_sandbox"]
        s = self.sandbox.settings
        self.url = f"http://127.0.0.1:{server.server_port}"
        self.client_id = s["SANDBOX_CLIENT_ID"]
        self.client_secret = s["SANDBOX_CLIENT_SECRET"]
        self.redirect_uris = list(s["SANDBOX_REDIRECT_URIS"])
        self.redirect_uri = self.redirect_uris[0]
        self.http = requests.Session()

    # ---------------------------------------------------------------- admin endpoints
    def _admin(self, method, path, json=None):
        r = self.http.request(method, f"{self.url}/_sandbox/{path}", json=json, timeout=30)
        r.raise_for_status()
        return r.json()

    def reset(self, keep_connections: bool = False) -> dict:
        return self._admin("POST", "reset", {"keep_connections": keep_connections})

    def faults(self, **kw) -> dict:
        """e.g. faults(status=429, count=2), faults(percent=50, status=503), faults(latency_ms=200),
        faults(lose_response=1), faults(lose_response=1, on="identity"), faults(clear=True)."""
        return self._admin("POST", "faults", kw)

    def clear_faults(self) -> dict:
        return self.faults(clear=True)

    def revoke(self, connection_id: str) -> dict:
        return self._admin("POST", f"connections/{connection_id}/revoke")

    def expire_tokens(self) -> dict:
        return self._admin("POST", "tokens/expire")

    def state(self) -> dict:
        return self._admin("GET", "state")

    def archive_contact(self, contact_id: str) -> dict:
        return self._admin("POST", f"contacts/{contact_id}/archive")

    def merge_contact(self, contact_id: str, into: str) -> dict:
        return self._admin("POST", f"contacts/{contact_id}/merge", {"into": into})

    def archive_account(self, account: str, tenant_id: str | None = None, status: str = "ARCHIVED") -> dict:
        suffix = f"?tenant={tenant_id}" if tenant_id else ""
        return self._admin("POST", f"accounts/{account}/archive{suffix}", {"status": status})

    def invoices(self, tenant_id: str = DEMO_TENANT_ID) -> list[dict]:
        """The organisation's invoices as stored (lines and payments included), oldest first."""
        return self._admin("GET", f"invoices?tenant={tenant_id}")["invoices"]

    def pay_invoice(self, invoice_id: str, amount: object = None, date: str | None = None,
                    reference: str | None = None) -> dict:
        """A person records a payment in Xero (`amount` e.g. "100.00"; None pays all that is due). Returns the
        invoice; fully paid, it is PAID."""
        body = {k: v for k, v in (("amount", None if amount is None else str(amount)), ("date", date),
                                  ("reference", reference)) if v is not None}
        return self._admin("POST", f"invoices/{invoice_id}/pay", body)["invoice"]

    def void_invoice(self, invoice_id: str) -> dict:
        """A person voids an AUTHORISED invoice without payments in Xero. Returns the invoice."""
        return self._admin("POST", f"invoices/{invoice_id}/void")["invoice"]

    def edit_invoice(self, invoice_id: str, line: int = 0, **changes: object) -> dict:
        """A person edits an invoice in Xero: `description`, `quantity` or `unit_amount` of line `line` (totals
        follow), and/or `reference`. Returns the invoice."""
        body = {"line": line, **{k: str(v) if k in ("quantity", "unit_amount") else v
                                 for k, v in changes.items() if v is not None}}
        return self._admin("POST", f"invoices/{invoice_id}/edit", body)["invoice"]

    def generate_org(self, name: str, contacts: int) -> str:
        return self._admin("POST", "orgs", {"name": name, "contacts": contacts})["tenant_id"]

    def deliver_webhooks(self) -> dict:
        return self._admin("POST", "webhooks/deliver")

    # ---------------------------------------------------------------- OAuth shortcuts
    def authorize_url(self, scope: str = DEFAULT_SCOPE, state: str = "state-123", code_challenge=None,
                      redirect_uri=None) -> str:
        params = {"response_type": "code", "client_id": self.client_id,
                  "redirect_uri": redirect_uri or self.redirect_uri, "scope": scope, "state": state}
        if code_challenge:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        return f"{self.url}/identity/connect/authorize?{urlencode(params)}"

    def consent(self, tenants=(DEMO_TENANT_ID,), scope: str = DEFAULT_SCOPE, state: str = "state-123",
                code_challenge=None, allow: bool = True) -> dict:
        """Submit the consent form as the sandbox user would; returns the callback's query parameters."""
        form = {"response_type": "code", "client_id": self.client_id, "redirect_uri": self.redirect_uri,
                "scope": scope, "state": state, "action": "allow" if allow else "cancel", "tenant": list(tenants)}
        if code_challenge:
            form.update(code_challenge=code_challenge, code_challenge_method="S256")
        r = self.http.post(f"{self.url}/identity/connect/authorize", data=form, allow_redirects=False, timeout=30)
        if r.status_code != 302:
            raise RuntimeError(f"consent failed: {r.status_code} {r.text[:200]}")
        return {k: v[0] for k, v in parse_qs(urlparse(r.headers["Location"]).query).items()}

    def exchange(self, code: str, code_verifier: str | None = None) -> requests.Response:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if code_verifier:
            data["code_verifier"] = code_verifier
        return self.http.post(f"{self.url}/connect/token", data=data, auth=(self.client_id, self.client_secret),
                              timeout=30)

    def refresh(self, refresh_token: str) -> requests.Response:
        return self.http.post(f"{self.url}/connect/token",
                              data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                              auth=(self.client_id, self.client_secret), timeout=30)

    def connect(self, tenants=(DEMO_TENANT_ID,), scope: str = DEFAULT_SCOPE) -> dict:
        """Consent + PKCE code exchange; returns the token response JSON."""
        verifier, challenge = pkce_pair()
        params = self.consent(tenants=tenants, scope=scope, code_challenge=challenge)
        r = self.exchange(params["code"], verifier)
        r.raise_for_status()
        return r.json()

    def api(self, method: str, path: str, token: str, tenant_id: str = DEMO_TENANT_ID, **kw) -> requests.Response:
        """Call /api.xro/2.0/<path> with the Bearer token and xero-tenant-id header."""
        headers = {"Authorization": f"Bearer {token}", "xero-tenant-id": tenant_id, "Accept": "application/json",
                   **kw.pop("headers", {})}
        return self.http.request(method, f"{self.url}/api.xro/2.0/{path.lstrip('/')}", headers=headers,
                                 timeout=30, **kw)


@contextmanager
def run_sandbox(config: dict | None = None):
    tmp = tempfile.mkdtemp(prefix="xero-sandbox-")
    db_path = os.path.join(tmp, "sandbox.sqlite")
    cfg = {"SANDBOX_IGNORE_ENV": True, **(config or {}), "SANDBOX_DB_PATH": db_path}
    app = create_app(cfg)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="xero-sandbox", daemon=True)
    thread.start()
    sb = SandboxServer(app, server, db_path)
    try:
        yield sb
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        sb.http.close()
        app.extensions["xero_sandbox"].store.close()
        shutil.rmtree(tmp, ignore_errors=True)
