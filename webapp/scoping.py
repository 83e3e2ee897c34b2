"""Every query is scoped to the signed-in user's practice; another practice's id is a 404."""
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


def require_settings_manager():
    """Practice Settings changes are for owners and admins only."""
    if not current_user.can_manage_settings:
        abort(403)
