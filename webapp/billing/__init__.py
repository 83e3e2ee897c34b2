"""The Billing Plan: this month's invoices, preview, approval."""
from flask import Blueprint

bp = Blueprint("billing", __name__, url_prefix="/billing")

from webapp.billing import export_routes, routes  # noqa: E402,F401
