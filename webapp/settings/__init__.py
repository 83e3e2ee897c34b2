"""Practice Settings: the Integrations, Billing Settings and Practice tabs (owners and admins change them)."""
from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from webapp.settings import routes  # noqa: E402,F401
