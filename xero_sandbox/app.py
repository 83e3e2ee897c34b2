"""The sandbox's app factory: the blueprints, error handlers and case-insensitive Xero paths."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask, redirect, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from . import admin, api, contacts, identity, invoices
from .accounting import URL_PREFIX
from .sandbox import PROJECT_ROOT, Sandbox, load_settings
from .xerojson import XeroError, json_response, not_found, post_data_invalid, problem_response

# Xero's resource paths are case-insensitive; route everything to one canonical spelling.
CANONICAL = {name.lower(): name for name in
             ("Organisation", "Accounts", "BrandingThemes", "TaxRates", "Contacts", "Invoices")}


def canonical_path(path: str) -> str:
    """`path` with Xero's case-insensitive prefixes and resource names in the spelling the routes use."""
    low = path.lower()
    if low.startswith("/api.xro/2.0/"):
        parts = path.split("/")
        if len(parts) > 3:
            parts[2] = "2.0"
            parts[1] = "api.xro"
            parts[3] = CANONICAL.get(parts[3].lower(), parts[3])
            return "/".join(parts)
    elif low == "/connections" or low.startswith("/connections/"):
        return "/connections" + path[len("/connections"):]
    return path


class SandboxFlask(Flask):
    """Flask with Xero's case-insensitive paths, canonicalised before routing."""

    def wsgi_app(self, environ: dict, start_response: Any) -> Any:
        if "PATH_INFO" in environ:
            environ["PATH_INFO"] = canonical_path(environ["PATH_INFO"])
        return super().wsgi_app(environ, start_response)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The sandbox app; `config` overrides the environment's SANDBOX_* settings (see README.md)."""
    settings = load_settings(config)
    app = SandboxFlask(__name__, instance_path=os.path.join(PROJECT_ROOT, "instance"))
    app.config["SECRET_KEY"] = settings.get("SECRET_KEY", "xero-sandbox-not-secret")
    app.config["TESTING"] = bool(settings.get("TESTING", False))
    app.config["MAX_CONTENT_LENGTH"] = 10 * 1024 * 1024
    json_provider = DefaultJSONProvider(app)
    json_provider.sort_keys = False  # jsonify() keeps the field order Xero sends
    app.json = json_provider
    sandbox = Sandbox(settings)
    app.extensions["xero_sandbox"] = sandbox

    for bp in (identity.bp, api.bp, contacts.bp, invoices.bp, admin.bp):
        app.register_blueprint(bp)

    @app.errorhandler(XeroError)
    def _xero_error(e: XeroError):
        return e.response()

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        status = e.code or 500  # Flask hands only exceptions with a code to error handlers
        if status == 404:
            return not_found()
        if status == 400 and request.path.startswith(URL_PREFIX + "/"):
            # a request werkzeug could not read: the Accounting API answers every 400 in Xero's Error shape
            return json_response(post_data_invalid(f"JSON request body could not be read, {e.description}"), 400)
        if request.path.startswith("/_sandbox/") and request.accept_mimetypes.best != "text/html":
            return json_response({"error": e.name, "detail": e.description}, status)
        return problem_response(status, e.name, e.description or e.name)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        if isinstance(e, HTTPException):
            return _http_error(e)
        app.logger.exception("unexpected error in the Xero sandbox")
        sandbox.unexpected_errors += 1
        return problem_response(500, "An error occurred",
                                "An error occurred in Xero. Check the API Status page "
                                "http://status.developer.xero.com for current service status.")

    @app.route("/")
    def _index():
        return redirect("/_sandbox/")

    return app
