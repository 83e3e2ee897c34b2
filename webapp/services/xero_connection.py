"""Connecting a practice to one Xero organisation and disconnecting it (the sync itself is webapp.sync).

The routes hand in plain values (codes, ids); everything that speaks Xero goes through webapp.xero.
Nothing secret is kept in the user's session cookie (Flask's cookie is signed, not encrypted): the OAuth
`state` and PKCE verifier of a sign-in wait in Redis (10 minutes), and between the callback and the "Select
your Xero company" choice the new grant waits there encrypted (10 minutes); the session holds only their
random ids.

These run in web requests, so their Xero calls share a time budget (XERO_WEB_BUDGET) well inside the web
worker's timeout, and handing back a grant the request could not finish with has a short one of its own
(XERO_WEB_CLEANUP_BUDGET): a slow Xero gives the user a message, never a killed worker and a stray grant.

Xero keeps a connection's id when a user re-consents to an organisation already connected, and moves that
connection onto the new grant. So a grant Socket hands back may hold a connection Socket uses: such a
connection is never removed, and the grant holding it is never revoked (for the practice's own connection,
Socket keeps the new grant instead and retires the old one).
"""
import hmac
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
from webapp.services.billing import plan_staleness
from webapp.sync.sync_runs import SyncRefused, start_sync
from webapp.xero import XeroError, XeroRateLimited, XeroSettings, XeroTimedOut, XeroUnavailable, oauth
from webapp.xero.budget import Budget
from webapp.xero.connections import TenantConnection, delete_connection, list_connections
from webapp.xero.crypto import TokenCipher
from webapp.xero.oauth import TokenSet
from webapp.xero.token_store import LOCK_WAIT, TokenManager, store_token_set, tokens_locked

log = logging.getLogger(__name__)

PENDING_TTL = 600
SIGN_IN_TTL = 600  # seconds Socket waits for Xero's redirect after "Connect to Xero"


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
    cleanup_problems: tuple[str, ...] = ()  # what Xero did not confirm while removing what Socket does not use


@dataclass(frozen=True)
class SignIn:
    """Where to send the user (Xero's authorize URL) and the id of the sign-in kept in Redis (for the session)."""

    url: str
    flow_id: str


@dataclass(frozen=True)
class CancelOutcome:
    """After Cancel on the chooser: the practice's connection if it was among those granted (kept, on the new
    grant), and what Xero did not confirm while handing back the rest."""

    kept: XeroConnection | None = None
    problems: tuple[str, ...] = ()


def xero_settings() -> XeroSettings:
    return XeroSettings.from_config(current_app.config)


def get_connection(practice_id: int) -> XeroConnection | None:
    """The practice's Xero connection row (in any status), or None if it never connected."""
    return db.session.execute(db.select(XeroConnection).filter_by(practice_id=practice_id)).scalar_one_or_none()


def _web_budget(settings: XeroSettings) -> Budget:
    return Budget(settings.web_budget)


def _cleanup_budget(settings: XeroSettings) -> Budget:
    return Budget(settings.web_cleanup_budget)


# -- signing in: state and PKCE verifier wait in Redis, the session keeps only their id ------------------------
NOT_STARTED = ("That Xero sign-in was not started here or has already been used, so nothing was changed. "
               "Start again with Connect to Xero.")
SIGN_IN_EXPIRED = ("That Xero sign-in took longer than 10 minutes or has already been used, so nothing was "
                   "changed. Start again with Connect to Xero.")
REDIS_DOWN_START = ("Socket could not start the Xero sign-in because its Redis store is unreachable, so nothing "
                    "was changed. Try again shortly.")
REDIS_DOWN_CALLBACK = ("Socket could not check your Xero sign-in because its Redis store is unreachable, so "
                       "nothing was connected. Try again shortly with Connect to Xero.")


def start_connect(practice_id: int) -> SignIn:
    """A new authorization request for the "Connect to Xero" button; its state and verifier stay server-side."""
    authorization = oauth.authorization_request(xero_settings())
    flow_id = secrets.token_urlsafe(24)
    payload = json.dumps({"state": authorization.state, "verifier": authorization.code_verifier,
                          "practice_id": practice_id})
    try:
        _redis().set(_sign_in_key(flow_id), payload, ex=SIGN_IN_TTL)
    except RedisError as exc:
        log.error("Could not keep the Xero sign-in (%s)", type(exc).__name__)
        raise ConnectError(REDIS_DOWN_START) from None
    return SignIn(url=authorization.url, flow_id=flow_id)


