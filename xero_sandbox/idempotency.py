"""Xero's Idempotency-Key on PUT/POST: the same key and request replays the first answer, kept 24 hours. A key
that is too long or blank, or reused for a different request, is a 400 ValidationException."""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, request

from .sandbox import get_sandbox
from .xerojson import XeroError, problem, request_validation_error

KEY_TTL_MS = 24 * 3600 * 1000
MAX_KEY_LENGTH = 128
KEY_LENGTH_MESSAGE = f"The Idempotency-Key header must be between 1 and {MAX_KEY_LENGTH} characters."
KEY_REUSED_MESSAGE = "The Idempotency-Key has already been used for a different request."


def _fingerprint() -> str:
    return hashlib.sha256(b"\n".join([
        request.method.encode(), request.path.lower().encode(),
        request.query_string, request.get_data(cache=True)])).hexdigest()


def _forget(db, key: str) -> None:
    db.execute("DELETE FROM idempotency WHERE client_id=? AND tenant_id=? AND key=?", (g.client_id, g.tenant_id, key))


def idempotent(fn: Callable[..., Any]) -> Callable[..., Response]:
    """Idempotency-Key: replay the first response for the same key and request; refuse a different request."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return fn(*args, **kwargs)
        sandbox = get_sandbox()
        if len(key) > MAX_KEY_LENGTH or not key.strip():
            raise XeroError(400, request_validation_error(KEY_LENGTH_MESSAGE))
        fingerprint = _fingerprint()
        now = sandbox.now_ms()
        with sandbox.store.tx() as db:
            db.execute("DELETE FROM idempotency WHERE created_ms < ?", (now - KEY_TTL_MS,))
            row = db.execute("SELECT * FROM idempotency WHERE client_id=? AND tenant_id=? AND key=?",
                             (g.client_id, g.tenant_id, key)).fetchone()
            if row is None:
                db.execute("INSERT INTO idempotency (client_id, tenant_id, key, fingerprint, created_ms)"
                           " VALUES (?,?,?,?,?)", (g.client_id, g.tenant_id, key, fingerprint, now))
        if row is not None:
            if row["fingerprint"] != fingerprint:
                raise XeroError(400, request_validation_error(KEY_REUSED_MESSAGE))
            if row["status"] is None:
                raise XeroError(409, problem(409, "Conflict",
                                             "A request with this Idempotency-Key is already in progress"))
            return current_app.response_class(row["body"], status=row["status"],
                                              content_type="application/json; charset=utf-8")
        try:
            resp = current_app.make_response(fn(*args, **kwargs))
        except XeroError as e:
            resp = e.response()
        except BaseException:
            with sandbox.store.tx() as db:
                _forget(db, key)
            raise
        with sandbox.store.tx() as db:
            if resp.status_code >= 500:
                _forget(db, key)  # a 5xx is not an answer to replay: the client may retry
            else:
                db.execute("UPDATE idempotency SET status=?, body=? WHERE client_id=? AND tenant_id=? AND key=?",
                           (resp.status_code, resp.get_data(as_text=True), g.client_id, g.tenant_id, key))
        return resp
    return wrapper
