"""Shared fixtures: an app on a private PostgreSQL database (or SQLite), practices, signed-in clients.

Each pytest run creates its own database (socket_test_<random>) from the Alembic migrations, so the
migrations are tested too and parallel runs never collide; every test ends with the tables emptied.
Set TEST_DATABASE_URL to point elsewhere (e.g. `sqlite://` for a quick run without PostgreSQL).
"""
import hashlib
import os
import uuid
from collections.abc import Callable
from contextlib import contextmanager

import pytest
import redis
import sqlalchemy as sa
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from tests.factories import make_practice
from tests.helpers import forget_redis_keys, login
from webapp import create_app
from webapp.extensions import db
from webapp.queue import get_queue

pytest_plugins = ["tests.hypothesis_corpus"]

DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
RUN_ID = uuid.uuid4().hex[:10]


def _create_database(name: str, kind: str | None = None) -> tuple[str, Callable[[], None]]:
    """An empty database called `name` on the test server, or a SQLite file when TEST_DATABASE_URL (or `kind`)
    says sqlite; returns its URL and a function that drops it."""
    base_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_SERVER_URL)
    if (kind or base_url).startswith("sqlite"):
        path = f"/tmp/{name}.sqlite"
        return f"sqlite:///{path}", lambda: os.path.exists(path) and os.remove(path)
    url = sa.engine.make_url(base_url)
    if not url.drivername.startswith("postgresql"):
        pytest.skip("no PostgreSQL server configured")
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # A commit need not wait for the disk in a throwaway database: every test commits a dozen times, and
        # waiting for the WAL flush was most of the time spent making their rows. Set on the database, so it
        # holds for every process the tests start (gunicorn, the worker, the benchmarks' children).
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def app():
    database_url, drop_database = _create_database(f"socket_test_{RUN_ID}")
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "RQ_QUEUE": f"socket-test-{RUN_ID}",
        "REDIS_KEY_PREFIX": f"socket-test-{RUN_ID}:",
        "TOKEN_ENCRYPTION_KEY": "q7yXmFvV2pS2hV8b0u4mKj8n0k1Hc0GQvNfJx0p2bXc=",
        "XERO_CLIENT_ID": "test-client-id",
        "XERO_CLIENT_SECRET": "test-client-secret",
        "XERO_REDIRECT_URI": "http://localhost/settings/integrations/xero/callback",
        "SERVER_NAME": None,
    })
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop_database()


def _delete_everything() -> str:
    """DELETE from every table, children first: for the few rows a test leaves this is several times faster than
    TRUNCATE, which gives each table and index a new file (it was a quarter of a second per test)."""
    return "; ".join(f"DELETE FROM {table.name}" for table in reversed(db.metadata.sorted_tables))


def _delete_everything_and_restart_ids() -> str:
    """As _delete_everything, and PostgreSQL's id sequences start again at 1 (as TRUNCATE ... RESTART IDENTITY
    did): a test may rely on the ids of what it made."""
    return (_delete_everything() + "; SELECT setval(c.oid, 1, false) FROM pg_class c WHERE c.relkind = 'S'"
            " AND c.relnamespace = 'public'::regnamespace")



@pytest.fixture(autouse=True)
def _clean_tables(request):
    """Empty every table after each test that used the app."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if db.engine.dialect.name == "postgresql":
                conn.execute(sa.text(_delete_everything_and_restart_ids()))
            else:  # SQLite takes one statement at a time
                for statement in _delete_everything().split("; "):
                    conn.execute(sa.text(statement))


@pytest.fixture(autouse=True)
def _forget_redis_state(request):
    """Each test starts with nothing of an earlier test's in Redis: no sign-in failures counted (every test client
    is 127.0.0.1), no pacing window (Socket's pacer keeps Xero's 60 calls a minute per organisation, and the
    integration tests all post to the demo organisation: a module of them would otherwise wait for one another's
    minutes), no pause, lock or pending webhook, and an empty queue."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    try:
        forget_redis_keys(app)
        with app.app_context():
            get_queue().empty()
    except redis.RedisError:
        pass


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield
        db.session.remove()


class CSRFClient(FlaskClient):
    """A test client that sends the CSRF token on state-changing requests, as the browser does.

    Pass `csrf=False` to send none (to test the refusal).
    """

    def open(self, *args, csrf=True, **kwargs):
        method = kwargs.get("method", "GET").upper()
        if csrf and method not in ("GET", "HEAD", "OPTIONS"):
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", self._token())
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)

    def _token(self) -> str:
        """A token for the session's current CSRF secret, signed as Flask-WTF signs the one on every page (the
        secret is renewed at sign-in, so a token fetched once would not do; and a page rendered inside a test's
        app context may repeat the token Flask-WTF cached in `g`). A session with no secret gets one, as the
        first page it renders would give it."""
        with self.session_transaction() as session:
            secret = session.setdefault("csrf_token", hashlib.sha1(os.urandom(64)).hexdigest())
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(secret)


@pytest.fixture
def client(app):
    app.test_client_class = CSRFClient
    return app.test_client()


@pytest.fixture
def owner(app_ctx):
    return make_practice()


@pytest.fixture
def other_owner(app_ctx):
    return make_practice(name="Rival & Co")


@pytest.fixture
def auth_client(client, owner):
    """A client signed in as the owner of a fresh practice."""
    login(client, owner)
    return client


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_database(request):
    """The URL of an empty database of each kind, for running the migrations by hand (dropped afterwards)."""
    url, drop = _create_database(f"socket_migration_{uuid.uuid4().hex[:10]}", kind=request.param)
    yield url
    drop()


@pytest.fixture
def count_statements(app_ctx):
    """`with count_statements() as statements:` lists every SQL statement sent to the database inside the block.

    The session is expired first, so what the block reads comes from the database, not from objects the test
    already loaded (pass expire=False to keep them).
    """

    @contextmanager
    def counting(expire=True):
        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        if expire:
            db.session.expire_all()
        sa.event.listen(db.engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", record)

    return counting
