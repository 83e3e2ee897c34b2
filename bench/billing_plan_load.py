"""The Billing Plan under load: a generated practice served by gunicorn as the Procfile does, hit by concurrent
signed-in users.

On a private PostgreSQL database built from the migrations (dropped at the end), seeds a practice of `--clients`
active clients (plus 2% archived) with ~3 engagements each (bench/billing_plan.py's generator, shaped around the
current month) and approves the `--history` months before the current one, then serves Socket with
`gunicorn --workers 2 wsgi:app` on a free loopback port (the bench's config passed through the environment, as
.env would) and drives `--users` threads, each its own requests.Session signed in as the practice's owner through
the real sign-in form (CSRF token and all), for `--seconds` seconds, cycling through five pages:

  plan           GET /billing/plan                                the Billing Plan's first page, current month
                                                                  (the home page)
  plan filtered  GET /billing/plan?change=unchanged&sort=amount  its Change Type filter, sorted by amount
  plan p2        GET /billing/plan?page=2                         its next page
  plan (month)   GET /billing/plan?month=<last month>             last month's plan (approved when --history > 0)
  clients        GET /clients/                                    the Clients list

Per page: requests, errors (any answer but 200), p50, p95 and max latency (ms, client side, over loopback), and
SQL statements per request. gunicorn's workers are separate processes, so statements are counted in a separate
in-process pass: one request of each page on the app's test client (after one uncounted request), with an
SQLAlchemy before_cursor_execute listener (common.SqlCounter). Every user makes one uncounted pass over the five
pages before the clock starts. The last line is `billing_plan_p95_ms=<number>` (the first page).

Usage: /work/main/.venv/bin/python bench/billing_plan_load.py [--clients 2000] [--history 12] [--users 8]
       [--seconds 20] [--seed 1] [--no-write]
"""
from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import _common as common
import billing_plan as seed_plan

PASSWORD = "bench-load-password-1"
MAX_REQUESTS_PER_USER = 100_000  # a bound on the loop besides the clock
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def month_param(day) -> str:
    return f"{day:%Y-%m}"


def pages(current) -> list[tuple[str, str]]:
    last = seed_plan.month(-1) if seed_plan.PERIOD == current else current
    return [("plan", "/billing/plan"),
            ("plan filtered", "/billing/plan?change=unchanged&sort=amount"),
            ("plan p2", "/billing/plan?page=2"),
            ("plan (month)", f"/billing/plan?month={month_param(last)}"),
            ("clients", "/clients/")]


# -- seeding ---------------------------------------------------------------------------------------------------
def seed(app, clients: int, history: int, seed_value: int) -> dict:
    """The practice, its owner's email (password PASSWORD) and the seconds seeding and approving took."""
    from webapp.extensions import db
    from webapp.models import User

    with app.app_context():
        started = time.perf_counter()
        practice_id, user_id = seed_plan.generate_practice(clients, random.Random(seed_value + clients))
        user = db.session.get(User, user_id)
        user.set_password(PASSWORD)
        email = user.email
        db.session.commit()
        db.session.remove()
        generated = time.perf_counter() - started
    approved = seed_plan.approve_history(app, practice_id, user_id, history) if history else 0.0
    return {"practice_id": practice_id, "user_id": user_id, "email": email, "generated_s": generated,
            "approved_s": approved, "ledger": seed_plan.ledger_size(app, practice_id)}


# -- signing in --------------------------------------------------------------------------------------------------
def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    if not match:
        raise RuntimeError("no csrf_token in the sign-in form")
    return match.group(1) or match.group(2)


def sign_in_http(session, base: str, email: str) -> None:
    form = session.get(f"{base}/login", timeout=30)
    form.raise_for_status()
    answer = session.post(f"{base}/login", data={"csrf_token": csrf_token(form.text), "email": email,
                                                 "password": PASSWORD}, timeout=30, allow_redirects=False)
    if answer.status_code != 302 or "/login" in answer.headers.get("Location", ""):
        raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.headers.get('Location')}")


def sign_in_test_client(client, email: str) -> None:
    form = client.get("/login")
    answer = client.post("/login", data={"csrf_token": csrf_token(form.get_data(as_text=True)), "email": email,
                                         "password": PASSWORD})
    if answer.status_code != 302:
        raise RuntimeError(f"test-client sign-in failed: {answer.status_code}")


