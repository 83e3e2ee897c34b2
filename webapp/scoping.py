"""Every query is scoped to the signed-in user's practice; another practice's id is a 404. Who may change what:
owners and admins (managers) change Practice Settings and pricing and approve the Billing Plan; staff see those
read-only and keep clients and their engagements up to date."""
from functools import wraps

from flask import abort
from flask_login import current_user

from webapp.extensions import db


def current_practice_id() -> int:
    return current_user.practice_id


def scoped(model):
    """A select() of `model` limited to the current user's practice."""
    return db.select(model).filter_by(practice_id=current_practice_id())


def get_or_404(model, object_id):
    """Load one row of the current practice, or 404 (never 403: ids of other practices do not exist)."""
    obj = db.session.execute(scoped(model).filter_by(id=object_id)).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj


def is_manager() -> bool:
    """Whether the signed-in user is the practice's owner or an admin (templates show staff read-only pages)."""
    return bool(current_user.is_authenticated and current_user.is_manager)


def require_manager() -> None:
    """403 unless an owner or admin is signed in: Practice Settings, pricing, and approving the Billing Plan
    (which raises the month's invoices) are theirs. The 403 is the alert in place for htmx (webapp/errors.py)."""
    if not is_manager():
        abort(403)


# Practice Settings' name for the same check.
require_settings_manager = require_manager


def manager_required(view):
    """Decorate a route (below @login_required) that only owners and admins may use."""

    @wraps(view)
    def decorated(*args, **kwargs):
        require_manager()
        return view(*args, **kwargs)

    return decorated
