"""Refreshing a stored connection's tokens: ahead of expiry, rotated, serialised, never logged."""
import logging
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from tests.factories import make_connection
from tests.xero.helpers import stored_tokens, token_body
from webapp.xero.errors import XeroAuthError
from webapp.xero.token_store import TokenManager


def test_fresh_token_is_used_without_refreshing(app, app_ctx, settings, mocked):
    connection = make_connection(expires_in=timedelta(minutes=20))
    assert TokenManager(settings).access_token(connection.id) == "old-access"
    assert len(mocked.calls) == 0


def test_token_close_to_expiry_is_refreshed_and_the_rotated_set_stored(app, app_ctx, settings, mocked):
    connection = make_connection(expires_in=timedelta(seconds=90))
    mocked.post(settings.token_url, json=token_body("access-2", "refresh-2"))
    manager = TokenManager(settings)
    assert manager.access_token(connection.id) == "access-2"
    assert parse_qs(mocked.calls[0].request.body)["refresh_token"] == ["old-refresh"]
    access, refresh, row = stored_tokens(connection.id)
    assert (access, refresh) == ("access-2", "refresh-2")
    assert "refresh-2" not in row.refresh_token_encrypted  # encrypted at rest
    # the next call uses the rotated refresh token
    mocked.post(settings.token_url, json=token_body("access-3", "refresh-3"))
    assert manager.access_token(connection.id, stale_token="access-2") == "access-3"
    assert parse_qs(mocked.calls[1].request.body)["refresh_token"] == ["refresh-2"]


def test_invalid_grant_marks_needs_reconnect_and_raises(app, app_ctx, settings, mocked):
    connection = make_connection(expires_in=timedelta(seconds=-5))
    mocked.post(settings.token_url, status=400, json={"error": "invalid_grant"})
    with pytest.raises(XeroAuthError):
        TokenManager(settings).access_token(connection.id)
    _, _, row = stored_tokens(connection.id)
    assert row.status == "needs_reconnect"
    assert "invalid_grant" in row.last_error


def test_a_connection_needing_reconnect_hands_out_no_token(app, app_ctx, settings, mocked):
    connection = make_connection(status="needs_reconnect")
    with pytest.raises(XeroAuthError, match="reconnect"):
        TokenManager(settings).access_token(connection.id)
    assert len(mocked.calls) == 0


def test_two_threads_refreshing_at_once_make_one_refresh(app, app_ctx, settings, mocked):
    connection_id = make_connection(expires_in=timedelta(seconds=10)).id  # read once: threads share no ORM object

    def slow_token_endpoint(request):
        time.sleep(0.4)  # hold the lock long enough for the other thread to queue behind it
        import json
        return 200, {}, json.dumps(token_body("access-2", "refresh-2"))

    mocked.add_callback("POST", settings.token_url, callback=slow_token_endpoint)
    results, errors = [], []

    def worker():
        with app.app_context():
            try:
                results.append(TokenManager(settings).access_token(connection_id))
            except Exception as exc:  # any failure is reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert results == ["access-2", "access-2"]
    assert len(mocked.calls) == 1
    access, refresh, row = stored_tokens(connection_id)
    assert (access, refresh, row.status) == ("access-2", "refresh-2", "connected")


def test_no_token_reaches_the_log_during_refresh(app, app_ctx, settings, mocked, caplog):
    connection = make_connection(access="SECRET-ACCESS-OLD", refresh="SECRET-REFRESH-OLD",
                                 expires_in=timedelta(seconds=-1))
    mocked.post(settings.token_url, json=token_body("SECRET-ACCESS-NEW", "SECRET-REFRESH-NEW"))
    caplog.set_level(logging.DEBUG)
    TokenManager(settings).access_token(connection.id)
    assert "Refreshed Xero tokens" in caplog.text  # the capture did see the refresh
    assert "SECRET" not in caplog.text


def test_a_refresh_ends_well_inside_the_lock_ttl():
    from webapp.xero import oauth, token_store

    worst_case = oauth.REFRESH_DEADLINE + sum(oauth.REFRESH_TIMEOUT) + oauth.REFRESH_BACKOFF_MAX
    assert worst_case < token_store.LOCK_TIMEOUT


def _slow_first_refresh(settings, mocked, entered, release):
    """The token endpoint: the first call blocks until `release`, later calls answer at once."""
    import json

    calls = []
    guard = threading.Lock()

    def endpoint(request):
        with guard:
            calls.append(request)
            number = len(calls)
        if number == 1:
            entered.set()
            release.wait(10)
            return 200, {}, json.dumps(token_body("access-A", "refresh-A"))
        return 200, {}, json.dumps(token_body("access-B", "refresh-B"))

    mocked.add_callback("POST", settings.token_url, callback=endpoint)
    return calls


