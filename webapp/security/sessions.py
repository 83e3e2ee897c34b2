"""Sessions that end: at sign-out, after a password change or "Sign out other sessions", after a spell without
activity, and a fixed time after signing in.

Ending every session of a user server-side rests on the user's `session_token` (webapp/models/practice.py): it is
part of the id Flask-Login keeps in the session cookie, and rotating it makes every cookie that carries the old
one load no user. Sign-out, a password change and "Sign out other sessions" rotate it. One token per user, not a
record per device: no lookup beyond the user row each request already loads, nothing in Redis, and signing out
signs that person out on every device, which for a billing app that can raise invoices is the safer surprise.

The two time limits are checked here on every request from the session itself (the cookie is signed, so its
times cannot be edited): the lifetime (PERMANENT_SESSION_LIFETIME) counts from signing in, the idle limit
(SESSION_IDLE_MINUTES) from the last request, which is written back at most once a minute.
"""
import time

from flask import current_app, flash, request, session
from flask_login import logout_user

SIGNED_IN_AT = "signed_in_at"
LAST_SEEN = "last_seen"
TOUCH_EVERY_SECONDS = 60
USER_KEY = "_user_id"  # where Flask-Login keeps the signed-in user's id


def now() -> int:
    """Seconds since the epoch (the one clock this module reads, so tests can move it)."""
    return int(time.time())


def start_session() -> None:
    """After signing in: a cookie that outlives the browser (up to the lifetime), and the clocks started."""
    session.permanent = True
    session[SIGNED_IN_AT] = session[LAST_SEEN] = now()


def end_session(message: str | None = None) -> None:
    """Sign this browser out and forget everything the session held (the next page gets a fresh CSRF secret)."""
    logout_user()
    session.clear()
    if message:
        flash(message, "info")


def enforce_time_limits() -> None:
    """before_request: sign out a session past its lifetime or idle for too long; note the activity otherwise."""
    if USER_KEY not in session or request.endpoint == "static":
        return
    current = now()
    signed_in_at, last_seen = session.get(SIGNED_IN_AT), session.get(LAST_SEEN)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    idle_minutes = int(current_app.config["SESSION_IDLE_MINUTES"])
    if not isinstance(signed_in_at, int) or not isinstance(last_seen, int) or current - signed_in_at >= lifetime:
        end_session(f"You were signed out {_hours(lifetime)} after signing in. Sign in again to carry on.")
    elif current - last_seen >= idle_minutes * 60:
        end_session(f"You were signed out after {idle_minutes} minutes without activity. Sign in again to carry on.")
    elif current - last_seen >= TOUCH_EVERY_SECONDS:
        session[LAST_SEEN] = current


def _hours(seconds: float) -> str:
    hours = seconds / 3600
    if hours >= 1 and hours == int(hours):
        return f"{int(hours)} hour{'s' if hours != 1 else ''}"
    return f"{round(seconds / 60)} minutes"
