"""Sessions that end (webapp/security/sessions.py): sign-out, a password change and "Sign out other sessions" end
sessions server-side; signing in starts a new session with a new CSRF secret; idle and lifetime limits.

Each `Browser` sends its requests in an app context of its own, as a real server does: inside the test's app
context Flask-Login and Flask-WTF would keep the signed-in user and the CSRF token in `g` from one request to the
next, and a cookie that should load nobody could still look signed in.
"""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

import webapp.security.sessions
from tests.factories import PASSWORD
from webapp.extensions import db
from webapp.models import User


class Browser:
    def __init__(self, app):
        self.app = app
        self.client = app.test_client()

    def open(self, path, method="GET", **kwargs):
        with self.app.app_context():
            return self.client.open(path, method=method, **kwargs)

    def get(self, path, **kwargs):
        return self.open(path, "GET", **kwargs)

    def post(self, path, **kwargs):
        return self.open(path, "POST", **kwargs)

    def sign_in(self, user, password=PASSWORD):
        response = self.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.status_code
        return self

    def signed_in(self) -> bool:
        return self.get("/billing/plan").status_code == 200

    def session_cookie(self) -> str:
        return self.client.get_cookie("session").value


@pytest.fixture
def browser(app, client):
    """A new browser (the `client` fixture makes the test client send CSRF tokens)."""
    return lambda: Browser(app)


@pytest.fixture
def clock(monkeypatch):
    """The sessions' clock, moved by hand: clock["now"] += seconds."""
    state = {"now": 1_800_000_000}
    monkeypatch.setattr(webapp.security.sessions, "now", lambda: state["now"])
    return state


def test_a_session_cookie_copied_before_sign_out_is_refused_after_it(browser, owner):
    laptop = browser().sign_in(owner)
    copied = laptop.session_cookie()
    thief = browser()
    thief.client.set_cookie("session", copied)
    assert thief.signed_in()  # the cookie works while its session lasts

    assert laptop.post("/logout").headers["Location"] == "/login"
    assert not laptop.signed_in()
    response = thief.get("/billing/plan")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_signing_out_ends_the_users_sessions_on_every_device(browser, owner):
    laptop, phone = browser().sign_in(owner), browser().sign_in(owner)
    laptop.post("/logout")
    assert not phone.signed_in()
    assert browser().sign_in(owner).signed_in()  # signing in again works


def test_a_password_change_ends_every_session(browser, owner):
    laptop, phone = browser().sign_in(owner), browser().sign_in(owner)
    user = db.session.get(User, owner.id)
    user.set_password("a much better password")
    db.session.commit()
    assert not laptop.signed_in() and not phone.signed_in()
    assert browser().sign_in(owner, "a much better password").signed_in()


def test_the_set_password_command_asks_for_the_password_and_ends_every_session(app, browser, owner):
    laptop = browser().sign_in(owner)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["set-password", owner.email.upper()], input="new password here\nnew password here\n")
    assert result.exit_code == 0, result.output
    assert "new password here" not in result.output  # asked for hidden, never echoed
    assert "every session they had is signed out" in result.output
    assert not laptop.signed_in()
    assert browser().sign_in(owner, "new password here").signed_in()

    short = runner.invoke(args=["set-password", owner.email], input="too short\ntoo short\n")
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    unknown = runner.invoke(args=["set-password", "nobody@example.com"], input="long enough now\nlong enough now\n")
    assert unknown.exit_code != 0 and "No user has the email nobody@example.com" in unknown.output


def test_sign_out_other_sessions_keeps_this_one_and_ends_the_others(browser, owner):
    laptop, phone, tablet = browser().sign_in(owner), browser().sign_in(owner), browser().sign_in(owner)
    response = laptop.post("/sessions/sign-out-others", data={"next": "/clients/?q=abb"})
    assert response.status_code == 302 and response.headers["Location"] == "/clients/?q=abb"
    assert "signed out on every other browser and device" in laptop.get("/clients/").get_data(as_text=True)
    assert laptop.signed_in()
    assert not phone.signed_in() and not tablet.signed_in()
    assert laptop.post("/logout").status_code == 302  # this session still works in full


def test_sign_out_other_sessions_needs_a_csrf_token_and_a_safe_next(browser, owner):
    laptop, phone = browser().sign_in(owner), browser().sign_in(owner)
    assert laptop.post("/sessions/sign-out-others", csrf=False).status_code == 400
    assert phone.signed_in()
    response = laptop.post("/sessions/sign-out-others", data={"next": "//evil.example/"})
    assert response.headers["Location"] == "/billing/plan"
    assert not phone.signed_in()


def test_the_user_menu_offers_sign_out_other_sessions(browser, owner):
    page = browser().sign_in(owner).get("/clients/?q=abb").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/sessions/sign-out-others">(.*?)</form>', page, re.S).group(1)
    assert 'name="csrf_token"' in form and 'name="next" value="/clients/?q=abb"' in form
    assert "Sign out other sessions" in form and owner.email in page


