from flask_login import login_required

from webapp.billing import bp


@bp.route("/plan")
@login_required
def plan():
    return "plan"
