"""Enqueue RQ jobs by dotted path on the configured Redis (REDIS_URL) and queue (RQ_QUEUE)."""
from typing import Mapping

from flask import current_app
from rq import Queue
from rq.job import Job

from webapp.xero.redis_conn import get_redis


def get_queue(config: Mapping | None = None) -> Queue:
    config = config if config is not None else current_app.config
    return Queue(config["RQ_QUEUE"], connection=get_redis(config["REDIS_URL"]))


def enqueue(dotted_path: str, *args, job_id: str | None = None, config: Mapping | None = None,
            job_timeout: int = 1800, **meta) -> Job:
    """Queue `dotted_path(*args)`; jobs get ids, never ORM objects. `meta` lands in job.meta."""
    return get_queue(config).enqueue_call(dotted_path, args=args, job_id=job_id, timeout=job_timeout,
                                          meta=meta or None)
