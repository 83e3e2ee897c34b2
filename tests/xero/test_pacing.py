"""Pacing shared through Redis: a rolling minute, a concurrency semaphore, a daily budget, Xero's headers."""
import pytest

from webapp.redis_conn import get_redis
from webapp.xero.errors import XeroRateLimited
from webapp.xero.pacing import Limits, Pacer


@pytest.fixture
def make_pacer(app, fake_time):
    def make(tenant="tenant-a", **limits):
        return Pacer(get_redis(app.config["REDIS_URL"]), app.config["REDIS_KEY_PREFIX"], tenant,
                     limits=Limits(**limits), clock=fake_time.clock, sleep=fake_time.sleep)

    return make


def test_sixty_calls_a_minute_then_waits_for_the_oldest_to_age_out(make_pacer, fake_time):
    pacer = make_pacer()
    for _ in range(60):
        pacer.release(pacer.acquire())
        fake_time.now += 0.5  # 60 calls over 30 seconds
    assert pacer.calls_in_last_minute() == 60
    assert fake_time.slept == []
    pacer.release(pacer.acquire())
    assert fake_time.slept and sum(fake_time.slept) == pytest.approx(30, abs=0.1)
    assert pacer.calls_today() == 61


def test_two_processes_share_the_minute_window(make_pacer, fake_time):
    first, second = make_pacer(), make_pacer()
    for _ in range(30):
        first.release(first.acquire())
        second.release(second.acquire())
    assert first.calls_in_last_minute() == 60
    with pytest.raises(XeroRateLimited) as raised:
        make_pacer(max_wait=5).acquire()
    assert raised.value.problem == "minute"


def test_at_most_five_at_once(make_pacer):
    pacer = make_pacer(max_wait=1)
    holders = [pacer.acquire() for _ in range(5)]
    assert pacer.holders() == 5
    with pytest.raises(XeroRateLimited) as raised:
        pacer.acquire()
    assert raised.value.problem == "concurrent"
    pacer.release(holders[0])
    pacer.release(pacer.acquire())


def test_an_abandoned_slot_expires(make_pacer, fake_time):
    pacer = make_pacer(max_wait=1)
    for _ in range(5):
        pacer.acquire()  # never released: the process died
    assert pacer.holders() == 5
    fake_time.now += 121
    assert pacer.holders() == 0
    holder = pacer.acquire()
    assert pacer.holders() == 1
    pacer.release(holder)
    assert pacer.holders() == 0


def test_the_daily_budget_is_not_waited_for(make_pacer, fake_time):
    pacer = make_pacer(day=3)
    for _ in range(3):
        pacer.release(pacer.acquire())
    with pytest.raises(XeroRateLimited) as raised:
        pacer.acquire()
    assert raised.value.problem == "day"
    assert raised.value.retry_after > 0
    assert fake_time.slept == []


def test_organisations_are_paced_separately(make_pacer):
    a, b = make_pacer("tenant-a", max_wait=0), make_pacer("tenant-b", max_wait=0)
    for _ in range(60):
        a.release(a.acquire())
    b.release(b.acquire())
    assert b.calls_in_last_minute() == 1


def test_xero_saying_no_calls_remain_pauses_everyone_for_a_minute(make_pacer, fake_time):
    pacer = make_pacer()
    pacer.observe({"X-MinLimit-Remaining": "0", "X-DayLimit-Remaining": "100"})
    other = make_pacer()
    other.release(other.acquire())
    assert sum(fake_time.slept) == pytest.approx(60, abs=0.1)
    assert other.calls_today() == 4901  # Xero's own day count was adopted, plus this call


def test_observe_returns_what_xeros_headers_said(make_pacer):
    rate = make_pacer().observe({"X-MinLimit-Remaining": "12", "X-DayLimit-Remaining": "oops"})
    assert (rate.minute, rate.day, rate.app_minute) == (12, None, None)


def test_waiting_is_bounded(make_pacer, fake_time):
    pacer = make_pacer(max_wait=10)
    pacer.pause(30)
    with pytest.raises(XeroRateLimited) as raised:
        pacer.acquire()
    assert raised.value.problem == "pause"
    assert fake_time.slept == []


def test_an_app_pause_holds_every_organisation_for_its_length(make_pacer, fake_time):
    make_pacer("tenant-a").pause_app(30)
    other = make_pacer("tenant-b")
    other.release(other.acquire())
    assert sum(fake_time.slept) == pytest.approx(30, abs=0.1)


def test_an_app_pause_past_the_wait_bound_names_the_app_limit(make_pacer, fake_time):
    make_pacer("tenant-a").pause_app(30)
    with pytest.raises(XeroRateLimited) as raised:
        make_pacer("tenant-b", max_wait=5).acquire()
    assert raised.value.problem == "appminute" and "all organisations" in raised.value.message
    assert raised.value.retry_after == pytest.approx(30, abs=0.1)
    assert fake_time.slept == []


