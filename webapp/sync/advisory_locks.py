"""PostgreSQL session advisory locks on a connection of their own (AUTOCOMMIT), as the posting lock
(webapp.sync.posting_lock) and a run's worker presence (webapp.sync.run_presence) hold them."""
from sqlalchemy import text
from sqlalchemy.engine import Connection

from webapp.extensions import db


def lock_connection() -> Connection:
    """A connection of its own for holding advisory locks: they outlive the session's transactions."""
    return db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def release(connection: Connection, namespace: int, key: int, unlock: bool = True) -> None:
    """Unlock (namespace, key) when `unlock`, and close the connection; one whose unlock failed is invalidated,
    never handed back to the pool still holding the lock."""
    try:
        if unlock:
            connection.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": namespace, "key": key})
    except Exception:
        connection.invalidate()
        raise
    finally:
        connection.close()
