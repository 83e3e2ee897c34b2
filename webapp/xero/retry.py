"""The one retry policy for Xero's HTTP: which failures deserve another try, how long to wait, when to stop.

An attempt raises `RetryableFailure` to ask for another go; everything else it raises ends the call at once.
Waits are exponential with jitter unless the failure names its own (e.g. Retry-After); the call stops after
`attempts` tries or, with a `deadline`, before a wait would take it past `deadline` seconds — so a caller
holding a lock with a TTL can bound the whole call inside it.
"""
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_before_delay, wait_exponential_jitter
from tenacity.stop import stop_base

from webapp.xero.errors import XeroError

T = TypeVar("T")


class RetryableFailure(Exception):
    """Try again after `wait` seconds (None: backoff with jitter); `error` is raised if no try is left."""

    def __init__(self, error: XeroError, wait: float | None = None):
        super().__init__(error.message)
        self.error = error
        self.wait = wait


def _real_sleep(seconds: float) -> None:
    time.sleep(seconds)


def call_with_retries(attempt: Callable[[], T], *, attempts: int, backoff_multiplier: float = 1.0,
                      backoff_max: float = 30.0, deadline: float | None = None,
                      sleep: Callable[[float], None] | None = None) -> T:
    """Run `attempt` until it returns, raises something other than RetryableFailure, or tries run out;
    then the last RetryableFailure's `error` is raised."""
    backoff = wait_exponential_jitter(multiplier=backoff_multiplier, max=backoff_max)

    def wait(retry_state) -> float:
        failure = retry_state.outcome.exception()
        if isinstance(failure, RetryableFailure) and failure.wait is not None:
            return failure.wait
        return backoff(retry_state)

    stop: stop_base = stop_after_attempt(attempts)
    if deadline is not None:
        stop = stop | stop_before_delay(deadline)
    retrying = Retrying(retry=retry_if_exception_type(RetryableFailure), stop=stop, wait=wait,
                        sleep=sleep or _real_sleep, reraise=True)
    try:
        return retrying(attempt)
    except RetryableFailure as failure:
        raise failure.error from None