def complete_sign_in(practice_id: int, user_id: int, flow_id: str | None, state: str, code: str,
                     error: str | None) -> ConnectOutcome:
    """Xero's redirect back: check it belongs to the sign-in this session started (one use only), then connect."""
    flow = _take_sign_in(practice_id, flow_id)
    if not state or not hmac.compare_digest(state, flow["state"]):
        raise ConnectError("Socket could not verify that Xero sign-in (its security check did not match), so "
                           "nothing was changed. Start again with Connect to Xero.")
    if error == "access_denied":
        raise ConnectError("You cancelled the connection in Xero. Nothing was changed.")
    if error:
        raise ConnectError(f"Xero reported a problem ({error}) and nothing was changed. Please try again.")
    if not code:
        raise ConnectError("Xero did not send an authorisation code, so nothing was changed. Please try again.")
    return complete_connect(practice_id, user_id, code, flow["verifier"])


def _sign_in_key(flow_id: str) -> str:
    return xero_settings().redis_key("xero", "sign-in", flow_id)


def _take_sign_in(practice_id: int, flow_id: str | None) -> dict:
    """The sign-in's state and verifier, removed from Redis as they are read (a replay finds nothing)."""
    if not flow_id or not isinstance(flow_id, str):
        raise ConnectError(NOT_STARTED)
    key = _sign_in_key(flow_id)
    try:
        pipe = _redis().pipeline()
        pipe.get(key)
        pipe.delete(key)
        raw, _ = pipe.execute()
    except RedisError as exc:
        log.error("Could not read the Xero sign-in (%s)", type(exc).__name__)
        raise ConnectError(REDIS_DOWN_CALLBACK) from None
    if raw is None:
        raise ConnectError(SIGN_IN_EXPIRED)
    flow = json.loads(raw)
    if flow.get("practice_id") != practice_id:
        raise ConnectError(NOT_STARTED)
    return flow


# -- connecting ------------------------------------------------------------------------------------------------
NO_ORGANISATION = ("Xero did not give Socket access to any organisation. Try again and tick your practice's "
                   "organisation on Xero's page.")
REDIS_DOWN_CONNECT = ("Socket could not keep your Xero sign-in while you choose the company (its Redis store "
                      "is unreachable), so nothing was connected and the access Xero just gave was handed "
                      "back. Try again shortly.")


def complete_connect(practice_id: int, user_id: int, code: str, code_verifier: str) -> ConnectOutcome:
    """After Xero's redirect: exchange the code, list the organisations granted just now, connect one or ask.

    If anything fails once Xero has given tokens, the grant is handed back before the error reaches the user.
    """
    settings = xero_settings()
    budget = _web_budget(settings)
    tokens = oauth.exchange_code(settings, code, code_verifier, budget=budget)  # failing: Xero gave nothing
    try:
        organisations = list_connections(settings, tokens.access_token, oauth.auth_event_id(tokens.access_token),
                                         budget=budget)
    except XeroError as exc:
        log.warning("Xero connect: listing the organisations just granted failed (%s: %s); revoking the new "
                    "grant", type(exc).__name__, exc.message)
        problems = _revoke(settings, tokens, _cleanup_budget(settings))
        raise ConnectError(_unfinished_message(practice_id, exc, problems)) from None
    except Exception:
        _revoke(settings, tokens, _cleanup_budget(settings))
        raise
    if not organisations:
        _revoke(settings, tokens, _cleanup_budget(settings))
        raise ConnectError(NO_ORGANISATION)
    if len(organisations) == 1:
        try:
            return _connect(practice_id, user_id, tokens, organisations[0], others=[], budget=budget)
        except Exception as exc:
            # Refused (another practice's organisation) or broken before it was stored. (Had it been stored,
            # handing back would find the connection in use by this practice and keep it.)
            db.session.rollback()
            _kept, problems = _give_back(practice_id, settings, tokens, organisations, _cleanup_budget(settings))
            if isinstance(exc, ConnectError):
                raise ConnectError(_with_problems(exc.message, problems)) from None
            raise
    try:
        pending_id = _save_pending(practice_id, user_id, tokens, organisations)
    except Exception as exc:
        log.error("Could not keep the pending Xero grant (%s); giving it back", type(exc).__name__)
        _give_back(practice_id, settings, tokens, organisations, _cleanup_budget(settings))
        if isinstance(exc, RedisError):
            raise ConnectError(REDIS_DOWN_CONNECT) from None
        raise
    return ConnectOutcome(choices=organisations, pending_id=pending_id)