def _in_thread(app, target, results, errors):
    def run():
        with app.app_context():
            try:
                results.append(target())
            except Exception as exc:  # any failure is reported by the test
                errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_refresh_that_outlives_its_lock_does_not_overwrite_the_next_one(app, app_ctx, settings, mocked):
    """Lock TTL 0.5 s, a refresh that takes longer: the second process takes the expired lock and refreshes;
    when the first finishes, its write finds the row changed and it uses the stored set instead."""
    connection_id = make_connection(expires_in=timedelta(seconds=-1)).id
    entered, release = threading.Event(), threading.Event()
    calls = _slow_first_refresh(settings, mocked, entered, release)
    results, errors = [], []
    slow = _in_thread(app, lambda: TokenManager(settings, lock_timeout=0.5).access_token(connection_id),
                      results, errors)
    assert entered.wait(5)
    time.sleep(0.8)  # the slow refresh's lock has expired
    fast = _in_thread(app, lambda: TokenManager(settings, lock_timeout=0.5).access_token(connection_id),
                      results, errors)
    fast.join(10)
    release.set()
    slow.join(10)
    assert errors == []
    assert len(calls) == 2
    assert results == ["access-B", "access-B"]  # the late finisher adopts what is stored
    access, refresh, row = stored_tokens(connection_id)
    assert (access, refresh, row.status) == ("access-B", "refresh-B", "connected")


def test_a_refresh_finishing_after_a_disconnect_writes_nothing_back(app, app_ctx, settings, mocked):
    from webapp.extensions import db
    from webapp.models import XeroConnection

    connection_id = make_connection(expires_in=timedelta(seconds=-1)).id
    entered, release = threading.Event(), threading.Event()
    _slow_first_refresh(settings, mocked, entered, release)
    results, errors = [], []
    slow = _in_thread(app, lambda: TokenManager(settings, lock_timeout=0.5).access_token(connection_id),
                      results, errors)
    assert entered.wait(5)
    time.sleep(0.8)
    row = db.session.get(XeroConnection, connection_id)  # disconnect's write, while the refresh is in flight
    row.status, row.access_token_encrypted, row.refresh_token_encrypted = "disconnected", None, None
    db.session.commit()
    release.set()
    slow.join(10)
    assert results == [] and len(errors) == 1 and isinstance(errors[0], XeroAuthError)
    access, refresh, row = stored_tokens(connection_id)
    assert (access, refresh, row.status) == (None, None, "disconnected")


def test_invalid_grant_after_someone_else_stored_new_tokens_does_not_mark_needs_reconnect(app, app_ctx, settings,
                                                                                           mocked):
    from webapp.extensions import db
    from webapp.models import XeroConnection
    from webapp.xero.crypto import TokenCipher

    connection_id = make_connection(expires_in=timedelta(seconds=-1)).id
    cipher = TokenCipher(app.config["TOKEN_ENCRYPTION_KEY"])

    def endpoint(request):
        row = db.session.get(XeroConnection, connection_id)  # a reconnect stores a new grant meanwhile
        row.refresh_token_encrypted = cipher.encrypt("reconnected-refresh")
        db.session.commit()
        return 400, {}, '{"error": "invalid_grant"}'

    mocked.add_callback("POST", settings.token_url, callback=endpoint)
    with pytest.raises(XeroAuthError):
        TokenManager(settings).access_token(connection_id)
    _, refresh, row = stored_tokens(connection_id)
    assert (refresh, row.status) == ("reconnected-refresh", "connected")


def test_tokens_that_cannot_be_decrypted_mark_the_connection_needs_reconnect(app, app_ctx, settings, mocked):
    from cryptography.fernet import Fernet

    from webapp.extensions import db
    from webapp.models import XeroConnection

    connection = make_connection()
    old_key = Fernet(Fernet.generate_key())  # encrypted under a key since rotated away
    connection.access_token_encrypted = old_key.encrypt(b"old-access").decode()
    connection.refresh_token_encrypted = old_key.encrypt(b"old-refresh").decode()
    db.session.commit()
    with pytest.raises(XeroAuthError, match="reconnect"):
        TokenManager(settings).access_token(connection.id)
    db.session.expire_all()
    row = db.session.get(XeroConnection, connection.id)
    assert row.status == "needs_reconnect"
    assert "reconnect to Xero" in row.last_error
    assert len(mocked.calls) == 0


def test_redis_down_is_a_clear_unavailable_error(app, app_ctx, settings, mocked, monkeypatch):
    import redis

    from webapp.xero import token_store
    from webapp.xero.errors import BACKGROUND_SERVICE_DOWN, BackgroundServiceUnavailable

    connection = make_connection(expires_in=timedelta(seconds=-1))
    dead = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(token_store, "get_redis", lambda url: dead)
    with pytest.raises(BackgroundServiceUnavailable) as raised:
        TokenManager(settings).access_token(connection.id)
    assert raised.value.message == BACKGROUND_SERVICE_DOWN
    assert len(mocked.calls) == 0
