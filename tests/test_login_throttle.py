"""Sign-in throttling (webapp/security/throttle.py): failures counted per account and per client address in
Redis, checked before any password is hashed; 429 with Retry-After and a message; failing open without Redis."""
import logging

import pytest
import redis
from flask import request
from werkzeug.middleware.proxy_fix import ProxyFix

import webapp.auth.routes
from tests.factories import PASSWORD, make_user
from webapp import create_app
from webapp.extensions import db

WINDOW = 15 * 60


def signed_in(client) -> bool:
    return client.get("/billing/plan").status_code == 200


def attempt(client, email, password="wrong password", address="127.0.0.1"):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


@pytest.fixture
def hashes(monkeypatch):
    """Counts the password hashes the sign-in page works out."""
    calls = []
    real = webapp.auth.routes.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(webapp.auth.routes, "check_password_hash", counting)
    return calls


def assert_locked(response, minutes=15):
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= minutes * 60
    body = response.get_data(as_text=True)
    assert f"Too many sign-in attempts. Try again in {minutes} minutes." in body
    assert "do not match" not in body


def test_five_wrong_passwords_lock_the_account_and_then_even_the_right_one_is_refused(client, owner, hashes):
    for _ in range(4):
        assert attempt(client, owner.email).status_code == 422
    assert_locked(attempt(client, owner.email))  # the fifth failure says so at once
    hashes.clear()
    locked = attempt(client, owner.email, PASSWORD)
    assert_locked(locked)
    assert int(locked.headers["Retry-After"]) > WINDOW - 60
    assert hashes == []  # refused before any hashing
    assert not signed_in(client)


def test_the_account_is_counted_whatever_the_case_of_the_email(client, owner):
    for email in (owner.email.upper(), owner.email.title(), f"  {owner.email}  ", owner.email, owner.email.upper()):
        attempt(client, email)
    assert_locked(attempt(client, owner.email, PASSWORD))


def test_the_lock_holds_from_another_address_and_other_accounts_are_not_locked(client, owner):
    for _ in range(5):
        attempt(client, owner.email)
    assert_locked(attempt(client, owner.email, PASSWORD, address="10.0.0.9"))  # per account, not per address
    colleague = make_user(owner.practice_id)
    assert attempt(client, colleague.email, PASSWORD).status_code == 302


def test_signing_in_clears_the_accounts_failures(client, owner):
    for _ in range(4):
        attempt(client, owner.email)
    assert attempt(client, owner.email, PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(4):  # had the first four still counted, these would be locked
        assert attempt(client, owner.email).status_code == 422
    assert_locked(attempt(client, owner.email))  # the fifth since signing in


def test_twenty_failures_from_one_address_lock_that_address_for_every_account(client, owner):
    for number in range(19):
        assert attempt(client, f"nobody{number}@example.com").status_code == 422
    assert_locked(attempt(client, "nobody19@example.com"))
    assert_locked(attempt(client, owner.email, PASSWORD))  # the right password for a real account, same address
    assert attempt(client, owner.email, PASSWORD, address="10.0.0.9").status_code == 302  # elsewhere: fine


def test_the_lock_ends_with_the_window(app, client, owner):
    for _ in range(5):
        attempt(client, owner.email)
    assert_locked(attempt(client, owner.email, PASSWORD))
    store = redis.Redis.from_url(app.config["REDIS_URL"])
    keys = list(store.scan_iter(f"{app.config['REDIS_KEY_PREFIX']}login-failures:account:*"))
    assert len(keys) == 1 and owner.email.encode() not in keys[0]  # the email is hashed, not stored
    assert 0 < store.ttl(keys[0]) <= WINDOW
    store.expire(keys[0], 0)  # the window has passed
    assert attempt(client, owner.email, PASSWORD).status_code == 302


def test_an_unknown_email_costs_a_password_hash_like_a_wrong_password(client, owner, hashes):
    owner.set_password(PASSWORD)  # production's method, not the factories' cheap one
    db.session.commit()
    unknown = attempt(client, "nobody@example.com")
    assert len(hashes) == 1 and hashes[0] != owner.password_hash  # a dummy hash of the same kind
    assert hashes[0].split("$")[0] == owner.password_hash.split("$")[0]
    wrong = attempt(client, owner.email)
    assert hashes[1:] == [owner.password_hash]
    assert unknown.status_code == wrong.status_code == 422
    assert "That email and password do not match an account." in unknown.get_data(as_text=True)


def test_limits_come_from_the_settings(app, client, owner, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_ACCOUNT", 2)
    monkeypatch.setitem(app.config, "LOGIN_THROTTLE_WINDOW_MINUTES", 1)
    assert attempt(client, owner.email).status_code == 422
    response = attempt(client, owner.email)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) <= 60
    assert "Try again in 1 minute." in response.get_data(as_text=True)


def test_without_redis_sign_in_still_works_unthrottled_and_a_warning_is_logged(app, client, owner, monkeypatch,
                                                                                caplog):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    with caplog.at_level(logging.WARNING, logger="webapp.security.throttle"):
        for _ in range(7):
            assert attempt(client, owner.email).status_code == 422  # never a 500, never locked
        assert attempt(client, owner.email, PASSWORD).status_code == 302
    assert signed_in(client)
    assert any("Sign-in throttling is off" in record.getMessage() for record in caplog.records)


def test_the_client_address_comes_from_proxies_only_when_trusted():
    def address_seen(proxies: int) -> str:
        app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://", "TRUSTED_PROXY_COUNT": proxies})
        app.add_url_rule("/address", "address", lambda: request.remote_addr)
        response = app.test_client().get("/address", headers={"X-Forwarded-For": "203.0.113.7"},
                                         environ_base={"REMOTE_ADDR": "10.0.0.1"})
        return response.get_data(as_text=True)

    assert address_seen(0) == "10.0.0.1"  # the default: a forged header changes nothing
    assert address_seen(1) == "203.0.113.7"
    assert not isinstance(create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"}).wsgi_app, ProxyFix)
