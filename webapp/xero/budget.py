"""A time budget for the Xero calls made inside one web request.

A web worker is killed after WEB_TIMEOUT seconds (gunicorn's --timeout), and a killed worker answers with
gunicorn's bare error page and leaves whatever it obtained from Xero (a new grant) behind. So the Xero calls of
a web request — connecting, choosing the company, cancelling, disconnecting — share one budget well inside that
timeout (XERO_WEB_BUDGET): each call's timeout is bounded by what is left, and a retry is made only if it fits.
Background jobs keep their full retries and pass no budget.
"""
import time
from collections.abc import Callable

from webapp.xero.errors import XeroTimedOut

# Below this many seconds left, a call is not even started: it could not get an answer in time.
MIN_CALL_SECONDS = 0.05

TIMED_OUT = "Xero took too long to answer"


class Budget:
    """`seconds` from now for every Xero call it is passed to (monotonic clock)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._ends = clock() + seconds

    def remaining(self) -> float:
        return max(0.0, self._ends - self._clock())

    def timeout(self, cap: float | tuple[float, float]) -> float | tuple[float, float]:
        """The timeout for the next HTTP call: `cap` (a number, or requests' (connect, read) pair), each part
        bounded by what is left. XeroTimedOut when too little is left to start a call."""
        left = self.remaining()
        if left < MIN_CALL_SECONDS:
            raise XeroTimedOut(f"{TIMED_OUT} (Socket stopped waiting after {self.seconds:g}s).")
        if isinstance(cap, tuple):
            return (min(cap[0], left), min(cap[1], left))
        return min(cap, left)

    def wait(self, cap: float) -> float:
        """How long to wait for something (a lock): `cap`, or what is left if that is less."""
        return min(cap, self.remaining())


def timeout_for(budget: "Budget | None", cap):
    """`cap` without a budget (background jobs), else bounded by it."""
    return cap if budget is None else budget.timeout(cap)


def deadline_for(budget: "Budget | None", cap: float | None = None) -> float | None:
    """The retry deadline: `cap` without a budget, else what is left of it (and no more than `cap`)."""
    if budget is None:
        return cap
    return budget.remaining() if cap is None else min(cap, budget.remaining())
