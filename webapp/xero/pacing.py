"""Per-organisation pacing shared by every process through Redis.

Xero allows each organisation 60 calls in any rolling minute, 5 at once and 5,000 a day (and each app
10,000 a minute across organisations). Every call first takes a slot here: one atomic Lua script checks
the rolling-minute window (a sorted set of call times), the concurrency semaphore (a sorted set of holders
that expire, so a crashed process cannot hold a slot forever), the day's count and any pause set from
Xero's own `X-*Limit-Remaining` headers. When a limit is near, the caller waits (bounded); past the bound,
or when the day's budget is spent, it gets XeroRateLimited.

The day: Xero documents a daily limit per organisation and counts it over a rolling 24 hours. Our own
counter is a UTC calendar day (one Redis key per date), which can let through calls Xero will still count
against the previous 24 hours just after midnight. That is acceptable because Xero's count wins whenever it
is lower: `observe` adopts X-DayLimit-Remaining into today's counter, and a day-limit 429 pauses every
process for the Retry-After Xero sends (the time its rolling window frees calls), not until our midnight.

Pauses only ever grow: setting one that would end sooner than the pause already there leaves the longer
one (a call in flight that sees `X-MinLimit-Remaining: 0` must not cut a day-limit pause to a minute).

The clock: the rolling minute, the slot expiries and the pauses use Redis's own clock (`TIME`, read inside
the scripts), so every process measures them against one clock and skew between hosts cannot loosen the
limit. A test may inject a clock instead; only then is the caller's time passed in. The UTC day of the
daily counter is the host's (a second of skew at midnight moves a call or two between days — harmless).

The app limit: an app-minute 429 (or `X-AppMinLimit-Remaining: 0`) sets one pause every organisation's
pacer checks, so every organisation waits, not only the one whose call was refused.

Redis down: taking a slot raises BackgroundServiceUnavailable (no call is made). Releasing a slot, reading
Xero's headers and pausing happen after a call Xero has already answered, so there a Redis failure is logged
and the answer kept: a POST Xero accepted must not be reported as failed (and then sent again).
"""
import logging
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import redis
from redis.exceptions import RedisError

from webapp.xero.errors import BackgroundServiceUnavailable, XeroRateLimited

log = logging.getLogger(__name__)

MINUTE_LIMIT = 60
CONCURRENT_LIMIT = 5
DAY_LIMIT = 5000
HOLDER_TTL = 120  # seconds a slot may be held before it is presumed abandoned
MAX_WAIT = 90.0  # longest a caller waits for a slot in total

# Redis's clock unless the caller passed one (tests); Redis 5+ replicates script effects, so TIME is allowed.
_NOW = """
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
"""

_ACQUIRE = _NOW + """
local pauses = {[4] = 'pause', [5] = 'appminute'}
for i = 4, 5 do
  local until_ = redis.call('GET', KEYS[i])
  if until_ and tonumber(until_) > now then return {pauses[i], tostring(tonumber(until_) - now)} end
end
local day = tonumber(redis.call('GET', KEYS[3]) or '0')
if day >= tonumber(ARGV[5]) then return {'day', '0'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 60)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {'minute', tostring(tonumber(oldest[2]) + 60 - now)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return {'concurrent', '0.1'} end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[2])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[6]) * 2)
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('EXPIRE', KEYS[1], 120)
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], 2 * 86400)
return {'ok', '0'}
"""

# Set a pause ending ARGV[2] seconds from now unless the one already there ends later; 1 when it was set.
_PAUSE = _NOW + """
local until_ = now + tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if current >= until_ then return 0 end
redis.call('SET', KEYS[1], string.format('%.6f', until_), 'EX', math.max(math.ceil(tonumber(ARGV[2])) + 1, 1))
return 1
"""


def header_int(value) -> int | None:
    """An integer header (or Redis value), None when missing or unreadable."""
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class RateInfo:
    """The `X-*Limit-Remaining` values of one Xero response (None when it did not send one)."""

    minute: int | None = None
    day: int | None = None
    app_minute: int | None = None

    @classmethod
    def from_headers(cls, headers) -> "RateInfo":
        return cls(minute=header_int(headers.get("X-MinLimit-Remaining")),
                   day=header_int(headers.get("X-DayLimit-Remaining")),
                   app_minute=header_int(headers.get("X-AppMinLimit-Remaining")))


@dataclass(frozen=True)
class Limits:
    """Xero's limits for one organisation, and how long a caller may wait for a slot in all."""

    minute: int = MINUTE_LIMIT
    concurrent: int = CONCURRENT_LIMIT
    day: int = DAY_LIMIT
    max_wait: float = MAX_WAIT


