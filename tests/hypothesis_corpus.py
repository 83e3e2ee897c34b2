"""Hypothesis settings for the bad-input corpus (tests/corpus) and a count of the cases it generates.

Two profiles, chosen by HYPOTHESIS_PROFILE:
  ci    (default) derandomized, so a CI run is repeatable and a red one is reproducible from its commit;
        each property's max_examples is its own (the corpus keeps them small enough for the 10-minute suite)
  long  random, 20x each property's examples: `HYPOTHESIS_PROFILE=long bin/test tests/corpus` is the long form

Every @given test's examples are counted (by wrapping Hypothesis's documented `inner_test` hook) and the
total is printed at the end of the run, per property and in all, also under pytest-xdist: the count travels
to the controller in the report's user_properties.
"""
from __future__ import annotations

import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, settings

LONG_FACTOR = 20
# No explain phase: it re-runs a failing example under a line tracer, which for examples that drive SQLAlchemy took
# minutes and hit the test timeout, hiding the failure it was explaining.
PHASES = [phase for phase in Phase if phase is not Phase.explain]
settings.register_profile(
    "ci", derandomize=True, deadline=None, print_blob=True, phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile(
    "long", derandomize=False, deadline=None, print_blob=True, phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)

_cases_by_test: Counter[str] = Counter()


def examples(n: int) -> settings:
    """`@examples(60)`: a property's max_examples under the ci profile, LONG_FACTOR times that in the long form."""
    return settings(max_examples=n * LONG_FACTOR if PROFILE == "long" else n)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    handle = getattr(item.obj, "hypothesis", None)
    counted = 0
    if handle is not None:
        inner = handle.inner_test

        def counting(*args, **kwargs):
            nonlocal counted
            counted += 1
            return inner(*args, **kwargs)

        handle.inner_test = counting
    try:
        yield
    finally:
        if handle is not None:
            handle.inner_test = inner
            item.user_properties.append(("hypothesis_cases", counted))


def pytest_runtest_logreport(report):
    if report.when == "call":
        for key, value in report.user_properties:
            if key == "hypothesis_cases":
                _cases_by_test[report.nodeid] += value


def pytest_terminal_summary(terminalreporter):
    if not _cases_by_test:
        return
    terminalreporter.section(f"bad-input corpus: hypothesis cases (profile {PROFILE})")
    for nodeid, cases in sorted(_cases_by_test.items()):
        terminalreporter.write_line(f"{cases:8d}  {nodeid}")
    terminalreporter.write_line(f"{sum(_cases_by_test.values()):8d}  in all, {len(_cases_by_test)} properties")
