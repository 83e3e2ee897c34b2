"""Worker processes for fault runs: each job runs in a real separate process (so it can be SIGKILLed mid-run), on
Socket's app built from the parent's config, exactly as the RQ worker runs it (the job functions in jobs/).

    proc = start_worker(config, "sync", sync_run_id)
    outcome = watch(proc, sb, tenant_id, at_calls=5, action=kill)   # or revoke/expire at that point
    stop_spares()                                                   # when done

Building the app takes a worker process a few seconds, so one spare process per config is kept ready (app built,
waiting for its job on stdin), as an RQ worker sits waiting for the next job.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER_TIMEOUT = 120.0
CONFIG_KEYS = ("SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "RQ_QUEUE", "REDIS_KEY_PREFIX",
               "TOKEN_ENCRYPTION_KEY", "XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_REDIRECT_URI", "XERO_LOGIN_URL",
               "XERO_IDENTITY_URL", "XERO_API_URL")

# The child: Socket's app from the parent's config, then (read from stdin) one job function or one Xero call
# through a connection's stored tokens (the two-workers-refresh case), its result as JSON on the last line.
CHILD = """
import json, sys, time
from webapp import create_app
app = create_app(json.loads(sys.argv[1]))
import jobs.post_invoices, jobs.sync_reference, webapp.xero
line = sys.stdin.readline()
if not line:
    sys.exit(0)
cfg = json.loads(line)
with app.app_context():
    if cfg.get("start_at"):
        time.sleep(max(0.0, cfg["start_at"] - time.time()))
    if cfg["job"] == "sync":
        from jobs.sync_reference import run_reference_sync
        out = {"status": run_reference_sync(cfg["id"])}
    elif cfg["job"] == "posting":
        from jobs.post_invoices import run_posting
        out = {"status": run_posting(cfg["id"])}
    else:
        from webapp.extensions import db
        from webapp.models import XeroConnection
        from webapp.xero import XeroClient, XeroError, XeroSettings
        connection = db.session.execute(db.select(XeroConnection).filter_by(practice_id=cfg["id"])).scalar_one()
        try:
            XeroClient.for_connection(connection, XeroSettings.from_config(app.config)).get("Organisation")
            out = {"status": "succeeded"}
        except XeroError as exc:
            out = {"status": "failed", "error": exc.message}
print(json.dumps(out))
"""


def worker_config(app) -> dict:
    """What a worker process needs of the parent's app config (database, Redis, Xero URLs, the token key)."""
    return {key: app.config[key] for key in CONFIG_KEYS if app.config.get(key) is not None}


_spares: dict[str, subprocess.Popen] = {}


def _spawn(config: dict) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": REPO_ROOT, "LOG_LEVEL": "ERROR"}
    return subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(config)], cwd=REPO_ROOT, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def start_worker(config: dict, job: str, target_id: int, start_at: float | None = None) -> subprocess.Popen:
    """A worker process running `job` ("sync": a SyncRun id, "posting": an InvoicePostingRun id, "call": one Xero
    call for a practice id), from `start_at` (epoch seconds) when given."""
    key = json.dumps(config, sort_keys=True)
    spare = _spares.pop(key, None)
    proc = spare if spare is not None and spare.poll() is None else _spawn(config)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps({"job": job, "id": target_id, "start_at": start_at}) + "\n")
    proc.stdin.close()
    proc.stdin = None  # so communicate() later does not flush it
    _spares[key] = _spawn(config)
    return proc


def stop_spares() -> None:
    """End the spare processes (they have run nothing)."""
    while _spares:
        _, proc = _spares.popitem()
        proc.kill()
        proc.communicate(timeout=30)


@dataclass
class WorkerOutcome:
    status: str  # the job's result, or "killed"
    fired: bool  # whether the action ran while the worker was alive
    calls: int  # the organisation's API calls the sandbox counted during the run
    stderr: str = ""
    error: str | None = None


def _result(proc: subprocess.Popen, stdout: str) -> dict:
    lines = [line for line in (stdout or "").strip().splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"status": f"crashed (exit {proc.returncode})"}
    return json.loads(lines[-1])


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the worker: no cleanup, no finally blocks, its database connections simply drop."""
    os.kill(proc.pid, signal.SIGKILL)


def watch(proc: subprocess.Popen, sb, tenant_id: str, at_calls: int | None = None, after: float | None = None,
          action: Callable[[subprocess.Popen], None] | None = None, timeout: float = WORKER_TIMEOUT) -> WorkerOutcome:
    """Wait for the worker to end; on the way, run `action` once the sandbox has counted `at_calls` API calls of
    the organisation since the start, or `after` seconds after its first call (whichever comes first)."""
    calls = sb.sandbox.limiter.calls
    start_calls, started, fired = calls.get(tenant_id, 0), time.monotonic(), False
    first_call: float | None = None
    while proc.poll() is None:
        now = time.monotonic()
        if now - started > timeout:
            kill(proc)
            proc.wait()
            raise RuntimeError(f"worker {proc.pid} ran for over {timeout}s")
        made = calls.get(tenant_id, 0) - start_calls
        first_call = first_call if first_call is not None or not made else now
        due = (at_calls is not None and made >= at_calls) or \
              (after is not None and first_call is not None and now - first_call >= after)
        if action is not None and not fired and due:
            action(proc)
            fired = True
        time.sleep(0.005)
    stdout, stderr = proc.communicate()
    killed = proc.returncode == -signal.SIGKILL
    result = {"status": "killed"} if killed else _result(proc, stdout)
    return WorkerOutcome(result["status"], fired, calls.get(tenant_id, 0) - start_calls, stderr[-3000:],
                         result.get("error"))
