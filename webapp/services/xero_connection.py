"""Connecting a practice to one Xero organisation and disconnecting it (the sync itself is webapp.sync).

The routes hand in plain values (codes, ids); everything that speaks Xero goes through webapp.xero.
Tokens never leave the server: between the callback and the "Select your Xero company" choice the new
grant waits encrypted in Redis (10 minutes), and only its random id is kept in the user's session.
"""
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import (
    ConnectionStatus,
    SyncRun,
    XeroAccount,
    XeroBrandingTheme,
    XeroConnection,
    XeroTaxRate,
)
from webapp.models.base import utcnow
from webapp.redis_conn import get_redis
from webapp.sync.sync_runs import SyncRefused, start_sync
from webapp.xero import XeroError, XeroSettings, oauth
from webapp.xero.connections import TenantConnection, delete_connection, list_connections
from webapp.xero.crypto import TokenCipher
from webapp.xero.oauth import AuthorizationRequest, TokenSet
from webapp.xero.token_store import TokenManager, store_token_set, tokens_locked

log = logging.getLogger(__name__)

PENDING_TTL = 600


class ConnectError(Exception):
    """Connecting or disconnecting was refused; `message` says why, for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ConnectOutcome:
    """Either the practice is now connected (`connection`), or it must choose between `choices`."""

    connection: XeroConnection | None = None
    choices: list[TenantConnection] | None = None
    pending_id: str | None = None
    sync_run: SyncRun | None = None
    sync_error: str | None = None
    cleanup_problems: tuple[str, ...] = ()  # what Xero did not confirm while retiring the previous grant


def xero_settings() -> XeroSettings:
    return XeroSettings.from_config(current_app.config)


def get_connection(practice_id: int) -> XeroConnection | None:
    """The practice's Xero connection row (in any status), or None if it never connected."""
    return db.session.execute(db.select(XeroConnection).filter_by(practice_id=practice_id)).scalar_one_or_none()


# -- connecting ------------------------------------------------------------------------------------------------
def start_connect() -> AuthorizationRequest:
    """A new authorization request (URL, state, PKCE verifier) for the "Connect with Xero" button."""
    return oauth.authorization_request(xero_settings())


def complete_connect(practice_id: int, user_id: int, code: str, code_verifier: str) -> ConnectOutcome:
    """After Xero's redirect: exchange the code, list the organisations granted just now, connect one or ask."""
    settings = xero_settings()
    tokens = oauth.exchange_code(settings, code, code_verifier)
    organisations = list_connections(settings, tokens.access_token, oauth.auth_event_id(tokens.access_token))
    if not organisations:
        raise ConnectError("Xero did not give Socket access to any organisation. Try again and tick your "
                           "practice's organisation on Xero's page.")
    if len(organisations) == 1:
        return _connect(practice_id, user_id, tokens, organisations[0], others=[])
    try:
        pending_id = _save_pending(practice_id, user_id, tokens, organisations)
    except RedisError as exc:
        log.error("Could not keep the pending Xero grant (%s); giving it back", type(exc).__name__)
        _give_back(settings, tokens, organisations)
        raise ConnectError(REDIS_DOWN_CONNECT) from None
    return ConnectOutcome(choices=organisations, pending_id=pending_id)


REDIS_DOWN_CONNECT = ("Socket could not keep your Xero sign-in while you choose the company (its Redis store "
                      "is unreachable), so nothing was connected and the access Xero just gave was handed "
                      "back. Try again shortly.")


def _give_back(settings: XeroSettings, tokens: TokenSet, organisations) -> list[str]:
    """Best effort: remove the organisations a grant holds and revoke it, so no stray grant stays in Xero."""
    problems = []
    for org in organisations:
        problems += _quietly(delete_connection, settings, tokens.access_token, org.id)
    if tokens.refresh_token:
        problems += _quietly(oauth.revoke_refresh_token, settings, tokens.refresh_token)
    return problems


def pending_choices(practice_id: int, pending_id: str | None) -> list[TenantConnection] | None:
    """The organisations waiting to be chosen from, or None when the choice expired or is not this practice's."""
    pending = _load_pending(practice_id, pending_id)
    return pending.organisations if pending else None


def choose_organisation(practice_id: int, user_id: int, pending_id: str | None,
                        chosen_connection_id: str) -> ConnectOutcome:
    """Connect the chosen organisation and remove the other ones just granted, so no stray grant remains."""
    pending = _load_pending(practice_id, pending_id)
    if pending is None:
        raise ConnectError("That choice has expired. Start again with Connect with Xero.")
    chosen = next((org for org in pending.organisations if org.id == chosen_connection_id), None)
    if chosen is None:
        raise ConnectError("Choose one of the organisations listed.")
    others = [org for org in pending.organisations if org.id != chosen.id]
    outcome = _connect(practice_id, user_id, pending.tokens, chosen, others)
    try:
        _redis().delete(pending.key)
    except RedisError:
        log.warning("Could not delete the used pending Xero grant; it expires in %ss", PENDING_TTL)
    return outcome


