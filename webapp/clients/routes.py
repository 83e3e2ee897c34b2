from flask_login import login_required

from webapp.clients import bp


@bp.route("/")
@login_required
def index():
    return "clients"