def _unfinished_message(practice_id: int, exc: XeroError, problems: list[str]) -> str:
    """Why the callback could not finish once Xero had given tokens, in the user's terms."""
    if isinstance(exc, XeroRateLimited):
        why = "Xero is limiting how often Socket may call it just now"
    elif isinstance(exc, XeroTimedOut):
        why = "Xero took too long to answer"
    elif isinstance(exc, XeroUnavailable):
        why = "Xero is having trouble just now"
    else:
        why = f"Xero would not list the organisations you ticked ({exc.message})"
    if problems:
        given_back = ("Socket tried to hand back the access Xero had just given, but Xero did not confirm it (" +
                      "; ".join(problems) + "); you can remove Socket in Xero under Settings > Connected apps")
    else:
        given_back = "Socket handed back the access Xero had just given"
    message = f"{why}, so Socket could not finish connecting: nothing new was connected and {given_back}."
    live = get_connection(practice_id)
    if live is not None and live.status == ConnectionStatus.CONNECTED.value:
        message += (f" If you ticked {live.tenant_name}, which Socket is already connected to, Xero may have ended "
                    "that connection too; Socket will ask you to reconnect if so.")
    return message + " Please try again in a few minutes."


def _with_problems(message: str, problems: list[str]) -> str:
    if not problems:
        return message
    return (message + " Xero did not confirm removing the access it had just given (" + "; ".join(problems) +
            "); you can remove Socket in Xero under Settings > Connected apps.")


def pending_choices(practice_id: int, pending_id: str | None) -> list[TenantConnection] | None:
    """The organisations waiting to be chosen from, or None when the choice expired or is not this practice's."""
    pending = _load_pending(practice_id, pending_id)
    return pending.organisations if pending else None


def choose_organisation(practice_id: int, user_id: int, pending_id: str | None,
                        chosen_connection_id: str) -> ConnectOutcome:
    """Connect the chosen organisation and remove the other ones just granted that Socket does not use.

    When it is refused (e.g. the organisation is another practice's), nothing is removed and the choice stays
    open, so the user can choose again or cancel."""
    pending = _load_pending(practice_id, pending_id)
    if pending is None:
        raise ConnectError("That choice has expired. Start again with Connect to Xero.")
    chosen = next((org for org in pending.organisations if org.id == chosen_connection_id), None)
    if chosen is None:
        raise ConnectError("Choose one of the organisations listed.")
    others = [org for org in pending.organisations if org.id != chosen.id]
    outcome = _connect(practice_id, user_id, pending.tokens, chosen, others, _web_budget(xero_settings()))
    _forget_pending(pending)
    return outcome


def cancel_choice(practice_id: int, pending_id: str | None) -> CancelOutcome:
    """Give up the pending grant without cutting any connection Socket uses (see the module's docstring)."""
    pending = _load_pending(practice_id, pending_id)
    if pending is None:
        return CancelOutcome()
    _forget_pending(pending)  # first, so the choice cannot be used while it is handed back
    settings = xero_settings()
    kept, problems = _give_back(practice_id, settings, pending.tokens, pending.organisations, _web_budget(settings))
    return CancelOutcome(kept=kept, problems=tuple(problems))


def tenant_connected_elsewhere(practice_id: int, tenant_id: str) -> bool:
    """True when another practice holds a live connection to this Xero organisation."""
    return db.session.execute(
        db.select(XeroConnection.id).filter(
            XeroConnection.tenant_id == tenant_id, XeroConnection.practice_id != practice_id,
            XeroConnection.status != ConnectionStatus.DISCONNECTED.value)
    ).first() is not None


