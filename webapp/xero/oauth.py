"""Xero's identity endpoints through Authlib: authorization URL (state + PKCE S256), code exchange,
refresh, revocation. Plain functions of XeroSettings; nothing here touches the database or Flask."""
import base64
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from webapp.xero.budget import TIMED_OUT, Budget, deadline_for, timeout_for
from webapp.xero.errors import XeroAuthError, XeroError, XeroTimedOut, XeroUnavailable
from webapp.xero.retry import RetryableFailure, call_with_retries
from webapp.xero.settings import XeroSettings

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 20
REFRESH_ATTEMPTS = 4
REFRESH_TIMEOUT = (5, 15)  # (connect, read) seconds for one refresh attempt
REFRESH_BACKOFF_MAX = 8.0
REFRESH_DEADLINE = 40.0  # no new attempt after this; worst case ≈ 40 + 20 s, inside the 90 s lock TTL
DEFAULT_LIFE = 1800  # seconds: Xero's access tokens last 30 minutes
MAX_LIFE = 86400


@dataclass(frozen=True)
class TokenSet:
    """A token response. The tokens are left out of repr so they never reach a log by accident."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime
    scope: str | None = None


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    code_verifier: str = field(repr=False)


def _session(settings: XeroSettings, **kwargs) -> OAuth2Session:
    if not settings.client_id or not settings.client_secret:
        raise XeroError("Xero is not configured: set XERO_CLIENT_ID and XERO_CLIENT_SECRET.")
    return OAuth2Session(settings.client_id, settings.client_secret, **kwargs)


def _token_set(token: object) -> TokenSet:
    """The token response as a TokenSet; ValueError when it has no access token that is text. An expires_in that
    is not a number of seconds from 1 to a day is read as Xero's 30 minutes: the tokens are good, and dropping a
    rotated refresh token for it would lose the connection."""
    access = token.get("access_token") if isinstance(token, dict) else None
    if not isinstance(access, str) or not access:
        raise ValueError("no access token")
    assert isinstance(token, dict)
    refresh, scope, expires_in = token.get("refresh_token"), token.get("scope"), token.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or not 1 <= expires_in <= MAX_LIFE:
        expires_in = DEFAULT_LIFE
    return TokenSet(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=datetime.now(UTC) + timedelta(seconds=int(expires_in)),
        scope=scope if isinstance(scope, str) else None,
    )


def authorization_request(settings: XeroSettings) -> AuthorizationRequest:
    """Where to send the user to grant access: a fresh `state` and PKCE verifier (S256) for this attempt."""
    verifier = secrets.token_urlsafe(64)
    state = secrets.token_urlsafe(32)
    session = _session(settings, scope=settings.scopes, redirect_uri=settings.redirect_uri,
                       code_challenge_method="S256")
    url, state = session.create_authorization_url(settings.authorize_url, state=state, code_verifier=verifier)
    return AuthorizationRequest(url=url, state=state, code_verifier=verifier)


def exchange_code(settings: XeroSettings, code: str, code_verifier: str, budget: Budget | None = None) -> TokenSet:
    """Trade the authorization code for tokens. Not retried: a code works once."""
    session = _session(settings, redirect_uri=settings.redirect_uri)
    try:
        token = session.fetch_token(settings.token_url, grant_type="authorization_code", code=code,
                                    code_verifier=code_verifier, timeout=timeout_for(budget, HTTP_TIMEOUT))
    except OAuthError as exc:
        raise XeroAuthError(f"Xero refused the authorisation code ({exc.error}). Please try connecting again.") \
            from None
    except requests.Timeout:
        raise XeroTimedOut(f"{TIMED_OUT} while Socket collected your sign-in. Please try connecting again.") \
            from None
    except (requests.RequestException, ValueError, TypeError) as exc:  # Authlib: a body it could not read
        raise XeroUnavailable(f"Xero's sign-in service did not answer properly ({type(exc).__name__}). "
                              "Please try connecting again.") from None
    try:
        return _token_set(token)
    except ValueError:
        raise XeroAuthError("Xero's token response had no access token. Please try connecting again.") from None


def refresh_tokens(settings: XeroSettings, refresh_token: str,
                   sleep: Callable[[float], None] | None = None, budget: Budget | None = None) -> TokenSet:
    """A new token set from `refresh_token`.

    A lost response (timeout, dropped connection, 5xx, or a 200 whose body is not a token) is retried with
    the SAME refresh token: Xero keeps the old one valid for 30 minutes after rotating, so the retry gets a
    fresh set rather than a dead grant. The whole refresh is bounded (REFRESH_DEADLINE, plus one attempt's
    timeouts) well inside the refresh lock's TTL, so no other process can take the lock mid-refresh. In a web
    request `budget` bounds it further (each attempt's timeouts and the retry deadline).
    """

    def attempt() -> TokenSet:
        session = _session(settings)
        try:
            token = session.refresh_token(settings.token_url, refresh_token=refresh_token,
                                          timeout=timeout_for(budget, REFRESH_TIMEOUT))
        except OAuthError as exc:
            if exc.error == "invalid_grant":
                raise XeroAuthError("Xero no longer accepts Socket's authorisation (invalid_grant): the "
                                    "connection was revoked or expired. Reconnect to Xero.") from None
            raise XeroError(f"Xero refused to refresh the connection ({exc.error}).") from None
        except (requests.Timeout, requests.ConnectionError) as exc:
            log.warning("Xero token refresh got no answer (%s); retrying with the same refresh token",
                        type(exc).__name__)
            raise _lost(type(exc).__name__) from None
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            log.warning("Xero token endpoint answered %s; retrying", status)
            raise _lost(f"HTTP {status}") from None
        except (ValueError, TypeError):
            # Authlib could not read the body (not JSON, or an expires_in that is not a number): Xero may have
            # rotated already, so this is a lost response.
            log.warning("Xero token endpoint answered with a body that is not JSON; retrying")
            raise _lost("unreadable answer") from None
        try:
            return _token_set(token)
        except ValueError:
            log.warning("Xero token endpoint answered without an access token; retrying")
            raise _lost("no access token in the answer") from None

    return call_with_retries(attempt, attempts=REFRESH_ATTEMPTS, backoff_multiplier=0.5,
                             backoff_max=REFRESH_BACKOFF_MAX, deadline=deadline_for(budget, REFRESH_DEADLINE),
                             sleep=sleep)


def _lost(reason: str) -> RetryableFailure:
    return RetryableFailure(XeroUnavailable(
        f"Xero's sign-in service could not be reached to refresh the connection ({reason}); try again shortly."))


def revoke_refresh_token(settings: XeroSettings, refresh_token: str, budget: Budget | None = None) -> None:
    """Revoke the grant behind `refresh_token` (removes every connection it holds)."""
    session = _session(settings)
    try:
        response = session.revoke_token(settings.revocation_url, token=refresh_token,
                                        token_type_hint="refresh_token", timeout=timeout_for(budget, HTTP_TIMEOUT))
    except requests.RequestException as exc:
        raise XeroUnavailable(f"Xero could not be reached to revoke the connection ({type(exc).__name__}).") \
            from None
    if response.status_code >= 400:
        raise XeroError(f"Xero refused to revoke the connection (HTTP {response.status_code}).",
                        status=response.status_code)


def auth_event_id(access_token: str) -> str | None:
    """The `authentication_event_id` claim of Xero's JWT access token (read, not verified: it only narrows
    GET /connections to the organisations granted just now)."""
    try:
        payload = access_token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (IndexError, ValueError):
        return None
    value = claims.get("authentication_event_id") if isinstance(claims, dict) else None
    return str(value) if value else None

