"""Posting a month's invoices to Xero under Xero's real limits: calls against the minimum, 429s, wall time, memory.

Issue 10's "Done when": bench/ reports Xero calls and wall time to post 2,000 invoices to the sandbox with real limits
on, against the minimum (ceil(2,000 / 50) = 40 create calls), with 0 unhandled 429s.

Set-up (untimed), on a private PostgreSQL database built from the migrations and the sandbox in-process (loopback,
REAL limits: 60 calls/min, 5 concurrent, 5,000/day per organisation):
  organisation  the sandbox's generator (`sb.generate_org`): `--contacts` contacts (2% archived), the demo chart of
                accounts (200 Sales, 220 Payroll Services, ... with OUTPUT2), the UK tax rates and one theme.
  practice      `--invoices` clients, each with the exact name of a distinct ACTIVE contact and linked to it as a
                person links one (ClientContactLink linked, rule stored, is_manual: matching keeps it and the sync
                writes no ContactNumber, so the sync before posting costs no contact writes), plus `--new-contacts`
                clients whose names are nowhere in Xero (matching leaves them unmatched with no candidate, so
                posting creates their contacts). Every client has Monthly Bookkeeping (account code: the
                practice's recurring default, 200); 30% also have Payroll (its own code, 220): one invoice each,
                of one or two lines.
  sync          one SyncRun through the job's path (`jobs.sync_reference.run_reference_sync`, in a child process
                as a worker runs it): reference data, the contacts pull, matching, contact details, and its own
                posting/status steps (nothing to post yet). Pre-flight then has the mirror.
  invoices      the month's Billing Plan approved with `webapp.services.billing.approval.approve_plan` (the real
                approval: plan built, invoices and lines raised, ledger written; it does not queue posting).
Timed: posting run 1 — a queued InvoicePostingRun run by the worker's job `jobs.post_invoices.run_posting`
(-> `webapp.sync.invoice_posting.post_outstanding`) in a child process, straight after the sync (`--gap` seconds
later, default 0, so the sync's calls are still in the rolling minute the posting's calls count against); then
posting run 2 straight after it, with nothing outstanding. Every HTTP request of the child is recorded (wrapping
requests), and every wait for a pacing slot (wrapping Pacer.acquire). The sandbox's own counts
(`/_sandbox/state`: calls_per_org, rate_limited) are read before and after each run.

Checks: the sandbox holds exactly one invoice per Socket invoice (by Reference, with the InvoiceID Socket recorded)
and no other; unhandled 429s are invoices left outstanding after run 1 because of a rate limit (the run stopped
on a limit, or an invoice's last error names one).

SQL: the posting process counts its statements (a before_cursor_execute listener) and names the most repeated
shapes, since the run's time is mostly Socket's own work with the database, not Xero.

Memory: the timed run's process reports its peak RSS (ru_maxrss) before and after posting. A second, identical
organisation and practice are then synced and posted the same way with the posting process under tracemalloc
(peak Python allocations from the job's start, no statement counting), so the timings carry no tracemalloc overhead
(about 4x here). About 5 minutes at the defaults, 3.5 of them the tracemalloc repeat (`--skip-memory` leaves it
out: about 1.5 minutes).

Usage: /work/main/.venv/bin/python bench/invoice_posting.py [--invoices 2000] [--contacts 2500]
       [--new-contacts 0] [--gap 0] [--skip-memory] [--no-write]
"""
from __future__ import annotations

import argparse
import collections
import gc
import json
import math
import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import date
from decimal import Decimal

import _common as common

CHILD_TIMEOUT = 1800  # seconds for one child (a sync or a posting run)
SEED = 10
REFERENCE = ("Accounts", "BrandingThemes", "TaxRates", "Organisation")
SERVICES = [  # name, method, price, account code (None: the practice's recurring default)
    ("Monthly Bookkeeping", "monthly", "250.00", None),
    ("Payroll", "monthly", "120.00", "220"),
]
PAYROLL_SHARE = 0.3
NEW_NAMES = ["Quillon", "Yarrowby", "Zephyrine", "Vantablu", "Orrisfold", "Kestrova", "Umberlyn", "Jacquard"]


