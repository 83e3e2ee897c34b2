"""Fixtures for the Xero client tests: settings, a stored connection, a fake clock, Xero mocked by `responses`."""
from datetime import UTC, datetime

import pytest
import responses

from tests.factories import make_connection
from webapp.xero.settings import XeroSettings


@pytest.fixture
def settings(app):
    return XeroSettings.from_config(app.config)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


class FakeTime:
    """A clock that only moves when something sleeps; records every sleep."""

    # Noon UTC on a fixed day: a test that sleeps minutes of fake time must not cross midnight, where the
    # day's call count starts again (a start at the real time made these tests fail just before midnight).
    START = datetime(2026, 6, 15, 12, 0, tzinfo=UTC).timestamp()

    def __init__(self):
        self.now = self.START
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def retry_waits(monkeypatch) -> list[float]:
    """Retries here answer at once: the waits are recorded, not slept (Xero is mocked, so nothing is gained by
    waiting, and a 5xx test would otherwise sleep through the whole backoff). A test that needs the policy's
    real sleep asks for it explicitly."""
    waits: list[float] = []
    monkeypatch.setattr("webapp.xero.retry._real_sleep", waits.append)
    return waits


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture
def connection(app_ctx):
    """A connected Xero organisation with tokens that are good for 20 minutes, for a new practice."""
    return make_connection()
