"""Practice Settings: a page per tab, Integrations first. Each tab lives in its own module."""
from flask import redirect, url_for
from flask_login import login_required

from webapp.settings import bp


@bp.route("/")
@login_required
def index():
    return redirect(url_for("settings.integrations"))


from webapp.settings import (  # noqa: E402,F401
    billing_routes,
    integrations_routes,
    practice_routes,
    sync_history_routes,
)
