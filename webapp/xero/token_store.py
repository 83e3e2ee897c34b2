"""Tokens of a stored connection: read, refresh ahead of expiry, save — serialised across processes.

Xero rotates the refresh token on every refresh, so two processes refreshing the same connection at once
is how integrations lose their connection. Every refresh here happens under a per-connection Redis lock;
after taking it we re-read the row and use what another process just stored instead of refreshing again.
Reads and writes use their own short database session, so a caller's unfinished transaction is neither
committed by a refresh nor able to hide a newer token from it.
"""
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from redis.exceptions import LockError
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.models import ConnectionStatus, XeroConnection
from webapp.xero import oauth
from webapp.xero.crypto import TokenCipher
from webapp.xero.errors import XeroAuthError, XeroUnavailable
from webapp.xero.oauth import TokenSet
from webapp.xero.redis_conn import get_redis
from webapp.xero.settings import XeroSettings

log = logging.getLogger(__name__)

REFRESH_AHEAD = timedelta(minutes=2)
LOCK_TIMEOUT = 90  # seconds; longer than a refresh with all its retries
LOCK_WAIT = 60


def store_token_set(connection: XeroConnection, tokens: TokenSet, cipher: TokenCipher) -> None:
    """Put a token set on a connection row (encrypted); the caller commits."""
    connection.access_token_encrypted = cipher.encrypt(tokens.access_token)
    if tokens.refresh_token:
        connection.refresh_token_encrypted = cipher.encrypt(tokens.refresh_token)
    connection.access_token_expires_at = tokens.expires_at
    if tokens.scope:
        connection.scopes = tokens.scope


class TokenManager:
    """Hands out a valid access token for a connection, refreshing it when it is about to expire."""

    def __init__(self, settings: XeroSettings, sleep: Callable[[float], None] | None = None,
                 refresh_ahead: timedelta = REFRESH_AHEAD):
        self.settings = settings
        self.cipher = TokenCipher(settings.token_encryption_key)
        self.sleep = sleep
        self.refresh_ahead = refresh_ahead
        self.refreshes = 0  # how many refreshes this manager performed (tests, logs)

    def _load(self, session: Session, connection_id: int) -> XeroConnection:
        connection = session.get(XeroConnection, connection_id, populate_existing=True)
        if connection is None:
            raise XeroAuthError("This Xero connection no longer exists; connect to Xero again.")
        return connection

    def _usable_token(self, connection: XeroConnection, stale_token: str | None) -> str | None:
        """The stored access token if it can be used as it is, else None."""
        if connection.status != ConnectionStatus.CONNECTED.value:
            message = ("Xero needs reconnecting." if connection.status == ConnectionStatus.NEEDS_RECONNECT.value
                       else "Socket is not connected to Xero.")
            raise XeroAuthError(message)
        token = self.cipher.decrypt(connection.access_token_encrypted)
        expires = connection.access_token_expires_at
        if not token or token == stale_token or expires is None:
            return None
        if expires - datetime.now(timezone.utc) < self.refresh_ahead:
            return None
        return token

    def access_token(self, connection_id: int, stale_token: str | None = None) -> str:
        """A valid access token; `stale_token` is one Xero just refused (401), so it must not be returned."""
        with Session(db.engine, expire_on_commit=False) as session:
            token = self._usable_token(self._load(session, connection_id), stale_token)
        if token:
            return token
        lock = get_redis(self.settings.redis_url).lock(
            self.settings.redis_key("xero", "refresh", connection_id), timeout=LOCK_TIMEOUT,
            blocking_timeout=LOCK_WAIT)
        if not lock.acquire():
            with Session(db.engine, expire_on_commit=False) as session:
                token = self._usable_token(self._load(session, connection_id), stale_token)
            if token:
                return token
            raise XeroUnavailable("Another process is refreshing the Xero connection and has not finished; "
                                  "try again shortly.")
        try:
            return self._refresh_locked(connection_id, stale_token)
        finally:
            try:
                lock.release()
            except LockError:
                log.warning("Xero refresh lock for connection %s expired before release", connection_id)

    def _refresh_locked(self, connection_id: int, stale_token: str | None) -> str:
        with Session(db.engine, expire_on_commit=False) as session:
            connection = self._load(session, connection_id)
            token = self._usable_token(connection, stale_token)
            if token:  # another process refreshed while we waited for the lock
                return token
            refresh_token = self.cipher.decrypt(connection.refresh_token_encrypted)
            if not refresh_token:
                message = "Socket holds no Xero refresh token for this connection; reconnect to Xero."
                self._mark(session, connection, message)
                raise XeroAuthError(message)
            try:
                tokens = oauth.refresh_tokens(self.settings, refresh_token, sleep=self.sleep)
            except XeroAuthError as exc:
                self._mark(session, connection, exc.message)
                raise
            store_token_set(connection, tokens, self.cipher)
            connection.last_error = None
            session.commit()
            self.refreshes += 1
            log.info("Refreshed Xero tokens for connection %s", connection_id)
            return tokens.access_token

    def mark_needs_reconnect(self, connection_id: int, message: str) -> None:
        """Record that the practice must reconnect (the banner shows it) — never fail silently."""
        with Session(db.engine, expire_on_commit=False) as session:
            connection = session.get(XeroConnection, connection_id)
            if connection is not None and connection.status == ConnectionStatus.CONNECTED.value:
                self._mark(session, connection, message)

    @staticmethod
    def _mark(session: Session, connection: XeroConnection, message: str) -> None:
        connection.status = ConnectionStatus.NEEDS_RECONNECT.value
        connection.last_error = message
        session.commit()
        log.warning("Xero connection %s needs reconnecting: %s", connection.id, message)
