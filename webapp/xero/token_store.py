"""Tokens of a stored connection: read, refresh ahead of expiry, save — serialised across processes.

Xero rotates the refresh token on every refresh, so two processes refreshing the same connection at once
is how integrations lose their connection. Every refresh here happens under a per-connection Redis lock;
after taking it we re-read the row and use what another process just stored instead of refreshing again.
The lock is a guard, not a guarantee (it has a TTL, and Redis can fail), so the write itself is a
compare-and-set: a refresh stores its tokens only if the row still holds the refresh token it started
from; otherwise someone else (another refresh, a reconnect, a disconnect) wrote first, and ours is dropped.
Marking a connection needs-reconnect is a compare-and-set too: a refusal counts only against the token set
that was refused, never against one a reconnect stored while the refused call was in flight.
Reads and writes use their own short database session, so a caller's unfinished transaction is neither
committed by a refresh nor able to hide a newer token from it.
"""
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from redis.exceptions import LockError, RedisError
from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.models import ConnectionStatus, XeroConnection
from webapp.models.base import utcnow
from webapp.redis_conn import get_redis
from webapp.xero import oauth
from webapp.xero.budget import Budget
from webapp.xero.crypto import TokenCipher
from webapp.xero.errors import BackgroundServiceUnavailable, XeroAuthError, XeroUnavailable
from webapp.xero.oauth import TokenSet
from webapp.xero.settings import XeroSettings

log = logging.getLogger(__name__)

REFRESH_AHEAD = timedelta(minutes=2)
# Seconds; a refresh with all its retries is bounded by oauth.REFRESH_DEADLINE plus one attempt's timeouts
# (about 60 s), so it ends well inside this.
LOCK_TIMEOUT = 90
LOCK_WAIT = 60


def token_values(tokens: TokenSet, cipher: TokenCipher) -> dict:
    """The connection columns for a token set (encrypted); a set without a refresh token keeps the old one."""
    values = {"access_token_encrypted": cipher.encrypt(tokens.access_token),
              "access_token_expires_at": tokens.expires_at}
    if tokens.refresh_token:
        values["refresh_token_encrypted"] = cipher.encrypt(tokens.refresh_token)
    if tokens.scope:
        values["scopes"] = tokens.scope
    return values


def store_token_set(connection: XeroConnection, tokens: TokenSet, cipher: TokenCipher) -> None:
    """Put a token set on a connection row (encrypted); the caller commits."""
    for column, value in token_values(tokens, cipher).items():
        setattr(connection, column, value)


def refresh_lock(settings: XeroSettings, connection_id: int, timeout: float = LOCK_TIMEOUT,
                 wait: float = LOCK_WAIT):
    """The per-connection Redis lock every token write (refresh, connect, disconnect) takes."""
    return get_redis(settings.redis_url).lock(settings.redis_key("xero", "refresh", connection_id),
                                              timeout=timeout, blocking_timeout=wait)


@contextmanager
def tokens_locked(settings: XeroSettings, connection_id: int | None, wait: float = LOCK_WAIT) -> Iterator[bool]:
    """Hold the refresh lock while connect or disconnect rewrites a connection's tokens; yields whether it
    is held. Without Redis, or after `wait` seconds, it goes ahead regardless — a practice must always be
    able to disconnect — and relies on the refresh's compare-and-set write to drop a stale refresh."""
    if connection_id is None:
        yield False
        return
    lock = refresh_lock(settings, connection_id, wait=wait)
    try:
        held = bool(lock.acquire())
    except RedisError as exc:
        log.warning("Xero token lock for connection %s unavailable (%s); going ahead", connection_id,
                    type(exc).__name__)
        held = False
    try:
        yield held
    finally:
        if held:
            _release(lock, connection_id)


def _release(lock, connection_id: int) -> None:
    try:
        lock.release()
    except LockError:
        log.warning("Xero refresh lock for connection %s expired before release", connection_id)
    except RedisError as exc:
        log.warning("Xero refresh lock for connection %s not released (%s)", connection_id, type(exc).__name__)


