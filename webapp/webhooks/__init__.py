"""Xero's webhooks: changes to contacts and invoices made in Xero, announced within minutes (the nightly run is the
safety net)."""
from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

from webapp.webhooks import routes  # noqa: E402,F401
