"""One redis-py client per Redis URL, shared by the job queue, Xero's token locks and rate-limit pacing.

redis-py clients are thread-safe and pool their connections, so a process keeps one per URL.
"""
import threading

import redis

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def get_redis(url: str) -> redis.Redis:
    """The process's client for `url`, created on first use."""
    with _lock:
        client = _clients.get(url)
        if client is None:
            client = _clients[url] = redis.Redis.from_url(url)
        return client
