"""The Billing Plan: this month's invoices, preview, approval."""
from flask import Blueprint

bp = Blueprint("billing", __name__, url_prefix="/billing")

from webapp.billing import routes  # noqa: E402,F401
