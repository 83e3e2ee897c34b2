"""Xero's API limits (per organisation per app: concurrent, minute, day; per app: minute) and fault knobs."""
from __future__ import annotations

import math
import random
import threading
from collections import defaultdict, deque

MINUTE = 60.0
DAY = 86400.0


class RateLimiter:
    def __init__(self, limits: dict):
        self.limits = dict(limits)
        self.lock = threading.Lock()
        self.minute: defaultdict[tuple[str, str], deque[float]] = defaultdict(deque)  # (client, tenant) -> times
        self.day: defaultdict[tuple[str, str], deque[float]] = defaultdict(deque)
        self.app_minute: defaultdict[str, deque[float]] = defaultdict(deque)  # client -> call times
        self.concurrent: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.calls: defaultdict[str, int] = defaultdict(int)  # tenant -> accepted calls (for /_sandbox/state)
        self.rejected: defaultdict[str, int] = defaultdict(int)  # problem -> count

    def reset(self):
        with self.lock:
            for d in (self.minute, self.day, self.app_minute, self.concurrent, self.calls, self.rejected):
                d.clear()

    @staticmethod
    def _prune(q: deque, now: float, window: float):
        while q and q[0] <= now - window:
            q.popleft()

    def _remaining(self, client, tenant):
        key = (client, tenant)
        return {
            "X-DayLimit-Remaining": str(max(0, self.limits["day"] - len(self.day[key]))),
            "X-MinLimit-Remaining": str(max(0, self.limits["minute"] - len(self.minute[key]))),
            "X-AppMinLimit-Remaining": str(max(0, self.limits["app_minute"] - len(self.app_minute[client]))),
        }

    def headers(self, client, tenant, now):
        with self.lock:
            key = (client, tenant)
            self._prune(self.minute[key], now, MINUTE)
            self._prune(self.day[key], now, DAY)
            self._prune(self.app_minute[client], now, MINUTE)
            return self._remaining(client, tenant)

    def acquire(self, client: str, tenant: str, now: float):
        """Returns (None, headers) when the call may proceed, else (problem, headers incl. Retry-After)."""
        with self.lock:
            key = (client, tenant)
            mq, dq, aq = self.minute[key], self.day[key], self.app_minute[client]
            self._prune(mq, now, MINUTE)
            self._prune(dq, now, DAY)
            self._prune(aq, now, MINUTE)
            problem, retry = None, 1
            if self.concurrent[key] >= self.limits["concurrent"]:
                problem, retry = "concurrent", 1
            elif len(dq) >= self.limits["day"]:
                problem, retry = "day", math.ceil(dq[0] + DAY - now)
            elif len(mq) >= self.limits["minute"]:
                problem, retry = "minute", math.ceil(mq[0] + MINUTE - now)
            elif len(aq) >= self.limits["app_minute"]:
                problem, retry = "appminute", math.ceil(aq[0] + MINUTE - now)
            if problem:
                self.rejected[problem] += 1
                headers = self._remaining(client, tenant)
                headers.update({"Retry-After": str(max(1, retry)), "X-Rate-Limit-Problem": problem})
                return problem, headers
            mq.append(now)
            dq.append(now)
            aq.append(now)
            self.concurrent[key] += 1
            self.calls[tenant] += 1
            return None, self._remaining(client, tenant)

    def release(self, client: str, tenant: str):
        with self.lock:
            key = (client, tenant)
            if self.concurrent[key] > 0:
                self.concurrent[key] -= 1


TARGETS = ("api", "identity", "all")
FAULT_STATUSES = (429, 500, 502, 503, 504)


class FaultError(ValueError):
    pass


class Faults:
    """Injected failures. Each rule: status (count or percent), latency, or lose_response."""

    def __init__(self, seed=None):
        self.lock = threading.Lock()
        self.rules: list[dict] = []
        self.random = random.Random(seed)
        self.fired: defaultdict[str, int] = defaultdict(int)  # what fired -> count (for /_sandbox/state)

    def clear(self):
        with self.lock:
            self.rules.clear()

    def reset(self):
        with self.lock:
            self.rules.clear()
            self.fired.clear()

    def snapshot(self):
        with self.lock:
            return [dict(r) for r in self.rules]

    def add(self, spec: object) -> list[dict]:
        """Add the rule a POST /_sandbox/faults body describes (FaultError when it is not a valid one)."""
        if not isinstance(spec, dict):
            raise FaultError("body must be a JSON object")
        if spec.get("clear"):
            self.clear()
            return self.snapshot()
        on = spec.get("on", "api")
        if on not in TARGETS:
            raise FaultError(f"'on' must be one of {', '.join(TARGETS)}")
        rule = {"on": on}
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise FaultError("'count' must be a positive integer")
        if "lose_response" in spec:
            n = spec["lose_response"]
            if not isinstance(n, int) or isinstance(n, bool) or n < 1:
                raise FaultError("'lose_response' must be a positive integer (number of calls)")
            rule.update(kind="lose_response", remaining=n)
        elif "latency_ms" in spec:
            ms = spec["latency_ms"]
            if not isinstance(ms, (int, float)) or isinstance(ms, bool) or ms < 0:
                raise FaultError("'latency_ms' must be a non-negative number")
            rule.update(kind="latency", ms=ms, remaining=count)
        elif "status" in spec:
            status = spec["status"]
            if status not in FAULT_STATUSES:
                raise FaultError(f"'status' must be one of {FAULT_STATUSES}")
            rule.update(kind="status", status=status)
            if "percent" in spec:
                p = spec["percent"]
                if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0 < p <= 100:
                    raise FaultError("'percent' must be in (0, 100]")
                rule.update(percent=p, remaining=count)
            else:
                rule.update(remaining=count or 1)
            if status == 429:
                problem = spec.get("problem", "minute")
                if problem not in ("minute", "day", "concurrent", "appminute"):
                    raise FaultError("'problem' must be minute, day, concurrent or appminute")
                rule["problem"] = problem
                rule["retry_after"] = int(spec.get("retry_after", 60 if problem != "day" else 3600))
        else:
            raise FaultError("expected one of: status, latency_ms, lose_response, clear")
        with self.lock:
            self.rules.append(rule)
            return [dict(r) for r in self.rules]

    @staticmethod
    def _matches(rule, target):
        return rule["on"] == "all" or rule["on"] == target

    def _consume(self, rule):
        if rule.get("remaining") is not None:
            rule["remaining"] -= 1
            if rule["remaining"] <= 0:
                self.rules.remove(rule)

    def latency_ms(self, target: str) -> float:
        total = 0.0
        with self.lock:
            for rule in list(self.rules):
                if rule["kind"] == "latency" and self._matches(rule, target):
                    total += rule["ms"]
                    self.fired["latency"] += 1
                    self._consume(rule)
        return total

    def take_status(self, target: str) -> dict | None:
        with self.lock:
            for rule in list(self.rules):
                if rule["kind"] != "status" or not self._matches(rule, target):
                    continue
                if "percent" in rule and self.random.uniform(0, 100) >= rule["percent"]:
                    continue
                self.fired[f"status_{rule['status']}"] += 1
                fired = dict(rule)
                self._consume(rule)
                return fired
        return None

    def take_lose(self, target: str) -> bool:
        with self.lock:
            for rule in list(self.rules):
                if rule["kind"] == "lose_response" and self._matches(rule, target):
                    self.fired["lose_response"] += 1
                    self._consume(rule)
                    return True
        return False
