"""Fixtures for the Xero client tests: settings, a stored connection, a fake clock, Xero mocked by `responses`."""
import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
import responses

from tests.conftest import make_practice
from webapp.extensions import db
from webapp.models import XeroConnection
from webapp.xero.crypto import TokenCipher
from webapp.xero.redis_conn import get_redis
from webapp.xero.settings import XeroSettings

TENANT_ID = "11111111-2222-3333-4444-555555555555"
XERO_CONNECTION_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


@pytest.fixture
def settings(app):
    return XeroSettings.from_config(app.config)


@pytest.fixture(autouse=True)
def _clean_redis(request):
    """Forget this test's pacing windows, pauses and locks (keys under the run's REDIS_KEY_PREFIX)."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    client = get_redis(app.config["REDIS_URL"])
    keys = list(client.scan_iter(match=app.config["REDIS_KEY_PREFIX"] + "*"))
    if keys:
        client.delete(*keys)
    with app.app_context():
        from jobs.queue import get_queue

        get_queue().empty()


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


class FakeTime:
    """A clock that only moves when something sleeps; records every sleep."""

    # Noon UTC on a fixed day: a test that sleeps minutes of fake time must not cross midnight, where the
    # day's call count starts again (a start at the real time made these tests fail just before midnight).
    START = datetime(2026, 6, 15, 12, 0, tzinfo=timezone.utc).timestamp()

    def __init__(self):
        self.now = self.START
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time():
    return FakeTime()


def make_connection(app, access="old-access", refresh="old-refresh", expires_in=timedelta(minutes=20),
                    tenant_id=TENANT_ID, practice_id=None, status="connected") -> XeroConnection:
    cipher = TokenCipher(app.config["TOKEN_ENCRYPTION_KEY"])
    if practice_id is None:
        practice_id = make_practice().practice_id
    connection = XeroConnection(
        practice_id=practice_id, connection_id=XERO_CONNECTION_ID, tenant_id=tenant_id,
        tenant_name="Demo Company (UK)", status=status,
        access_token_encrypted=cipher.encrypt(access), refresh_token_encrypted=cipher.encrypt(refresh),
        access_token_expires_at=datetime.now(timezone.utc) + expires_in,
    )
    db.session.add(connection)
    db.session.commit()
    return connection


def stored_tokens(app, connection_id: int) -> tuple[str | None, str | None, XeroConnection]:
    db.session.expire_all()
    connection = db.session.get(XeroConnection, connection_id)
    cipher = TokenCipher(app.config["TOKEN_ENCRYPTION_KEY"])
    return (cipher.decrypt(connection.access_token_encrypted), cipher.decrypt(connection.refresh_token_encrypted),
            connection)


def fake_jwt(claims: dict) -> str:
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.signature"


def token_body(access="new-access", refresh="new-refresh", expires_in=1800) -> dict:
    return {"access_token": access, "refresh_token": refresh, "expires_in": expires_in, "token_type": "Bearer",
            "scope": "offline_access accounting.settings.read"}
