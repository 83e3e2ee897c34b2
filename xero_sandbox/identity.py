"""login.xero.com / identity.xero.com / api.xero.com/connections, as one blueprint."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from urllib.parse import unquote, urlencode

from flask import Blueprint, Response, g, jsonify, redirect, render_template, request

from . import constants as C
from .pipeline import mark_lose_if_faulted, maybe_drop_connection, pre_faults
from .sandbox import get_sandbox
from .tokens import authenticate, b64url, issue_tokens, revoke_grant, token_hash
from .xerojson import XeroError, iso_utc, json_response

bp = Blueprint("identity", __name__)

BROAD_ONLY = {"accounting.transactions", "accounting.transactions.read"}
GRANULAR_ONLY = {"accounting.invoices", "accounting.invoices.read", "accounting.payments",
                 "accounting.payments.read", "accounting.banktransactions", "accounting.banktransactions.read",
                 "accounting.manualjournals", "accounting.manualjournals.read"}
KNOWN_SCOPES = {
    "openid", "profile", "email", "offline_access",
    "accounting.settings", "accounting.settings.read", "accounting.contacts", "accounting.contacts.read",
    "accounting.attachments", "accounting.attachments.read", "accounting.budgets.read",
    "accounting.journals.read", "accounting.reports.read", "accounting.reports.tenninetynine.read",
    "paymentservices", "files", "files.read", "assets", "assets.read", "projects", "projects.read",
} | BROAD_ONLY | GRANULAR_ONLY
USER_SCOPES = {"openid", "profile", "email", "offline_access"}


# ------------------------------------------------------------------------------------ authorize
def _error_page(message: str, status: int = 400):
    return render_template("error.html", message=message), status


def _redirect_with(uri: str, params: dict):
    sep = "&" if "?" in uri else "?"
    return redirect(uri + sep + urlencode({k: v for k, v in params.items() if v is not None}), code=302)


def _validate_authorize(params):
    """Returns (app_row, error_response). Errors before the redirect URI is trusted render a page."""
    sandbox = get_sandbox()
    client_id = params.get("client_id", "")
    app_row = sandbox.store.one("SELECT * FROM apps WHERE client_id=?", (client_id,))
    if app_row is None:
        return None, _error_page("unauthorized_client: Unknown client or client not enabled")
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in json.loads(app_row["redirect_uris"]):
        return None, _error_page("Invalid redirect_uri: it does not match any redirect URI registered for this app")
    state = params.get("state")
    if params.get("response_type") != "code":
        return None, _redirect_with(redirect_uri, {"error": "unsupported_response_type", "state": state})
    scopes = params.get("scope", "").split()
    mode = sandbox.settings["SANDBOX_SCOPE_MODE"]
    bad = [s for s in scopes if s not in KNOWN_SCOPES
           or (mode == "granular" and s in BROAD_ONLY) or (mode == "broad" and s in GRANULAR_ONLY)]
    if not scopes or bad:
        return None, _redirect_with(redirect_uri, {"error": "invalid_scope", "state": state})
    challenge = params.get("code_challenge")
    if challenge and params.get("code_challenge_method") != "S256":
        return None, _redirect_with(redirect_uri, {"error": "invalid_request", "state": state,
                                                   "error_description": "code_challenge_method must be S256"})
    if challenge and not (43 <= len(challenge) <= 128):
        return None, _redirect_with(redirect_uri, {"error": "invalid_request", "state": state,
                                                   "error_description": "invalid code_challenge"})
    return app_row, None


def _orgs():
    return get_sandbox().store.query("SELECT tenant_id, name FROM orgs ORDER BY sort, name")


def _needs_org(scopes) -> bool:
    return any(s not in USER_SCOPES for s in scopes)


AUTH_PARAMS = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge",
               "code_challenge_method", "nonce")


@bp.route("/identity/connect/authorize", methods=["GET"])
def authorize():
    app_row, err = _validate_authorize(request.args)
    if err:
        return err
    return _consent_page(app_row, request.args)


def _consent_page(app_row, params, error=None, status=200):
    sandbox = get_sandbox()
    connected = {r["tenant_id"] for r in sandbox.store.query(
        "SELECT tenant_id FROM connections WHERE client_id=?", (app_row["client_id"],))}
    scopes = params.get("scope", "").split()
    return render_template(
        "consent.html", app_name=app_row["name"], orgs=_orgs(), connected=connected,
        hidden={k: params.get(k) for k in AUTH_PARAMS if params.get(k) is not None},
        scopes=scopes, needs_org=_needs_org(scopes), error=error,
        user_email=C.SANDBOX_USER_EMAIL), status


@bp.route("/identity/connect/authorize", methods=["POST"])
def authorize_decision():
    sandbox = get_sandbox()
    params = request.form
    app_row, err = _validate_authorize(params)
    if err:
        return err
    redirect_uri, state = params["redirect_uri"], params.get("state")
    if params.get("action") != "allow":
        return _redirect_with(redirect_uri, {"error": "access_denied", "state": state})
    scopes = params["scope"].split()
    valid = {r["tenant_id"] for r in _orgs()}
    chosen = [t for t in params.getlist("tenant") if t in valid]
    if _needs_org(scopes) and not chosen:
        return _consent_page(app_row, params, error="Select at least one organisation to connect.", status=400)
    now = sandbox.now_ms()
    auth_event_id = str(uuid.uuid4())
    code = secrets.token_urlsafe(32)
    with sandbox.store.tx() as db:
        for tenant_id in chosen:
            row = db.execute("SELECT id FROM connections WHERE client_id=? AND tenant_id=?",
                             (app_row["client_id"], tenant_id)).fetchone()
            if row:
                db.execute("UPDATE connections SET auth_event_id=?, updated_ms=? WHERE id=?",
                           (auth_event_id, now, row["id"]))
            else:
                db.execute("INSERT INTO connections (id, client_id, tenant_id, auth_event_id, created_ms, updated_ms)"
                           " VALUES (?,?,?,?,?,?)",
                           (str(uuid.uuid4()), app_row["client_id"], tenant_id, auth_event_id, now, now))
        db.execute("INSERT INTO auth_codes (code, client_id, redirect_uri, scope, code_challenge,"
                   " code_challenge_method, nonce, auth_event_id, created_ms) VALUES (?,?,?,?,?,?,?,?,?)",
                   (code, app_row["client_id"], redirect_uri, " ".join(scopes), params.get("code_challenge"),
                    params.get("code_challenge_method"), params.get("nonce"), auth_event_id, now))
    return _redirect_with(redirect_uri, {"code": code, "scope": " ".join(scopes), "state": state,
                                         "session_state": secrets.token_urlsafe(16)})


# ------------------------------------------------------------------------------------ token endpoint
def oauth_error(error: str, status: int = 400, description: str | None = None):
    body = {"error": error}
    if description:
        body["error_description"] = description
    return XeroError(status, body, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _client_credentials():
    """(client_id, client_secret or None) from HTTP Basic or the form body."""
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("basic "):
        try:
            raw = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
            cid, _, secret = raw.partition(":")
            return unquote(cid), unquote(secret)
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise oauth_error("invalid_client") from None
    return request.form.get("client_id"), request.form.get("client_secret")


def _authenticate_client(allow_public: bool = False):
    sandbox = get_sandbox()
    client_id, secret = _client_credentials()
    if not client_id:
        raise oauth_error("invalid_client")
    row = sandbox.store.one("SELECT * FROM apps WHERE client_id=?", (client_id,))
    if row is None:
        raise oauth_error("invalid_client")
    if secret is None or secret == "":
        if allow_public:
            return row, False
        raise oauth_error("invalid_client")
    if not hmac.compare_digest(secret.encode(), row["client_secret"].encode()):
        raise oauth_error("invalid_client")
    return row, True


@bp.before_request
def _identity_pipeline():
    sandbox = get_sandbox()
    if request.path in ("/connect/token", "/connect/revocation"):
        g.fault_target = "identity"
    elif request.path.startswith("/connections"):
        g.fault_target = "api"
    else:
        return None
    resp = pre_faults(sandbox, g.fault_target)
    if resp is not None:
        return resp
    mark_lose_if_faulted(sandbox, g.fault_target, writes_only=(g.fault_target == "api"))
    return None


@bp.after_request
def _identity_after(response):
    return maybe_drop_connection(response)


@bp.route("/connect/token", methods=["POST"])
def token():
    sandbox = get_sandbox()
    grant_type = request.form.get("grant_type")
    if grant_type == "authorization_code":
        return _token_from_code(sandbox)
    if grant_type == "refresh_token":
        return _token_from_refresh(sandbox)
    _authenticate_client(allow_public=True)
    raise oauth_error("unsupported_grant_type")


def _pkce_ok(verifier: str, challenge: str) -> bool:
    digest = b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
    return hmac.compare_digest(digest, challenge)


def _token_from_code(sandbox):
    code = request.form.get("code", "")
    row = sandbox.store.one("SELECT * FROM auth_codes WHERE code=?", (code,))
    app_row, confidential = _authenticate_client(allow_public=bool(row and row["code_challenge"]))
    now = sandbox.now_ms()
    if (row is None or row["used"] or row["client_id"] != app_row["client_id"]
            or now - row["created_ms"] > C.AUTH_CODE_TTL * 1000):
        raise oauth_error("invalid_grant")
    if request.form.get("redirect_uri") != row["redirect_uri"]:
        raise oauth_error("invalid_grant")
    if row["code_challenge"]:
        verifier = request.form.get("code_verifier")
        if not verifier or not _pkce_ok(verifier, row["code_challenge"]):
            raise oauth_error("invalid_grant")
    grant = {"grant_id": str(uuid.uuid4()), "client_id": app_row["client_id"], "scope": row["scope"],
             "auth_event_id": row["auth_event_id"], "created_ms": now}
    with sandbox.store.tx() as db:
        # A code is single use: the UPDATE's rowcount settles a race between two exchanges.
        if db.execute("UPDATE auth_codes SET used=1, grant_id=? WHERE code=? AND used=0",
                      (grant["grant_id"], code)).rowcount != 1:
            raise oauth_error("invalid_grant")
        db.execute("INSERT INTO grants (grant_id, client_id, scope, auth_event_id, created_ms) VALUES (?,?,?,?,?)",
                   (grant["grant_id"], grant["client_id"], grant["scope"], grant["auth_event_id"], now))
        body = issue_tokens(sandbox, db, grant, with_refresh="offline_access" in row["scope"].split(),
                            nonce=row["nonce"])
    return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _token_from_refresh(sandbox):
    app_row, _ = _authenticate_client()
    refresh = request.form.get("refresh_token", "")
    now = sandbox.now_ms()
    with sandbox.store.tx() as db:
        row = db.execute("SELECT r.*, g.client_id, g.scope, g.auth_event_id, g.created_ms AS grant_created,"
                         " g.revoked FROM refresh_tokens r JOIN grants g ON g.grant_id = r.grant_id"
                         " WHERE r.token_hash=?", (token_hash(refresh),)).fetchone()
        if (row is None or row["revoked"] or row["client_id"] != app_row["client_id"]
                or row["expires_ms"] <= now
                or (row["used_ms"] is not None and now > row["used_ms"] + C.REFRESH_GRACE * 1000)):
            raise oauth_error("invalid_grant")
        if row["used_ms"] is None:
            db.execute("UPDATE refresh_tokens SET used_ms=? WHERE token_hash=?", (now, row["token_hash"]))
        grant = {"grant_id": row["grant_id"], "client_id": row["client_id"], "scope": row["scope"],
                 "auth_event_id": row["auth_event_id"], "created_ms": row["grant_created"]}
        body = issue_tokens(sandbox, db, grant, with_refresh=True)
    return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})


@bp.route("/connect/revocation", methods=["POST"])
def revocation():
    sandbox = get_sandbox()
    app_row, _ = _authenticate_client()
    tok = request.form.get("token", "")
    if not tok:
        raise oauth_error("invalid_request")
    with sandbox.store.tx() as db:
        row = db.execute("SELECT g.grant_id, g.client_id FROM refresh_tokens r JOIN grants g"
                         " ON g.grant_id = r.grant_id WHERE r.token_hash=?", (token_hash(tok),)).fetchone()
        if row is not None and row["client_id"] == app_row["client_id"]:
            revoke_grant(db, row["grant_id"])
    return Response(status=200)


# ------------------------------------------------------------------------------------ connections
def connection_json(row, tenant_name) -> dict:
    return {"id": row["id"], "authEventId": row["auth_event_id"], "tenantId": row["tenant_id"],
            "tenantType": "ORGANISATION", "tenantName": tenant_name,
            "createdDateUtc": iso_utc(row["created_ms"]), "updatedDateUtc": iso_utc(row["updated_ms"])}


@bp.route("/connections", methods=["GET"])
def list_connections():
    sandbox = get_sandbox()
    grant = authenticate(sandbox, request.headers.get("Authorization"))
    sql = ("SELECT c.*, o.name AS tenant_name FROM connections c JOIN orgs o ON o.tenant_id = c.tenant_id"
           " WHERE c.client_id=?")
    params = [grant["client_id"]]
    auth_event = request.args.get("authEventId")
    if auth_event:
        sql += " AND c.auth_event_id=?"
        params.append(auth_event)
    rows = sandbox.store.query(sql + " ORDER BY c.created_ms, o.sort", params)
    return json_response([connection_json(r, r["tenant_name"]) for r in rows])


@bp.route("/connections/<conn_id>", methods=["DELETE"])
def delete_connection(conn_id):
    sandbox = get_sandbox()
    grant = authenticate(sandbox, request.headers.get("Authorization"))
    with sandbox.store.tx() as db:
        n = db.execute("DELETE FROM connections WHERE id=? AND client_id=?", (conn_id, grant["client_id"])).rowcount
    if n != 1:
        return Response(status=404)
    return Response(status=204)


# ------------------------------------------------------------------------------------ discovery
@bp.route("/.well-known/openid-configuration")
def openid_configuration():
    base = request.host_url.rstrip("/")
    return jsonify({
        "issuer": "https://identity.xero.com",
        "authorization_endpoint": f"{base}/identity/connect/authorize",
        "token_endpoint": f"{base}/connect/token",
        "revocation_endpoint": f"{base}/connect/revocation",
        "jwks_uri": f"{base}/.well-known/openid-configuration/jwks",
        "scopes_supported": sorted(KNOWN_SCOPES),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })


@bp.route("/.well-known/openid-configuration/jwks")
def jwks():
    return jsonify(get_sandbox().signing_key.jwks())
