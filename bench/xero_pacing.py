"""Socket's Xero client against the sandbox's REAL limits (60 calls/min, 5 concurrent per organisation),
from two or more OS processes sharing one connection, as the web process and an RQ worker do.

Two scenarios, each on a fresh sandbox and a fresh Redis prefix (so neither inherits the other's window):
  clean  -- `--calls` GETs (default 150) with no faults: target zero 429s and close to 60 calls/min.
  faults -- `--fault-calls` GETs (default 40) while the sandbox injects `--fault-429` 429s (Retry-After
            `--fault-retry-after` s) and fails `--fault-503-percent` % of calls with 503: every call must
            still succeed, through retries.

The parent runs the sandbox (in-process, loopback) and watches its rate limiter to record the peak
concurrency and the most calls it accepted in any rolling 60 s; each child process runs `--threads`
threads, each with its own XeroClient and TokenManager (as separate requests/jobs would), all sharing the
one stored connection, the Redis pacer and the Redis refresh lock. Access tokens live `--token-ttl`
seconds (default 180; the client refreshes 2 minutes ahead) so refreshes happen mid-run and race.

Usage: /work/main/.venv/bin/python bench/xero_pacing.py [--calls 150] [--processes 2] [--threads 4]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import _common as common

PATHS = ["Organisation", "Accounts", "BrandingThemes", "TaxRates", "Contacts?page=1"]


# -- child: one OS process (the "web" or a "worker") --------------------------------------------------------
def child_main(config_path: str) -> None:
    with open(config_path, encoding="utf-8") as handle:
        cfg = json.load(handle)
    app = common.make_app(cfg["app"])
    from webapp.xero import XeroClient, XeroError, XeroSettings
    from webapp.xero.token_store import TokenManager

    settings = XeroSettings.from_config(app.config)
    indices = list(range(cfg["first_call"], cfg["first_call"] + cfg["calls"]))
    lock = threading.Lock()
    records, managers, clients = [], [], []

    def worker():
        with app.app_context():
            manager = TokenManager(settings)
            client = XeroClient(settings, cfg["connection_id"], cfg["tenant_id"], tokens=manager)
            with lock:
                managers.append(manager)
                clients.append(client)
            while time.time() < cfg["start_at"]:
                time.sleep(0.01)
            while True:
                with lock:
                    if not indices:
                        break
                    index = indices.pop(0)
                path = PATHS[index % len(PATHS)]
                started = time.time()
                try:
                    path_only, _, query = path.partition("?")
                    params = dict(p.split("=") for p in query.split("&")) if query else None
                    client.get(path_only, params=params)
                    outcome = "ok"
                except XeroError as exc:
                    outcome = f"{type(exc).__name__}: {exc.message}"
                with lock:
                    records.append({"started": started, "ended": time.time(), "outcome": outcome})

    threads = [threading.Thread(target=worker) for _ in range(cfg["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(cfg["deadline"] - time.time())
    print(json.dumps({"role": cfg["role"], "records": records,
                      "http_calls": sum(c.calls for c in clients),
                      "refreshes": sum(m.refreshes for m in managers)}))


# -- parent -----------------------------------------------------------------------------------------------------
class SandboxWatch:
    """Wraps the sandbox's rate limiter and WSGI app: peak concurrency, accepted call times, token calls."""

    def __init__(self, sb, tenant_id: str):
        self.peak = 0
        self.accepted: list[float] = []
        self.token_calls = 0
        limiter = sb.sandbox.limiter
        acquire = limiter.acquire

        def watched_acquire(client, tenant, now):
            problem, headers = acquire(client, tenant, now)
            if problem is None and tenant == tenant_id:
                with limiter.lock:
                    self.peak = max(self.peak, limiter.concurrent[(client, tenant)])
                    self.accepted.append(now)
            return problem, headers

        limiter.acquire = watched_acquire
        wsgi = sb.app.wsgi_app

        def watched_wsgi(environ, start_response):
            if environ.get("PATH_INFO") == "/connect/token":
                self.token_calls += 1
            return wsgi(environ, start_response)

        sb.app.wsgi_app = watched_wsgi

    def max_in_rolling_minute(self) -> int:
        times, best, j = sorted(self.accepted), 0, 0
        for i, t in enumerate(times):
            while times[j] <= t - 60:
                j += 1
            best = max(best, i - j + 1)
        return best


