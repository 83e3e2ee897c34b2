"""The contact sync against a large organisation: Xero calls per sync run, 429s, wall time and memory.

The sandbox (in-process, loopback, REAL limits: 60 calls/min, 5 concurrent, 5,000/day per organisation)
generates an organisation of `--contacts` contacts (2% archived) with its own generator. A practice of
`--clients` clients is generated from that organisation's contacts with a realistic mix (most found by exact
name, some by a variant of it, company number, VAT number or email; a few that matching must send to review:
archived contacts, conflicting company numbers, two clients claiming one contact; about a third not in Xero)
and connected to it through the sandbox's consent. Then the real sync runs three times, each as the job
does it (a queued SyncRun, `jobs.sync_reference.run_reference_sync` -> webapp.sync.reference_sync): reference
data, the contacts pull, matching, ContactNumber stamping.
  sync 1   the first pull (pageSize 1000, includeArchived), every new automatic link's code written to Xero
  sync 2   `--gap` seconds after sync 1 ended (default 65: more than the pull's one-minute If-Modified-Since
           overlap); its pull re-reads the contacts sync 1 stamped, as writing ContactNumber changed their
           UpdatedDateUTC
  sync 3   straight after sync 2: the quiet sync
Per sync: Xero calls in total and by kind (GET Contacts pages, POST Contacts batches, reference data GETs),
429s Socket received and the sandbox's limiter refused, wall time of the job, time spent waiting for a pacing
slot, contacts the pull returned, links and clients linked / needing review / unmatched. Each sync runs in a
process of its own (as a worker's job would; the sandbox stays in this one). Peak Python memory (tracemalloc)
comes from a second identical organisation and practice whose three syncs run the same way under tracemalloc
after the timed ones, so the timings carry no tracemalloc overhead (about 3x here). About 3.5 minutes at the
defaults, two of them the --gap waits.

Targets (the issue): contacts pull calls for a first pull of 10,000 contacts = 10, for a quiet pull = 1;
ContactNumber stamping costs ceil(codes written / 50) POSTs.

Usage: /work/main/.venv/bin/python bench/contacts_sync.py [--contacts 10000] [--clients 2000] [--gap 65]
       [--db postgresql+psycopg://postgres@127.0.0.1:5432/postgres | --db postgresql]
Without --db the app's database is a temporary SQLite file; with a PostgreSQL URL (or `postgresql` for
BENCH_PG_SERVER_URL / the default local server) a scratch database bench_contacts_<random> is created on that
server from the Alembic migrations and dropped at the end.
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import gc
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc

import _common as common

CHILD_TIMEOUT = 1800  # seconds for one sync; large --clients under real limits wait minutes for pacing
SEED = 7
# What each client meets in Xero, with weights (percent of clients). "claim" makes two clients.
KINDS = [("exact name", 35), ("name variant", 12), ("company number", 8), ("vat number", 3), ("email", 7),
         ("archived", 1), ("conflict", 1), ("claim", 1), ("not in Xero", 32)]
PLACES = ["Abbey", "Birch", "Castle", "Copper", "Crown", "Elm", "Fern", "Heath", "Heron", "Holly", "Ivy", "Lark",
          "Maple", "Marsh", "Oak", "Pine", "Raven", "Rose", "Swan", "Wren"]
TRADES = ["Architects", "Cafe", "Care Home", "Electrical", "Florists", "Hotels", "Landscaping", "Lettings",
          "Motors", "Pharmacy", "Printing", "Removals", "Salon", "Solicitors", "Surveyors", "Travel", "Windows"]
SUFFIXES = ["Ltd", "Limited", "LLP", "", "& Co"]
REFERENCE = ("Accounts", "BrandingThemes", "TaxRates")


# -- database ------------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def scratch_database(db: str | None, rid: str):
    """Yield (URL, description) of a database for this run, removed afterwards whatever happens: a temporary
    SQLite file without `db`, else a database bench_contacts_<rid> on the PostgreSQL server `db` names."""
    import sqlalchemy as sa

    if not db or db == "sqlite":
        path = os.path.join(tempfile.gettempdir(), f"bench_contacts_{rid}.sqlite")
        try:
            yield f"sqlite:///{path}", "SQLite (temporary file)"
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        return
    server = sa.engine.make_url(os.environ.get("BENCH_PG_SERVER_URL", common.DEFAULT_PG_SERVER)
                                if db == "postgresql" else db)
    if not server.drivername.startswith("postgresql"):
        raise SystemExit(f"--db must be a PostgreSQL URL, 'postgresql' or 'sqlite', not {db!r}")
    name = f"bench_contacts_{rid}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False), "PostgreSQL (scratch database)"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- the practice's clients ------------------------------------------------------------------------------------------
class Taken:
    """Names, emails and numbers already in Xero (normalised), so a client 'not in Xero' really is not."""

    def __init__(self, contacts: list[dict]):
        from webapp.sync.normalise import normalise_company_number, normalise_name, normalise_vat_number

        self.names = {normalise_name(c["Name"]) for c in contacts}
        self.company_numbers = {normalise_company_number(c.get("CompanyNumber")) for c in contacts} - {None}
        self.vat_numbers = {normalise_vat_number(c.get("TaxNumber")) for c in contacts} - {None}

    def new_name(self, rng: random.Random) -> str:
        from webapp.sync.normalise import normalise_name

        for attempt in range(200):
            parts = [rng.choice(PLACES), rng.choice(PLACES) if attempt > 20 or rng.random() < 0.3 else "",
                     rng.choice(TRADES), rng.choice(SUFFIXES)]
            name = " ".join(p for p in parts if p)
            if attempt > 100:
                name = f"{name} {rng.randrange(10**6)}"
            if normalise_name(name) not in self.names:
                self.names.add(normalise_name(name))
                return name
        raise RuntimeError("could not make a client name that is not in Xero")

    def new_company_number(self, rng: random.Random) -> str:
        from webapp.sync.normalise import normalise_company_number

        while True:
            number = f"{rng.randrange(10**8):08d}"
            if normalise_company_number(number) not in self.company_numbers:
                self.company_numbers.add(number)
                return number


def _variant(name: str, rng: random.Random) -> str:
    """The same business as a person might have typed it in Socket (normalised, the same name)."""
    from webapp.sync.normalise import normalise_name

    options = [name.upper(), name.lower(), name.replace(" Ltd", " Limited"), name.replace(" Limited", " Ltd"),
               name.replace(" & ", " and "), name.replace(" and ", " & "), name.replace(" ", "  ", 1), name + "."]
    options = [o for o in options if o != name and normalise_name(o) == normalise_name(name)]
    return rng.choice(options) if options else name.upper()


def make_clients(contacts: list[dict], count: int, seed: int = SEED) -> tuple[list[dict], collections.Counter]:
    """`count` client rows (code, name, email, company_number, vat_number, postcode) and the mix of kinds."""
    from webapp.sync.normalise import normalise_company_number, normalise_vat_number

    rng = random.Random(seed)
    taken = Taken(contacts)
    active = [c for c in contacts if c.get("ContactStatus", "ACTIVE") == "ACTIVE"]
    pools = {
        "any": active,
        "company": [c for c in active if c.get("CompanyNumber")],
        "vat": [c for c in active if c.get("TaxNumber")],
        "archived": [c for c in contacts if c.get("ContactStatus", "ACTIVE") != "ACTIVE"],
    }
    for pool in pools.values():
        rng.shuffle(pool)
    used: set[str] = set()

    def pick(pool: str) -> dict | None:
        while pools[pool]:
            contact = pools[pool].pop()
            if contact["ContactID"] not in used:
                used.add(contact["ContactID"])
                return contact
        return None

    clients: list[dict] = []
    mix: collections.Counter[str] = collections.Counter()

    def add(kind: str, name: str, email: str | None = None, company_number: str | None = None,
            vat_number: str | None = None) -> None:
        n = len(clients)
        mix[kind] += 1
        clients.append({"code": f"C{n + 1:05d}", "name": name, "email": email or f"office@client{n + 1}.example",
                        "company_number": company_number, "vat_number": vat_number,
                        "postcode": f"LS{n % 30 + 1} {n % 9 + 1}AB"})

    while len(clients) < count:
        kind = rng.choices([k for k, _ in KINDS], weights=[w for _, w in KINDS])[0]
        pool = {"company number": "company", "conflict": "company", "vat number": "vat",
                "archived": "archived"}.get(kind, "any")
        contact = None if kind == "not in Xero" else pick(pool)
        if kind != "not in Xero" and contact is None:
            kind = "not in Xero"  # that pool is used up (a small organisation)
        if kind == "exact name":
            own_number = contact.get("CompanyNumber") if rng.random() < 0.5 else None
            add(kind, contact["Name"], contact.get("EmailAddress") if rng.random() < 0.5 else None, own_number)
        elif kind == "name variant":
            add(kind, _variant(contact["Name"], rng))
        elif kind == "company number":
            number = contact["CompanyNumber"]
            if rng.random() < 0.5 and normalise_company_number(number.lstrip("0")) == normalise_company_number(number):
                number = number.lstrip("0")  # typed without its leading zeros
            add(kind, taken.new_name(rng), company_number=number)
        elif kind == "vat number":
            vat = contact["TaxNumber"]
            spaced = f"{vat[:2]} {vat[2:5]} {vat[5:9]} {vat[9:]}"
            add(kind, taken.new_name(rng),
                vat_number=spaced if normalise_vat_number(spaced) == normalise_vat_number(vat) else vat)
        elif kind == "email":
            add(kind, taken.new_name(rng), email=contact["EmailAddress"].upper())
        elif kind == "archived":
            add(kind, contact["Name"])
        elif kind == "conflict":  # the same name, another company: review
            add(kind, contact["Name"], company_number=taken.new_company_number(rng))
        elif kind == "claim":  # two clients with one contact's name: review for both
            add(kind, contact["Name"])
            if len(clients) < count:
                add(kind, _variant(contact["Name"], rng))
        else:
            add(kind, taken.new_name(rng),
                company_number=taken.new_company_number(rng) if rng.random() < 0.4 else None)
    return clients, mix


def insert_clients(app, practice_id: int, clients: list[dict]) -> None:
    from webapp.extensions import db
    from webapp.models import Client, ClientStatus

    with app.app_context():
        db.session.execute(db.insert(Client), [{**c, "practice_id": practice_id, "status": ClientStatus.ACTIVE.value}
                                               for c in clients])
        db.session.commit()


def practice_of(app, connection_id: int) -> int:
    from webapp.extensions import db
    from webapp.models import XeroConnection

    with app.app_context():
        return db.session.get(XeroConnection, connection_id).practice_id



def links_by_rule(app, practice_id: int) -> dict[str, int]:
    from webapp.extensions import db
    from webapp.models import ClientContactLink, LinkOutcome

    link = ClientContactLink
    with app.app_context():
        rows = db.session.execute(db.select(link.rule, db.func.count()).filter(
            link.practice_id == practice_id, link.outcome == LinkOutcome.LINKED.value).group_by(link.rule)).all()
        db.session.remove()
    return {rule or "—": n for rule, n in sorted(rows, key=lambda r: -r[1])}


# -- one sync, in a process of its own ---------------------------------------------------------------------------
def _kind(method: str, url: str, body=None) -> str:
    path = url.split("?", 1)[0]
    if "/api.xro/2.0/" in path:
        name = path.split("/api.xro/2.0/", 1)[1].strip("/").split("/")[0]
        if name == "Contacts":
            # A POST of ContactIDs and ContactNumbers only is stamping; any other is a two-way details update.
            contacts = (body or {}).get("Contacts") or [] if isinstance(body, dict) else []
            details = method == "POST" and not all(set(c) <= {"ContactID", "ContactNumber"} for c in contacts)
            return f"{method} Contacts (details)" if details else f"{method} Contacts"
        return "reference" if name in REFERENCE else f"{method} {name}"
    return "token" if path.endswith("/connect/token") else f"{method} {path}"


def run_sync(app, run_id: int, trace: bool) -> dict:
    """Run SyncRun `run_id` through the job's function, recording every HTTP request and pacing wait."""
    import requests

    from jobs.sync_reference import run_reference_sync
    from webapp.extensions import db
    from webapp.models import SyncRun
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
            calls.append((_kind(method.upper(), url, kwargs.get("json")), status, time.perf_counter() - started))

    def timed_acquire(self):
        started = time.perf_counter()
        try:
            return acquire(self)
        finally:
            waits.append(time.perf_counter() - started)

    requests.Session.request, Pacer.acquire = recorded_request, timed_acquire
    try:
        with app.app_context():
            gc.collect()
            if trace:
                tracemalloc.start()
                base = tracemalloc.get_traced_memory()[0]
            started = time.perf_counter()
            status = run_reference_sync(run_id)
            wall = time.perf_counter() - started
            peak = (tracemalloc.get_traced_memory()[1] - base) / 2**20 if trace else None
            if trace:
                tracemalloc.stop()
            run = db.session.get(SyncRun, run_id)
            out = {"status": status, "error": run.error, "xero_calls": run.xero_calls, "counts": run.counts,
                   "wall": wall, "peak_mb": peak, "wait": sum(waits)}
            db.session.remove()
    finally:
        requests.Session.request, Pacer.acquire = request, acquire
    kinds = collections.Counter(kind for kind, _, _ in calls)
    out.update(kinds=dict(kinds), http_429=sum(1 for _, status, _ in calls if status == 429),
               http_time=sum(seconds for kind, _, seconds in calls if kind != "token"),
               http_errors=sum(1 for _, status, _ in calls if status == 0 or status >= 500))
    return out


