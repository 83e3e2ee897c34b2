"""One posting run per practice at a time.

On PostgreSQL: a session advisory lock, held on a connection of its own for the whole run (the run's own work
commits many times on the session's connections). A worker that dies drops its connection and PostgreSQL frees
the lock at once, so the next run can start straight away.

Elsewhere (SQLite for local runs): a lease on the practice's `xero_invoice_states` row, taken by an atomic UPDATE,
renewed as the run goes, and released at its end; a worker that dies leaves it to expire (LEASE_TTL).
"""
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import XeroInvoiceState
from webapp.models.base import utcnow
from webapp.sync.advisory_locks import lock_connection, release

LOCK_NAMESPACE = 0x534B5450  # "SKTP": the first key of pg_try_advisory_lock(namespace, practice id)
LEASE_TTL = timedelta(minutes=30)
POLL_SECONDS = 1.0


class PostingLock:
    """`with PostingLock(practice_id, wait=60) as held:` — `held` is False when another run kept it for `wait`
    seconds. `use_advisory` None: decided by the database (PostgreSQL uses advisory locks)."""

    def __init__(self, practice_id: int, wait: float = 0.0, use_advisory: bool | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.practice_id = practice_id
        self.wait = wait
        self.use_advisory = db.engine.dialect.name == "postgresql" if use_advisory is None else use_advisory
        self.sleep = sleep
        self.clock = clock
        self.held = False
        self._connection: Connection | None = None
        self._token: str | None = None

    # -- the two ways -------------------------------------------------------------------------------------------
    def _try_advisory(self) -> bool:
        if self._connection is None:
            self._connection = lock_connection()
        got = self._connection.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"),
                                       {"ns": LOCK_NAMESPACE, "key": self.practice_id}).scalar()
        return bool(got)

    def _release_advisory(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            release(connection, LOCK_NAMESPACE, self.practice_id, unlock=self.held)

    def _ensure_state_row(self) -> None:
        if db.session.get(XeroInvoiceState, self.practice_id) is None:
            db.session.add(XeroInvoiceState(practice_id=self.practice_id))
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()  # another process made it first

    def _try_lease(self) -> bool:
        self._ensure_state_row()
        now = utcnow()
        token = self._token or str(uuid.uuid4())
        state = XeroInvoiceState
        result = db.session.execute(
            db.update(state).where(state.practice_id == self.practice_id,
                                   db.or_(state.lease_token.is_(None), state.lease_until < now,
                                          state.lease_token == token))
            .values(lease_token=token, lease_until=now + LEASE_TTL).execution_options(synchronize_session=False))
        db.session.commit()
        if getattr(result, "rowcount", 0) == 1:
            self._token = token
            return True
        return False

    def _release_lease(self) -> None:
        if self._token is None:
            return
        state = XeroInvoiceState
        db.session.rollback()
        db.session.execute(db.update(state).where(state.practice_id == self.practice_id,
                                                  state.lease_token == self._token)
                           .values(lease_token=None, lease_until=None).execution_options(synchronize_session=False))
        db.session.commit()
        self._token = None

    # -- the interface -------------------------------------------------------------------------------------------
    def acquire(self) -> bool:
        """Take the lock, trying again every second for up to `wait` seconds; True when held."""
        deadline = self.clock() + self.wait
        while True:
            self.held = self._try_advisory() if self.use_advisory else self._try_lease()
            if self.held or self.clock() >= deadline:
                if not self.held and self.use_advisory:
                    self._release_advisory()
                return self.held
            self.sleep(POLL_SECONDS)

    def renew(self) -> None:
        """Keep a lease from expiring during a long run (nothing to do for an advisory lock)."""
        if self.held and not self.use_advisory:
            self._try_lease()

    def release(self) -> None:
        """Let the next run in."""
        try:
            if self.use_advisory:
                self._release_advisory()
            elif self.held:
                self._release_lease()
        finally:
            self.held = False

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()