def run_scenario(name: str, database_url: str, args, calls: int, faults: list[dict]) -> dict:
    from xero_sandbox.testing import run_sandbox

    rid = common.run_id()
    sandbox_config = {"SANDBOX_LIMITS": "real", "SANDBOX_ACCESS_TOKEN_TTL": args.token_ttl, "seed": 7}
    with run_sandbox(sandbox_config) as sb:
        tenant_id = sb.DEMO_TENANT_ID
        config = common.app_config(database_url, rid, XERO_CLIENT_ID=sb.client_id,
                                   XERO_CLIENT_SECRET=sb.client_secret, XERO_LOGIN_URL=sb.url,
                                   XERO_IDENTITY_URL=sb.url, XERO_API_URL=sb.url)
        app = common.make_app(config)
        connection_id = common.store_connection(app, sb, tenant_id)
        watch = SandboxWatch(sb, tenant_id)
        sb.sandbox.limiter.reset()  # the consent's own /connections call must not count
        for rule in faults:
            sb.faults(**rule)
        roles = ["web"] + [f"worker{i}" if args.processes > 2 else "worker" for i in range(1, args.processes)]
        share, extra = divmod(calls, len(roles))
        start_at = time.time() + 4.0  # time for every child to import and connect before the first call
        deadline = start_at + args.timeout
        procs, tmpdir, first = [], tempfile.mkdtemp(prefix="socket-bench-"), 0
        try:
            for i, role in enumerate(roles):
                n = share + (1 if i < extra else 0)
                path = os.path.join(tmpdir, f"{role}.json")
                with open(path, "w", encoding="utf-8") as handle:
                    json.dump({"app": config, "role": role, "connection_id": connection_id, "tenant_id": tenant_id,
                               "calls": n, "first_call": first, "threads": args.threads, "start_at": start_at,
                               "deadline": deadline}, handle)
                first += n
                procs.append(subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", path],
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                              cwd=common.REPO_ROOT))
            outputs = []
            for proc in procs:
                try:
                    out, err = proc.communicate(timeout=max(deadline - time.time(), 1) + 30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    out, err = proc.communicate()
                if proc.returncode != 0 or not out.strip():
                    raise RuntimeError(f"{name}: a child process failed (rc {proc.returncode}):\n{err[-3000:]}")
                outputs.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
            for entry in os.listdir(tmpdir):
                os.remove(os.path.join(tmpdir, entry))
            os.rmdir(tmpdir)
        state = sb.state()
        with app.app_context():
            from webapp.extensions import db
            from webapp.models import XeroConnection

            connection = db.session.get(XeroConnection, connection_id)
            status = connection.status
            # The next scenario connects its own practice to the same (demo) organisation in this database, and
            # an organisation has one live connection (uq_xero_connections_live_tenant): this one ends here.
            connection.status = "disconnected"
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        common.drop_redis_keys(config["REDIS_URL"], config["REDIS_KEY_PREFIX"])

    records = [r for o in outputs for r in o["records"]]
    ok = sum(1 for r in records if r["outcome"] == "ok")
    wall = max(r["ended"] for r in records) - min(r["started"] for r in records) if records else 0.0
    limited = state["rate_limited"]
    fired = state["faults_fired"]
    http_calls = sum(o["http_calls"] for o in outputs)
    return {
        "scenario": name, "calls": calls, "ok": ok, "failed": len(records) - ok + (calls - len(records)),
        "errors": sorted({r["outcome"] for r in records if r["outcome"] != "ok"}),
        "wall": wall, "per_minute": ok / wall * 60 if wall else 0.0,
        "ideal_wall": ((calls - 1) // 60) * 60.0,
        "peak_concurrency": watch.peak, "max_rolling_minute": watch.max_in_rolling_minute(),
        "limit_429": sum(limited.values()), "limit_429_detail": limited,
        "fault_429": fired.get("status_429", 0),
        "fault_5xx": sum(v for k, v in fired.items() if k.startswith("status_5")),
        "http_calls": http_calls, "retries": http_calls - len(records),
        "refreshes": sum(o["refreshes"] for o in outputs), "token_calls": watch.token_calls,
        "status": status, "per_process": {o["role"]: len(o["records"]) for o in outputs},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=150, help="GET calls in the clean scenario (default 150)")
    parser.add_argument("--processes", type=int, default=2, help="OS processes sharing the connection (>= 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per process (default 4: 8 callers > 5)")
    parser.add_argument("--token-ttl", type=int, default=180, help="sandbox access-token lifetime, seconds")
    parser.add_argument("--fault-calls", type=int, default=40, help="GET calls in the faults scenario")
    parser.add_argument("--fault-429", type=int, default=3, help="429s the sandbox injects")
    parser.add_argument("--fault-retry-after", type=int, default=5, help="their Retry-After, seconds")
    parser.add_argument("--fault-503-percent", type=float, default=10.0, help="share of calls failing with 503")
    parser.add_argument("--skip-faults", action="store_true", help="run only the clean scenario")
    parser.add_argument("--timeout", type=int, default=600, help="stop a scenario's calls after this many seconds")
    common.add_run_arguments(parser)
    args = parser.parse_args()
    if args.child:
        child_main(args.child)
        return
    if args.processes < 2:
        parser.error("--processes must be at least 2 (the web process and a worker)")

    results = []
    with common.private_database(args.db) as database_url:
        common.make_app(common.app_config(database_url, "schema"), migrate=True)
        results.append(run_scenario("clean", database_url, args, args.calls, []))
        if not args.skip_faults:
            faults = [{"status": 429, "count": args.fault_429, "retry_after": args.fault_retry_after,
                       "problem": "minute"},
                      {"status": 503, "percent": args.fault_503_percent}]
            results.append(run_scenario("faults", database_url, args, args.fault_calls, faults))
    report(results, args)


def report(results: list[dict], args) -> None:
    headers = ["scenario", "calls ok/asked", "wall s", "calls/min", "ideal wall s", "max in any 60 s",
               "peak concurrent", "429 from limits", "injected 429/5xx", "HTTP calls", "retries",
               "token refreshes", "connection after"]
    rows = [[r["scenario"], f"{r['ok']}/{r['calls']}", f"{r['wall']:.1f}", f"{r['per_minute']:.1f}",
             f"{r['ideal_wall']:.0f}", r["max_rolling_minute"], r["peak_concurrency"], r["limit_429"],
             f"{r['fault_429']}/{r['fault_5xx']}", r["http_calls"], r["retries"],
             f"{r['refreshes']} ({r['token_calls']} token calls)", r["status"]] for r in results]
    print(common.text_table(headers, rows))
    for r in results:
        if r["errors"]:
            print(f"{r['scenario']}: errors: {r['errors']}")
    notes = (
        f"{args.processes} processes × {args.threads} threads share one stored connection to the demo "
        f"organisation; sandbox limits REAL (60/min, 5 concurrent, 5,000/day); access tokens live "
        f"{args.token_ttl} s. Calls cycle through GET {', '.join(PATHS)}.\n\n"
        "- *calls/min* = successful calls ÷ wall time × 60. Under a rolling 60-call minute the first 60 go at "
        "once, so N calls cannot take less than *ideal wall* = ⌊(N−1)/60⌋ × 60 s; *max in any 60 s* is the "
        "most calls the sandbox accepted in a rolling minute (must be ≤ 60).\n"
        "- *peak concurrent* is the sandbox limiter's own in-flight count for the organisation (must be ≤ 5).\n"
        "- *429 from limits* are refusals by the sandbox's rate limiter (target 0); *injected* are the fault "
        "rules' 429/5xx answers.\n"
        "- *retries* = HTTP calls made by the clients − logical calls; *token refreshes* are refreshes the "
        "clients performed (under the per-connection Redis lock) and the token-endpoint calls the sandbox saw.\n"
        f"- faults scenario: the sandbox answers {args.fault_429} calls with 429 (Retry-After "
        f"{args.fault_retry_after} s) and {args.fault_503_percent:g}% of calls with 503.")
    body = common.markdown_table(headers, rows) + "\n\n" + notes
    for r in results:
        if r["errors"]:
            body += f"\n\nErrors in {r['scenario']}: {r['errors']}"
    if not args.no_write:
        common.write_section("xero_pacing", "Xero pacing: two processes, one connection, real limits", body)
    clean = results[0]
    print(f"pacing_limit_429={sum(r['limit_429'] for r in results)} "
          f"calls_ok={sum(r['ok'] for r in results)}/{sum(r['calls'] for r in results)} "
          f"max_in_60s={clean['max_rolling_minute']} peak_concurrent={max(r['peak_concurrency'] for r in results)}")


if __name__ == "__main__":
    main()
