"""Whether the worker running a SyncRun (or an InvoicePostingRun) is still there, or one will ever take it.

On PostgreSQL the worker holds a session advisory lock keyed by the kind of run and its id, on a connection of its
own, from before it marks the run running until after it records how the run ended. A worker that dies (SIGKILL,
out of memory, a lost machine) drops that connection and PostgreSQL frees the lock at once, so the next starter
that can take it knows the run was lost and need not wait for the time-out (SYNC_STALE_AFTER, STALE_AFTER).
Elsewhere (SQLite, local runs) there is no such signal: worker_gone is always False and the time-out alone decides.
"""
from sqlalchemy import text
from sqlalchemy.engine import Connection

from webapp.extensions import db
from webapp.queue import job_over
from webapp.sync.advisory_locks import lock_connection, release

# The first key of pg_advisory_lock(kind, run id): one per kind of run, since their ids overlap.
SYNC_RUNS = 0x534B5352  # "SKSR"
POSTING_RUNS = 0x534B5052  # "SKPR"


def _advisory() -> bool:
    return db.engine.dialect.name == "postgresql"


class WorkerPresence:
    """`with WorkerPresence(run_id):` — held by the worker for as long as it runs the run (a SyncRun, or with
    `kind` POSTING_RUNS an InvoicePostingRun)."""

    def __init__(self, run_id: int, kind: int = SYNC_RUNS):
        self.run_id = run_id
        self.kind = kind
        self._connection: Connection | None = None

    def __enter__(self) -> "WorkerPresence":
        if _advisory():
            self._connection = lock_connection()
            self._connection.execute(text("SELECT pg_advisory_lock(:ns, :key)"),
                                     {"ns": self.kind, "key": self.run_id})
        return self

    def __exit__(self, *exc_info) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            release(connection, self.kind, self.run_id)


def worker_gone(run_id: int, kind: int = SYNC_RUNS) -> bool:
    """True when no worker holds run `run_id` of `kind` (PostgreSQL only; the run must be one marked running, since
    the worker takes the lock before marking it)."""
    if not _advisory():
        return False
    with lock_connection() as connection:
        args = {"ns": kind, "key": run_id}
        if not connection.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), args).scalar():
            return False
        connection.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), args)
        return True


def run_lost(run_id: int, running: bool, rq_job_id: str | None, kind: int = SYNC_RUNS) -> bool:
    """Whether an unfinished run was lost with its worker: a running one that no worker holds (worker_gone), or a
    queued one whose RQ job will not run (webapp.queue.job_over: failed when its worker died before it began,
    stopped, cancelled, removed)."""
    return worker_gone(run_id, kind) if running else job_over(rq_job_id)
