"""Sign-in throttling: a cap on failed sign-ins per account and per client address, checked before the password
is hashed.

A small fixed-window counter in Redis rather than Flask-Limiter: Flask-Limiter counts requests to a route, while
this needs to count only failures, key one limit on an email read from the form, and wipe one account's count
when its owner signs in (Flask-Limiter has no per-key reset), so it would be bent into shape around those
needs. Here each limit is a Redis key per account (a SHA-256 of the lower-cased email, so no address sits in
Redis) or per client address, created with the window as its expiry and incremented on each failure; a success
deletes the account's key (never the address's: a correct password for one account must not buy more guesses at
another). The window is fixed, so a lockout lasts until the key expires, at most the window.

If Redis does not answer, throttling fails open: every check lets the attempt through and a warning is logged.
Refusing every sign-in while Redis is down would lock the whole practice out, and the password hash still makes
each guess slow. The client address is `request.remote_addr`, which is the proxy's unless TRUSTED_PROXY_COUNT
says how many proxies to believe in X-Forwarded-For (see webapp/security/__init__.py).
"""
import hashlib
import logging
import math
import threading

import redis
from flask import current_app

log = logging.getLogger(__name__)

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def _redis() -> redis.Redis:
    """A client with short timeouts, so a Redis that hangs slows a sign-in by a second at most, never blocks it."""
    url = current_app.config["REDIS_URL"]
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return client


def _window() -> int:
    return int(current_app.config["LOGIN_THROTTLE_WINDOW_MINUTES"]) * 60


def _limits(email: str, address: str | None) -> list[tuple[str, int]]:
    """(Redis key, failures allowed) for the account and for the client address."""
    prefix = current_app.config["REDIS_KEY_PREFIX"] + "login-failures:"
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return [(f"{prefix}account:{account}", int(current_app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"])),
            (f"{prefix}address:{address or 'unknown'}", int(current_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]))]


def _wait(counts: list[tuple], limits: list[tuple[str, int]]) -> int:
    """Seconds until neither limit is reached (0: not reached), from each key's (count, seconds to live)."""
    waits = []
    for (count, ttl), (_, allowed) in zip(counts, limits, strict=True):
        if count is not None and int(count) >= allowed:
            waits.append(ttl if ttl and ttl > 0 else _window())
    return max(waits, default=0)


def _redis_failed(error: Exception) -> None:
    log.warning("Sign-in throttling is off for this attempt: Redis did not answer (%s). Sign-ins are allowed "
                "without a limit until it does.", error)


def seconds_locked(email: str, address: str | None) -> int:
    """How long until `email` from `address` may try a password again (0: now)."""
    limits = _limits(email, address)
    try:
        pipe = _redis().pipeline(transaction=False)
        for key, _ in limits:
            pipe.get(key)
            pipe.ttl(key)
        replies = pipe.execute()
    except redis.RedisError as error:
        _redis_failed(error)
        return 0
    return _wait(list(zip(replies[::2], replies[1::2], strict=True)), limits)


def record_failure(email: str, address: str | None) -> int:
    """Count a failed sign-in against the account and the address; returns how long they are now locked (0 if
    neither has reached its limit)."""
    limits = _limits(email, address)
    try:
        pipe = _redis().pipeline(transaction=True)
        for key, _ in limits:
            pipe.set(key, 0, ex=_window(), nx=True)  # a new window starts with the first failure
            pipe.incr(key)
            pipe.ttl(key)
        replies = pipe.execute()
    except redis.RedisError as error:
        _redis_failed(error)
        return 0
    return _wait([(replies[at + 1], replies[at + 2]) for at in range(0, len(replies), 3)], limits)


def clear_account(email: str) -> None:
    """A successful sign-in: the account starts again with no failures (its address's count stands)."""
    try:
        _redis().delete(_limits(email, None)[0][0])
    except redis.RedisError as error:
        _redis_failed(error)


def wait_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many sign-in attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