# -- the practice ------------------------------------------------------------------------------------------------
def seed_practice(app, practice_id: int, contacts: list[dict], invoices: int, new_contacts: int,
                  rng: random.Random) -> int:
    """Clients linked to `invoices` distinct active contacts plus `new_contacts` not in Xero, each with a monthly
    engagement (some two); the practice's billing settings, pricing menu and an owner. Returns the user id."""
    from webapp.extensions import db
    from webapp.models import (
        BillingSettings,
        Client,
        ClientContactLink,
        ClientStatus,
        Engagement,
        LinkOutcome,
        PricingMenu,
        Service,
        User,
    )

    active = [c for c in contacts if c.get("ContactStatus", "ACTIVE") == "ACTIVE"]
    if invoices > len(active):
        raise SystemExit(f"--invoices {invoices} needs at least that many active contacts; the organisation has "
                         f"{len(active)} (raise --contacts)")
    chosen = rng.sample(active, invoices)
    with app.app_context():
        user = User(practice_id=practice_id, email=f"owner-{common.run_id()}@bench.test", name="Owner", role="owner",
                    password_hash="x")
        menu = PricingMenu(practice_id=practice_id, name="2026/27 Pricing", is_active=True)
        db.session.add_all([user, menu, BillingSettings(practice_id=practice_id, recurring_account_code="200",
                                                        one_off_account_code="260")])
        db.session.flush()
        services = []
        for position, (name, method, price, code) in enumerate(SERVICES):
            service = Service(practice_id=practice_id, pricing_menu_id=menu.id, name=name, billing_method=method,
                              price=Decimal(price), account_code=code, position=position)
            db.session.add(service)
            services.append(service)
        db.session.flush()
        rows = [{"practice_id": practice_id, "code": f"C{n + 1:05d}", "name": contact["Name"],
                 "status": ClientStatus.ACTIVE.value} for n, contact in enumerate(chosen)]
        rows += [{"practice_id": practice_id, "code": f"N{n + 1:05d}",
                  "name": f"{NEW_NAMES[n % len(NEW_NAMES)]} {NEW_NAMES[(n // len(NEW_NAMES)) % len(NEW_NAMES)]} "
                          f"Bench Newco {n + 1:05d}", "status": ClientStatus.ACTIVE.value}
                 for n in range(new_contacts)]
        db.session.execute(db.insert(Client), rows)
        ids = dict(db.session.execute(db.select(Client.code, Client.id).filter_by(practice_id=practice_id)).all())
        db.session.execute(db.insert(ClientContactLink), [
            {"practice_id": practice_id, "client_id": ids[f"C{n + 1:05d}"], "contact_id": contact["ContactID"],
             "outcome": LinkOutcome.LINKED.value, "rule": "stored", "reason": "Linked by a person.",
             "candidate_ids": [], "is_manual": True, "decided_by_id": user.id}
            for n, contact in enumerate(chosen)])
        start = date(2025, 4, 1)
        engagements = []
        for client_id in ids.values():
            for service in services[:2] if rng.random() < PAYROLL_SHARE else services[:1]:
                engagements.append({"practice_id": practice_id, "client_id": client_id, "service_id": service.id,
                                    "price": service.price, "start_date": start, "end_date": None})
        db.session.execute(db.insert(Engagement), engagements)
        db.session.commit()
        user_id = user.id
        db.session.remove()
    return user_id


def practice_of(app, connection_id: int) -> int:
    from webapp.extensions import db
    from webapp.models import XeroConnection

    with app.app_context():
        practice_id = db.session.get(XeroConnection, connection_id).practice_id
        db.session.remove()
    return practice_id



