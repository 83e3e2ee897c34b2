"""Services & Pricing: pricing menus, services, billing & engagement letter settings."""
from flask import Blueprint

bp = Blueprint("pricing", __name__, url_prefix="/pricing")

from webapp.pricing import routes  # noqa: E402,F401
