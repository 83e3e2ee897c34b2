"""Fault runs against the Xero sandbox (issue 14): a practice's nightly sync-and-post run in a worker process of its
own while the sandbox injects one kind of fault, or the worker is SIGKILLed and a new one started, or two workers
refresh the same token at once; then a clean run with no faults; the invariants checked after each.

    result = fault_run(app, sb, "kill", seed=3)
    assert result.ok, result.problems

Used by tests/integration/test_fault_runs.py (bounded, in CI) and bench/fault_runs.py (the long form). Call inside
an app context; `sb` is a running sandbox (xero_sandbox.testing.run_sandbox) that Socket's XERO_* URLs point at.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from unittest import mock

from tests.fault_invariants import Check, check_invariants
from tests.fault_practice import FaultPractice, approve_month, make_fault_practice, store_connection
from tests.fault_worker import WorkerOutcome, kill, start_worker, warm_workers, watch, worker_config
from webapp.extensions import db
from webapp.models import InvoicePostingRun, SyncRun
from webapp.sync import invoice_posting_runs
from webapp.sync.sync_runs import SyncRefused, claim_sync

KINDS = ("429", "5xx", "latency", "lost_response", "expired", "revoked", "kill", "two_workers", "kill_posting")
MAX_CALLS = 8  # a practice's first run costs about this many API calls: faults land somewhere inside


@dataclass
class FaultRunResult:
    kind: str
    seed: int
    problems: list[str] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)  # each worker's outcome, in order
    kills: int = 0
    injected: dict[str, int] = field(default_factory=dict)  # what the run set up: rule or action -> times
    fired: dict[str, int] = field(default_factory=dict)  # the sandbox's faults_fired during the faulty part
    duplicates: int = 0
    lost: int = 0
    needs_reconnect: bool = False
    revoked: bool = False
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # setup and each worker's wall time

    @property
    def ok(self) -> bool:
        return not self.problems


def nightly_run(app, sb, practice: FaultPractice, **watch_kw) -> tuple[WorkerOutcome | None, str | None]:
    """Claim the practice's next nightly run as the dispatcher (or a retry) does and run it in a new worker
    process; (its outcome, None), or (None, why the claim was refused)."""
    try:
        run = claim_sync(practice.practice_id, "nightly")
    except SyncRefused as refused:
        return None, refused.message
    worker = start_worker(worker_config(app), "sync", run.id)
    return watch(worker, sb, practice.tenant_id, **watch_kw), None


def posting_run(app, sb, practice: FaultPractice, **watch_kw) -> WorkerOutcome:
    """Start a posting run of everything outstanding as "Post outstanding invoices" does (start_posting; the job is
    given to a worker process here rather than put on the RQ queue) and run it in a worker process."""
    def not_queued(_job, run_id, **_kw):
        return SimpleNamespace(id=f"fault-run-{run_id}")

    with mock.patch.object(invoice_posting_runs, "enqueue", not_queued):
        run = invoice_posting_runs.start_posting(practice.practice_id, "manual")
    return watch(start_worker(worker_config(app), "posting", run.id), sb, practice.tenant_id, **watch_kw)


def _record(result: FaultRunResult, outcome: WorkerOutcome | None, refused: str | None, label: str) -> None:
    if outcome is None:
        result.runs.append(f"{label}: refused ({refused})")
        result.problems.append(f"{label} run refused: {refused}")
        return
    result.runs.append(f"{label}: {outcome.status}")
    result.timings[label] = round(outcome.seconds, 2)
    if outcome.status.startswith("crashed"):
        result.problems.append(f"{label} worker crashed: {outcome.error or outcome.stderr[-600:]}")


def _merge(result: FaultRunResult, check: Check, label: str) -> None:
    result.problems += [f"after {label}: {problem}" for problem in check.problems]
    result.duplicates = max(result.duplicates, check.duplicates)
    result.lost += check.lost
    result.needs_reconnect = result.needs_reconnect or check.needs_reconnect


def _inject(sb, kind: str, rng: random.Random) -> dict:
    """The sandbox's fault rule for `kind` (None for the kinds the harness acts out itself)."""
    if kind == "429":  # a storm: several in a row, Xero's Retry-After kept short so CI does not wait a minute
        return {"status": 429, "count": rng.randint(2, 4), "retry_after": 1}
    if kind == "5xx":
        return {"status": rng.choice([500, 502, 503, 504]), "percent": rng.choice([25, 40]), "count": rng.randint(2, 4)}
    if kind == "latency":
        return {"latency_ms": rng.randint(50, 400), "count": rng.randint(3, MAX_CALLS)}
    if kind == "lost_response":  # writes committed in Xero, then the answer lost on the way back
        return {"lose_response": rng.randint(1, 2), "on": rng.choice(["api", "api", "identity"])}
    return {}