def queue_posting(app, practice_id: int) -> int:
    """A queued InvoicePostingRun for everything outstanding, as start_posting writes it (without RQ)."""
    from webapp.extensions import db
    from webapp.models import InvoicePostingRun, PostingRunStatus

    with app.app_context():
        run = InvoicePostingRun(practice_id=practice_id, trigger="manual", status=PostingRunStatus.QUEUED.value,
                                progress="Waiting for the worker", counts={}, xero_calls=0)
        db.session.add(run)
        db.session.commit()
        run_id = run.id
        db.session.remove()
    return run_id


def approve(app, practice_id: int, user_id: int, period: date) -> dict:
    from webapp.extensions import db
    from webapp.services.billing.approval import approve_plan

    with app.app_context():
        started = time.perf_counter()
        result = approve_plan(practice_id, period, user_id)
        seconds = time.perf_counter() - started
        out = {"outcome": result.outcome.value, "invoices": result.invoice_count, "seconds": seconds}
        db.session.remove()
    if out["outcome"] != "approved":
        raise RuntimeError(f"approval of {period} was {out['outcome']}")
    return out


def socket_invoices(app, practice_id: int) -> list[dict]:
    from webapp.extensions import db
    from webapp.models import Invoice, InvoiceLine, InvoicePosting
    from webapp.sync.invoice_payload import reference_for

    with app.app_context():
        lines = collections.Counter(db.session.execute(
            db.select(InvoiceLine.invoice_id).join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .filter(Invoice.practice_id == practice_id)).scalars())
        rows = db.session.execute(
            db.select(Invoice, InvoicePosting).outerjoin(InvoicePosting, InvoicePosting.invoice_id == Invoice.id)
            .filter(Invoice.practice_id == practice_id).order_by(Invoice.id)).all()
        out = [{"id": inv.id, "number": inv.number, "status": inv.status, "xero_id": inv.xero_invoice_id,
                "reference": (posting.sent_reference if posting and posting.sent_reference
                              else reference_for(inv.period, inv.number)),
                "last_error": posting.last_error if posting else None,
                "held": posting.held_reason if posting else None, "lines": lines[inv.id]} for inv, posting in rows]
        db.session.remove()
    return out


# -- a job in a child process -------------------------------------------------------------------------------------
class StatementCounter(common.SqlCounter):
    """common.SqlCounter, shaping only each statement's first 400 characters (its shape is cut at 160 anyway),
    so counting tens of thousands of statements costs the timed run well under a second."""

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        super()._on_execute(conn, cursor, statement[:400], parameters, context, executemany)


def _kind(method: str, url: str, params) -> str:
    path = url.split("?", 1)[0]
    if "/api.xro/2.0/" in path:
        name = path.split("/api.xro/2.0/", 1)[1].strip("/").split("/")[0]
        if name in REFERENCE:
            return "reference"
        if name == "Invoices" and method == "GET":
            where = (params or {}).get("where", "") if isinstance(params, dict) else ""
            return "GET Invoices (lookup)" if ("IDs" in (params or {}) or "Reference" in where) \
                else "GET Invoices (status)"
        return f"{method} {name}"
    return "token" if path.endswith("/connect/token") else f"{method} {path}"


