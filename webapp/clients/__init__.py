"""Clients: list, search, create, edit, archive."""
from flask import Blueprint

bp = Blueprint("clients", __name__, url_prefix="/clients")

from webapp.clients import routes  # noqa: E402,F401
