"""Access tokens (RS256 JWTs shaped like Xero's), refresh tokens, grant revocation and Bearer authentication."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import constants as C
from .xerojson import XeroError, problem

ISSUER = "https://identity.xero.com"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SigningKey:
    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex

    def jwt(self, claims: dict) -> str:
        header = {"alg": "RS256", "kid": self.kid, "typ": "JWT"}
        signing_input = b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
            b64url(json.dumps(claims, separators=(",", ":")).encode())
        sig = self.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig)

    def jwks(self) -> dict:
        pub = self.key.public_key().public_numbers()

        def enc(n: int) -> str:
            return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "e": enc(pub.e),
                          "n": enc(pub.n)}]}


def new_refresh_token() -> str:
    return secrets.token_hex(32)


def issue_tokens(sandbox, db, grant: dict, with_refresh: bool, nonce: str | None = None) -> dict:
    """Create an access token (and refresh token) for a grant; returns the token endpoint's JSON."""
    now = sandbox.now()
    ttl = sandbox.settings["SANDBOX_ACCESS_TOKEN_TTL"]
    scopes = grant["scope"].split()
    claims = {
        "nbf": int(now), "exp": int(now) + ttl, "iss": ISSUER, "aud": f"{ISSUER}/resources",
        "client_id": grant["client_id"], "sub": C.SANDBOX_USER_ID.replace("-", ""),
        "auth_time": int(grant["created_ms"] / 1000), "xero_userid": C.SANDBOX_USER_ID,
        "global_session_id": grant["grant_id"].replace("-", ""), "sid": grant["grant_id"].replace("-", ""),
        "jti": secrets.token_hex(16), "authentication_event_id": grant["auth_event_id"], "scope": scopes,
    }
    access = sandbox.signing_key.jwt(claims)
    db.execute("INSERT INTO access_tokens (token_hash, grant_id, expires_ms) VALUES (?,?,?)",
               (token_hash(access), grant["grant_id"], int((now + ttl) * 1000)))
    out = {}
    if "openid" in scopes:
        id_claims = {"nbf": int(now), "exp": int(now) + 300, "iss": ISSUER, "aud": grant["client_id"],
                     "iat": int(now), "at_hash": b64url(hashlib.sha256(access.encode()).digest()[:16]),
                     "sid": claims["sid"], "sub": claims["sub"], "auth_time": claims["auth_time"],
                     "xero_userid": C.SANDBOX_USER_ID, "global_session_id": claims["global_session_id"]}
        if nonce:
            id_claims["nonce"] = nonce
        if "email" in scopes or "profile" in scopes:
            id_claims.update({"preferred_username": C.SANDBOX_USER_EMAIL, "email": C.SANDBOX_USER_EMAIL,
                              "given_name": C.SANDBOX_USER_GIVEN_NAME,
                              "family_name": C.SANDBOX_USER_FAMILY_NAME})
        out["id_token"] = sandbox.signing_key.jwt(id_claims)
    out.update({"access_token": access, "expires_in": ttl, "token_type": "Bearer"})
    if with_refresh:
        refresh = new_refresh_token()
        db.execute("INSERT INTO refresh_tokens (token_hash, grant_id, issued_ms, expires_ms) VALUES (?,?,?,?)",
                   (token_hash(refresh), grant["grant_id"], int(now * 1000),
                    int((now + C.REFRESH_TOKEN_TTL) * 1000)))
        out["refresh_token"] = refresh
    out["scope"] = grant["scope"]
    return out


def revoke_grant(db, grant_id: str) -> None:
    """Revoke a consent: its tokens stop working and its connections go."""
    g_row = db.execute("SELECT * FROM grants WHERE grant_id=?", (grant_id,)).fetchone()
    if g_row is None:
        return
    db.execute("UPDATE grants SET revoked=1 WHERE grant_id=?", (grant_id,))
    db.execute("DELETE FROM connections WHERE client_id=? AND auth_event_id=?",
               (g_row["client_id"], g_row["auth_event_id"]))


def _unauthorized(detail):
    return XeroError(401, problem(401, "Unauthorized", detail), {"WWW-Authenticate": "Bearer"})


def authenticate(sandbox, authorization: str | None) -> dict:
    """The grant behind a Bearer token, or XeroError 401 in Xero's shape."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise _unauthorized("AuthenticationUnsuccessful")
    token = authorization[7:].strip()
    row = sandbox.store.one(
        "SELECT a.expires_ms, g.* FROM access_tokens a JOIN grants g ON g.grant_id = a.grant_id"
        " WHERE a.token_hash = ?", (token_hash(token),))
    if row is None or row["revoked"]:
        raise _unauthorized("AuthenticationUnsuccessful")
    if row["expires_ms"] <= sandbox.now_ms():
        at = dt.datetime.fromtimestamp(row["expires_ms"] / 1000, dt.UTC)
        raise _unauthorized(f"TokenExpired: token expired at {at.strftime('%m/%d/%Y %H:%M:%S')}")
    grant = dict(row)
    grant["scopes"] = set(grant["scope"].split())
    return grant