def connections_in_use(connection_ids) -> dict[str, int]:
    """Xero connection id -> practice, for those of `connection_ids` that a practice's live (not disconnected)
    connection uses — any practice's: one Xero user may have connected organisations for several."""
    ids = list(connection_ids)
    if not ids:
        return {}
    rows = db.session.execute(db.select(XeroConnection.connection_id, XeroConnection.practice_id).filter(
        XeroConnection.connection_id.in_(ids), XeroConnection.status != ConnectionStatus.DISCONNECTED.value)).all()
    return {connection_id: practice_id for connection_id, practice_id in rows}


def _connect(practice_id: int, user_id: int, tokens: TokenSet, organisation: TenantConnection,
             others: list[TenantConnection], budget: Budget) -> ConnectOutcome:
    if tenant_connected_elsewhere(practice_id, organisation.tenant_id):
        raise ConnectError(_taken_elsewhere(organisation))
    settings = xero_settings()
    cipher = TokenCipher(settings.token_encryption_key)
    connection = get_connection(practice_id) or XeroConnection(practice_id=practice_id)
    # The same lock as a refresh: an in-flight refresh either finishes first or finds its write refused.
    with tokens_locked(settings, connection.id, wait=budget.wait(LOCK_WAIT)):
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
    cleanup = _cleanup_budget(settings)
    # Only now, with the connection stored, the organisations not chosen go — except a connection another
    # practice uses (the same Xero user connected it there), which is never removed.
    in_use = connections_in_use(org.id for org in others)
    problems = []
    for other in others:
        if in_use.get(other.id, practice_id) == practice_id:
            problems += _quietly(delete_connection, settings, tokens.access_token, other.id, budget=cleanup)
    problems += _retire_old_grant(settings, tokens, *old_grant, budget=cleanup)
    unique = tuple(dict.fromkeys(problems))
    try:
        run = start_sync(practice_id, trigger="connect")
        return ConnectOutcome(connection=connection, sync_run=run, cleanup_problems=unique)
    except SyncRefused as exc:
        return ConnectOutcome(connection=connection, sync_error=exc.message, cleanup_problems=unique)


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
                      old_refresh: str | None, budget: Budget) -> list[str]:
    """Best effort, so Socket does not stay listed in the old organisation's Connected Apps; what Xero does
    not confirm is logged and returned for the user."""
    problems = []
    if old_connection_id:
        problems += _quietly(delete_connection, settings, tokens.access_token, old_connection_id, budget=budget)
    if old_refresh and old_refresh != tokens.refresh_token:
        problems += _quietly(oauth.revoke_refresh_token, settings, old_refresh, budget=budget)
    return problems


def _forget_reference_data(practice_id: int) -> None:
    for model in (XeroAccount, XeroBrandingTheme, XeroTaxRate):
        db.session.execute(db.delete(model).filter_by(practice_id=practice_id))
    plan_staleness.mark_practice_stale(db.session(), [practice_id])  # bulk deletes: the flush listener can't see them


# -- handing back a grant Socket will not use ---------------------------------------------------------------------
def _give_back(practice_id: int, settings: XeroSettings, tokens: TokenSet, organisations: list[TenantConnection],
               budget: Budget) -> tuple[XeroConnection | None, list[str]]:
    """Best effort: remove the organisations of a new grant that nothing in Socket uses and revoke the grant —
    unless it holds a connection Socket uses (Xero moved it onto this grant when the user re-consented): the
    practice's own is kept on this grant (its tokens adopted, the old grant retired); another practice's is
    left alone, and then the grant is not revoked either, as that would remove it.

    Returns the practice's connection when it was kept, and what Xero did not confirm."""
    in_use = connections_in_use(org.id for org in organisations)
    problems = []
    for org in organisations:
        if org.id not in in_use:
            problems += _quietly(delete_connection, settings, tokens.access_token, org.id, budget=budget)
    own = next((org for org in organisations if in_use.get(org.id) == practice_id), None)
    kept = None
    if own is not None:
        kept, retire_problems = _adopt(practice_id, settings, tokens, own, budget)
        problems += retire_problems
    if kept is None:
        used = [org.id for org in organisations if org.id in in_use]
        if used:
            log.warning("Not revoking a new Xero grant: it holds connection(s) %s that Socket uses", used)
        else:
            problems += _revoke(settings, tokens, budget)
    return kept, list(dict.fromkeys(problems))


