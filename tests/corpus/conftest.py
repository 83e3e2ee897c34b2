"""Fixtures for the bad-input corpus: the Xero tests' settings, fake clock and Redis clean-up."""
from tests.xero.conftest import _clean_redis, fake_time, settings  # noqa: F401  (fixtures, used by name)
