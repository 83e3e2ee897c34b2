"""Clients' Xero contacts: the review list the Billing Plan's warning opens, searching the mirrored contacts, and
linking, unlinking and creating a client's contact in Xero."""
from flask import Blueprint

bp = Blueprint("contacts", __name__, url_prefix="/contacts")

from webapp.contacts import routes  # noqa: E402,F401