class TokenManager:
    """Hands out a valid access token for a connection, refreshing it when it is about to expire."""

    def __init__(self, settings: XeroSettings, sleep: Callable[[float], None] | None = None,
                 refresh_ahead: timedelta = REFRESH_AHEAD, lock_timeout: float = LOCK_TIMEOUT,
                 lock_wait: float = LOCK_WAIT, budget: Budget | None = None):
        """`budget` (web requests only) bounds the wait for the refresh lock and the refresh itself."""
        self.settings = settings
        self.budget = budget
        self.cipher = TokenCipher(settings.token_encryption_key)
        self.sleep = sleep
        self.refresh_ahead = refresh_ahead
        self.lock_timeout = lock_timeout
        self.lock_wait = lock_wait
        self.refreshes = 0  # how many refreshes this manager stored (tests, logs)

    def _load(self, session: Session, connection_id: int) -> XeroConnection:
        connection = session.get(XeroConnection, connection_id, populate_existing=True)
        if connection is None:
            raise XeroAuthError("This Xero connection no longer exists; connect to Xero again.")
        return connection

    def _decrypt(self, session: Session, connection: XeroConnection, ciphertext: str | None) -> str | None:
        """Decrypt a stored token; one that cannot be read (the key was rotated) needs a reconnect, and the
        connection says so rather than keeping its green tick while every call fails."""
        try:
            return self.cipher.decrypt(ciphertext)
        except XeroAuthError as exc:
            if connection.status == ConnectionStatus.CONNECTED.value:
                self._mark(session, connection, exc.message)
            raise

    def _usable_token(self, session: Session, connection: XeroConnection, stale_token: str | None) -> str | None:
        """The stored access token if it can be used as it is, else None."""
        if connection.status != ConnectionStatus.CONNECTED.value:
            message = ("Xero needs reconnecting." if connection.status == ConnectionStatus.NEEDS_RECONNECT.value
                       else "Socket is not connected to Xero.")
            raise XeroAuthError(message)
        token = self._decrypt(session, connection, connection.access_token_encrypted)
        expires = connection.access_token_expires_at
        if not token or token == stale_token or expires is None:
            return None
        if expires - datetime.now(UTC) < self.refresh_ahead:
            return None
        return token

    def _stored_token(self, connection_id: int, stale_token: str | None) -> str | None:
        with Session(db.engine, expire_on_commit=False) as session:
            return self._usable_token(session, self._load(session, connection_id), stale_token)

    def access_token(self, connection_id: int, stale_token: str | None = None) -> str:
        """A valid access token; `stale_token` is one Xero just refused (401), so it must not be returned."""
        token = self._stored_token(connection_id, stale_token)
        if token:
            return token
        wait = self.lock_wait if self.budget is None else self.budget.wait(self.lock_wait)
        lock = refresh_lock(self.settings, connection_id, timeout=self.lock_timeout, wait=wait)
        try:
            acquired = lock.acquire()
        except RedisError as exc:
            log.warning("Xero refresh lock unavailable for connection %s: Redis %s", connection_id,
                        type(exc).__name__)
            raise BackgroundServiceUnavailable() from None
        if not acquired:
            token = self._stored_token(connection_id, stale_token)
            if token:
                return token
            raise XeroUnavailable("Another process is refreshing the Xero connection and has not finished; "
                                  "try again shortly.")
        try:
            return self._refresh_locked(connection_id, stale_token, lock)
        finally:
            _release(lock, connection_id)

    def _refresh_locked(self, connection_id: int, stale_token: str | None, lock) -> str:
        with Session(db.engine, expire_on_commit=False) as session:
            connection = self._load(session, connection_id)
            token = self._usable_token(session, connection, stale_token)
            if token:  # another process refreshed while we waited for the lock
                return token
            started_from = connection.refresh_token_encrypted
            refresh_token = self._decrypt(session, connection, started_from)
            if not refresh_token:
                message = "Socket holds no Xero refresh token for this connection; reconnect to Xero."
                self._mark(session, connection, message)
                raise XeroAuthError(message)
        try:
            tokens = oauth.refresh_tokens(self.settings, refresh_token, sleep=self.sleep, budget=self.budget)
        except XeroAuthError as exc:
            # Only if nobody stored newer tokens meanwhile: their grant is not the one Xero refused.
            self._mark_if_unchanged(connection_id, started_from, exc.message)
            raise
        if not _still_owned(lock):
            log.warning("Xero refresh lock for connection %s expired mid-refresh; storing only if no other "
                        "process stored tokens meanwhile", connection_id)
        if not self._store_if_unchanged(connection_id, started_from, tokens):
            log.warning("Xero tokens for connection %s changed during our refresh; keeping the stored ones",
                        connection_id)
            token = self._stored_token(connection_id, stale_token)
            if token:
                return token
            raise XeroUnavailable("The Xero connection changed while Socket was refreshing it; try again.")
        self.refreshes += 1
        log.info("Refreshed Xero tokens for connection %s", connection_id)
        return tokens.access_token

    @staticmethod
    def _update_if_unchanged(connection_id: int, started_from: str | None, access_from: str | None = None,
                             **values) -> bool:
        """Compare-and-set: write `values` only if the row is still connected and still holds the refresh token
        we refreshed from (`started_from`, its ciphertext; None matches a row holding none) (and, when given,
        the access token ciphertext `access_from`). True when it did."""
        conditions = [XeroConnection.id == connection_id,
                      XeroConnection.refresh_token_encrypted == started_from,
                      XeroConnection.status == ConnectionStatus.CONNECTED.value]
        if access_from is not None:
            conditions.append(XeroConnection.access_token_encrypted == access_from)
        with Session(db.engine) as session:
            # Session.execute is typed as returning a Result; an UPDATE's is a CursorResult (with rowcount).
            result = cast(CursorResult[Any], session.execute(
                update(XeroConnection).where(*conditions)
                .values(**values).execution_options(synchronize_session=False)))
            session.commit()
            return result.rowcount == 1

    def _store_if_unchanged(self, connection_id: int, started_from: str | None, tokens: TokenSet) -> bool:
        """Store `tokens` only if the row still holds the refresh token we refreshed from."""
        values = token_values(tokens, self.cipher) | {"last_error": None, "updated_at": utcnow()}
        return self._update_if_unchanged(connection_id, started_from, **values)

    def _mark_if_unchanged(self, connection_id: int, started_from: str | None, message: str,
                           access_from: str | None = None) -> bool:
        if self._update_if_unchanged(connection_id, started_from, access_from,
                                     status=ConnectionStatus.NEEDS_RECONNECT.value,
                                     last_error=message, updated_at=utcnow()):
            log.warning("Xero connection %s needs reconnecting: %s", connection_id, message)
            return True
        return False

    def mark_needs_reconnect(self, connection_id: int, message: str, used_token: str) -> None:
        """Record that the practice must reconnect (the banner shows it) — never fail silently — because Xero
        refused `used_token`. Only while that token is still the stored one: a call that began before the
        user reconnected (or before another process refreshed) must not flag the new grant, so then the mark
        is dropped (logged). The write is a compare-and-set on the ciphertexts read here."""
        with Session(db.engine) as session:
            connection = session.get(XeroConnection, connection_id)
            if connection is None or connection.status != ConnectionStatus.CONNECTED.value:
                return
            access_from, started_from = connection.access_token_encrypted, connection.refresh_token_encrypted
            try:
                stored = self.cipher.decrypt(access_from)
            except XeroAuthError:
                stored = None
        if stored != used_token or not self._mark_if_unchanged(connection_id, started_from, message, access_from):
            log.warning("Xero connection %s: not marked needs-reconnect, the token Xero refused (%s) is no "
                        "longer the stored one", connection_id, message)

    @staticmethod
    def _mark(session: Session, connection: XeroConnection, message: str) -> None:
        connection.status = ConnectionStatus.NEEDS_RECONNECT.value
        connection.last_error = message
        session.commit()
        log.warning("Xero connection %s needs reconnecting: %s", connection.id, message)


def _still_owned(lock) -> bool:
    try:
        return bool(lock.owned())
    except RedisError:
        return False