def test_a_csrf_token_from_before_sign_in_is_refused_after_it(browser, owner):
    visitor = browser()
    page = visitor.get("/login").get_data(as_text=True)
    before = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    signed_in = visitor.post("/login", data={"email": owner.email, "password": PASSWORD, "csrf_token": before},
                             csrf=False)
    assert signed_in.status_code == 302
    with visitor.client.session_transaction() as session:
        assert "csrf_token" not in session  # the old secret is gone; the next page makes a new one
    stale = visitor.post("/sessions/sign-out-others", headers={"X-CSRFToken": before}, csrf=False)
    assert stale.status_code == 400 and "session expired" in stale.get_data(as_text=True)
    page = visitor.get("/billing/plan").get_data(as_text=True)
    after = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert after != before
    assert visitor.post("/sessions/sign-out-others", headers={"X-CSRFToken": after}, csrf=False).status_code == 302


def test_signing_in_starts_a_new_session(browser, owner):
    visitor = browser()
    with visitor.client.session_transaction() as session:
        session["planted"] = "by someone else"
    visitor.sign_in(owner)
    with visitor.client.session_transaction() as session:
        assert "planted" not in session
        assert session.permanent  # the cookie lasts until the lifetime, not just until the browser closes


def test_a_session_from_before_session_tokens_signs_nobody_in(browser, owner, clock):
    old = browser()
    with old.client.session_transaction() as session:  # what Flask-Login kept before: the bare user id
        session.update({"_user_id": str(owner.id), "_fresh": True, "signed_in_at": clock["now"],
                        "last_seen": clock["now"]})
    assert not old.signed_in()


def test_sixty_minutes_without_a_request_signs_out(browser, owner, clock):
    laptop = browser().sign_in(owner)
    clock["now"] += 59 * 60
    assert laptop.signed_in()  # 59 minutes idle: still signed in, and the activity is noted
    clock["now"] += 59 * 60
    assert laptop.signed_in()
    clock["now"] += 60 * 60
    response = laptop.get("/clients/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    page = laptop.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out after 60 minutes without activity. Sign in again to carry on." in page
    assert not laptop.signed_in()


def test_activity_is_written_to_the_session_at_most_once_a_minute(browser, owner, clock):
    laptop = browser().sign_in(owner)
    signed_in_at = clock["now"]
    clock["now"] += 30
    laptop.get("/billing/plan")
    with laptop.client.session_transaction() as session:
        assert session["last_seen"] == signed_in_at
    clock["now"] += 30
    laptop.get("/billing/plan")
    with laptop.client.session_transaction() as session:
        assert session["last_seen"] == signed_in_at + 60


def test_an_htmx_request_after_the_idle_limit_sends_the_page_to_sign_in(browser, owner, clock):
    laptop = browser().sign_in(owner)
    clock["now"] += 61 * 60
    response = laptop.get("/settings/integrations/xero/sync-status", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def test_a_session_ends_twelve_hours_after_signing_in_however_active(browser, owner, clock):
    laptop = browser().sign_in(owner)
    for _ in range(23):
        clock["now"] += 30 * 60
        assert laptop.signed_in()  # active every half hour: never idle
    clock["now"] += 30 * 60
    response = laptop.get("/billing/plan")
    assert response.status_code == 302
    page = laptop.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out 12 hours after signing in. Sign in again to carry on." in page


def test_the_limits_come_from_the_settings(app, browser, owner, clock, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 5)
    monkeypatch.setitem(app.config, "PERMANENT_SESSION_LIFETIME", timedelta(hours=1))
    idle = browser().sign_in(owner)
    clock["now"] += 5 * 60
    assert not idle.signed_in()
    busy = browser().sign_in(owner)
    for _ in range(14):
        clock["now"] += 4 * 60
        assert busy.signed_in()
    clock["now"] += 4 * 60  # an hour after signing in
    assert not busy.signed_in()


def test_the_migration_gives_each_existing_user_a_token_of_their_own(scratch_database):
    from flask_migrate import downgrade, upgrade

    from webapp import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": scratch_database})
    with app.app_context():
        upgrade(revision="ba6ab660afb6")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO practices (id, name, time_zone, primary_crm, created_at) "
                                 "VALUES (1, 'P', 'Europe/London', 'socket', '2026-01-01 00:00:00+00')"))
            for user_id in (1, 2):
                conn.execute(sa.text(
                    "INSERT INTO users (id, practice_id, email, name, password_hash, role, created_at) "
                    f"VALUES ({user_id}, 1, 'u{user_id}@example.com', 'U', 'x', 'owner', '2026-01-01 00:00:00+00')"))
        upgrade(revision="8f6fd6e57545")
        with db.engine.connect() as conn:
            tokens = conn.execute(sa.text("SELECT session_token FROM users ORDER BY id")).scalars().all()
            column = next(c for c in sa.inspect(conn).get_columns("users") if c["name"] == "session_token")
        assert len(set(tokens)) == 2 and all(len(token) >= 40 for token in tokens)
        assert column["nullable"] is False
        downgrade(revision="ba6ab660afb6")
        with db.engine.connect() as conn:
            assert "session_token" not in {c["name"] for c in sa.inspect(conn).get_columns("users")}
        db.session.remove()
        db.engine.dispose()
