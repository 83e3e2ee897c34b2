"""Per-request plumbing shared by the identity and accounting blueprints: faults and lost responses."""
from __future__ import annotations

import socket

from flask import g, request

from .xerojson import json_response, problem

FAULT_TITLES = {429: "Too Many Requests", 500: "An error occurred", 502: "Bad Gateway",
                503: "Service Unavailable", 504: "Gateway Timeout"}
FAULT_DETAILS = {
    429: "Rate limit exceeded",
    500: "An error occurred in Xero. Check the API Status page http://status.developer.xero.com for current "
         "service status.",
    502: "Bad Gateway",
    503: "The Xero API is temporarily unavailable. Please try again later.",
    504: "Gateway Timeout",
}


class ResponseLost(ConnectionAbortedError):
    """Raised (in-process clients only) when a 'lose_response' fault fired after the write committed."""


def pre_faults(sandbox, target: str, limit_headers: dict | None = None):
    """Added latency and injected error statuses. Returns a response to send instead, or None."""
    delay = sandbox.settings["SANDBOX_LATENCY_MS"] + sandbox.faults.latency_ms(target)
    if delay > 0:
        sandbox.sleep(delay / 1000.0)
    rule = sandbox.faults.take_status(target)
    if rule is None:
        return None
    status = rule["status"]
    headers = dict(limit_headers or {})
    if status == 429:
        headers["Retry-After"] = str(rule["retry_after"])
        headers["X-Rate-Limit-Problem"] = rule["problem"]
    return json_response(problem(status, FAULT_TITLES[status], FAULT_DETAILS[status]), status, headers)


def mark_lose_if_faulted(sandbox, target: str, writes_only: bool):
    if writes_only and request.method not in ("POST", "PUT", "DELETE"):
        return
    if sandbox.faults.take_lose(target):
        g.lose_response = True


def maybe_drop_connection(response):
    """After the handler committed: cut the TCP connection so the client never sees the response."""
    if not g.get("lose_response"):
        return response
    sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    if sock is None:
        raise ResponseLost("sandbox fault: response lost after the write was committed")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    return response
