"""Building and approving the Billing Plan for generated practices of 500, 2,000 and 5,000 clients.

For each size, on a private PostgreSQL database built from the migrations (dropped at the end):
  build            build_plan(practice, month) on a fresh session (what the Billing page does)
  approve          approve_plan(practice, month, user): the plan again plus every invoice and line, one commit
  build (approved) build_plan for the approved month (the page after approval: run + invoice numbers)
Each is timed without tracemalloc, then repeated under tracemalloc for its peak Python memory (approve is
undone between the two: its run, invoices and lines are deleted). SQL statements are counted with an
SQLAlchemy before_cursor_execute listener; the most repeated statement shape is printed so an N+1 shows.

Every client has about 3 engagements drawn from a 10-service menu covering all six billing methods, with
start/end dates and completions (EngagementCompletion rows, as "Mark complete" records them) spread so the
month has new clients, services added and ended, unchanged and ended clients. Approve raises every invoice
of the month in one run (a handful of bulk statements) and records the run's scope (billing_run_clients).

History: catch-up looks for charges missed in earlier approved months, so the build's cost can grow with
the number of approved months. Each size is measured first with no earlier month approved (history 0),
then again after approving the `--history` months before it one by one (history N, untimed set-up), so
the ledger holds N months of charges. *rows read* counts the rows every SELECT returned (cursor rowcount).
The practice has synced branding themes and no stored default template (the state right after connecting
Xero); 10% of clients choose their own template.

Usage: /work/main/.venv/bin/python bench/billing_plan.py [--sizes 500,2000,5000] [--history 12] [--seed 1]
"""
from __future__ import annotations

import argparse
import gc
import random
import time
import tracemalloc
from datetime import date, timedelta
from decimal import Decimal

import _common as common

PERIOD = date(2026, 11, 1)
SERVICES = [  # name, method, price, account code (None = the practice default)
    ("Monthly Bookkeeping", "monthly", "250.00", None),
    ("Payroll", "monthly", "120.00", "220"),
    ("VAT Returns", "quarterly_advance", "300.00", None),
    ("Management Accounts", "quarterly_completion", "450.00", "210"),
    ("Annual Accounts", "annual_completion", "1200.00", None),
    ("Corporation Tax Return", "annual_advance", "600.00", None),
    ("Self Assessment", "annual_completion", "350.00", None),
    ("Company Secretarial", "annual_advance", "180.00", None),
    ("Business Advisory Meeting", "once", "250.00", "210"),
    ("Company Formation", "once", "150.00", None),
]
THEMES = [("5d4dd402-c851-497e-aae1-9ff265c0d15a", "Standard", 0),
          ("3761ef2b-6a43-4f6d-9f39-1a1b2c3d4e5f", "Socket Practice", 1),
          ("a0f2c0de-7b8e-4c4d-8e9f-2b3c4d5e6f70", "Special Projects", 2)]


def month(offset: int) -> date:
    index = PERIOD.year * 12 + PERIOD.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def generate_practice(size: int, rng: random.Random) -> tuple[int, int]:
    """A practice with `size` active clients (plus 2% archived) and ~3 engagements each; (practice, user)."""
    from webapp.extensions import db
    from webapp.models import (
        BillingSettings,
        Client,
        Engagement,
        EngagementCompletion,
        Practice,
        PricingMenu,
        Service,
        User,
        XeroBrandingTheme,
    )

    practice = Practice(name=f"Bench practice {size}")
    db.session.add(practice)
    db.session.flush()
    pid = practice.id
    user = User(practice_id=pid, email=f"owner-{size}-{common.run_id()}@bench.test", name="Owner", role="owner",
                password_hash="x")
    menu = PricingMenu(practice_id=pid, name="2026/27 Pricing", is_active=True)
    db.session.add_all([user, menu, BillingSettings(practice_id=pid, recurring_account_code="200",
                                                    one_off_account_code="260")])
    db.session.flush()
    services = []
    for position, (name, method, price, code) in enumerate(SERVICES):
        service = Service(practice_id=pid, pricing_menu_id=menu.id, name=name, billing_method=method,
                          price=Decimal(price), account_code=code, position=position)
        db.session.add(service)
        services.append(service)
    db.session.add_all(XeroBrandingTheme(practice_id=pid, branding_theme_id=tid, name=name, sort_order=order)
                       for tid, name, order in THEMES)
    db.session.flush()

    archived = size // 50
    client_rows = []
    for i in range(size + archived):
        client_rows.append({
            "practice_id": pid, "code": f"C{i:06d}", "name": f"Client {rng.randrange(10**6):06d} Ltd",
            "status": "archived" if i >= size else "active",
            "branding_theme_id": THEMES[1][0] if rng.random() < 0.10 else None,
            "consolidate_recurring": True if rng.random() < 0.10 else None,
            "email": f"c{i}@example.test",
        })
    db.session.execute(db.insert(Client), client_rows)
    ids = dict(db.session.execute(db.select(Client.code, Client.id).filter_by(practice_id=pid)).all())

    engagement_rows, completions = [], []
    for client_id in ids.values():
        for service in rng.sample(services, rng.choice((2, 3, 3, 3, 4))):
            method = service.billing_method
            start = month(-rng.randrange(0, 22)) + timedelta(days=rng.randrange(0, 27))
            end = completed = None
            roll = rng.random()
            if method in ("quarterly_completion", "annual_completion", "once"):
                completed = (month(0) if roll < 0.4 else month(-1) if roll < 0.7 else None)
                if completed:
                    completed += timedelta(days=rng.randrange(0, 27))
                    start = min(start, completed)
            elif roll < 0.08:
                end = month(0) - timedelta(days=1)  # ended last month
            price = service.price * Decimal(rng.choice(("0.9", "1", "1", "1.1", "1.25"))).quantize(Decimal("1"))
            engagement_rows.append({"practice_id": pid, "client_id": client_id, "service_id": service.id,
                                    "price": price.quantize(Decimal("0.01")), "start_date": start, "end_date": end})
            if completed:  # "Mark complete": one completion, billed in the month it falls in
                completions.append((client_id, service.id, completed))
    db.session.execute(db.insert(Engagement), engagement_rows)
    engagement_ids = {(c, s): e for e, c, s in db.session.execute(
        db.select(Engagement.id, Engagement.client_id, Engagement.service_id).filter_by(practice_id=pid))}
    db.session.execute(db.insert(EngagementCompletion), [
        {"practice_id": pid, "engagement_id": engagement_ids[(c, s)], "completed_on": d} for c, s, d in completions])
    db.session.commit()
    return pid, user.id


