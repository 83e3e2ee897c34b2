"""Refreshing a stored connection's tokens: ahead of expiry, rotated, serialised, never logged."""
import logging
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from tests.xero.conftest import make_connection, stored_tokens, token_body
from webapp.xero.errors import XeroAuthError
from webapp.xero.token_store import TokenManager


def test_fresh_token_is_used_without_refreshing(app, app_ctx, settings, mocked):
    connection = make_connection(app, expires_in=timedelta(minutes=20))
    assert TokenManager(settings).access_token(connection.id) == "old-access"
    assert len(mocked.calls) == 0


def test_token_close_to_expiry_is_refreshed_and_the_rotated_set_stored(app, app_ctx, settings, mocked):
    connection = make_connection(app, expires_in=timedelta(seconds=90))
    mocked.post(settings.token_url, json=token_body("access-2", "refresh-2"))
    manager = TokenManager(settings)
    assert manager.access_token(connection.id) == "access-2"
    assert parse_qs(mocked.calls[0].request.body)["refresh_token"] == ["old-refresh"]
    access, refresh, row = stored_tokens(app, connection.id)
    assert (access, refresh) == ("access-2", "refresh-2")
    assert "refresh-2" not in row.refresh_token_encrypted  # encrypted at rest
    # the next call uses the rotated refresh token
    mocked.post(settings.token_url, json=token_body("access-3", "refresh-3"))
    assert manager.access_token(connection.id, stale_token="access-2") == "access-3"
    assert parse_qs(mocked.calls[1].request.body)["refresh_token"] == ["refresh-2"]


def test_invalid_grant_marks_needs_reconnect_and_raises(app, app_ctx, settings, mocked):
    connection = make_connection(app, expires_in=timedelta(seconds=-5))
    mocked.post(settings.token_url, status=400, json={"error": "invalid_grant"})
    with pytest.raises(XeroAuthError):
        TokenManager(settings).access_token(connection.id)
    _, _, row = stored_tokens(app, connection.id)
    assert row.status == "needs_reconnect"
    assert "invalid_grant" in row.last_error


def test_a_connection_needing_reconnect_hands_out_no_token(app, app_ctx, settings, mocked):
    connection = make_connection(app, status="needs_reconnect")
    with pytest.raises(XeroAuthError, match="reconnect"):
        TokenManager(settings).access_token(connection.id)
    assert len(mocked.calls) == 0


def test_two_threads_refreshing_at_once_make_one_refresh(app, app_ctx, settings, mocked):
    connection_id = make_connection(app, expires_in=timedelta(seconds=10)).id  # read once: threads share no ORM object

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
            except Exception as exc:  # noqa: BLE001 — reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert results == ["access-2", "access-2"]
    assert len(mocked.calls) == 1
    access, refresh, row = stored_tokens(app, connection_id)
    assert (access, refresh, row.status) == ("access-2", "refresh-2", "connected")


def test_no_token_reaches_the_log_during_refresh(app, app_ctx, settings, mocked, caplog):
    connection = make_connection(app, access="SECRET-ACCESS-OLD", refresh="SECRET-REFRESH-OLD",
                                 expires_in=timedelta(seconds=-1))
    mocked.post(settings.token_url, json=token_body("SECRET-ACCESS-NEW", "SECRET-REFRESH-NEW"))
    caplog.set_level(logging.DEBUG)
    TokenManager(settings).access_token(connection.id)
    assert "Refreshed Xero tokens" in caplog.text  # the capture did see the refresh
    assert "SECRET" not in caplog.text
