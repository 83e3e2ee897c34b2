"""Every benchmark in bench/, one after the other, each replacing its own section of bench/RESULTS.md; then the top
of RESULTS.md rewritten with the command, the date, the machine and a summary table (benchmark, headline number,
target, PASS/FAIL).

Each script runs in a process of its own with its default arguments (billing_plan_load once per variant kept in
RESULTS.md); its output is shown as it goes and its last `key=value` line is the headline. A script that fails
(non-zero exit, or no headline) is reported as FAILED in the summary with its exit code, and the rest still run;
the command then exits 1.

Usage: /work/main/.venv/bin/python bench/run_all.py [--only name,name] [--quick] [--list]
  --only   run only these benchmarks (names from --list); the summary then covers only them
  --quick  smaller sizes for a smoke run (a few minutes); RESULTS.md is left alone (each script gets --no-write)
Or `bin/bench` with the same arguments. The whole run takes about 30 minutes at the defaults.
"""
from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import _common as common

TOP_BEGIN, TOP_END = "<!-- BEGIN run_all -->", "<!-- END run_all -->"
Verdict = tuple[str, str, bool | None]  # headline, target, passed (None: no target)


def _f(values: dict, key: str) -> float:
    return float(values[key])


def _pacing(v: dict) -> Verdict:
    ok = v["pacing_limit_429"] == "0" and int(v["max_in_60s"]) <= 60 and int(v["peak_concurrent"]) <= 5 \
        and v["calls_ok"].split("/")[0] == v["calls_ok"].split("/")[1]
    return (f"{v['pacing_limit_429']} 429s from limits; max {v['max_in_60s']} calls in any 60 s, peak "
            f"{v['peak_concurrent']} concurrent; {v['calls_ok']} calls ok",
            "0 429s, ≤ 60 a minute, ≤ 5 at once, every call ok", ok)


def _billing_plan(v: dict) -> Verdict:
    sizes = sorted(int(k.split("_")[-1]) for k in v if k.startswith("approve_s_"))
    size = 2000 if 2000 in sizes else sizes[-1]
    builds = {int(n) for n in v["build_statements"].split(",")}
    approve = _f(v, f"approve_s_{size}")
    return (f"approve {size:,} clients {approve:.2f} s; build statements {v['build_statements']}",
            "approve a 2,000-client month < 1 s (issue 12); build statements constant",
            approve < 1.0 and len(builds) == 1)


def _sandbox_contacts(v: dict) -> Verdict:
    pages = " · ".join(f"pageSize {k.split('_')[-1]}: {n} calls, {v['wall_s_' + k.split('_')[-1]]} s"
                       for k, n in v.items() if k.startswith("calls_"))
    return pages + f"; {v['limit_429']} 429s", "baseline (no target); 0 429s", v["limit_429"] == "0"


def _matching(v: dict) -> Verdict:
    if "match_s_10000" not in v:
        return (", ".join(f"{k[8:]}: {x} s" for k, x in v.items() if k.startswith("match_s_")),
                "10,000 × 10,000 < 0.5 s (not run at these sizes)", None)
    ratio = f"; 20k/10k {_f(v, 'match_s_20000') / _f(v, 'match_s_10000'):.2f}" if "match_s_20000" in v else ""
    return (f"10,000 × 10,000 in {v['match_s_10000']} s{ratio}", "< 0.5 s; 20k ≈ 2 × 10k",
            _f(v, "match_s_10000") < 0.5)


def _contacts_sync(v: dict) -> Verdict:
    ok = v["first_pages"] == v["expected_pages"] and v["first_stamping"] == v["expected_stamping"] \
        and int(v["quiet_calls"]) <= 4 and v["limit_429"] == "0"
    return (f"first sync {v['first_calls']} calls ({v['first_pages']} pages, {v['first_stamping']} code batches); "
            f"quiet {v['quiet_calls']}",
            f"{v['expected_pages']} pages, {v['expected_stamping']} batches; quiet ≤ 4 (3 + 1); 0 429s", ok)


def _dispatcher(v: dict) -> Verdict:
    return (f"slowest run {v['dispatcher_slowest_ms']} ms for {int(v['practices']):,} practices", "< 2,000 ms",
            _f(v, "dispatcher_slowest_ms") < 2000)