# -- SQL statements per request (in process) ---------------------------------------------------------------------
def count_statements(app, email: str, page_list) -> dict[str, tuple[int, tuple[int, str], int, int, float]]:
    """Per page: statements for one request (after one uncounted), the most repeated shape, the status, the
    size of the page in bytes, and how long the uncounted first request took (ms): for a plan month, building
    and storing it — what the first view after a change to the whole practice costs."""
    from webapp.extensions import db

    out = {}
    with app.test_client() as client:
        sign_in_test_client(client, email)
        for name, path in page_list:
            started = time.perf_counter()
            client.get(path)
            first_ms = (time.perf_counter() - started) * 1000
            with app.app_context():
                engine = db.engine
            with common.SqlCounter(engine) as counter:
                response = client.get(path)
            out[name] = (counter.count, counter.most_repeated(), response.status_code, len(response.get_data()),
                          first_ms)
    return out


# -- gunicorn ----------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_env(config: dict) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": config["SECRET_KEY"],
        "REDIS_URL": config["REDIS_URL"], "REDIS_KEY_PREFIX": config["REDIS_KEY_PREFIX"],
        "RQ_QUEUE": config["RQ_QUEUE"], "TOKEN_ENCRYPTION_KEY": config["TOKEN_ENCRYPTION_KEY"],
        "XERO_CLIENT_ID": config["XERO_CLIENT_ID"], "XERO_CLIENT_SECRET": config["XERO_CLIENT_SECRET"],
        "XERO_REDIRECT_URI": config["XERO_REDIRECT_URI"], "LOG_LEVEL": "WARNING",
    })
    return env


def start_gunicorn(config: dict, port: int, log_path: str) -> subprocess.Popen:
    """The Procfile's web process (2 workers, 30 s timeout, the redacting logger, an access log), on loopback."""
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    command = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "30",
               "--access-logfile", log_path + ".access",
               "--logger-class", "webapp.log_redaction.RedactingGunicornLogger", "wsgi:app"]
    log = open(log_path, "wb")  # closed below: the process holds its own copy
    try:
        return subprocess.Popen(command, cwd=common.REPO_ROOT, env=gunicorn_env(config), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        log.close()


def wait_until_answering(process: subprocess.Popen, base: str, log_path: str, timeout: float = 60) -> float:
    import requests

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{tail(log_path)}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}/login", timeout=2).status_code == 200:
                return time.perf_counter() - started
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s:\n{tail(log_path)}")


