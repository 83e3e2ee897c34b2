import hmac
import secrets
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.auth import bp
from webapp.auth.forms import LoginForm
from webapp.extensions import db, login_manager
from webapp.models import User
from webapp.security import throttle
from webapp.security.sessions import end_session, start_session

NO_MATCH = "That email and password do not match an account."


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user whose id and current session token the session holds (User.get_id); an old token loads nobody."""
    id_part, _, token = user_id.partition(":")
    if not (id_part.isdigit() and len(id_part) <= 9 and token):
        return None
    user = db.session.get(User, int(id_part))
    return user if user is not None and hmac.compare_digest(user.session_token.encode(), token.encode()) else None


_dummy_hash: str | None = None


def _hash_to_check(user: User | None) -> str:
    """The user's password hash, or, for an email with no account, a hash of a random password made the same way,
    so that an unknown email costs the same hashing as a wrong password and timing does not reveal who has one."""
    global _dummy_hash
    if user is not None:
        return user.password_hash
    if _dummy_hash is None:
        _dummy_hash = generate_password_hash(secrets.token_urlsafe(16))
    return _dummy_hash


def _safe_next(target: str | None) -> str:
    """Only follow a relative `next` so a login link cannot bounce users off-site."""
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("billing.plan")


def _too_many_attempts(form: LoginForm, seconds: int):
    """429 with Retry-After, on the sign-in page with a message saying how long to wait."""
    response = current_app.make_response(
        (render_template("auth/login.html", form=form, locked_message=throttle.wait_message(seconds)), 429))
    response.headers["Retry-After"] = str(seconds)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("billing.plan"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        address = request.remote_addr
        locked = throttle.seconds_locked(email, address)  # before any hashing: a locked account costs nothing
        if locked:
            return _too_many_attempts(form, locked)
        user = db.session.execute(
            db.select(User).filter(db.func.lower(User.email) == email)
        ).scalar_one_or_none()
        if check_password_hash(_hash_to_check(user), form.password.data) and user is not None:
            throttle.clear_account(email)
            # A new session: nothing from before signing in carries over (session fixation), including the CSRF
            # secret, so a token handed out before sign-in is refused after it.
            session.clear()
            login_user(user)
            start_session()
            return redirect(_safe_next(request.args.get("next")))
        locked = throttle.record_failure(email, address)
        if locked:
            return _too_many_attempts(form, locked)
        form.password.errors.append(NO_MATCH)
        return render_template("auth/login.html", form=form), 422
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out, here and on every other device (the user's session token changes)."""
    current_user.end_all_sessions()
    db.session.commit()
    end_session("You are signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/sessions/sign-out-others", methods=["POST"])
@login_required
def sign_out_other_sessions():
    """End every other session of this user (a new session token) and keep this one (signed in again with it)."""
    user = current_user._get_current_object()
    user.end_all_sessions()
    db.session.commit()
    login_user(user)
    flash("You are signed out on every other browser and device. You are still signed in here.", "success")
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/")
def index():
    return redirect(url_for("billing.plan"))
