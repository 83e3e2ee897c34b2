"""Practice Settings: a page per tab. Billing Settings and Integrations live in their own modules."""
from flask import redirect, url_for
from flask_login import login_required

from webapp.settings import bp


@bp.route("/")
@login_required
def index():
    return redirect(url_for("settings.billing"))


from webapp.settings import (  # noqa: E402,F401
    billing_routes,
    integrations_routes,
    practice_routes,
    sync_history_routes,
)