def cancel_choice(practice_id: int, pending_id: str | None) -> None:
    """Give up the pending grant: remove every organisation it granted and revoke it."""
    pending = _load_pending(practice_id, pending_id)
    if pending is None:
        return
    _give_back(xero_settings(), pending.tokens, pending.organisations)
    try:
        _redis().delete(pending.key)
    except RedisError:
        log.warning("Could not delete the cancelled pending Xero grant; it expires in %ss", PENDING_TTL)


def tenant_connected_elsewhere(practice_id: int, tenant_id: str) -> bool:
    """True when another practice holds a live connection to this Xero organisation."""
    return db.session.execute(
        db.select(XeroConnection.id).filter(
            XeroConnection.tenant_id == tenant_id, XeroConnection.practice_id != practice_id,
            XeroConnection.status != ConnectionStatus.DISCONNECTED.value)
    ).first() is not None


def _connect(practice_id: int, user_id: int, tokens: TokenSet, organisation: TenantConnection,
             others: list[TenantConnection]) -> ConnectOutcome:
    if tenant_connected_elsewhere(practice_id, organisation.tenant_id):
        # Not deleted in Xero: the connection may be the other practice's own.
        raise ConnectError(_taken_elsewhere(organisation))
    settings = xero_settings()
    cipher = TokenCipher(settings.token_encryption_key)
    for other in others:
        _quietly(delete_connection, settings, tokens.access_token, other.id)
    connection = get_connection(practice_id) or XeroConnection(practice_id=practice_id)
    # The same lock as a refresh: an in-flight refresh either finishes first or finds its write refused.
    with tokens_locked(settings, connection.id):
        if connection.id is not None:
            db.session.refresh(connection)
        old_grant = _old_grant(connection, organisation, cipher)
        if connection.tenant_id and connection.tenant_id != organisation.tenant_id:
            _forget_reference_data(practice_id)  # another organisation's codes and themes mean nothing now
        connection.connection_id = organisation.id
        connection.tenant_id = organisation.tenant_id
        connection.tenant_name = organisation.tenant_name
        connection.status = ConnectionStatus.CONNECTED.value
        connection.connected_by_id = user_id
        connection.connected_at = utcnow()
        connection.disconnected_at = None
        connection.last_error = None
        store_token_set(connection, tokens, cipher)
        db.session.add(connection)
        try:
            db.session.commit()
        except IntegrityError:
            # Another practice connected this organisation between our check and our write.
            db.session.rollback()
            raise ConnectError(_taken_elsewhere(organisation)) from None
    log.info("Practice %s connected to Xero organisation %s", practice_id, organisation.tenant_id)
    problems = tuple(_retire_old_grant(settings, tokens, *old_grant))
    try:
        run = start_sync(practice_id, trigger="connect")
        return ConnectOutcome(connection=connection, sync_run=run, cleanup_problems=problems)
    except SyncRefused as exc:
        return ConnectOutcome(connection=connection, sync_error=exc.message, cleanup_problems=problems)


def _taken_elsewhere(organisation: TenantConnection) -> str:
    return (f"“{organisation.tenant_name}” is already connected to another Socket practice. "
            "Each Xero organisation can be connected to one practice only.")


def _old_grant(connection: XeroConnection, organisation: TenantConnection,
               cipher: TokenCipher) -> tuple[str | None, str | None]:
    """What the new grant replaces: (Xero connection id to remove — only when switching organisation, as
    re-consenting keeps the same connection — and the old refresh token to revoke)."""
    if connection.status == ConnectionStatus.DISCONNECTED.value:
        return None, None  # disconnect already removed and revoked it
    try:
        old_refresh = cipher.decrypt(connection.refresh_token_encrypted)
    except XeroError:
        old_refresh = None  # unreadable (key rotated): nothing we can revoke
    old_connection_id = connection.connection_id if connection.connection_id != organisation.id else None
    return old_connection_id, old_refresh


def _retire_old_grant(settings: XeroSettings, tokens: TokenSet, old_connection_id: str | None,
                      old_refresh: str | None) -> list[str]:
    """Best effort, so Socket does not stay listed in the old organisation's Connected Apps; what Xero does
    not confirm is logged and returned for the user."""
    problems = []
    if old_connection_id:
        problems += _quietly(delete_connection, settings, tokens.access_token, old_connection_id)
    if old_refresh and old_refresh != tokens.refresh_token:
        problems += _quietly(oauth.revoke_refresh_token, settings, old_refresh)
    return problems


