from flask import render_template
from flask_login import login_required

from webapp.settings import bp


@bp.route("/integrations")
@login_required
def integrations():
    return render_template("settings/integrations.html")