class RowCounter:
    """Rows returned by SELECT statements on an engine (after_cursor_execute, cursor.rowcount)."""

    def __init__(self, engine):
        self.engine, self.rows = engine, 0

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and cursor.rowcount and cursor.rowcount > 0:
            self.rows += cursor.rowcount

    def __enter__(self):
        from sqlalchemy import event

        self.rows = 0
        event.listen(self.engine, "after_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "after_cursor_execute", self._on_execute)


def measure(app, fn, *, memory: bool) -> dict:
    """Run `fn` in a fresh app context and session: wall time and SQL statements, or peak Python memory."""
    from webapp.extensions import db

    with app.app_context():
        db.session.remove()
        gc.collect()
        counter = common.SqlCounter(db.engine)
        rows = RowCounter(db.engine)
        if memory:
            tracemalloc.start()
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        with counter, rows:
            result = fn()
        elapsed = time.perf_counter() - started
        out = {"seconds": elapsed, "statements": counter.count, "repeated": counter.most_repeated(),
               "rows_read": rows.rows, "result": result}
        if memory:
            out["peak_mb"] = (tracemalloc.get_traced_memory()[1] - base) / 2**20
            tracemalloc.stop()
        db.session.remove()
    return out


def undo_approval(app, practice_id: int, period: date) -> None:
    """Delete the run of `period` (its scope, invoices, lines and ledger rows); earlier months stay approved."""
    from webapp.extensions import db
    from webapp.models import BilledCharge, BillingRun, BillingRunClient, Invoice, InvoiceLine

    with app.app_context():
        run_ids = db.select(BillingRun.id).filter_by(practice_id=practice_id, period=period).scalar_subquery()
        db.session.execute(db.delete(BilledCharge).where(BilledCharge.billing_run_id.in_(run_ids)))
        db.session.execute(db.delete(BillingRunClient).where(BillingRunClient.billing_run_id.in_(run_ids)))
        invoice_ids = db.select(Invoice.id).where(Invoice.billing_run_id.in_(run_ids)).scalar_subquery()
        db.session.execute(db.delete(InvoiceLine).where(InvoiceLine.invoice_id.in_(invoice_ids)))
        db.session.execute(db.delete(Invoice).where(Invoice.billing_run_id.in_(run_ids)))
        db.session.execute(db.delete(BillingRun).filter_by(practice_id=practice_id, period=period))
        db.session.commit()
        db.session.remove()


def approve_history(app, practice_id: int, user_id: int, months: int) -> float:
    """Approve the `months` months before PERIOD, oldest first (set-up, not measured); seconds taken."""
    from webapp.services.billing.approval import approve_plan

    started = time.perf_counter()
    with app.app_context():
        for offset in range(-months, 0):
            result = approve_plan(practice_id, month(offset), user_id)
            assert result.outcome.value in ("approved", "nothing_to_bill"), result
    return time.perf_counter() - started


def ledger_size(app, practice_id: int) -> int:
    from webapp.extensions import db
    from webapp.models import BilledCharge

    with app.app_context():
        return db.session.execute(db.select(db.func.count(BilledCharge.id)).filter_by(practice_id=practice_id)
                                  ).scalar_one()


def bench_size(app, size: int, seed: int, history: int) -> list[dict]:
    from webapp.services.billing.approval import approve_plan
    from webapp.services.billing.plan import build_plan

    with app.app_context():
        started = time.perf_counter()
        practice_id, user_id = generate_practice(size, random.Random(seed + size))
        generated = time.perf_counter() - started

    def build():
        plan = build_plan(practice_id, PERIOD)
        return {"rows": len(plan.rows), "ended": len(plan.ended), "lines": sum(len(r.preview.lines) for r in plan.rows),
                "counts": {k.value: v for k, v in plan.totals.counts.items()}}

    def approve():
        result = approve_plan(practice_id, PERIOD, user_id)
        return {"outcome": result.outcome.value, "invoices": result.invoice_count}

    def one_pass(months: int) -> dict:
        out = {"size": size, "generated_s": generated, "history": months, "ledger": ledger_size(app, practice_id)}
        out["build"] = measure(app, build, memory=False)
        out["build"]["peak_mb"] = measure(app, build, memory=True)["peak_mb"]
        out["approve"] = measure(app, approve, memory=False)
        assert out["approve"]["result"]["outcome"] == "approved", out["approve"]["result"]
        undo_approval(app, practice_id, PERIOD)
        again = measure(app, approve, memory=True)
        assert again["result"]["outcome"] == "approved", again["result"]
        out["approve"]["peak_mb"] = again["peak_mb"]
        out["approved_build"] = measure(app, build, memory=False)
        out["approved_build"]["peak_mb"] = measure(app, build, memory=True)["peak_mb"]
        undo_approval(app, practice_id, PERIOD)
        return out

    passes = [one_pass(0)]
    if history:
        approve_history(app, practice_id, user_id, history)
        passes.append(one_pass(history))
    return passes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="500,2000,5000", help="comma-separated client counts")
    parser.add_argument("--history", type=int, default=12,
                        help="also measure after approving this many earlier months (0: only without history)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    results = []
    with common.private_database("postgresql") as database_url:
        app = common.make_app(common.app_config(database_url, common.run_id()), migrate=True)
        try:
            for size in sizes:
                for r in bench_size(app, size, args.seed, args.history):
                    results.append(r)
                    print(f"{size} clients, history {r['history']} (ledger {r['ledger']:,} rows): build "
                          f"{r['build']['seconds']:.2f}s ({r['build']['rows_read']:,} rows read), approve "
                          f"{r['approve']['seconds']:.2f}s", flush=True)
        finally:
            from webapp.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    report(results, args)


def report(results: list[dict], args) -> None:
    headers = ["clients", "approved months before (ledger rows)", "step", "plan rows (ended)", "invoice lines",
               "time s", "peak MiB", "SQL statements", "rows read", "most repeated statement ×n"]
    rows = []
    for r in results:
        for key, label in (("build", "build"), ("approve", "approve"), ("approved_build", "build (approved)")):
            m = r[key]
            plan = r["build"]["result"]
            n, shape = m["repeated"]
            rows.append([f"{r['size']:,}", f"{r['history']} ({r['ledger']:,})", label,
                         f"{plan['rows']:,} ({plan['ended']})", f"{plan['lines']:,}",
                         f"{m['seconds']:.2f}", f"{m['peak_mb']:.1f}", m["statements"], f"{m['rows_read']:,}",
                         f"{n} × `{shape[:90]}`" if n > 1 else "—"])
    print(common.text_table(headers, rows))
    counts = ", ".join(f"{k} {v}" for k, v in results[-1]["build"]["result"]["counts"].items()) if results else ""
    notes = (
        f"Month {PERIOD:%B %Y}; PostgreSQL (private database from the migrations). Time is measured without "
        "tracemalloc; peak MiB is a second identical run under tracemalloc (Python allocations only; approve is "
        "undone and repeated for it). *build (approved)* is the plan page once the month is approved: rows from "
        "its run's invoices and lines. Approve raises all the month's invoices in one run: the invoices in one "
        "flush, then every line and every ledger row in one bulk insert each, plus the run's scope (one "
        "multi-row insert of the active clients). *approved months before* is how many months before this one "
        f"were approved first (history; --history {args.history}), *ledger rows* the practice's billed_charges "
        "then; *rows read* is every row the step's SELECTs returned. Catch-up looks for charges missed in those "
        "approved months.\n"
        f"Change mix at the largest size: {counts}.")
    if not args.no_write:
        common.write_section("billing_plan", "Billing Plan: build and approve",
                             common.markdown_table(headers, rows) + "\n\n" + notes)
    last = {r["size"]: r for r in results}  # each size's pass with the most history
    print(" ".join(f"approve_s_{size}={r['approve']['seconds']:.2f} build_s_{size}={r['build']['seconds']:.2f}"
                   for size, r in last.items())
          + " build_statements=" + ",".join(str(r["build"]["statements"]) for r in results)
          + " approve_statements=" + ",".join(str(r["approve"]["statements"]) for r in results))


if __name__ == "__main__":
    main()