def _forget_reference_data(practice_id: int) -> None:
    for model in (XeroAccount, XeroBrandingTheme, XeroTaxRate):
        db.session.execute(db.delete(model).filter_by(practice_id=practice_id))


# -- the pending grant (between the callback and the choice) ------------------------------------------------
def _redis():
    return get_redis(current_app.config["REDIS_URL"])


def _pending_key(pending_id: str) -> str:
    return xero_settings().redis_key("xero", "pending", pending_id)


def _save_pending(practice_id: int, user_id: int, tokens: TokenSet, organisations) -> str:
    pending_id = secrets.token_urlsafe(24)
    payload = json.dumps({
        "practice_id": practice_id, "user_id": user_id, "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token, "expires_at": tokens.expires_at.isoformat(), "scope": tokens.scope,
        "organisations": [org.as_dict() for org in organisations],
    })
    cipher = TokenCipher(current_app.config["TOKEN_ENCRYPTION_KEY"])
    _redis().set(_pending_key(pending_id), cipher.encrypt(payload), ex=PENDING_TTL)
    return pending_id


@dataclass(frozen=True)
class _PendingGrant:
    """A grant waiting for "Select your Xero company": where it is kept, its tokens and its organisations."""

    key: str  # its Redis key
    tokens: TokenSet
    organisations: list[TenantConnection]


def _load_pending(practice_id: int, pending_id: str | None) -> _PendingGrant | None:
    if not pending_id:
        return None
    key = _pending_key(pending_id)
    try:
        raw = _redis().get(key)
    except RedisError as exc:
        log.error("Could not read the pending Xero grant (%s)", type(exc).__name__)
        raise ConnectError("Socket could not read your pending Xero sign-in (its Redis store is unreachable). "
                           "Try again shortly with Connect with Xero.") from None
    if raw is None:
        return None
    payload = TokenCipher(current_app.config["TOKEN_ENCRYPTION_KEY"]).decrypt(raw.decode())
    if payload is None:  # an empty entry (never written): nothing is pending
        return None
    data = json.loads(payload)
    if data["practice_id"] != practice_id:
        return None
    tokens = TokenSet(access_token=data["access_token"], refresh_token=data["refresh_token"],
                      expires_at=datetime.fromisoformat(data["expires_at"]), scope=data["scope"])
    return _PendingGrant(key, tokens, [TenantConnection(**org) for org in data["organisations"]])


# -- disconnecting ------------------------------------------------------------------------------------------
def disconnect(practice_id: int) -> list[str]:
    """Remove the connection in Xero, revoke the grant, and mark it disconnected here. Synced data is kept.

    Returns what could not be done on Xero's side (the local disconnect happens regardless, so a dead or
    unreachable Xero — or Redis — never traps a practice in a connection it wants gone).
    """
    connection = get_connection(practice_id)
    if connection is None or connection.status == ConnectionStatus.DISCONNECTED.value:
        raise ConnectError("Socket is not connected to Xero.")
    settings = xero_settings()
    cipher = TokenCipher(settings.token_encryption_key)
    problems = []
    access_token = None
    try:
        access_token = (TokenManager(settings).access_token(connection.id) if connection.is_connected
                        else cipher.decrypt(connection.access_token_encrypted))
    except XeroError as exc:
        problems.append(exc.message)
    if access_token and connection.connection_id:
        problems += _quietly(delete_connection, settings, access_token, connection.connection_id)
    with tokens_locked(settings, connection.id):
        db.session.refresh(connection)  # a refresh above may have rotated the refresh token
        try:
            refresh_token = cipher.decrypt(connection.refresh_token_encrypted)
        except XeroError as exc:
            refresh_token = None
            problems.append(exc.message)
        if refresh_token:
            problems += _quietly(oauth.revoke_refresh_token, settings, refresh_token)
        connection.status = ConnectionStatus.DISCONNECTED.value
        connection.access_token_encrypted = None
        connection.refresh_token_encrypted = None
        connection.access_token_expires_at = None
        connection.disconnected_at = utcnow()
        connection.last_error = "; ".join(dict.fromkeys(problems)) or None
        db.session.commit()
    log.info("Practice %s disconnected from Xero", practice_id)
    return list(dict.fromkeys(problems))


def _quietly(call, *args) -> list[str]:
    """Run a best-effort Xero call; a failure is logged and returned as a message, not raised."""
    try:
        call(*args)
        return []
    except XeroError as exc:
        log.warning("Xero call %s failed: %s", getattr(call, "__name__", call), exc.message)
        return [exc.message]
