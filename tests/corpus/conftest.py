"""Fixtures for the bad-input corpus: the Xero tests' settings, fake clock, and retries that do not sleep."""
from tests.xero.conftest import fake_time, retry_waits, settings  # noqa: F401  (fixtures, used by name)
