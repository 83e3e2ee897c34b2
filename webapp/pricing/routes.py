from flask_login import login_required

from webapp.pricing import bp


@bp.route("/")
@login_required
def index():
    return "pricing"