def stop_gunicorn(process: subprocess.Popen) -> None:
    """SIGTERM to the master (it stops its workers), then SIGKILL if it overruns."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def tail(path: str, lines: int = 30) -> str:
    with contextlib.suppress(OSError), open(path, encoding="utf-8", errors="replace") as handle:
        return "".join(handle.readlines()[-lines:])
    return ""


# -- the load ----------------------------------------------------------------------------------------------------
def drive(base: str, email: str, page_list, users: int, seconds: float) -> tuple[dict[str, list], dict, float]:
    """`users` threads, each signed in with its own session, cycling the pages for `seconds` after one
    uncounted pass; per page the latencies (ms) of 200 answers, and the count of other answers."""
    import requests

    assert base.startswith("http://127.0.0.1:")
    latencies: dict[str, list[float]] = {name: [] for name, _ in page_list}
    errors: dict[str, int] = {name: 0 for name, _ in page_list}
    failures: list[BaseException] = []
    lock = threading.Lock()
    window: dict[str, float] = {}
    # The clock starts as the last thread (main included) reaches the barrier, before any is released.
    ready = threading.Barrier(users + 1, action=lambda: window.update(end=time.perf_counter() + seconds))

    def user(index: int) -> None:
        mine = {name: [] for name, _ in page_list}
        bad = dict.fromkeys(mine, 0)
        try:
            with requests.Session() as session:
                try:
                    sign_in_http(session, base, email)
                    for _name, path in page_list:  # warm-up, not counted
                        session.get(base + path, timeout=60, allow_redirects=False)
                finally:
                    ready.wait(timeout=300)
                deadline = window["end"]
                order = page_list[index % len(page_list):] + page_list[:index % len(page_list)]
                for n in range(MAX_REQUESTS_PER_USER):
                    if time.perf_counter() >= deadline:
                        break
                    name, path = order[n % len(order)]
                    started = time.perf_counter()
                    response = session.get(base + path, timeout=60, allow_redirects=False)
                    elapsed = (time.perf_counter() - started) * 1000
                    if response.status_code == 200:
                        mine[name].append(elapsed)
                    else:
                        bad[name] += 1
        except BaseException as exc:  # reported after the run
            failures.append(exc)
        with lock:
            for name in mine:
                latencies[name] += mine[name]
                errors[name] += bad[name]

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    ready.wait(timeout=300)
    started = window["end"] - seconds
    for t in threads:
        t.join(timeout=seconds + 120)
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} user thread(s) failed; first: {failures[0]!r}")
    return latencies, errors, elapsed


def unloaded(base: str, email: str, page_list, repeats: int = 3) -> dict[str, float]:
    """Per page: the median of `repeats` requests by one user with nothing else running (after one uncounted),
    so the table shows what a page costs apart from waiting for one of the two workers."""
    import requests

    out = {}
    with requests.Session() as session:
        sign_in_http(session, base, email)
        for name, path in page_list:
            session.get(base + path, timeout=60, allow_redirects=False)
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                response = session.get(base + path, timeout=60, allow_redirects=False)
                times.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{name} answered {response.status_code} under gunicorn")
            out[name] = sorted(times)[len(times) // 2]
    return out


def server_problems(log_path: str) -> int:
    """Tracebacks and worker timeouts gunicorn logged."""
    with contextlib.suppress(OSError), open(log_path, encoding="utf-8", errors="replace") as handle:
        return sum(1 for line in handle if "Traceback" in line or "WORKER TIMEOUT" in line)
    return 0


def percentile(values: list[float], p: float) -> float:
    """Nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# -- main --------------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--history", type=int, default=12, help="approved months before the current one")
    parser.add_argument("--users", type=int, default=8, help="concurrent signed-in users (threads)")
    parser.add_argument("--seconds", type=float, default=20, help="how long the load runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    parser.add_argument("--pages", default="",
                        help="comma-separated page names to load (e.g. 'clients'); default: all five. A subset "
                             "measures those pages without waiting behind the others, in a section of its own")
    args = parser.parse_args()

    from webapp.clock import this_month

    # The generator dates engagements, completions and endings around its PERIOD; make that the month the
    # Billing Plan opens on today (the practice's time zone is Europe/London).
    current = this_month("Europe/London")
    seed_plan.PERIOD = current
    page_list = pages(current)
    if args.pages:
        wanted = [name.strip() for name in args.pages.split(",")]
        unknown = set(wanted) - {name for name, _ in page_list}
        if unknown:
            parser.error(f"unknown page(s) {sorted(unknown)}: choose from {[name for name, _ in page_list]}")
        page_list = [(name, path) for name, path in page_list if name in wanted]
    rid = common.run_id()
    process = None
    log_dir = tempfile.mkdtemp(prefix="socket-bench-load-")
    log_path = os.path.join(log_dir, "gunicorn.log")
    try:
        with common.private_database("postgresql", rid) as database_url:
            config = common.app_config(database_url, rid)
            app = common.make_app(config, migrate=True)
            try:
                print(f"Seeding {args.clients:,} clients, approving {args.history} months before "
                      f"{current:%B %Y}…", flush=True)
                seeded = seed(app, args.clients, args.history, args.seed)
                print(f"  generated in {seeded['generated_s']:.1f} s, history approved in "
                      f"{seeded['approved_s']:.1f} s (ledger {seeded['ledger']:,} rows)", flush=True)
                statements = count_statements(app, seeded["email"], page_list)
                for name, (count, _repeated, status, size, first_ms) in statements.items():
                    if status != 200:
                        raise RuntimeError(f"{name} answered {status} on the test client")
                    print(f"  {name}: {count} SQL statements per request, {size / 1024:.0f} KiB, first view "
                          f"{first_ms:.0f} ms", flush=True)
                from webapp.extensions import db

                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()

                port = free_port()
                base = f"http://127.0.0.1:{port}"
                process = start_gunicorn(config, port, log_path)
                boot = wait_until_answering(process, base, log_path)
                print(f"gunicorn (2 workers) answering on {base} after {boot:.1f} s; {args.users} users for "
                      f"{args.seconds:g} s…", flush=True)
                alone = unloaded(base, seeded["email"], page_list)
                latencies, errors, elapsed = drive(base, seeded["email"], page_list, args.users, args.seconds)
                problems = server_problems(log_path)
            finally:
                if process is not None:
                    stop_gunicorn(process)
                from webapp.extensions import db

                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
                common.drop_redis_keys(config["REDIS_URL"], config["REDIS_KEY_PREFIX"])
    finally:
        for name in ("gunicorn.log", "gunicorn.log.access"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(log_dir, name))
        with contextlib.suppress(OSError):
            os.rmdir(log_dir)

    report(args, current, page_list, seeded, statements, alone, latencies, errors, elapsed, problems)


