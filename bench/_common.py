"""Shared plumbing for the benchmark scripts: a private database, Socket's app on it, a unique Redis
prefix, SQL statement counting, tables, and each script's own section of bench/RESULTS.md.

Nothing here is imported by webapp/ or the tests.
"""
from __future__ import annotations

import collections
import contextlib
import datetime as dt
import fcntl
import os
import platform
import re
import shlex
import sys
import uuid

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
RESULTS_PATH = os.path.join(BENCH_DIR, "RESULTS.md")
DEFAULT_PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# A throwaway Fernet key: the benchmark's tokens live only in its own private database.
BENCH_TOKEN_KEY = "q7yXmFvV2pS2hV8b0u4mKj8n0k1Hc0GQvNfJx0p2bXc="

if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def run_id() -> str:
    return uuid.uuid4().hex[:10]


def add_run_arguments(parser) -> None:
    """The options every benchmark script takes after its own: which database, whether to write
    bench/RESULTS.md, and the hidden --child a script passes to the processes it starts."""
    import argparse

    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    parser.add_argument("--child", help=argparse.SUPPRESS)


# -- database ----------------------------------------------------------------------------------------
@contextlib.contextmanager
def private_database(kind: str = "postgresql", rid: str | None = None):
    """Yield the URL of a database created for this run (PostgreSQL by default, or a SQLite file); it is
    dropped afterwards whatever happens. BENCH_PG_SERVER_URL points at another PostgreSQL server."""
    import sqlalchemy as sa

    rid = rid or run_id()
    if kind == "sqlite":
        path = f"/tmp/socket-bench-{rid}.sqlite"
        try:
            yield f"sqlite:///{path}"
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        return
    server = sa.engine.make_url(os.environ.get("BENCH_PG_SERVER_URL", DEFAULT_PG_SERVER))
    name = f"socket_bench_{rid}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def app_config(database_url: str, rid: str, **extra) -> dict:
    """Socket's config for a benchmark run: its database, a Redis prefix and queue of its own."""
    return {
        "SECRET_KEY": "bench-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
        "REDIS_KEY_PREFIX": f"socket-bench-{rid}:",
        "RQ_QUEUE": f"socket-bench-{rid}",
        "TOKEN_ENCRYPTION_KEY": BENCH_TOKEN_KEY,
        "XERO_CLIENT_ID": "bench-client",
        "XERO_CLIENT_SECRET": "bench-secret",
        "XERO_REDIRECT_URI": "http://127.0.0.1:5000/settings/integrations/xero/callback",
        **extra,
    }


def make_app(config: dict, migrate: bool = False):
    """Socket's app on `config`; `migrate=True` builds the schema from the Alembic migrations."""
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from webapp import create_app

    app = create_app(config)
    if migrate:
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()
    quiet_logs()
    return app


def quiet_logs() -> None:
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    for name in ("alembic", "webapp", "werkzeug"):
        logging.getLogger(name).setLevel(logging.ERROR)


def drop_redis_keys(redis_url: str, prefix: str) -> int:
    """Remove this run's keys (only those under its unique prefix)."""
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=500))
    if keys:
        client.delete(*keys)
    client.close()
    return len(keys)


def store_connection(app, sb, tenant_id: str) -> int:
    """A practice with a stored, encrypted connection to `tenant_id` made through the sandbox's consent."""
    from datetime import datetime, timedelta

    import requests

    from webapp.extensions import db
    from webapp.models import Practice, XeroConnection
    from webapp.xero.crypto import TokenCipher

    tokens = sb.connect(tenants=(tenant_id,))
    listing = requests.get(f"{sb.url}/connections", timeout=10,
                           headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    row = next(c for c in listing if c["tenantId"] == tenant_id)
    cipher = TokenCipher(app.config["TOKEN_ENCRYPTION_KEY"])
    with app.app_context():
        practice = Practice(name=f"Bench practice {run_id()}")
        db.session.add(practice)
        db.session.flush()
        connection = XeroConnection(
            practice_id=practice.id, connection_id=row["id"], tenant_id=tenant_id, tenant_name=row["tenantName"],
            status="connected", access_token_encrypted=cipher.encrypt(tokens["access_token"]),
            refresh_token_encrypted=cipher.encrypt(tokens["refresh_token"]),
            access_token_expires_at=datetime.now(dt.UTC) + timedelta(seconds=int(tokens["expires_in"])))
        db.session.add(connection)
        db.session.commit()
        return connection.id


# -- counting SQL --------------------------------------------------------------------------------------
_LITERALS = re.compile(r"(\b\d+\b|'[^']*'|%\(\w+\)s|\$\d+|\?)")


class SqlCounter:
    """Counts statements sent to an engine (before_cursor_execute), grouped by their shape."""

    def __init__(self, engine):
        self.engine = engine
        self.count = 0
        self.shapes: collections.Counter[str] = collections.Counter()
        self.active = False

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        if self.active:
            self.count += 1
            self.shapes[_LITERALS.sub("?", " ".join(statement.split()))[:160]] += 1

    def __enter__(self):
        from sqlalchemy import event

        self.count = 0
        self.shapes.clear()
        self.active = True
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        self.active = False
        event.remove(self.engine, "before_cursor_execute", self._on_execute)

    def most_repeated(self) -> tuple[int, str]:
        if not self.shapes:
            return 0, ""
        shape, n = self.shapes.most_common(1)[0]
        return n, shape


def queue_sync_run(app, practice_id: int, trigger: str) -> int:
    """A queued SyncRun, as the dispatcher's start_syncs or the Sync button's start_sync writes it (the benchmark
    then runs the job itself rather than through RQ); its id."""
    from webapp.extensions import db
    from webapp.models import SyncRun, SyncStatus

    with app.app_context():
        run = SyncRun(practice_id=practice_id, trigger=trigger, status=SyncStatus.QUEUED.value,
                      progress="Waiting for the worker", counts={})
        db.session.add(run)
        db.session.commit()
        run_id = run.id
        db.session.remove()
    return run_id


# -- output ---------------------------------------------------------------------------------------------
def machine() -> str:
    return (f"{os.cpu_count()} cores (nproc {len(os.sched_getaffinity(0))}), Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def command_line() -> str:
    script = os.path.relpath(os.path.abspath(sys.argv[0]), REPO_ROOT)
    return " ".join(["/work/main/.venv/bin/python", shlex.quote(script), *map(shlex.quote, sys.argv[1:])])


def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: list[str], rows: list[list]) -> str:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def fmt(r):
        return "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))

    return "\n".join([fmt(cells[0]), fmt(["-" * w for w in widths])] + [fmt(r) for r in cells[1:]])


def write_section(name: str, title: str, body: str) -> None:
    """Replace this script's section of bench/RESULTS.md (between its markers), keeping the others."""
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (f"{begin}\n## {title}\n\n"
               f"Command: `{command_line()}`  \nDate: {now}  \nMachine: {machine()}\n\n{body.strip()}\n{end}")
    header = ("# Benchmark results\n\nWritten by the scripts in `bench/` (each replaces only its own section). "
              "See bench/README.md for what each measures.\n")
    with open(RESULTS_PATH, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        text = handle.read() or header
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
        text = pattern.sub(lambda _m: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
        handle.seek(0)
        handle.truncate()
        handle.write(text.rstrip() + "\n")
