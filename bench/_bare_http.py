"""The bare-HTTP baseline for bench/first_sync.py: the same Xero requests Socket made, with nothing else.

Reads a plan (JSON) written by first_sync.py: the API's base URL, an access token, the tenant id and the list of
requests Socket's job sent, in order (method, URL, query parameters, extra headers such as If-Modified-Since or
Idempotency-Key, and the JSON body). Sends each with one plain `requests.Session` (Bearer token, xero-tenant-id,
Accept: application/json), one after the other, and parses every answer's JSON, as any client must. No database,
no Redis, no pacing, no retries. Prints one JSON line: wall seconds from the first request to the last answer
parsed, the number of requests, and the statuses.

Usage (first_sync.py runs it in a process of its own): /work/main/.venv/bin/python bench/_bare_http.py PLAN.json
"""
from __future__ import annotations

import collections
import json
import sys
import time

import requests


def main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        plan = json.load(handle)
    session = requests.Session()
    base_headers = {"Authorization": f"Bearer {plan['token']}", "xero-tenant-id": plan["tenant_id"],
                    "Accept": "application/json"}
    statuses: collections.Counter[int] = collections.Counter()
    started = time.perf_counter()
    for call in plan["requests"]:
        response = session.request(call["method"], plan["api_url"] + call["path"], params=call.get("params"),
                                   json=call.get("json"), headers={**base_headers, **call.get("headers", {})},
                                   timeout=60)
        response.json()
        statuses[response.status_code] += 1
    wall = time.perf_counter() - started
    print(json.dumps({"wall": wall, "requests": len(plan["requests"]), "statuses": dict(statuses)}))


if __name__ == "__main__":
    main(sys.argv[1])