def _faulty_part(app, sb, practice: FaultPractice, kind: str, rng: random.Random, result: FaultRunResult) -> None:
    if kind == "kill":  # at a call (counted by the sandbox, perhaps before its answer is back) or a moment
        by_time = rng.random() < 0.3
        watch_kw = {"after": rng.uniform(0.0, 1.0)} if by_time else {"at_calls": rng.randint(1, MAX_CALLS - 2)}
        outcome, refused = nightly_run(app, sb, practice, action=kill, **watch_kw)
        _record(result, outcome, refused, "killed")
        result.kills += int(bool(outcome and outcome.status == "killed"))
        result.injected["kill"] = 1
        return  # the clean run is the restart: a new worker, a new run straight away, as a retry would
    if kind == "kill_posting":  # a posting run (as approval starts one) killed, perhaps with its batch in flight
        _record(result, *nightly_run(app, sb, practice), "first sync")  # links and Xero's lists; nothing to post yet
        approve_month(practice)
        by_time = rng.random() < 0.5
        outcome = posting_run(app, sb, practice, action=kill,
                              **({"after": rng.uniform(0.0, 0.1)} if by_time else {"at_calls": 1}))
        _record(result, outcome, None, "killed posting")
        result.kills += int(outcome.status == "killed")
        result.injected["kill"] = 1
        _record(result, posting_run(app, sb, practice), None, "restarted posting")
        return
    if kind == "two_workers":
        sb.expire_tokens()
        config = worker_config(app)
        warm_workers(config, 2)
        start_at = time.time() + 0.3  # both given their job by then; then both call Xero at this instant
        workers = [start_worker(config, "call", practice.practice_id, start_at=start_at) for _ in range(2)]
        outcomes = [watch(worker, sb, practice.tenant_id) for worker in workers]
        result.injected["expired_tokens"] = 1
        for n, outcome in enumerate(outcomes, 1):
            result.runs.append(f"refresher {n}: {outcome.status}")
            result.timings[f"refresher {n}"] = round(outcome.seconds, 2)
            if outcome.status != "succeeded":
                result.problems.append(f"refresher {n}: {outcome.status} {outcome.error or outcome.stderr[-600:]}")
        return  # the clean run shows the connection still usable
    if kind == "expired":
        outcome, refused = nightly_run(app, sb, practice, at_calls=rng.randint(1, 5),
                                       action=lambda _proc: sb.expire_tokens())
        result.injected["expired_tokens"] = int(bool(outcome and outcome.fired))
    elif kind == "revoked":
        outcome, refused = nightly_run(app, sb, practice, at_calls=rng.randint(1, 5),
                                       action=lambda _proc: sb.revoke(practice.connection_id))
        result.injected["revoked"] = 1
        result.revoked = True
        if outcome is not None and not outcome.fired:  # the run ended first: the user revokes, the next run finds it
            _record(result, outcome, refused, "faulty")
            sb.revoke(practice.connection_id)
            outcome, refused = nightly_run(app, sb, practice)
    else:
        rule = _inject(sb, kind, rng)
        sb.faults(**rule)
        result.injected[kind] = 1
        if rule.get("on") == "identity":  # a token refresh is due, so there is one to lose
            sb.expire_tokens()
            result.injected["expired_tokens"] = 1
        outcome, refused = nightly_run(app, sb, practice)
    _record(result, outcome, refused, "faulty")


def fault_run(app, sb, kind: str, seed: int, clients: int = 40) -> FaultRunResult:
    """One fault run of `kind` (KINDS) for a fresh practice of `clients` clients: the faulty part, the invariants,
    then (faults cleared, a revoked connection reconnected) a clean run and the invariants again, `final`."""
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}")
    rng = random.Random(f"{kind}-{seed}")
    started = time.monotonic()
    sb.clear_faults()
    fired_before = sb.state()["faults_fired"]
    practice = make_fault_practice(sb, random.Random(f"practice-{seed}"), clients=clients, contacts=clients + 20,
                                   approve=kind != "kill_posting")
    result = FaultRunResult(kind, seed, timings={"setup": round(time.monotonic() - started, 2)})
    _faulty_part(app, sb, practice, kind, rng, result)
    result.fired = {k: v - fired_before.get(k, 0) for k, v in sb.state()["faults_fired"].items()
                    if v - fired_before.get(k, 0)}  # the sandbox counts since its start
    sb.clear_faults()
    _merge(result, check_invariants(sb, practice, revoked=result.revoked), "the faulty run")
    if result.revoked:
        store_connection(sb, practice.practice_id, practice.tenant_id)  # a person reconnects
    _record(result, *nightly_run(app, sb, practice), "clean")
    _merge(result, check_invariants(sb, practice, final=True), "the clean run")
    result.problems += [f"{run} still shown as running" for run in stuck_runs(practice.practice_id)]
    result.seconds = time.monotonic() - started
    return result


def stuck_runs(practice_id: int) -> list[str]:
    """The practice's sync and posting runs still shown as queued or running (after a fault run none should be)."""
    db.session.expire_all()
    return [f"{model.__name__} {run_id}" for model in (SyncRun, InvoicePostingRun)
            for run_id in db.session.execute(db.select(model.id).filter(
                model.practice_id == practice_id, model.status.in_(["queued", "running"]))).scalars()]