def in_child(cfg: dict, run_id: int, trace: bool) -> dict:
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(
        {**cfg, "run_id": run_id, "trace": trace})], capture_output=True, text=True, timeout=CHILD_TIMEOUT,
        cwd=common.REPO_ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"SyncRun {run_id} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_main(raw: str) -> None:
    cfg = json.loads(raw)
    app = common.make_app(cfg["app"])
    print(json.dumps(run_sync(app, cfg["run_id"], cfg["trace"])))


# -- the run -----------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=10_000, help="contacts the organisation is generated with")
    parser.add_argument("--clients", type=int, default=2_000, help="clients in the practice")
    parser.add_argument("--gap", type=float, default=65.0,
                        help="seconds between the end of sync 1 and the start of sync 2 (0: back to back)")
    parser.add_argument("--db", help="PostgreSQL server URL, or 'postgresql' (BENCH_PG_SERVER_URL or the local "
                                     "server); a scratch database bench_contacts_<random> is made there. "
                                     "Default: a temporary SQLite file")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.child)
        return

    from xero_sandbox.testing import run_sandbox

    rid = common.run_id()
    scenarios = {"timed": {}, "memory": {}}
    with scratch_database(args.db, rid) as (database_url, db_label), \
            run_sandbox({"SANDBOX_LIMITS": "real"}) as sb:
        started = time.perf_counter()
        for name, scenario in scenarios.items():
            scenario["tenant_id"] = sb.generate_org(f"Bench Contacts {rid} {name}", args.contacts)
        generated = time.perf_counter() - started
        contacts = [json.loads(row["doc"]) for row in sb.sandbox.store.query(
            "SELECT doc FROM contacts WHERE tenant_id=? ORDER BY name_key", [scenarios["timed"]["tenant_id"]])]
        clients, mix = make_clients(contacts, args.clients)
        config = common.app_config(database_url, rid, XERO_CLIENT_ID=sb.client_id,
                                   XERO_CLIENT_SECRET=sb.client_secret, XERO_LOGIN_URL=sb.url,
                                   XERO_IDENTITY_URL=sb.url, XERO_API_URL=sb.url)
        app = common.make_app(config, migrate=True)
        for scenario in scenarios.values():
            connection_id = common.store_connection(app, sb, scenario["tenant_id"])
            scenario["practice_id"] = practice_of(app, connection_id)
            insert_clients(app, scenario["practice_id"], clients)
            scenario["runs"], scenario["ended"] = [], 0.0
        limiter = sb.sandbox.limiter
        limiter.reset()
        try:
            for name, scenario in scenarios.items():  # one after the other, so --gap is the gap
                for number, trigger in ((1, "connect"), (2, "manual"), (3, "manual")):
                    if number == 2:
                        time.sleep(max(0.0, scenario["ended"] + args.gap - time.monotonic()))
                    run_id = common.queue_sync_run(app, scenario["practice_id"], trigger)
                    refused_before = sum(limiter.rejected.values())
                    started = time.monotonic()
                    result = in_child({"app": config}, run_id, trace=name == "memory")
                    result["after"] = started - scenario["ended"] if number > 1 else None
                    scenario["ended"] = time.monotonic()
                    result["refused"] = sum(limiter.rejected.values()) - refused_before
                    scenario["runs"].append(result)
                    print(f"sync {number} ({name}): {result['status']}, {result['xero_calls']} Xero calls "
                          f"{result['kinds']}, {result['wall']:.1f}s", flush=True)
                    if result["status"] != "succeeded":
                        raise RuntimeError(f"sync {number} ({name}) {result['status']}: {result['error']}")
                    if number == 1 and name == "timed":
                        rules = links_by_rule(app, scenario["practice_id"])
        finally:
            from webapp.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            common.drop_redis_keys(config["REDIS_URL"], config["REDIS_KEY_PREFIX"])
    report(scenarios, args, generated, mix, rules, db_label, len(contacts))


