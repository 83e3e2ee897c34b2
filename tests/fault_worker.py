"""Worker processes for fault runs: jobs run in a real separate process (so it can be SIGKILLed mid-run), on Socket's
app built from the parent's config, calling the job functions in jobs/ as the RQ worker does.

    worker = start_worker(config, "sync", sync_run_id)
    outcome = watch(worker, sb, tenant_id, at_calls=5, action=kill)   # or revoke/expire at that point
    stop_workers()                                                    # when done

Like an RQ worker, a process builds the app once and then takes job after job (read from its stdin, one JSON line
each; each result is one JSON line on its stdout); a killed one is replaced by a new process. Building the app costs
a few seconds of CPU, most of a small run's time, so idle workers are kept for the next job.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER_TIMEOUT = 180.0
CONFIG_KEYS = ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "RQ_QUEUE", "REDIS_KEY_PREFIX",
               "TOKEN_ENCRYPTION_KEY", "XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_REDIRECT_URI", "XERO_LOGIN_URL",
               "XERO_IDENTITY_URL", "XERO_API_URL")

# The child: Socket's app from the parent's config; then per line of stdin one job function, or one Xero call through
# a connection's stored tokens (the two-workers-refresh case); per job one JSON line on stdout.
CHILD = """
import json, sys, time, traceback
from webapp import create_app
app = create_app(json.loads(sys.argv[1]))
import jobs.post_invoices, jobs.sync_reference, webapp.xero
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    cfg = json.loads(line)
    try:
        with app.app_context():
            if cfg.get("start_at"):
                time.sleep(max(0.0, cfg["start_at"] - time.time()))
            if cfg["job"] == "sync":
                out = {"status": jobs.sync_reference.run_reference_sync(cfg["id"])}
            elif cfg["job"] == "posting":
                out = {"status": jobs.post_invoices.run_posting(cfg["id"])}
            else:
                from webapp.extensions import db
                from webapp.models import XeroConnection
                from webapp.xero import XeroClient, XeroError, XeroSettings
                connection = db.session.execute(
                    db.select(XeroConnection).filter_by(practice_id=cfg["id"])).scalar_one()
                try:
                    XeroClient.for_connection(connection, XeroSettings.from_config(app.config)).get("Organisation")
                    out = {"status": "succeeded"}
                except XeroError as exc:
                    out = {"status": "failed", "error": exc.message}
    except Exception as exc:  # the job crashed: the worker records it and goes on, as RQ's does
        out = {"status": f"crashed ({type(exc).__name__})", "error": traceback.format_exc()[-1500:]}
    print(json.dumps(out), flush=True)
"""


class Worker:
    """One worker process; `results` gets each job's result (a dict) as it ends."""

    def __init__(self, config: dict):
        self.config_key = json.dumps(config, sort_keys=True)
        env = {**os.environ, "PYTHONPATH": REPO_ROOT, "LOG_LEVEL": "ERROR"}
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(config)], cwd=REPO_ROOT, env=env,
                                     text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.results: queue.Queue[dict] = queue.Queue()
        self.ready = threading.Event()
        self.stderr: deque[str] = deque(maxlen=40)
        threading.Thread(target=self._read_results, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_results(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                message = json.loads(line)
                if message.get("ready"):
                    self.ready.set()
                else:
                    self.results.put(message)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def submit(self, job: str, target_id: int, start_at: float | None) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"job": job, "id": target_id, "start_at": start_at}) + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait(timeout=30)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


_idle: dict[str, list[Worker]] = {}


def worker_config(app) -> dict:
    """What a worker process needs of the parent's app config (database, Redis, Xero URLs, the token key)."""
    return {key: app.config[key] for key in CONFIG_KEYS if app.config.get(key) is not None}


def start_worker(config: dict, job: str, target_id: int, start_at: float | None = None) -> Worker:
    """Give `job` ("sync": a SyncRun id, "posting": an InvoicePostingRun id, "call": one Xero call for a practice
    id) to an idle worker process (a new one when none is idle), from `start_at` (epoch seconds) when given."""
    idle = _idle.setdefault(json.dumps(config, sort_keys=True), [])
    while idle and not idle[-1].alive():
        idle.pop().stop()
    worker = idle.pop() if idle else Worker(config)
    worker.submit(job, target_id, start_at)
    return worker


def warm_workers(config: dict, n: int, timeout: float = 60.0) -> None:
    """At least `n` idle workers for `config`, their app built (so `n` jobs can start at the same instant)."""
    idle = _idle.setdefault(json.dumps(config, sort_keys=True), [])
    idle[:] = [w for w in idle if w.alive()]
    idle += [Worker(config) for _ in range(n - len(idle))]
    for worker in idle:
        worker.ready.wait(timeout)


def stop_workers() -> None:
    """End every idle worker process."""
    while _idle:
        _, workers = _idle.popitem()
        for worker in workers:
            worker.stop()


@dataclass
class WorkerOutcome:
    status: str  # the job's result, or "killed"
    fired: bool  # whether the action ran while the job was going
    calls: int  # the organisation's API calls the sandbox counted during the job
    stderr: str = ""
    error: str | None = None
    seconds: float = 0.0


def kill(worker: Worker) -> None:
    """SIGKILL the worker: no cleanup, no finally blocks, its database connections simply drop."""
    os.kill(worker.pid, signal.SIGKILL)


def watch(worker: Worker, sb, tenant_id: str, at_calls: int | None = None, after: float | None = None,
          action: Callable[[Worker], None] | None = None, timeout: float = WORKER_TIMEOUT) -> WorkerOutcome:
    """Wait for the worker's job to end; on the way, run `action` once the sandbox has counted `at_calls` API calls
    of the organisation since the start, or `after` seconds after its first call (whichever comes first). A worker
    still alive afterwards goes back to the idle ones."""
    calls = sb.sandbox.limiter.calls
    start_calls, started, fired = calls.get(tenant_id, 0), time.monotonic(), False
    first_call: float | None = None
    result: dict | None = None
    while result is None and worker.alive():
        now = time.monotonic()
        if now - started > timeout:
            worker.stop()
            raise RuntimeError(f"worker {worker.pid} ran a job for over {timeout}s")
        made = calls.get(tenant_id, 0) - start_calls
        first_call = first_call if first_call is not None or not made else now
        due = (at_calls is not None and made >= at_calls) or \
              (after is not None and first_call is not None and now - first_call >= after)
        if action is not None and not fired and due:
            action(worker)
            fired = True
        try:
            result = worker.results.get(timeout=0.005)
        except queue.Empty:
            pass
    if result is None:  # the process ended: read what it said last
        worker.proc.wait(timeout=30)
        time.sleep(0.05)
        result = {"status": "killed" if worker.proc.returncode == -signal.SIGKILL
                  else f"crashed (exit {worker.proc.returncode})"}
    stderr = "".join(worker.stderr)
    if worker.alive():
        _idle.setdefault(worker.config_key, []).append(worker)
    else:
        worker.stop()
    return WorkerOutcome(result["status"], fired, calls.get(tenant_id, 0) - start_calls, stderr[-3000:],
                         result.get("error"), time.monotonic() - started)
