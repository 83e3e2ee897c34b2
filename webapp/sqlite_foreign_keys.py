"""SQLite checks foreign keys only on a connection that asks (PRAGMA foreign_keys=ON); PostgreSQL always does.

Socket's local runs use SQLite, and without this a write PostgreSQL refuses went through there: an approval that
referred to a completion another writer had just deleted was stored, where PostgreSQL makes it a changed plan.
Migrations turn it off again on their own connection (migrations/env.py): SQLite rebuilds a table to alter it,
and dropping the old copy would otherwise check, or cascade to, the rows that refer to it.
"""
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def enforce_foreign_keys(dbapi_connection, _connection_record) -> None:
    """Every new SQLite connection checks foreign keys, as PostgreSQL does."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