# -- the table ---------------------------------------------------------------------------------------------------
def report(scenarios: dict, args, generated: float, mix: collections.Counter, rules: dict, db_label: str,
           contacts: int) -> None:
    runs, memory = scenarios["timed"]["runs"], scenarios["memory"]["runs"]

    def kind(r: dict, name: str) -> int:
        return r["kinds"].get(name, 0)

    def other(r: dict) -> int:
        named = ("GET Contacts", "POST Contacts", "POST Contacts (details)", "reference", "token")
        return sum(n for k, n in r["kinds"].items() if k not in named)

    def returned(r: dict) -> int:
        c = r["counts"]
        return c.get("contacts_new", 0) + c.get("contacts_changed", 0) + c.get("contacts_unchanged", 0) \
            + c.get("contacts_skipped", 0)

    def to_write(r: dict) -> int:
        c = r["counts"]
        return c.get("contact_numbers_written", 0) + c.get("contact_numbers_failed", 0)

    def total(r: dict) -> str:
        counted = sum(n for k, n in r["kinds"].items() if k != "token")
        return str(counted) if counted == r["xero_calls"] else f"{counted} (SyncRun.xero_calls {r['xero_calls']})"

    first_pages = math.ceil(contacts / 1000) if contacts else 1
    headers = ["per sync", "sync 1 (first)", "sync 2", "sync 3 (quiet)" if not returned(runs[2]) else "sync 3",
               "target"]
    rows = [
        ["Xero API calls"] + [total(r) for r in runs] + [f"first: 3 + {first_pages} + POSTs; quiet: 3 + 1"],
        ["GET Contacts pages (pull)"] + [kind(r, "GET Contacts") for r in runs] + [
            f"{first_pages} first pull of {contacts:,}; 1 quiet"],
        ["POST Contacts batches (ContactNumber stamping)"] + [kind(r, "POST Contacts") for r in runs] + [
            " / ".join(str(math.ceil(to_write(r) / 50)) for r in runs) + " = ⌈codes to write / 50⌉"],
        ["POST Contacts batches (two-way details: what the contact lacks, from the client)"]
        + [kind(r, "POST Contacts (details)") for r in runs] + ["the first sync's baseline, 50 a batch"],
        ["GET reference data (Accounts, BrandingThemes, TaxRates)"] + [kind(r, "reference") for r in runs] + ["3"],
        ["other API calls"] + [other(r) for r in runs] + ["0"],
        ["429s received by Socket / refused by the sandbox's limiter"] + [
            f"{r['http_429']} / {r['refused']}" for r in runs] + ["0 / 0"],
        ["contacts the pull returned (new / changed / unchanged)"] + [
            f"{returned(r):,} ({r['counts'].get('contacts_new', 0):,} / {r['counts'].get('contacts_changed', 0):,} / "
            f"{r['counts'].get('contacts_unchanged', 0):,})" for r in runs] + ["0 when quiet"],
        ["ContactNumbers written (failed)"] + [
            f"{r['counts'].get('contact_numbers_written', 0):,} ({r['counts'].get('contact_numbers_failed', 0)})"
            for r in runs] + ["every new automatic link"],
        ["clients linked / needs review / unmatched"] + [
            f"{r['counts'].get('clients_linked', 0):,} / {r['counts'].get('clients_needs_review', 0):,} / "
            f"{r['counts'].get('clients_unmatched', 0):,}" for r in runs] + ["—"],
        ["stored decisions changed"] + [f"{r['counts'].get('links_changed', 0):,}" for r in runs] + ["0 after sync 1"],
        ["token endpoint calls"] + [kind(r, "token") for r in runs] + ["—"],
        ["s from the previous sync's end to this one's start"] + [
            "—" if r["after"] is None else f"{r['after']:.0f}" for r in runs] + ["—"],
        ["wall s (the job)"] + [f"{r['wall']:.1f}" for r in runs] + ["—"],
        ["  of which waiting for a pacing slot s"] + [f"{r['wait']:.1f}" for r in runs] + ["—"],
        ["  of which Xero HTTP s (sandbox answering)"] + [f"{r['http_time']:.1f}" for r in runs] + ["—"],
        ["peak Python MiB (tracemalloc, identical run)"] + [f"{r['peak_mb']:.1f}" for r in memory] + ["—"],
        ["wall s under tracemalloc"] + [f"{r['wall']:.1f}" for r in memory] + ["—"],
    ]
    print(common.text_table(headers, rows))
    same = all(a["kinds"] == b["kinds"] for a, b in zip(runs, memory, strict=True))
    second, third = runs[1], runs[2]
    stamped = runs[0]["counts"].get("contact_numbers_written", 0)
    re_read = returned(second)
    notes = [
        f"Organisation of {contacts:,} contacts from the sandbox's generator ({args.contacts:,} asked; 2% "
        f"ARCHIVED, no ContactNumbers; generated in {generated:.1f} s), practice of {args.clients:,} clients "
        "generated from them: " + ", ".join(f"{k} {n:,}" for k, n in mix.most_common()) + ". "
        "Sync 1 linked by rule: " + ", ".join(f"{k} {n:,}" for k, n in rules.items()) + ".",
        f"Each sync is a queued SyncRun run by `jobs.sync_reference.run_reference_sync` in a process of its own; "
        f"sandbox limits REAL (60/min, 5 concurrent, 5,000/day per organisation), Socket's Redis pacer with its "
        f"real limits. Database: {db_label}. The timed practice's three syncs run first, then the "
        f"memory practice's; in each, sync 2 starts {args.gap:g} s after sync 1 ended (`--gap`; plus the "
        "worker process's start) and sync 3 straight after sync 2. Calls are HTTP requests to the Accounting API "
        "(retries included), counted by "
        "wrapping requests in the job's process; *refused by the sandbox's limiter* is the sandbox's own count.",
        "Peak memory is from a second organisation and practice, generated the same way and synced the same way "
        "under tracemalloc (Python allocations only, from the job's start); its calls "
        + ("were the same, kind for kind." if same else "DIFFERED: " + "; ".join(
            f"sync {i + 1} {b['kinds']}" for i, b in enumerate(memory)) + "."),
        f"Sync 2's pull returned {re_read:,} contacts: the {stamped:,} whose ContactNumber sync 1 wrote have a "
        "new UpdatedDateUTC, later than sync 2's If-Modified-Since (sync 1's pull start less the one-minute "
        "overlap), so Xero lists them again. Socket stored each one's UpdatedDateUTC and ContactNumber from the "
        "POST answer, so they come back unchanged and nothing is written, but at 1,000 a page they cost "
        f"{kind(second, 'GET Contacts')} pull call(s) where a quiet pull costs 1"
        + (" (they fit in the one page a quiet pull reads anyway)." if kind(second, "GET Contacts") <= 1 else
           f": ⌈{re_read:,} / 1,000⌉. The same happens once after every sync that writes ContactNumbers, "
           "so the second pull costs 1 call only when sync 1 stamped fewer than 1,000 contacts."),
        f"Sync 3 made {third['xero_calls']} calls ({kind(third, 'GET Contacts')} contacts page(s), "
        f"{kind(third, 'reference')} reference-data GETs) and its pull returned {returned(third):,} contacts. Its "
        "If-Modified-Since is sync 2's pull start less a minute: "
        + (f"sync 2 started {second['after']:.0f} s after sync 1 ended, so that is after sync 1's last "
           "ContactNumber write and sync 3 is quiet; had sync 2 started within a minute of that write "
           "(`--gap 0`), sync 3 would list the stamped contacts again too." if returned(third) == 0 else
           f"sync 2 started only {second['after']:.0f} s after sync 1 ended, within a minute of sync 1's last "
           "ContactNumber write, so sync 3 lists the stamped contacts again too: a pull is quiet only once the "
           "pull before it started more than a minute after the last write."),
    ]
    print("\n".join(notes))
    if not args.no_write:
        common.write_section("contacts_sync", "Contact sync: Xero calls per sync run for a large organisation",
                             common.markdown_table(headers, rows) + "\n\n" + "\n\n".join(notes))

    def calls(r: dict) -> int:
        return sum(n for k, n in r["kinds"].items() if k != "token")

    print(f"first_calls={calls(runs[0])} first_pages={kind(runs[0], 'GET Contacts')} expected_pages={first_pages} "
          f"first_stamping={kind(runs[0], 'POST Contacts')} expected_stamping={math.ceil(to_write(runs[0]) / 50)} "
          f"quiet_calls={calls(runs[2])} limit_429={sum(r['http_429'] + r['refused'] for r in runs)}")


if __name__ == "__main__":
    main()
