"""Idempotency-Keys made from what a request carries, so sending the same thing again (a retry, a run repeated
after a crash) gets the same key and Xero replays its first answer instead of acting twice."""
import hashlib
import json
from typing import Any

MAX_LENGTH = 128  # Xero's limit for an Idempotency-Key


def content_key(prefix: str, *parts: Any) -> str:
    """`prefix` and the SHA-256 of `parts` as canonical JSON (keys sorted, no spaces): the same parts always give
    the same key, any difference another one. At most MAX_LENGTH characters."""
    content = json.dumps(list(parts), sort_keys=True, separators=(",", ":"))
    key = prefix + hashlib.sha256(content.encode()).hexdigest()
    if len(key) > MAX_LENGTH:
        raise ValueError(f"an Idempotency-Key with prefix {prefix!r} would be longer than Xero allows")
    return key