def _invoice_posting(v: dict) -> Verdict:
    ok = int(v["invoice_posting_calls"]) <= int(v["minimum"]) and v["unhandled_429"] == "0"
    return (f"{v['invoice_posting_calls']} calls (minimum {v['minimum']}), {v['unhandled_429']} unhandled 429s",
            "= the minimum ⌈invoices / 50⌉; 0 unhandled 429s", ok)


def _nightly(v: dict) -> Verdict:
    return f"quiet night {v['nightly_quiet_calls']} calls", "≤ 5", int(v["nightly_quiet_calls"]) <= 5


def _p95(key: str, target: float) -> Callable[[dict], Verdict]:
    def judge(v: dict) -> Verdict:
        return f"p95 {v[key]} ms", f"< {target:.0f} ms", _f(v, key) < target
    return judge


def _first_sync(v: dict) -> Verdict:
    ok = float(v["ratio"]) <= 1.05 and v["unhandled_429"] == "0" and v["exactly_once"] == "PASS" \
        and int(v["quiet_calls"]) <= 5 and ("overhead" not in v or float(v["overhead"]) <= 1.3)
    overhead = f"; overhead {v['overhead']}×" if "overhead" in v else ""
    return (f"{v['first_sync_calls']} calls / minimum {v['minimum']} = {v['ratio']}; {v['unhandled_429']} "
            f"unhandled 429s; exactly once {v['exactly_once']}; quiet night {v['quiet_calls']} calls (the night "
            f"after {v['quiet2_calls']}){overhead}",
            "≤ 1.05 × minimum; 0 unhandled; quiet night straight after ≤ 5; overhead ≤ 1.3×", ok)


def _fault_runs(v: dict) -> Verdict:
    ok = v["duplicates"] == "0" and v["lost"] == "0" and v["failed_runs"] == "0" and v["wrongly_reconnect"] == "0"
    return (f"{v['runs']} runs, {v['kills']} worker kills, {v['faults']} faults ({v['fired']} fired); "
            f"{v['duplicates']} duplicates, {v['lost']} lost, {v['failed_runs']} runs with a broken invariant",
            "0 duplicates, 0 lost", ok)


@dataclass(frozen=True)
class Bench:
    name: str
    script: str
    judge: Callable[[dict], Verdict]
    args: list[str] = field(default_factory=list)
    quick: list[str] = field(default_factory=list)


BENCHMARKS = [
    Bench("xero_pacing", "xero_pacing.py", _pacing, quick=["--calls", "30", "--fault-calls", "10"]),
    Bench("billing_plan", "billing_plan.py", _billing_plan, quick=["--sizes", "200", "--history", "2"]),
    Bench("sandbox_contacts", "sandbox_contacts.py", _sandbox_contacts, quick=["--contacts", "2000"]),
    Bench("matching", "matching.py", _matching, quick=["--sizes", "1000,2000", "--repeat", "2"]),
    Bench("contacts_sync", "contacts_sync.py", _contacts_sync, args=["--db", "postgresql"],
          quick=["--db", "postgresql", "--contacts", "2000", "--clients", "400"]),
    Bench("dispatcher", "dispatcher.py", _dispatcher, quick=["--practices", "100"]),
    Bench("invoice_posting", "invoice_posting.py", _invoice_posting,
          quick=["--invoices", "200", "--contacts", "300", "--skip-memory"]),
    Bench("nightly_run", "nightly_run.py", _nightly),
    Bench("first_sync", "first_sync.py", _first_sync,
          quick=["--contacts", "2000", "--clients", "400", "--repeat", "1"]),
    Bench("fault_runs", "fault_runs.py", _fault_runs, quick=["--runs", "8", "--clients", "20"]),
    Bench("billing_plan_load_500", "billing_plan_load.py", _p95("billing_plan_p95_ms", 150),
          args=["--clients", "500", "--history", "12", "--users", "8", "--seconds", "20"],
          quick=["--clients", "200", "--history", "2", "--seconds", "5"]),
    Bench("billing_plan_load_2000", "billing_plan_load.py", _p95("billing_plan_p95_ms", 150),
          args=["--clients", "2000", "--history", "12", "--users", "8", "--seconds", "20"],
          quick=["--clients", "200", "--history", "2", "--seconds", "5"]),
    Bench("billing_plan_load_5000", "billing_plan_load.py", _p95("billing_plan_p95_ms", 200),
          args=["--clients", "5000", "--history", "12", "--users", "8", "--seconds", "20"],
          quick=["--clients", "200", "--history", "2", "--seconds", "5"]),
    Bench("billing_plan_load_2000_clients", "billing_plan_load.py", _p95("clients_p95_ms", 100),
          args=["--clients", "2000", "--history", "12", "--users", "8", "--seconds", "20", "--pages", "clients"],
          quick=["--clients", "200", "--history", "2", "--seconds", "5", "--pages", "clients"]),
]
NAMES = [b.name for b in BENCHMARKS]
_PAIR = re.compile(r"(\w+)=(\S+)")


