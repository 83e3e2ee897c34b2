"""Fault runs, the long form (issue 14): `--runs` nightly sync-and-post runs against the sandbox, each for a fresh
practice in a worker process of its own, while the sandbox injects a fault or the worker is SIGKILLed, with the
invariants checked after the faulty run and after a clean run with no faults.

The kinds take turns (429 storm, 5xx, latency, responses lost after commit, an expired token, a revoked token, a
SIGKILLed worker restarted, two workers refreshing one token, a posting run killed with its batch in flight and
the next one started), so 50 runs give each kind five or six times; the
seed picks each fault's size and where in the run it lands. The harness is tests/fault_harness.py, the same as
the bounded form in CI (tests/integration/test_fault_runs.py); see it for what each kind does and
tests/fault_invariants.py for what is checked: every invoice Socket marked posted is in Xero exactly once (by
Reference, with the InvoiceID Socket holds), none of Socket's twice, none lost after the clean run, no client
linked to two contacts nor a contact to two active clients, the links a person made unchanged, and the connection
connected, or needing a reconnect with its reason exactly when it was really revoked.

Usage: /work/main/.venv/bin/python bench/fault_runs.py [--runs 50] [--seed 14] [--clients 40] [--no-write]
About 3 to 4 minutes for 50 runs on the 2-core machine.
"""
from __future__ import annotations

import argparse
import collections
import time

import _common as common

SEED = 14


def run_all(args) -> tuple[list, float]:
    from tests.fault_harness import KINDS, fault_run
    from tests.fault_worker import stop_workers
    from webapp.extensions import db
    from xero_sandbox.testing import run_sandbox

    rid = common.run_id()
    results = []
    started = time.perf_counter()
    with common.private_database(args.db, rid) as database_url, run_sandbox({"SANDBOX_LIMITS": "relaxed"}) as sb:
        config = common.app_config(database_url, rid, XERO_CLIENT_ID=sb.client_id,
                                   XERO_CLIENT_SECRET=sb.client_secret, XERO_REDIRECT_URI=sb.redirect_uri,
                                   XERO_LOGIN_URL=sb.url, XERO_IDENTITY_URL=sb.url, XERO_API_URL=sb.url)
        app = common.make_app(config, migrate=True)
        try:
            with app.app_context():
                for n in range(args.runs):
                    kind = KINDS[n % len(KINDS)]
                    result = fault_run(app, sb, kind, args.seed * 1000 + n, clients=args.clients)
                    results.append(result)
                    print(f"run {n + 1:>3} {kind:<13} {'ok' if result.ok else 'PROBLEMS'} {result.seconds:5.1f}s "
                          f"{' · '.join(result.runs)}; fired {result.fired or '-'}", flush=True)
                    for problem in result.problems:
                        print(f"    {problem}", flush=True)
                db.session.remove()
        finally:
            stop_workers()
            with app.app_context():
                db.engine.dispose()
            common.drop_redis_keys(config["REDIS_URL"], config["REDIS_KEY_PREFIX"])
    return results, time.perf_counter() - started


def _counts(counter: collections.Counter) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counter.items())) or "—"


def report(results: list, args, seconds: float) -> None:
    from tests.fault_harness import KINDS

    rows = []
    for kind in KINDS:
        mine = [r for r in results if r.kind == kind]
        if not mine:
            continue
        injected, fired = collections.Counter(), collections.Counter()
        for r in mine:
            injected.update(r.injected)
            fired.update(r.fired)
        reconnect = [r for r in mine if r.needs_reconnect]
        rows.append([kind, len(mine), sum(1 for r in mine if r.ok), sum(r.kills for r in mine), _counts(injected),
                     _counts(fired), sum(r.duplicates for r in mine), sum(r.lost for r in mine),
                     f"{len(reconnect)} ({sum(1 for r in reconnect if r.revoked)} revoked)",
                     f"{sum(r.seconds for r in mine) / len(mine):.1f}"])
    headers = ["kind", "runs", "ok", "worker kills", "injected (times)", "fired in the sandbox (faults_fired)",
               "duplicates", "lost", "needs reconnect (really revoked)", "s / run"]
    kills = sum(r.kills for r in results)
    injected = sum(sum(r.injected.values()) for r in results)
    fired = sum(sum(r.fired.values()) for r in results)
    duplicates = sum(r.duplicates for r in results)
    lost = sum(r.lost for r in results)
    failed = sum(1 for r in results if not r.ok)
    reconnects = sum(1 for r in results if r.needs_reconnect)
    wrongly = sum(1 for r in results if r.needs_reconnect != r.revoked)
    problems = [f"- {r.kind} seed {r.seed}: {p}" for r in results for p in r.problems]
    headline = (f"runs={len(results)} kills={kills} faults={injected} fired={fired} duplicates={duplicates} "
                f"lost={lost} failed_runs={failed} needs_reconnect={reconnects} wrongly_reconnect={wrongly}")
    print()
    print(common.text_table(headers, rows))
    for line in problems:
        print(line)
    print(headline)
    if args.no_write:
        return
    body = "\n".join([
        f"{len(results)} runs (seed {args.seed}, {args.clients} clients each, a fresh organisation of "
        f"{args.clients + 20} contacts per run, sandbox limits relaxed: the 429s are injected) in {seconds:.0f} s. "
        "Each run: the faulty nightly run in a worker process, the invariants, then a clean run (for a kill: the "
        "restart in a new worker) and the invariants again with every approved invoice required in Xero. "
        "\"fired\" is what the sandbox reports in `faults_fired` (expired/revoked tokens and kills are the "
        "harness's own actions, not sandbox rules).",
        "",
        common.markdown_table(headers, rows),
        "",
        f"Totals: {len(results)} runs, {kills} worker kills, {injected} faults injected ({fired} fired in the "
        f"sandbox), {duplicates} duplicates, {lost} lost, {failed} runs with a broken invariant, {reconnects} "
        f"connections needing reconnect, {wrongly} of them not really revoked (or revoked and not marked).",
        *(["", "Problems:", *problems] if problems else []),
        "",
        f"Headline: `{headline}`",
    ])
    common.write_section("fault_runs", "Fault runs: sync-and-post under injected faults and killed workers", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="fault runs (the kinds take turns)")
    parser.add_argument("--seed", type=int, default=SEED, help="seeds each run's practice and fault")
    parser.add_argument("--clients", type=int, default=40, help="clients (one invoice each) per run's practice")
    common.add_run_arguments(parser)
    args = parser.parse_args()
    results, seconds = run_all(args)
    report(results, args, seconds)


if __name__ == "__main__":
    main()
