"""Paging a 10,000-contact organisation through Socket's Xero client: the baseline for contact sync.

The sandbox (in-process, loopback, REAL limits) generates an organisation of `--contacts` contacts (2% of
them archived, so left out of the default listing) with its own generator; a stored connection to it is
made through the consent flow. Then, for each `--page-sizes` value, XeroClient.paged("Contacts") reads
every contact with `page=1,2,...&pageSize=N` and keeps them all in a list (as a sync that matches them
to clients would):
  timed pass   -- real limits (a fresh limiter window and Redis prefix per page size): calls, wall time
                  (pacing included), HTTP time per page (mean / p95 / max) and time spent waiting for a
                  pacing slot;
  memory pass  -- the same paging with limits relaxed (so no waiting) under tracemalloc: peak Python memory
                  while paging and what the list of contacts retains.
Each pass runs in its own process (as a worker would), so its timings and tracemalloc figures are the
client's alone; a page's HTTP time still includes the sandbox's work answering it (same machine).

Usage: /work/main/.venv/bin/python bench/sandbox_contacts.py [--contacts 10000] [--page-sizes 100,1000]
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc

import _common as common
import requests

RELAXED = 10**6
CHILD_TIMEOUT = 300  # seconds for one pass; 10,000 contacts at pageSize 100 take about 70 s


class TimedSession(requests.Session):
    """Records how long each HTTP request took (body downloaded; JSON not yet parsed)."""

    def __init__(self):
        super().__init__()
        self.durations: list[float] = []

    def request(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return super().request(*args, **kwargs)
        finally:
            self.durations.append(time.perf_counter() - started)


def page_through(app, settings, connection_id: int, tenant_id: str, page_size: int, relaxed: bool) -> dict:
    from webapp.redis_conn import get_redis
    from webapp.xero import XeroClient
    from webapp.xero.pacing import Limits, Pacer

    settings = dataclasses.replace(settings, redis_key_prefix=f"{settings.redis_key_prefix}{common.run_id()}:")
    limits = Limits(minute=RELAXED, day=RELAXED, max_wait=600) if relaxed else Limits(max_wait=600)
    pacer = Pacer(get_redis(settings.redis_url), settings.redis_key_prefix, tenant_id, limits=limits)
    waits = []
    acquire = pacer.acquire

    def timed_acquire():
        started = time.perf_counter()
        try:
            return acquire()
        finally:
            waits.append(time.perf_counter() - started)

    pacer.acquire = timed_acquire
    http = TimedSession()
    client = XeroClient(settings, connection_id, tenant_id, pacer=pacer, http=http)
    with app.app_context():
        gc.collect()
        if relaxed:
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        contacts = list(client.paged("Contacts", "Contacts", page_size=page_size, send_page_size=True))
        wall = time.perf_counter() - started
        out = {"page_size": page_size, "contacts": len(contacts), "calls": client.calls, "wall": wall,
               "http": list(http.durations), "wait": sum(waits)}
        if relaxed:
            current, peak = tracemalloc.get_traced_memory()
            out["peak_mb"] = (peak - base) / 2**20
            out["retained_mb"] = (current - base) / 2**20
            tracemalloc.stop()
        del contacts
    http.close()
    common.drop_redis_keys(settings.redis_url, settings.redis_key_prefix)
    return out


def in_child(cfg: dict, page_size: int, relaxed: bool) -> dict:
    """One pass in its own process, so neither the timings nor tracemalloc include the sandbox's work."""
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(
        {**cfg, "page_size": page_size, "relaxed": relaxed})], capture_output=True, text=True,
        timeout=CHILD_TIMEOUT, cwd=common.REPO_ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"pageSize {page_size} pass failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_main(raw: str) -> None:
    cfg = json.loads(raw)
    app = common.make_app(cfg["app"])
    from webapp.xero import XeroSettings

    settings = XeroSettings.from_config(app.config)
    print(json.dumps(page_through(app, settings, cfg["connection_id"], cfg["tenant_id"], cfg["page_size"],
                                  cfg["relaxed"])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--page-sizes", default="100,1000", help="comma-separated pageSize values (max 1000)")
    common.add_run_arguments(parser)
    args = parser.parse_args()
    if args.child:
        child_main(args.child)
        return
    page_sizes = [int(s) for s in args.page_sizes.split(",") if s.strip()]

    from xero_sandbox.testing import run_sandbox

    rid = common.run_id()
    results = []
    with common.private_database(args.db, rid) as database_url, run_sandbox({"SANDBOX_LIMITS": "real"}) as sb:
        started = time.perf_counter()
        tenant_id = sb.generate_org(f"Bench Org {rid}", args.contacts)
        generated = time.perf_counter() - started
        config = common.app_config(database_url, rid, XERO_CLIENT_ID=sb.client_id,
                                   XERO_CLIENT_SECRET=sb.client_secret, XERO_LOGIN_URL=sb.url,
                                   XERO_IDENTITY_URL=sb.url, XERO_API_URL=sb.url)
        app = common.make_app(config, migrate=True)
        connection_id = common.store_connection(app, sb, tenant_id)
        child_cfg = {"app": config, "connection_id": connection_id, "tenant_id": tenant_id}
        limiter = sb.sandbox.limiter
        real_limits = dict(limiter.limits)
        try:
            for size in page_sizes:
                limiter.reset()
                timed = in_child(child_cfg, size, relaxed=False)
                limiter.reset()
                limiter.limits.update(minute=RELAXED, day=RELAXED, app_minute=RELAXED)
                memory = in_child(child_cfg, size, relaxed=True)
                limiter.limits.clear()
                limiter.limits.update(real_limits)
                timed.update(peak_mb=memory["peak_mb"], retained_mb=memory["retained_mb"],
                             relaxed_wall=memory["wall"])
                results.append(timed)
                print(f"pageSize {size}: {timed['calls']} calls, {timed['wall']:.1f}s", flush=True)
            rejected = dict(limiter.rejected)
        finally:
            from webapp.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            common.drop_redis_keys(config["REDIS_URL"], config["REDIS_KEY_PREFIX"])
    report(results, args, generated, rejected)


def report(results: list[dict], args, generated: float, rejected: dict) -> None:
    headers = ["pageSize", "contacts read", "calls", "wall s (real limits)", "waiting for pacing s",
               "HTTP per page ms mean / p95 / max", "wall s (no limits)", "peak MiB", "list retains MiB"]
    rows = []
    for r in results:
        http = sorted(r["http"])
        p95 = http[min(len(http) - 1, int(round(0.95 * (len(http) - 1))))] if http else 0.0
        rows.append([r["page_size"], f"{r['contacts']:,}", r["calls"], f"{r['wall']:.1f}", f"{r['wait']:.1f}",
                     f"{statistics.mean(http) * 1000:.0f} / {p95 * 1000:.0f} / {http[-1] * 1000:.0f}" if http else "—",
                     f"{r['relaxed_wall']:.1f}", f"{r['peak_mb']:.1f}", f"{r['retained_mb']:.1f}"])
    print(common.text_table(headers, rows))
    print(f"organisation generated in {generated:.1f}s; 429s from the sandbox's limiter: {rejected or 'none'}")
    notes = (
        f"Organisation of {args.contacts:,} generated contacts (ARCHIVED ones are left out of the default "
        f"listing), generated by the sandbox in {generated:.1f} s. Socket's XeroClient.paged() with "
        "send_page_size; sandbox limits REAL for the timed pass (fresh window per page size), relaxed for the "
        "memory pass (tracemalloc, Python allocations only). *waiting for pacing* is the time spent in the "
        "Redis pacer before calls; each pass runs in its own process; HTTP per page includes the sandbox "
        "answering (same machine, 2 cores). 429s from the "
        f"sandbox's limiter during the run: {rejected or 'none'}.")
    if not args.no_write:
        common.write_section("sandbox_contacts", "Sandbox contacts: paging a large organisation",
                             common.markdown_table(headers, rows) + "\n\n" + notes)
    print(" ".join(f"calls_{r['page_size']}={r['calls']} wall_s_{r['page_size']}={r['wall']:.1f}" for r in results)
          + f" limit_429={sum(rejected.values()) if rejected else 0}")


if __name__ == "__main__":
    main()