def headline_values(output: str) -> dict[str, str]:
    """The key=value pairs of the output's last line that has any (each script's headline line)."""
    for line in reversed(output.strip().splitlines()):
        pairs = dict(_PAIR.findall(line))
        if pairs and "=" in line.split()[0]:
            return pairs
    return {}


def run_one(bench: Bench, quick: bool) -> dict:
    """Run one benchmark script, streaming its output; returns what the summary needs."""
    args = (bench.quick if quick else bench.args) + (["--no-write"] if quick else [])
    command = [sys.executable, os.path.join(common.BENCH_DIR, bench.script), *args]
    print(f"\n=== {bench.name}: {' '.join(shlex.quote(c) for c in command[1:])}", flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=common.REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line)
    code = proc.wait()
    seconds = time.perf_counter() - started
    result = {"name": bench.name, "code": code, "seconds": seconds, "args": args}
    values = headline_values("".join(lines))
    if code != 0 or not values:
        result.update(headline=f"FAILED (exit {code}" + (", no headline line" if code == 0 else "") + ")",
                      target="—", passed=False, failed=True)
        return result
    try:
        headline, target, passed = bench.judge(values)
    except (KeyError, ValueError, IndexError) as exc:  # the script changed its headline line
        headline, target, passed = f"unreadable headline ({type(exc).__name__}: {exc})", "—", False
    result.update(headline=headline, target=target, passed=passed, failed=False)
    return result


def summary(results: list[dict], command: str, started: dt.datetime, seconds: float, quick: bool) -> str:
    rows = [[r["name"], r["headline"], r["target"],
             "FAILED" if r["failed"] else ("—" if r["passed"] is None else ("PASS" if r["passed"] else "FAIL")),
             f"{r['seconds']:.0f}"] for r in results]
    ran = {r["name"] for r in results}
    others = [n for n in NAMES if n not in ran]
    return "\n".join([
        TOP_BEGIN,
        "# Benchmark results",
        "",
        f"Written by one run of `{command}` on {started:%Y-%m-%d %H:%M} UTC ({seconds / 60:.0f} min), machine "
        f"{common.machine()}; load average (1 min) at the end {os.getloadavg()[0]:.1f}."
        + (" Quick sizes (a smoke run)." if quick else ""),
        "Each section below was replaced by its script in that run"
        + (f", except {', '.join(others)} (not run: their sections keep their own dates)." if others else ".")
        + " See bench/README.md for what each measures.",
        "",
        common.markdown_table(["benchmark", "headline", "target", "result", "s"], rows),
        TOP_END,
    ])


def write_top(text: str) -> None:
    """Replace the top of RESULTS.md (its title and summary) with `text`, keeping every section."""
    with open(common.RESULTS_PATH, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        current = handle.read()
        first = current.find("<!-- BEGIN ", current.find(TOP_END) + 1 if TOP_END in current else 0)
        sections = current[first:] if first >= 0 else ""
        handle.seek(0)
        handle.truncate()
        handle.write(text + "\n\n" + sections.strip() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated benchmark names (see --list)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes; leave bench/RESULTS.md alone")
    parser.add_argument("--list", action="store_true", help="print the benchmarks' names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(NAMES))
        return
    chosen = BENCHMARKS
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in wanted if n not in NAMES]
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
        chosen = [b for b in BENCHMARKS if b.name in wanted]
    command = os.environ.get("BENCH_COMMAND") or common.command_line()
    started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
    results = [run_one(bench, args.quick) for bench in chosen]
    text = summary(results, command, started, time.perf_counter() - clock, args.quick)
    print("\n" + text)
    if not args.quick:
        write_top(text)
    sys.exit(1 if any(r["failed"] for r in results) else 0)


if __name__ == "__main__":
    main()
