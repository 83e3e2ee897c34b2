"""The RQ queue the web app enqueues background work on (REDIS_URL, RQ_QUEUE).

Jobs are named by dotted path (`jobs.sync_reference.run_reference_sync`) and take ids, never ORM objects,
so `webapp` never imports `jobs`: the worker imports them by name when it runs them.
"""
from collections.abc import Mapping
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from webapp.redis_conn import get_redis


def get_queue(config: Mapping[str, Any] | None = None) -> Queue:
    """The configured queue (`config` defaults to the current app's)."""
    config = config if config is not None else current_app.config
    return Queue(config["RQ_QUEUE"], connection=get_redis(config["REDIS_URL"]))


def enqueue(dotted_path: str, *args: Any, job_id: str | None = None, config: Mapping[str, Any] | None = None,
            job_timeout: int = 1800, retry: Retry | None = None, **meta: Any) -> Job:
    """Queue `dotted_path(*args)`; jobs get ids, never ORM objects. `meta` lands in job.meta; `retry` has RQ run
    a failed job again after its intervals (a transient failure: the job must be safe to repeat)."""
    return get_queue(config).enqueue_call(dotted_path, args=args, job_id=job_id, timeout=job_timeout,
                                          meta=meta or None, retry=retry)


def enqueue_many(dotted_path: str, calls: list[tuple[tuple, dict]], config: Mapping[str, Any] | None = None,
                 job_timeout: int = 1800) -> list[Job]:
    """Queue `dotted_path(*args)` for each (args, meta) of `calls` in one Redis round trip."""
    queue = get_queue(config)
    return queue.enqueue_many([Queue.prepare_data(dotted_path, args=args, timeout=job_timeout, meta=meta or None)
                               for args, meta in calls])


# What RQ says of a job that will not run (again): a run it was queued for waits for nothing.
_OVER = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, JobStatus.FINISHED}


def job_over(job_id: str | None, config: Mapping[str, Any] | None = None) -> bool:
    """True when RQ will not run job `job_id` (again): it failed (RQ marks a dead worker's job failed), was stopped
    or cancelled, finished, or is gone from Redis. False while it waits, runs or waits for a retry, and when it
    cannot be told (no id, Redis unreachable)."""
    if not job_id:
        return False
    config = config if config is not None else current_app.config
    try:
        return Job.fetch(job_id, connection=get_redis(config["REDIS_URL"])).get_status(refresh=False) in _OVER
    except NoSuchJobError:
        return True
    except RedisError:
        return False