def _adopt(practice_id: int, settings: XeroSettings, tokens: TokenSet, organisation: TenantConnection,
           budget: Budget) -> tuple[XeroConnection | None, list[str]]:
    """The practice's connection to `organisation` now sits on this new grant: store the grant's tokens for it
    (so the connection keeps a working grant) and retire the grant it had. None if it changed meanwhile."""
    connection = get_connection(practice_id)
    if connection is None:
        return None, []
    cipher = TokenCipher(settings.token_encryption_key)
    with tokens_locked(settings, connection.id, wait=budget.wait(LOCK_WAIT)):
        db.session.refresh(connection)
        if (connection.connection_id != organisation.id
                or connection.status == ConnectionStatus.DISCONNECTED.value):
            return None, []
        _, old_refresh = _old_grant(connection, organisation, cipher)
        store_token_set(connection, tokens, cipher)
        connection.status = ConnectionStatus.CONNECTED.value
        connection.last_error = None
        db.session.commit()
    log.info("Practice %s keeps its Xero connection %s, now on the new grant", practice_id, organisation.id)
    return connection, _retire_old_grant(settings, tokens, None, old_refresh, budget)


def _revoke(settings: XeroSettings, tokens: TokenSet, budget: Budget) -> list[str]:
    """Revoke a new grant (its refresh token); a grant without one (no offline_access) ends by itself."""
    if not tokens.refresh_token:
        return []
    return _quietly(oauth.revoke_refresh_token, settings, tokens.refresh_token, budget=budget)


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
                           "Try again shortly with Connect to Xero.") from None
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


def _forget_pending(pending: _PendingGrant) -> None:
    try:
        _redis().delete(pending.key)
    except RedisError:
        log.warning("Could not delete the used pending Xero grant; it expires in %ss", PENDING_TTL)


# -- disconnecting ------------------------------------------------------------------------------------------
def disconnect(practice_id: int) -> list[str]:
    """Remove the connection in Xero, revoke the grant, and mark it disconnected here. Synced data is kept.

    Returns what could not be done on Xero's side (the local disconnect happens regardless, so a dead or
    unreachable Xero — or Redis — never traps a practice in a connection it wants gone). Xero's part runs within
    the web budget (a token refresh and the removal) and the cleanup budget (the revocation).
    """
    connection = get_connection(practice_id)
    if connection is None or connection.status == ConnectionStatus.DISCONNECTED.value:
        raise ConnectError("Socket is not connected to Xero.")
    settings = xero_settings()
    budget = _web_budget(settings)
    cipher = TokenCipher(settings.token_encryption_key)
    problems = []
    access_token = None
    try:
        access_token = (TokenManager(settings, budget=budget).access_token(connection.id) if connection.is_connected
                        else cipher.decrypt(connection.access_token_encrypted))
    except XeroError as exc:
        problems.append(exc.message)
    if access_token and connection.connection_id:
        problems += _quietly(delete_connection, settings, access_token, connection.connection_id, budget=budget)
    with tokens_locked(settings, connection.id, wait=budget.wait(LOCK_WAIT)):
        db.session.refresh(connection)  # a refresh above may have rotated the refresh token
        try:
            refresh_token = cipher.decrypt(connection.refresh_token_encrypted)
        except XeroError as exc:
            refresh_token = None
            problems.append(exc.message)
        if refresh_token:
            problems += _quietly(oauth.revoke_refresh_token, settings, refresh_token,
                                 budget=_cleanup_budget(settings))
        connection.status = ConnectionStatus.DISCONNECTED.value
        connection.access_token_encrypted = None
        connection.refresh_token_encrypted = None
        connection.access_token_expires_at = None
        connection.disconnected_at = utcnow()
        connection.last_error = "; ".join(dict.fromkeys(problems)) or None
        db.session.commit()
    log.info("Practice %s disconnected from Xero", practice_id)
    return list(dict.fromkeys(problems))


def _quietly(call, *args, **kwargs) -> list[str]:
    """Run a best-effort Xero call; a failure is logged and returned as a message, not raised."""
    try:
        call(*args, **kwargs)
        return []
    except XeroError as exc:
        log.warning("Xero call %s failed: %s", getattr(call, "__name__", call), exc.message)
        return [exc.message]