class Pacer:
    """Slots for calls to one organisation (`tenant_id`), shared through Redis by every process."""

    def __init__(self, redis_client: redis.Redis, key_prefix: str, tenant_id: str, limits: Limits | None = None,
                 clock: Callable[[], float] | None = None, sleep: Callable[[float], None] = time.sleep):
        """`clock`: a test clock; without one the windows use Redis's clock and the day the host's."""
        self.redis = redis_client
        self.limits = limits or Limits()
        self.test_clock = clock
        self.clock = clock or time.time  # the host's: only for the UTC day and the time to midnight
        self.sleep = sleep
        self.tenant_id = tenant_id
        base = f"{key_prefix}xero:pace:{tenant_id}"
        self._minute_key = f"{base}:minute"
        self._holders_key = f"{base}:holders"
        self._pause_key = f"{base}:pause"
        self._app_pause_key = f"{key_prefix}xero:pace:app:pause"
        self._day_prefix = f"{base}:day:"
        self._script = self.redis.register_script(_ACQUIRE)
        self._pause_script = self.redis.register_script(_PAUSE)

    def _now_arg(self) -> str:
        """The scripts' ARGV[1]: the test clock's time, or '' for Redis's own clock."""
        return repr(self.test_clock()) if self.test_clock else ""

    def _now(self) -> float:
        """The time the windows are measured in (Redis's clock unless a test clock is set)."""
        if self.test_clock:
            return self.test_clock()
        seconds, micros = self.redis.time()
        return seconds + micros / 1_000_000

    def _day_key(self) -> str:
        return self._day_prefix + datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%d")

    def acquire(self) -> str:
        """Take a slot (waiting up to `max_wait` seconds in all); returns the holder id to release."""
        holder = uuid.uuid4().hex
        waited = 0.0
        while True:
            keys = [self._minute_key, self._holders_key, self._day_key(), self._pause_key, self._app_pause_key]
            args: list[str | int] = [self._now_arg(), holder, self.limits.minute, self.limits.concurrent,
                                     self.limits.day, HOLDER_TTL]
            try:
                verdict, seconds = self._script(keys=keys, args=args)
            except RedisError as exc:
                log.warning("Xero pacing for %s: Redis unavailable (%s); no call made", self.tenant_id,
                            type(exc).__name__)
                raise BackgroundServiceUnavailable() from exc
            verdict = verdict.decode() if isinstance(verdict, bytes) else verdict
            seconds = max(float(seconds), 0.05)
            if verdict == "ok":
                return holder
            if verdict == "day":
                raise XeroRateLimited("Socket has used today's Xero allowance for this organisation; "
                                      "it will carry on tomorrow.", retry_after=_seconds_to_midnight(self.clock()),
                                      problem="day", status=None)
            if waited + seconds > self.limits.max_wait:
                raise XeroRateLimited(_wait_message(verdict), retry_after=seconds, problem=verdict, status=None)
            self.sleep(seconds)
            waited += seconds

    def release(self, holder: str) -> None:
        """Give back the slot taken by `acquire` (without Redis it expires after HOLDER_TTL instead)."""
        with self._after_call("release a slot"):
            self.redis.zrem(self._holders_key, holder)

    @contextmanager
    def _after_call(self, what: str):
        """Pacing bookkeeping after Xero answered: a Redis failure is logged, never raised over the answer."""
        try:
            yield
        except RedisError as exc:
            log.warning("Xero pacing for %s could not %s: Redis unavailable (%s)", self.tenant_id, what,
                        type(exc).__name__)

    @contextmanager
    def slot(self):
        """Hold a slot for the length of one HTTP call."""
        holder = self.acquire()
        try:
            yield
        finally:
            self.release(holder)

    def observe(self, headers) -> RateInfo:
        """Read Xero's `X-*Limit-Remaining` headers and pause every process when one says a limit is spent
        (they count calls we cannot see); returns what they said."""
        rate = RateInfo.from_headers(headers)
        with self._after_call("record Xero's limits"):
            if rate.minute == 0:
                self.pause(60)
            if rate.app_minute == 0:
                self.pause_app(60)  # the app's rolling minute frees a call within 60 s
            if rate.day is not None:
                # Trust Xero's count when it says less is left than ours does.
                used = self.limits.day - rate.day
                key = self._day_key()
                current = header_int(self.redis.get(key)) or 0
                if used > current:
                    self.redis.set(key, used, ex=2 * 86400)
        return rate

    def pause(self, seconds: float) -> None:
        """Hold every process's calls to this organisation for `seconds` (after a 429)."""
        with self._after_call("pause this organisation"):
            self._set_pause(self._pause_key, seconds)

    def pause_app(self, seconds: float) -> None:
        """Hold every process's calls to every organisation for `seconds` (after an app-minute 429)."""
        with self._after_call("pause every organisation"):
            self._set_pause(self._app_pause_key, seconds)

    def _set_pause(self, key: str, seconds: float) -> None:
        """Pause until `seconds` from now, unless a longer pause is already set (atomic, in one script)."""
        self._pause_script(keys=[key], args=[self._now_arg(), repr(float(seconds))])

    def calls_in_last_minute(self) -> int:
        """Calls any process made to this organisation in the rolling minute."""
        return self.redis.zcount(self._minute_key, self._now() - 60, "+inf")

    def calls_today(self) -> int:
        """Calls counted against today's (UTC) budget, Xero's own count included."""
        return header_int(self.redis.get(self._day_key())) or 0

    def holders(self) -> int:
        """Slots held now (abandoned ones drop out after HOLDER_TTL)."""
        return self.redis.zcount(self._holders_key, self._now(), "+inf")


def _wait_message(problem: str) -> str:
    if problem == "appminute":
        return "Xero's limit on Socket's calls across all organisations is reached; try again shortly."
    return f"Xero's {problem} limit for this organisation is reached; try again shortly."


def _seconds_to_midnight(now: float) -> float:
    moment = datetime.fromtimestamp(now, UTC)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() + 86400
    return midnight - now