def _rss_mb() -> float:
    """This process's resident set now (MiB), from /proc (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_job(app, job: str, run_id: int, trace: bool) -> dict:
    """Run a queued SyncRun ("sync") or InvoicePostingRun ("post") through the worker's job function, recording
    every HTTP request and every wait for a pacing slot."""
    import requests

    from webapp.extensions import db
    from webapp.models import InvoicePostingRun, SyncRun
    from webapp.xero.pacing import Pacer

    calls: list[tuple[str, int, float]] = []
    waits: list[float] = []
    request, acquire = requests.Session.request, Pacer.acquire

    def recorded_request(self, method, url, *args, **kwargs):
        started = time.perf_counter()
        status = 0
        try:
            response = request(self, method, url, *args, **kwargs)
            status = response.status_code
            return response
        finally:
            calls.append((_kind(method.upper(), url, kwargs.get("params")), status, time.perf_counter() - started))

    def timed_acquire(self):
        started = time.perf_counter()
        try:
            return acquire(self)
        finally:
            waits.append(time.perf_counter() - started)

    if job == "sync":
        from jobs.sync_reference import run_reference_sync as function
        model = SyncRun
    else:
        from jobs.post_invoices import run_posting as function
        model = InvoicePostingRun
    requests.Session.request, Pacer.acquire = recorded_request, timed_acquire
    try:
        with app.app_context():
            gc.collect()
            rss_before = _rss_mb()
            if trace:
                tracemalloc.start()
                base = tracemalloc.get_traced_memory()[0]
            started = time.perf_counter()
            statements = StatementCounter(db.engine)
            if trace:  # no statement counting under tracemalloc: its allocations are not the job's
                status = function(run_id)
            else:
                with statements:
                    status = function(run_id)
            wall = time.perf_counter() - started
            peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20 if trace else None
            if trace:
                tracemalloc.stop()
            rss_after = _rss_mb()
            high_water = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            run = db.session.get(model, run_id)
            out = {"status": status, "error": run.error, "xero_calls": run.xero_calls, "counts": run.counts,
                   "wall": wall, "peak_mb": peak, "rss_before": rss_before, "rss_after": rss_after,
                   "rss_peak": high_water,
                   "wait": sum(waits), "waits_over_10ms": sum(1 for w in waits if w > 0.01),
                   "longest_wait": max(waits, default=0.0), "statements": statements.count,
                   "top_shapes": statements.shapes.most_common(5)}
            db.session.remove()
    finally:
        requests.Session.request, Pacer.acquire = request, acquire
    out.update(kinds=dict(collections.Counter(kind for kind, _, _ in calls)),
               http_429=sum(1 for _, status, _ in calls if status == 429),
               http_time=sum(seconds for kind, _, seconds in calls if kind != "token"),
               http_errors=sum(1 for _, status, _ in calls if status == 0 or status >= 500),
               put_seconds=[round(s, 3) for kind, status, s in calls if kind == "PUT Invoices"])
    return out


def in_child(cfg: dict, job: str, run_id: int, trace: bool) -> dict:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(
        {**cfg, "job": job, "run_id": run_id, "trace": trace})], capture_output=True, text=True,
        timeout=CHILD_TIMEOUT, cwd=common.REPO_ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{job} run {run_id} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall"] = time.perf_counter() - started
    return out


def child_main(raw: str) -> None:
    cfg = json.loads(raw)
    app = common.make_app(cfg["app"])
    print(json.dumps(run_job(app, cfg["job"], cfg["run_id"], cfg["trace"])))


# -- checks --------------------------------------------------------------------------------------------------------
def exactly_once(sb, tenant_id: str, invoices: list[dict]) -> dict:
    """Compare the sandbox's invoices with Socket's, by Reference."""
    held = collections.defaultdict(list)
    for doc in sb.invoices(tenant_id=tenant_id):
        held[(doc.get("Reference") or "").strip().casefold()].append(doc)
    posted = [i for i in invoices if i["status"] == "posted"]
    missing = duplicated = wrong_id = 0
    for invoice in posted:
        docs = held.get(invoice["reference"].strip().casefold(), [])
        if not docs:
            missing += 1
        elif len(docs) > 1:
            duplicated += 1
        elif str(docs[0].get("InvoiceID", "")).lower() != (invoice["xero_id"] or "").lower():
            wrong_id += 1
    ours = {i["reference"].strip().casefold() for i in invoices}
    unposted_in_xero = sum(1 for i in invoices if i["status"] != "posted"
                           and held.get(i["reference"].strip().casefold()))
    strangers = sum(len(docs) for ref, docs in held.items() if ref not in ours)
    ok = (len(posted) == len(invoices) and not (missing or duplicated or wrong_id or unposted_in_xero or strangers))
    return {"ok": ok, "xero_invoices": sum(len(d) for d in held.values()), "posted": len(posted), "missing": missing,
            "duplicated": duplicated, "wrong_id": wrong_id, "unposted_in_xero": unposted_in_xero,
            "strangers": strangers}


def unhandled_429(run: dict, invoices: list[dict]) -> int:
    """Invoices left outstanding after the run because of a rate limit."""
    outstanding = [i for i in invoices if i["status"] in ("raised", "posting", "held")]
    stopped_on_limit = bool(run["error"]) and "limit" in run["error"].lower()
    if stopped_on_limit:
        return len(outstanding)
    return sum(1 for i in outstanding if "limit" in ((i["last_error"] or "") + (i["held"] or "")).lower())


# -- the run -------------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=2_000, help="clients linked to a contact: one invoice each")
    parser.add_argument("--contacts", type=int, default=2_500, help="contacts the organisation is generated with")
    parser.add_argument("--new-contacts", type=int, default=0,
                        help="extra clients not in Xero, whose contacts posting creates (one invoice each)")
    parser.add_argument("--gap", type=float, default=0.0, help="seconds between the sync's end and posting run 1")
    parser.add_argument("--skip-memory", action="store_true", help="leave out the tracemalloc practice")
    common.add_run_arguments(parser)
    args = parser.parse_args()
    if args.child:
        child_main(args.child)
        return

    from xero_sandbox.testing import run_sandbox

    rid = common.run_id()
    names = ["timed"] + ([] if args.skip_memory else ["memory"])
    scenarios: dict[str, dict] = {name: {} for name in names}
    total_started = time.perf_counter()
    with common.private_database(args.db, rid) as database_url, run_sandbox({"SANDBOX_LIMITS": "real"}) as sb:
        started = time.perf_counter()
        for name, scenario in scenarios.items():
            scenario["tenant_id"] = sb.generate_org(f"Bench Posting {rid} {name}", args.contacts)
        generated = time.perf_counter() - started
        config = common.app_config(database_url, rid, XERO_CLIENT_ID=sb.client_id,
                                   XERO_CLIENT_SECRET=sb.client_secret, XERO_LOGIN_URL=sb.url,
                                   XERO_IDENTITY_URL=sb.url, XERO_API_URL=sb.url)
        app = common.make_app(config, migrate=True)
        period = date.today().replace(day=1)
        try:
            for name, scenario in scenarios.items():
                tenant_id = scenario["tenant_id"]
                contacts = [json.loads(row["doc"]) for row in sb.sandbox.store.query(
                    "SELECT doc FROM contacts WHERE tenant_id=? ORDER BY name_key", [tenant_id])]
                connection_id = common.store_connection(app, sb, tenant_id)
                practice_id = scenario["practice_id"] = practice_of(app, connection_id)
                user_id = seed_practice(app, practice_id, contacts, args.invoices, args.new_contacts,
                                        random.Random(SEED))
                sb.sandbox.limiter.reset()  # the consent's calls are not the benchmark's
                run_id = common.queue_sync_run(app, practice_id, "manual")
                scenario["sync"] = in_child({"app": config}, "sync", run_id, trace=False)
                sync = scenario["sync"]
                print(f"sync ({name}): {sync['status']}, {sync['xero_calls']} Xero calls {sync['kinds']}, "
                      f"{sync['wall']:.1f}s", flush=True)
                if sync["status"] != "succeeded":
                    raise RuntimeError(f"sync ({name}) {sync['status']}: {sync['error']}")
                sync_ended = time.monotonic()
                scenario["approval"] = approve(app, practice_id, user_id, period)
                print(f"approval ({name}): {scenario['approval']['invoices']} invoices raised in "
                      f"{scenario['approval']['seconds']:.1f}s", flush=True)
                time.sleep(max(0.0, sync_ended + args.gap - time.monotonic()))
                scenario["runs"] = []
                for number in (1, 2):
                    state_before = sb.state()
                    scenario["since_sync"] = time.monotonic() - sync_ended if number == 1 else scenario["since_sync"]
                    result = in_child({"app": config}, "post", queue_posting(app, practice_id),
                                      trace=name == "memory" and number == 1)
                    state_after = sb.state()
                    result["sandbox_calls"] = (state_after["calls_per_org"].get(tenant_id, 0)
                                               - state_before["calls_per_org"].get(tenant_id, 0))
                    result["refused"] = {k: v - state_before["rate_limited"].get(k, 0)
                                         for k, v in state_after["rate_limited"].items()
                                         if v - state_before["rate_limited"].get(k, 0)}
                    invoices = socket_invoices(app, practice_id)
                    result["outstanding"] = sum(1 for i in invoices if i["status"] != "posted")
                    result["unhandled_429"] = unhandled_429(result, invoices)
                    result["check"] = exactly_once(sb, tenant_id, invoices)
                    scenario["runs"].append(result)
                    print(f"posting run {number} ({name}): {result['status']}, {result['xero_calls']} Xero calls "
                          f"{result['kinds']}, {result['wall']:.1f}s, counts "
                          f"{ {k: v for k, v in result['counts'].items() if k != 'warnings'} }", flush=True)
                    if result["error"]:
                        print(f"  stopped: {result['error']}", flush=True)
                scenario["lines"] = collections.Counter(i["lines"] for i in invoices)
                scenario["invoices"] = len(invoices)
        finally:
            from webapp.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            common.drop_redis_keys(config["REDIS_URL"], config["REDIS_KEY_PREFIX"])
    report(scenarios, args, generated, time.perf_counter() - total_started)


# -- the table -----------------------------------------------------------------------------------------------------
def _statement(shape: str) -> str:
    """A short name for a statement shape: its verb and table."""
    words = shape.split()
    verb = words[0].upper() if words else "?"
    if verb == "SELECT" and "FROM" in words:
        return f"SELECT {words[words.index('FROM') + 1]}"
    if verb == "SELECT" and len(words) > 1 and "." in words[1]:  # the shape is cut before FROM: the first column's
        return f"SELECT {words[1].split('.')[0]}"  # table
    if verb in ("UPDATE", "DELETE", "INSERT"):
        rest = [w for w in words[1:] if w.upper() not in ("INTO", "FROM")]
        return f"{verb} {rest[0] if rest else ''}".strip()
    return verb


def _shapes(r: dict) -> str:
    return ", ".join(f"{_statement(shape)} ×{n:,}" for shape, n in r["top_shapes"])


def report(scenarios: dict, args, generated: float, total: float) -> None:
    timed = scenarios["timed"]
    first, second = timed["runs"]
    memory = scenarios.get("memory")
    invoices = timed["invoices"]
    minimum = math.ceil(invoices / 50)
    new_minimum = math.ceil(args.new_contacts / 50)

    def kind(r: dict, name: str) -> int:
        return r["kinds"].get(name, 0)

    def api_calls(r: dict) -> int:
        return sum(n for k, n in r["kinds"].items() if k != "token")

    def other(r: dict) -> dict:
        known = ("PUT Invoices", "GET Invoices (lookup)", "POST Contacts", "PUT Contacts", "token")
        return {k: n for k, n in r["kinds"].items() if k not in known}

    def fmt_other(r: dict) -> str:
        rest = other(r)
        return str(sum(rest.values())) + (f" ({', '.join(f'{k} {n}' for k, n in rest.items())})" if rest else "")

    def posted(r: dict) -> int:
        return r["counts"].get("posted", 0) + r["counts"].get("found_after_unknown", 0)

    def refused(r: dict) -> str:
        return str(sum(r["refused"].values())) + (f" ({', '.join(f'{k} {n}' for k, n in r['refused'].items())})"
                                                  if r["refused"] else "")

    def total_calls(r: dict) -> str:
        n = api_calls(r)
        extra = [] if n == r["xero_calls"] else [f"run.xero_calls {r['xero_calls']}"]
        if r["sandbox_calls"] != n:
            extra.append(f"sandbox counted {r['sandbox_calls']}")
        return str(n) + (f" ({'; '.join(extra)})" if extra else "")

    check = first["check"]
    check_text = "PASS" if check["ok"] else "FAIL"
    check_detail = (f"{check['xero_invoices']:,} invoices in Xero for {invoices:,} in Socket ({check['posted']:,} "
                    f"posted; missing {check['missing']}, duplicated {check['duplicated']}, other InvoiceID "
                    f"{check['wrong_id']}, in Xero but not posted {check['unposted_in_xero']}, not Socket's "
                    f"{check['strangers']})")
    puts = first["put_seconds"]
    headers = ["", "posting run 1", "posting run 2 (nothing outstanding)", "target"]
    contact_target = (f"{new_minimum} = ⌈{args.new_contacts:,} new / 50⌉" if args.new_contacts else "0 (all linked)")
    rows = [
        ["invoices posted (of outstanding)", f"{posted(first):,} of {invoices:,}",
         f"{posted(second):,} of {first['outstanding']:,}", f"{invoices:,}; then 0"],
        ["Xero API calls", total_calls(first), total_calls(second),
         f"{minimum + new_minimum}; then 0 or 1"],
        ["  PUT Invoices (create batches)", kind(first, "PUT Invoices"), kind(second, "PUT Invoices"),
         f"{minimum} = ⌈{invoices:,} / 50⌉"],
        ["  GET Invoices lookups (unknown outcomes)", kind(first, "GET Invoices (lookup)"),
         kind(second, "GET Invoices (lookup)"), "0"],
        ["  contact calls (POST/PUT Contacts)", kind(first, "POST Contacts") + kind(first, "PUT Contacts"),
         kind(second, "POST Contacts") + kind(second, "PUT Contacts"), contact_target],
        ["  other API calls", fmt_other(first), fmt_other(second), "0"],
        ["contacts created", first["counts"].get("contacts_created", 0), second["counts"].get("contacts_created", 0),
         f"{args.new_contacts:,}"],
        ["held / refused by Xero / unknown outcome",
         f"{first['counts'].get('held', 0)} / {first['counts'].get('failed', 0)} / {first['counts'].get('unknown', 0)}",
         f"{second['counts'].get('held', 0)} / {second['counts'].get('failed', 0)} / "
         f"{second['counts'].get('unknown', 0)}", "0 / 0 / 0"],
        ["429s received by Socket / refused by the sandbox", f"{first['http_429']} / {refused(first)}",
         f"{second['http_429']} / {refused(second)}", "—"],
        ["unhandled 429s (invoices left outstanding by a limit)", first["unhandled_429"], second["unhandled_429"], "0"],
        ["invoices outstanding after the run", first["outstanding"], second["outstanding"], "0"],
        ["sandbox holds each invoice exactly once", check_text, "PASS" if second["check"]["ok"] else "FAIL", "PASS"],
        ["token endpoint calls", kind(first, "token"), kind(second, "token"), "—"],
        ["wall s (the job)", f"{first['wall']:.1f}", f"{second['wall']:.2f}", "—"],
        ["  of which waiting for a pacing slot s", f"{first['wait']:.1f} (longest {first['longest_wait']:.1f})",
         f"{second['wait']:.1f}", "—"],
        ["  of which Xero HTTP s (sandbox answering)", f"{first['http_time']:.1f}", f"{second['http_time']:.2f}", "—"],
        ["  PUT /Invoices s per call (mean / max)",
         f"{sum(puts) / len(puts):.2f} / {max(puts):.2f}" if puts else "—", "—", "—"],
        ["  SQL statements (per invoice)", f"{first['statements']:,} ({first['statements'] / max(invoices, 1):.1f})",
         f"{second['statements']:,}", "—"],
        ["process wall s (with interpreter and app start)", f"{first['process_wall']:.1f}",
         f"{second['process_wall']:.1f}", "—"],
        ["RSS MiB of the posting process: before → after the job (process peak)",
         f"{first['rss_before']:.0f} → {first['rss_after']:.0f} ({first['rss_peak']:.0f})",
         f"{second['rss_before']:.0f} → {second['rss_after']:.0f} ({second['rss_peak']:.0f})", "—"],
    ]
    if memory:
        mem_first = memory["runs"][0]
        rows.append(["peak Python MiB (tracemalloc, identical run)", f"{mem_first['peak_mb']:.1f}", "—", "—"])
        rows.append(["wall s under tracemalloc", f"{mem_first['wall']:.1f}", "—", "—"])
    print(common.text_table(headers, rows))
    sync = timed["sync"]
    lines = timed["lines"]
    notes = [
        f"Organisation: the sandbox's generator, {args.contacts:,} contacts (2% archived; generated in "
        f"{generated:.1f} s), the demo chart and UK tax rates. Practice: {invoices - args.new_contacts:,} clients "
        f"each linked to a distinct active contact by a person (ClientContactLink linked, rule stored, manual)"
        + (f" and {args.new_contacts:,} clients not in Xero (posting creates their contacts)" if args.new_contacts
           else "") + "; Monthly Bookkeeping for all, Payroll for about 30%: "
        + ", ".join(f"{n:,} invoices of {k} line{'s' if k != 1 else ''}" for k, n in sorted(lines.items()))
        + f". The month's plan approved with `approve_plan` ({timed['approval']['invoices']:,} invoices raised in "
        f"{timed['approval']['seconds']:.1f} s), status DRAFT (the default).",
        f"Before posting, one sync run through the worker's job (`jobs.sync_reference.run_reference_sync`, child "
        f"process): {sync['xero_calls']} Xero calls ("
        + ", ".join(f"{k} {n}" for k, n in sync["kinds"].items()) + f"), {sync['wall']:.1f} s. Posting run 1 "
        f"started {timed['since_sync']:.1f} s after that sync ended (`--gap {args.gap:g}`), so the sync's calls "
        "still counted in the rolling minute.",
        "Each posting run is a queued InvoicePostingRun run by the worker's job `jobs.post_invoices.run_posting` "
        "(-> `post_outstanding`) in a process of its own, run 2 straight after run 1; sandbox limits REAL (60/min, "
        "5 concurrent, 5,000/day per organisation), Socket's Redis pacer with its real limits. Calls are the HTTP "
        "requests of that process to the Accounting API (retries included; token calls apart); *refused by the "
        "sandbox* is the sandbox's own `rate_limited` count (`/_sandbox/state`), and its `calls_per_org` is "
        "compared with Socket's count. Exactly once: " + check_detail + ".",
        f"Where run 1's time goes: {first['http_time']:.1f} s of its {first['wall']:.1f} s is Xero answering and "
        f"{first['wait']:.1f} s waiting for pacing; the rest is Socket's own work with the database, "
        f"{first['statements']:,} SQL statements (counted with a before_cursor_execute listener in the posting "
        f"process), most repeated: {_shapes(first)}.",
        f"Database: PostgreSQL (private, from the migrations). Whole benchmark {total:.0f} s.",
    ]
    if memory:
        same = memory["runs"][0]["kinds"] == first["kinds"]
        notes.append("Peak Python memory is from a second organisation and practice made the same way, synced and "
                     "posted the same way with the posting process under tracemalloc (Python allocations from the "
                     "job's start); its calls " + ("were the same, kind for kind." if same else
                                                   f"DIFFERED: {memory['runs'][0]['kinds']}."))
    print("\n".join(notes))
    if not args.no_write:
        common.write_section("invoice_posting", "Invoice posting: Xero calls and time to post a month's invoices",
                             common.markdown_table(headers, rows) + "\n\n" + "\n\n".join(notes))
    print(f"invoice_posting_calls={api_calls(first)} minimum={minimum + new_minimum} "
          f"unhandled_429={first['unhandled_429']}")


if __name__ == "__main__":
    main()
