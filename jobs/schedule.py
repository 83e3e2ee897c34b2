"""The periodic jobs, declared in one place, and registering them with rq-scheduler.

Registering is idempotent: each job's id is derived from its declaration (name, function, cron string), so
registering twice leaves one of each, a changed declaration replaces its old job, and any Socket job no longer
declared is cancelled. `release` in the Procfile runs it after the migrations (`python -m jobs.schedule`); bin/dev
runs it before starting the processes. Cron strings are read in UTC (practices' own nights are the dispatcher's
business: webapp/sync/nightly.py).
"""
import hashlib
import os
import sys
import warnings
from dataclasses import dataclass

from redis import Redis
from rq_scheduler import Scheduler

ID_PREFIX = "socket-schedule-"


@dataclass(frozen=True)
class Periodic:
    name: str
    func: str  # dotted path: the worker imports it when it runs
    cron: str  # UTC
    timeout: int = 600
    description: str = ""

    @property
    def job_id(self) -> str:
        digest = hashlib.sha256(f"{self.func}|{self.cron}|{self.timeout}".encode()).hexdigest()[:12]
        return f"{ID_PREFIX}{self.name}-{digest}"


SCHEDULE = (
    Periodic("dispatch-nightly", "jobs.nightly.dispatch_nightly", "*/5 * * * *", timeout=300,
             description="Queue the nightly sync of each connected practice in its own overnight window"),
)


def register(connection: Redis, queue_name: str, schedule: tuple[Periodic, ...] = SCHEDULE) -> dict[str, list[str]]:
    """Make rq-scheduler hold exactly `schedule`'s Socket jobs; returns the ids kept, added and cancelled."""
    scheduler = Scheduler(queue_name=queue_name, connection=connection)
    declared = {periodic.job_id: periodic for periodic in schedule}
    # Only this queue's: rq-scheduler keeps one schedule for every queue on the Redis server.
    existing = {job.id for job in scheduler.get_jobs() if job.id.startswith(ID_PREFIX) and job.origin == queue_name}
    outcome: dict[str, list[str]] = {"kept": [], "added": [], "cancelled": []}
    for job_id in sorted(existing - set(declared)):
        scheduler.cancel(job_id)
        outcome["cancelled"].append(job_id)
    for job_id, periodic in declared.items():
        if job_id in existing:
            outcome["kept"].append(job_id)
            continue
        scheduler.cron(periodic.cron, func=periodic.func, id=job_id, queue_name=queue_name, repeat=None,
                       timeout=periodic.timeout, description=periodic.description, use_local_timezone=False)
        outcome["added"].append(job_id)
    return outcome


def main(argv: list[str]) -> int:
    """`python -m jobs.schedule`: register the schedule with the REDIS_URL / RQ_QUEUE of the environment."""
    url, queue_name = os.environ.get("REDIS_URL"), os.environ.get("RQ_QUEUE", "socket")
    if not url:
        print("REDIS_URL is not set: the schedule lives in Redis beside the queue.", file=sys.stderr)
        return 2
    # rq-scheduler's crontab warns about its own future default on every cron computation (DESIGN.md §2).
    warnings.filterwarnings("ignore", message=r"Version 0\.22\.0\+ of crontab", category=FutureWarning)
    outcome = register(Redis.from_url(url), queue_name)
    for kind, ids in outcome.items():
        for job_id in ids:
            print(f"{kind}: {job_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
