"""Reading Xero's webhook deliveries and turning them into targeted refreshes.

A delivery names events (`eventCategory` CONTACT or INVOICE, `resourceId`, `tenantId`). The ids are added to a
Redis set per practice and kind, and one refresh job per practice is queued unless one is already waiting (its job
id is the practice's), so a burst of deliveries costs one job and one Xero call per 50 ids. Replayed and duplicate
events add ids already in the set, or refresh a record that is already current: no harm either way. Events for
organisations no practice is connected to are acknowledged and ignored; events Socket cannot read (not an object,
no readable ids, a category it does not refresh) are skipped, the rest of the delivery still noted, and the log says
how many were skipped and why.
"""
import base64
import hashlib
import hmac
import json
import logging
import uuid
from collections import Counter, defaultdict
from typing import Any

from flask import current_app
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from webapp.extensions import db
from webapp.models import ConnectionStatus, XeroConnection
from webapp.queue import enqueue, get_queue
from webapp.redis_conn import get_redis

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000  # bytes; Xero's deliveries are far smaller
KINDS = {"CONTACT": "contacts", "INVOICE": "invoices"}
REFRESH_JOB = "jobs.webhooks.refresh_from_webhooks"
PENDING_TTL = 7 * 24 * 3600  # seconds: the nightly run covers anything older
RETRY_INTERVALS = [30, 120, 600]  # seconds: a refresh Xero failed; its ids wait in Redis meanwhile


class BadPayload(ValueError):
    """A signed body that is not a webhook delivery; the message says why."""


def signature_ok(body: bytes, given: str, key: str) -> bool:
    """Whether `given` is the base64 HMAC-SHA256 of `body` with `key` (compared in constant time)."""
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), (given or "").strip().encode())


def parse_events(body: bytes) -> dict[str, dict[str, set[str]]]:
    """tenant id -> kind ("contacts" / "invoices") -> resource ids, from a delivery; raises BadPayload."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise BadPayload("the body is not JSON") from None
    except RecursionError:  # json's answer to nesting deeper than it reads
        raise BadPayload("the body is nested too deeply") from None
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise BadPayload("it has no events list")
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    skipped: Counter[str] = Counter()
    for event in events:
        if not isinstance(event, dict):
            skipped["not an object"] += 1
            continue
        kind = KINDS.get(str(event.get("eventCategory", "")).upper())
        try:
            tenant_id = str(uuid.UUID(str(event.get("tenantId"))))
            resource_id = str(uuid.UUID(str(event.get("resourceId"))))
        except ValueError:
            skipped["no tenantId or resourceId Socket can read"] += 1
            continue
        if kind:
            found[tenant_id][kind].add(resource_id)
        else:
            skipped["a category Socket does not refresh"] += 1
    if skipped:
        log.warning("Skipped %d of %d webhook events Socket could not read (%s)", sum(skipped.values()), len(events),
                    ", ".join(f"{count} {reason}" for reason, count in sorted(skipped.items())))
    return found


def _practices_by_tenant(tenant_ids: list[str]) -> dict[str, int]:
    rows = db.session.execute(db.select(XeroConnection.tenant_id, XeroConnection.practice_id).filter(
        XeroConnection.tenant_id.in_(tenant_ids), XeroConnection.status == ConnectionStatus.CONNECTED.value)).all()
    return {row.tenant_id: row.practice_id for row in rows}


def pending_key(practice_id: int, kind: str) -> str:
    return f"{current_app.config['REDIS_KEY_PREFIX']}webhook-pending:{practice_id}:{kind}"


def refresh_job_id(practice_id: int) -> str:
    return f"{current_app.config['REDIS_KEY_PREFIX'].strip(':')}-webhook-refresh-{practice_id}"


def _waiting(job_id: str) -> bool:
    try:
        job = Job.fetch(job_id, connection=get_queue().connection)
    except NoSuchJobError:
        return False
    return job.get_status() in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED)


def receive(body: bytes) -> dict[int, dict[str, int]]:
    """Note the ids of a delivery for the practices connected to its organisations and queue their refreshes;
    returns practice id -> kind -> ids noted. Raises BadPayload."""
    events = parse_events(body)
    practices = _practices_by_tenant(list(events)) if events else {}
    redis = get_redis(current_app.config["REDIS_URL"])
    noted: dict[int, dict[str, int]] = {}
    for tenant_id, kinds in events.items():
        practice_id = practices.get(tenant_id)
        if practice_id is None:
            log.info("Webhook events for an organisation no practice is connected to were ignored")
            continue
        with redis.pipeline() as pipe:
            for kind, ids in kinds.items():
                pipe.sadd(pending_key(practice_id, kind), *sorted(ids))
                pipe.expire(pending_key(practice_id, kind), PENDING_TTL)
            pipe.execute()
        noted[practice_id] = {kind: len(ids) for kind, ids in kinds.items()}
        job_id = refresh_job_id(practice_id)
        if not _waiting(job_id):
            enqueue(REFRESH_JOB, practice_id, job_id=job_id, job_timeout=600,
                    retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS))
    return noted


def take_pending(practice_id: int, kind: str, limit: int = 1000) -> list[str]:
    """Remove and return up to `limit` of the practice's noted ids of `kind` (the refresh job's work)."""
    popped: Any = get_redis(current_app.config["REDIS_URL"]).spop(pending_key(practice_id, kind), limit)
    return sorted(value.decode() if isinstance(value, bytes) else str(value) for value in popped or [])


def put_back(practice_id: int, kind: str, ids: list[str]) -> None:
    """Return ids a refresh could not complete, for the next one."""
    if ids:
        get_redis(current_app.config["REDIS_URL"]).sadd(pending_key(practice_id, kind), *ids)
