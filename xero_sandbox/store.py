"""SQLite state of the sandbox.

One connection shared by all request threads, guarded by a re-entrant lock: the sandbox is a test
double, so serialising database work is simpler and safer than SQLITE_BUSY handling. Rate limiting,
fault injection and added latency happen outside the lock, so concurrent requests stay concurrent.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import contextmanager

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS apps (
    client_id TEXT PRIMARY KEY, client_secret TEXT NOT NULL, redirect_uris TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orgs (
    tenant_id TEXT PRIMARY KEY, name TEXT NOT NULL, doc TEXT NOT NULL, invoice_seq INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL, sort INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, code TEXT, status TEXT NOT NULL,
    updated_ms INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS accounts_tenant ON accounts (tenant_id, code);
CREATE TABLE IF NOT EXISTS branding_themes (
    theme_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, sort_order INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (
    contact_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name_key TEXT NOT NULL, status TEXT NOT NULL,
    contact_number TEXT, updated_ms INTEGER NOT NULL, doc TEXT NOT NULL);
-- the listing's default order (name_key, contact_id) and its status filter, straight from the index
DROP INDEX IF EXISTS contacts_tenant_name;
CREATE INDEX IF NOT EXISTS contacts_tenant_order ON contacts (tenant_id, name_key, contact_id, status);
CREATE INDEX IF NOT EXISTS contacts_tenant_updated ON contacts (tenant_id, updated_ms);
CREATE TABLE IF NOT EXISTS invoices (
    invoice_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, invoice_number TEXT, status TEXT NOT NULL,
    contact_id TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, client_id TEXT, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS invoices_tenant ON invoices (tenant_id, updated_ms);
CREATE TABLE IF NOT EXISTS auth_codes (
    code TEXT PRIMARY KEY, client_id TEXT NOT NULL, redirect_uri TEXT NOT NULL, scope TEXT NOT NULL,
    code_challenge TEXT, code_challenge_method TEXT, nonce TEXT, auth_event_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0, grant_id TEXT);
CREATE TABLE IF NOT EXISTS grants (
    grant_id TEXT PRIMARY KEY, client_id TEXT NOT NULL, scope TEXT NOT NULL, auth_event_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY, grant_id TEXT NOT NULL, issued_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
    used_ms INTEGER);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_hash TEXT PRIMARY KEY, grant_id TEXT NOT NULL, expires_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS connections (
    id TEXT PRIMARY KEY, client_id TEXT NOT NULL, tenant_id TEXT NOT NULL, auth_event_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, UNIQUE (client_id, tenant_id));
CREATE TABLE IF NOT EXISTS idempotency (
    client_id TEXT NOT NULL, tenant_id TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,
    status INTEGER, body TEXT, created_ms INTEGER NOT NULL, PRIMARY KEY (client_id, tenant_id, key));
CREATE TABLE IF NOT EXISTS webhook_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, category TEXT NOT NULL,
    event_type TEXT NOT NULL, resource_id TEXT NOT NULL, event_ms INTEGER NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0);
"""

DATA_TABLES = ("orgs", "accounts", "branding_themes", "contacts", "invoices", "idempotency", "webhook_events")
AUTH_TABLES = ("auth_codes", "grants", "refresh_tokens", "access_tokens", "connections")


class Store:
    def __init__(self, path: str):
        self.path = path
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self.conn.row_factory = sqlite3.Row
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)
        self._depth = 0

    @contextmanager
    def tx(self):
        """A write transaction (nested calls join the outer one)."""
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    def query(self, sql: str, params=()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, params=()):
        with self.lock:
            return self.conn.execute(sql, params).fetchone()

    def get_meta(self, key, default=None):
        row = self.one("SELECT value FROM meta WHERE key=?", (key,))
        return json.loads(row["value"]) if row else default

    def set_meta(self, key, value):
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def wipe(self, tables):
        with self.tx() as db:
            for t in tables:
                db.execute(f"DELETE FROM {t}")

    def close(self):
        with self.lock:
            self.conn.close()
