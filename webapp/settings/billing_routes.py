from flask import render_template
from flask_login import login_required

from webapp.settings import bp


@bp.route("/billing")
@login_required
def billing():
    return render_template("settings/billing.html")
