"""What every api.xero.com/api.xro/2.0 blueprint shares: scopes, the per-request checks (token, tenant, scope,
limits, faults) and the response envelope."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, Response, current_app, g, request

from .bodies import is_uuid
from .pipeline import mark_lose_if_faulted, maybe_drop_connection, pre_faults
from .sandbox import get_sandbox
from .tokens import authenticate
from .xerojson import XeroError, envelope, json_response, problem

URL_PREFIX = "/api.xro/2.0"

SETTINGS_READ = {"accounting.settings", "accounting.settings.read"}
CONTACTS_READ = {"accounting.contacts", "accounting.contacts.read"}
CONTACTS_WRITE = {"accounting.contacts"}
INVOICES_READ = {"accounting.transactions", "accounting.transactions.read", "accounting.invoices",
                 "accounting.invoices.read"}
INVOICES_WRITE = {"accounting.transactions", "accounting.invoices"}

F = TypeVar("F", bound=Callable)

# view function -> the scopes of which the token needs at least one (see `requires`)
_REQUIRED_SCOPES: dict[Callable, set[str]] = {}


def requires(scopes: set[str]) -> Callable[[F], F]:
    """Mark a view with the scopes of which the token needs at least one (checked before the view runs)."""
    def deco(fn: F) -> F:
        _REQUIRED_SCOPES[fn] = scopes
        return fn
    return deco


def accounting_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint under /api.xro/2.0 whose routes go through Xero's checks, limits and faults."""
    bp = Blueprint(name, import_name, url_prefix=URL_PREFIX)
    bp.before_request(_pipeline)
    bp.after_request(_after)
    bp.teardown_request(_teardown)
    return bp


def _pipeline() -> Response | None:
    """Bearer token, tenant, scope, limits, then faults, in Xero's order; a response here ends the request."""
    sandbox = get_sandbox()
    grant = authenticate(sandbox, request.headers.get("Authorization"))
    g.grant = grant
    g.client_id = grant["client_id"]
    tenant = (request.headers.get("xero-tenant-id") or "").strip().lower()
    if not tenant or not is_uuid(tenant) or sandbox.store.one(
            "SELECT 1 FROM connections WHERE client_id=? AND tenant_id=?", (grant["client_id"], tenant)) is None:
        raise XeroError(403, problem(403, "Forbidden", "AuthenticationUnsuccessful"))
    g.tenant_id = tenant
    view = current_app.view_functions.get(request.endpoint or "")
    required = _REQUIRED_SCOPES.get(view) if view is not None else None
    if required and not (grant["scopes"] & required):
        raise XeroError(401, problem(401, "Unauthorized", "AuthorizationUnsuccessful"))
    rejected, headers = sandbox.limiter.acquire(g.client_id, tenant, sandbox.now())
    if rejected:
        return json_response(problem(429, "Too Many Requests", f"Rate limit exceeded: {rejected}"), 429, headers)
    g.acquired = True
    resp = pre_faults(sandbox, "api", sandbox.limiter.headers(g.client_id, tenant, sandbox.now()))
    if resp is not None:
        return resp
    mark_lose_if_faulted(sandbox, "api", writes_only=True)
    return None


def _after(response: Response) -> Response:
    sandbox = get_sandbox()
    if g.get("tenant_id") and "X-MinLimit-Remaining" not in response.headers:
        response.headers.update(sandbox.limiter.headers(g.client_id, g.tenant_id, sandbox.now()))
    response.headers.setdefault("Xero-Correlation-Id", g.get("correlation_id", "") or str(uuid.uuid4()))
    return maybe_drop_connection(response)


def _teardown(exc: BaseException | None) -> None:
    if g.get("acquired"):
        g.acquired = False
        get_sandbox().limiter.release(g.client_id, g.tenant_id)


def ok(key: str, items: list, pagination: dict | None = None, status: int = 200) -> Response:
    """Xero's 200 envelope: {"Id", "Status", "ProviderName", "DateTimeUTC", [pagination], key: items}."""
    return json_response(envelope(get_sandbox().now_ms(), key, items, pagination), status)