def test_xero_saying_no_app_calls_remain_pauses_every_organisation_for_a_minute(make_pacer, fake_time):
    make_pacer("tenant-a").observe({"X-AppMinLimit-Remaining": "0", "X-MinLimit-Remaining": "50"})
    other = make_pacer("tenant-b")
    other.release(other.acquire())
    assert sum(fake_time.slept) == pytest.approx(60, abs=0.1)


def test_an_organisation_pause_leaves_the_others_alone(make_pacer, fake_time):
    make_pacer("tenant-a").pause(30)
    other = make_pacer("tenant-b")
    other.release(other.acquire())
    assert fake_time.slept == []


@pytest.fixture
def dead_redis():
    import redis

    return redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)


def test_redis_down_when_taking_a_slot_is_a_clear_typed_error(app, dead_redis, fake_time):
    from webapp.xero.errors import BackgroundServiceUnavailable, XeroUnavailable

    pacer = Pacer(dead_redis, app.config["REDIS_KEY_PREFIX"], "tenant-a", clock=fake_time.clock,
                  sleep=fake_time.sleep)
    with pytest.raises(BackgroundServiceUnavailable) as raised:
        pacer.acquire()
    assert isinstance(raised.value, XeroUnavailable)
    assert "background service is unavailable" in raised.value.message and "Redis" not in raised.value.message


def test_redis_down_after_xero_answered_is_logged_not_raised(app, dead_redis, fake_time, caplog):
    pacer = Pacer(dead_redis, app.config["REDIS_KEY_PREFIX"], "tenant-a", clock=fake_time.clock,
                  sleep=fake_time.sleep)
    pacer.release("holder")
    rate = pacer.observe({"X-MinLimit-Remaining": "0", "X-AppMinLimit-Remaining": "0", "X-DayLimit-Remaining": "9"})
    assert (rate.minute, rate.app_minute, rate.day) == (0, 0, 9)
    pacer.pause(5)
    pacer.pause_app(5)
    for what in ("release a slot", "record Xero's limits", "pause this organisation", "pause every organisation"):
        assert f"could not {what}: Redis unavailable" in caplog.text


def _refused(pacer) -> XeroRateLimited:
    with pytest.raises(XeroRateLimited) as raised:
        pacer.acquire()
    return raised.value


def test_a_shorter_pause_never_cuts_a_longer_one(make_pacer, fake_time):
    pacer = make_pacer(max_wait=5)
    pacer.pause(3600)  # a day-limit 429
    pacer.observe({"X-MinLimit-Remaining": "0"})  # a call in flight then sees the minute spent
    pacer.pause(60)
    assert _refused(pacer).retry_after == pytest.approx(3600, abs=0.1)
    fake_time.now += 120  # past where a 60 s pause would have ended
    assert _refused(pacer).retry_after == pytest.approx(3480, abs=0.1)


def test_a_longer_pause_extends_a_shorter_one(make_pacer, fake_time, app):
    pacer = make_pacer(max_wait=5)
    pacer.pause(60)
    pacer.pause(3600)
    assert _refused(pacer).retry_after == pytest.approx(3600, abs=0.1)
    assert get_redis(app.config["REDIS_URL"]).ttl(pacer._pause_key) > 3500  # Redis keeps the longer one too


def test_a_shorter_app_pause_never_cuts_a_longer_one(make_pacer, fake_time):
    make_pacer("tenant-a").pause_app(600)
    make_pacer("tenant-b").observe({"X-AppMinLimit-Remaining": "0"})
    make_pacer("tenant-c").pause_app(30)
    refused = _refused(make_pacer("tenant-d", max_wait=5))
    assert (refused.problem, refused.retry_after) == ("appminute", pytest.approx(600, abs=0.1))


def test_without_a_test_clock_the_windows_use_redis_time(app, fake_time):
    """Every host measures the rolling minute and pauses by Redis's clock, so their own clocks' skew is moot."""
    redis_client = get_redis(app.config["REDIS_URL"])

    def make(**limits):
        return Pacer(redis_client, app.config["REDIS_KEY_PREFIX"], "tenant-redis-time", limits=Limits(**limits),
                     sleep=fake_time.sleep)

    pacer = make()
    for _ in range(60):
        pacer.release(pacer.acquire())
    seconds, micros = redis_client.time()
    (_, newest), = redis_client.zrange(pacer._minute_key, -1, -1, withscores=True)
    assert newest == pytest.approx(seconds + micros / 1e6, abs=5)
    assert make().calls_in_last_minute() == 60
    refused = _refused(make(max_wait=0))
    assert refused.problem == "minute" and 55 < refused.retry_after <= 60
    pacer.pause(300)
    assert _refused(make(max_wait=0)).retry_after == pytest.approx(300, abs=5)
    assert fake_time.slept == []