def report(args, current, page_list, seeded, statements, alone, latencies, errors, elapsed, problems) -> None:
    headers = ["page", "path", "requests", "errors", "req/s", "p50 ms", "p95 ms", "max ms", "alone ms",
               "first view ms", "SQL statements/request", "page KiB", "most repeated statement ×n"]
    rows = []
    for name, path in page_list:
        values = latencies[name]
        count, (n, shape), _status, size, first_ms = statements[name]
        rows.append([name, f"`{path}`", len(values), errors[name], f"{len(values) / elapsed:.1f}",
                     f"{percentile(values, 50):.0f}", f"{percentile(values, 95):.0f}",
                     f"{max(values):.0f}" if values else "nan", f"{alone[name]:.0f}", f"{first_ms:.0f}", count,
                     f"{size / 1024:.0f}",
                     f"{n} × `{shape[:80]}`" if n > 1 else "—"])
    total = sum(len(v) for v in latencies.values())
    plain = [[c.strip("`") if isinstance(c, str) else c for c in r] for r in rows]
    print(common.text_table(headers, plain))
    print(f"all pages: {total} requests in {elapsed:.1f} s ({total / elapsed:.1f}/s), "
          f"{sum(errors.values())} errors; gunicorn logged {problems} tracebacks or worker timeouts")
    first = page_list[0][0]
    p95 = percentile(latencies[first], 95)
    notes = (
        f"{args.clients:,} active clients (+2% archived, ~3 engagements each; bench/billing_plan.py's generator "
        f"shaped around {current:%B %Y}), {args.history} approved months before it (ledger {seeded['ledger']:,} "
        f"rows; seeding {seeded['generated_s']:.0f} s, approving {seeded['approved_s']:.0f} s). gunicorn "
        f"`--workers 2 --timeout 30` with the redacting logger and an access log, on 127.0.0.1; {args.users} "
        f"users (threads, one requests.Session each, signed in through the sign-in form as the practice's owner) "
        f"cycling the {len(page_list)} page(s) for {args.seconds:g} s after one uncounted pass each; {total} requests "
        f"({total / elapsed:.1f}/s) in {elapsed:.1f} s. Latency is client-side over loopback, 200 answers only "
        "(*errors* counts any other); p95 is the nearest rank, so with fewer than 20 requests it is the max. "
        "*alone ms* is the median of 3 requests by one user before the load (nothing else running): the page's "
        "own cost, apart from waiting for one of the 2 sync workers. "
        f"gunicorn logged {problems} tracebacks or worker timeouts. "
        "*first view ms* is the first request of each page in process, before any other: for a plan month, "
        "building and storing its plan (what the first view after a change to the whole practice — an approval, "
        "a settings change — costs; a change to one client rebuilds that client only). "
        "*plan (month)* is last month's plan (approved when history > 0). SQL statements per request are "
        "counted in process (the app's test client, one "
        "request after an uncounted one), since gunicorn's workers are separate processes; *page KiB* is that "
        "response's size.\n"
        + (f"`billing_plan_p95_ms={p95:.0f}`" if first == "plan" else f"`{first.replace(' ', '_')}_p95_ms={p95:.0f}`"))
    if not args.no_write:
        # One section per practice size, so the 500, 2,000 and 5,000-client runs stand side by side.
        suffix = "" if len(page_list) == 5 else "_" + "_".join(name.replace(" ", "_") for name, _ in page_list)
        common.write_section(f"billing_plan_load_{args.clients}{suffix}",
                             f"{'Billing Plan' if not suffix else ', '.join(n for n, _ in page_list)} under load: "
                             f"{args.clients:,} clients, {args.history} approved months, "
                             f"{args.users} users (gunicorn, 2 workers)",
                             common.markdown_table(headers, rows) + "\n\n" + notes)
    print(f"billing_plan_p95_ms={p95:.0f}" if first == "plan" else f"{first.replace(' ', '_')}_p95_ms={p95:.0f}")


if __name__ == "__main__":
    main()
