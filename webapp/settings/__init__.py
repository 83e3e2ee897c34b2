"""Practice Settings: Integrations and Billing Settings tabs."""
from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from webapp.settings import routes  # noqa: E402,F401
