"""api.xero.com/api.xro/2.0: Organisation, Accounts, BrandingThemes, TaxRates, Contacts, Invoices."""
from __future__ import annotations

import functools
import hashlib
import json

from flask import Blueprint, current_app, g, request

from . import seed
from .app import get_sandbox
from .bodies import is_uuid
from .pipeline import mark_lose_if_faulted, maybe_drop_connection, pre_faults
from .tokens import authenticate
from .where import compile_where
from .xerojson import (XeroError, envelope, json_response, not_found, parse_if_modified_since, problem)

bp = Blueprint("api", __name__, url_prefix="/api.xro/2.0")

SETTINGS_READ = {"accounting.settings", "accounting.settings.read"}
CONTACTS_READ = {"accounting.contacts", "accounting.contacts.read"}
CONTACTS_WRITE = {"accounting.contacts"}
INVOICES_READ = {"accounting.transactions", "accounting.transactions.read", "accounting.invoices",
                 "accounting.invoices.read"}
INVOICES_WRITE = {"accounting.transactions", "accounting.invoices"}


def requires(scopes: set):
    def deco(fn):
        fn.required_scopes = scopes
        return fn
    return deco


# ------------------------------------------------------------------------------------ pipeline
@bp.before_request
def _pipeline():
    sandbox = get_sandbox()
    grant = authenticate(sandbox, request.headers.get("Authorization"))
    g.grant = grant
    g.client_id = grant["client_id"]
    tenant = (request.headers.get("xero-tenant-id") or "").strip().lower()
    if not tenant or not is_uuid(tenant) or sandbox.store.one(
            "SELECT 1 FROM connections WHERE client_id=? AND tenant_id=?", (grant["client_id"], tenant)) is None:
        raise XeroError(403, problem(403, "Forbidden", "AuthenticationUnsuccessful"))
    g.tenant_id = tenant
    view = current_app.view_functions.get(request.endpoint)
    required = getattr(view, "required_scopes", None)
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


@bp.after_request
def _after(response):
    sandbox = get_sandbox()
    if g.get("tenant_id") and "X-MinLimit-Remaining" not in response.headers:
        response.headers.update(sandbox.limiter.headers(g.client_id, g.tenant_id, sandbox.now()))
    response.headers.setdefault("Xero-Correlation-Id", g.get("correlation_id", "") or _correlation())
    return maybe_drop_connection(response)


def _correlation():
    import uuid
    return str(uuid.uuid4())


@bp.teardown_request
def _teardown(exc):
    if g.get("acquired"):
        g.acquired = False
        get_sandbox().limiter.release(g.client_id, g.tenant_id)


# ------------------------------------------------------------------------------------ helpers
def ok(key: str, items: list, pagination=None, status=200):
    return json_response(envelope(get_sandbox().now_ms(), key, items, pagination), status)


def if_modified_since() -> int | None:
    try:
        return parse_if_modified_since(request.headers.get("If-Modified-Since"))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # Xero ignores an unparseable If-Modified-Since


def arg_bool(name: str) -> bool:
    return (request.args.get(name) or "").strip().lower() == "true"


def arg_int(name: str):
    v = request.args.get(name)
    if v is None or v.strip() == "":
        return None
    try:
        return int(v)
    except ValueError:
        return None


def summarize_errors() -> bool:
    v = request.args.get("summarizeErrors")
    return not (v is not None and v.strip().lower() == "false")


def apply_order(docs: list[dict], order: str | None, default_key):
    if not order:
        return sorted(docs, key=default_key)
    keys = []
    for part in reversed([p.strip() for p in order.split(",") if p.strip()]):
        bits = part.split()
        field = bits[0]
        desc = len(bits) > 1 and bits[1].upper() == "DESC"

        def k(d, field=field):
            v = d.get(field)
            if isinstance(v, str):
                if v.startswith("/Date("):
                    return (0, int(v[6:].split("+")[0].split(")")[0]))
                return (0, v.casefold())
            return (1, "") if v is None else (0, v)
        keys.append((k, desc))
    docs = sorted(docs, key=default_key)
    for k, desc in keys:
        docs.sort(key=k, reverse=desc)
    return docs


def page_window(page: int, page_size: int | None) -> tuple[int, int]:
    """(page, size) as Xero applies them: page at least 1, pageSize 100 by default and at most 1000."""
    size = page_size if page_size and page_size > 0 else 100
    return max(page, 1), min(size, 1000)


def pagination_block(page: int, size: int, count: int) -> dict:
    return {"page": page, "pageSize": size, "pageCount": (count + size - 1) // size, "itemCount": count}


def paginate(docs: list, page: int | None, page_size: int | None):
    if page is None:
        return docs, None
    page, size = page_window(page, page_size)
    return docs[(page - 1) * size: page * size], pagination_block(page, size, len(docs))


def sql_page(store, select: str, where: str, params: list, order_by: str, page: int | None,
             page_size: int | None):
    """The SQL counterpart of `paginate` over rows filtered and ordered in SQLite.

    `select` is the column list, `where` the FROM/WHERE clause. Without `page`: every row, no pagination.
    With it: COUNT(*) and the one page (LIMIT/OFFSET), read under the store lock so both see the same data.
    """
    sql = f"SELECT {select} {where} ORDER BY {order_by}"
    if page is None:
        return store.query(sql, params), None
    page, size = page_window(page, page_size)
    with store.lock:
        count = store.one(f"SELECT COUNT(*) AS n {where}", params)["n"]
        rows = store.query(sql + " LIMIT ? OFFSET ?", [*params, size, (page - 1) * size])
    return rows, pagination_block(page, size, count)


def idempotent(fn):
    """Idempotency-Key: replay the first response for the same key and request; refuse a different request."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return fn(*args, **kwargs)
        sandbox = get_sandbox()
        if len(key) > 128 or not key.strip():
            raise XeroError(400, problem(400, "Bad Request",
                                         "Idempotency-Key must be between 1 and 128 characters"))
        fingerprint = hashlib.sha256(b"\n".join([
            request.method.encode(), request.path.lower().encode(),
            request.query_string, request.get_data(cache=True)])).hexdigest()
        now = sandbox.now_ms()
        with sandbox.store.tx() as db:
            db.execute("DELETE FROM idempotency WHERE created_ms < ?",
                       (now - 24 * 3600 * 1000,))
            row = db.execute("SELECT * FROM idempotency WHERE client_id=? AND tenant_id=? AND key=?",
                             (g.client_id, g.tenant_id, key)).fetchone()
            if row is None:
                db.execute("INSERT INTO idempotency (client_id, tenant_id, key, fingerprint, created_ms)"
                           " VALUES (?,?,?,?,?)", (g.client_id, g.tenant_id, key, fingerprint, now))
        if row is not None:
            if row["fingerprint"] != fingerprint:
                raise XeroError(400, problem(400, "Bad Request",
                                             "The Idempotency-Key has already been used for a different request"))
            if row["status"] is None:
                raise XeroError(409, problem(409, "Conflict",
                                             "A request with this Idempotency-Key is already in progress"))
            return current_app.response_class(row["body"], status=row["status"],
                                              content_type="application/json; charset=utf-8")
        try:
            resp = current_app.make_response(fn(*args, **kwargs))
        except XeroError as e:
            resp = e.response()
        except BaseException:
            with sandbox.store.tx() as db:
                db.execute("DELETE FROM idempotency WHERE client_id=? AND tenant_id=? AND key=?",
                           (g.client_id, g.tenant_id, key))
            raise
        with sandbox.store.tx() as db:
            if resp.status_code >= 500:
                db.execute("DELETE FROM idempotency WHERE client_id=? AND tenant_id=? AND key=?",
                           (g.client_id, g.tenant_id, key))
            else:
                db.execute("UPDATE idempotency SET status=?, body=? WHERE client_id=? AND tenant_id=? AND key=?",
                           (resp.status_code, resp.get_data(as_text=True), g.client_id, g.tenant_id, key))
        return resp
    return wrapper


def queue_event(db, tenant_id: str, category: str, event_type: str, resource_id: str, now_ms: int):
    db.execute("INSERT INTO webhook_events (tenant_id, category, event_type, resource_id, event_ms)"
               " VALUES (?,?,?,?,?)", (tenant_id, category, event_type, resource_id, now_ms))


# ------------------------------------------------------------------------------------ settings
@bp.route("/Organisation", methods=["GET"])
@requires(SETTINGS_READ)
def organisation():
    row = get_sandbox().store.one("SELECT doc FROM orgs WHERE tenant_id=?", (g.tenant_id,))
    return ok("Organisations", [json.loads(row["doc"])])


ACCOUNT_FIELDS = {"AccountID", "Code", "Name", "Status", "Type", "TaxType", "Class", "Description",
                  "EnablePaymentsToAccount", "ShowInExpenseClaims", "BankAccountNumber", "BankAccountType",
                  "CurrencyCode", "SystemAccount", "ReportingCode", "ReportingCodeName", "HasAttachments",
                  "UpdatedDateUTC", "AddToWatchlist"}


def _accounts(where_text=None, order=None):
    sql, params = "SELECT doc FROM accounts WHERE tenant_id=?", [g.tenant_id]
    ims = if_modified_since()
    if ims is not None:
        sql += " AND updated_ms >= ?"
        params.append(ims)
    docs = [json.loads(r["doc"]) for r in get_sandbox().store.query(sql, params)]
    pred = compile_where(where_text, ACCOUNT_FIELDS)
    if pred:
        docs = [d for d in docs if pred(d)]
    return apply_order(docs, order, lambda d: (d.get("Code") or "", d["Name"]))


@bp.route("/Accounts", methods=["GET"])
@requires(SETTINGS_READ)
def accounts():
    return ok("Accounts", _accounts(request.args.get("where"), request.args.get("order")))


@bp.route("/Accounts/<account_id>", methods=["GET"])
@requires(SETTINGS_READ)
def account(account_id):
    if not is_uuid(account_id):
        return not_found()
    row = get_sandbox().store.one("SELECT doc FROM accounts WHERE tenant_id=? AND account_id=?",
                                  (g.tenant_id, account_id.lower()))
    if row is None:
        return not_found()
    return ok("Accounts", [json.loads(row["doc"])])


@bp.route("/BrandingThemes", methods=["GET"])
@requires(SETTINGS_READ)
def branding_themes():
    rows = get_sandbox().store.query("SELECT doc FROM branding_themes WHERE tenant_id=? ORDER BY sort_order",
                                     (g.tenant_id,))
    return ok("BrandingThemes", [json.loads(r["doc"]) for r in rows])


@bp.route("/BrandingThemes/<theme_id>", methods=["GET"])
@requires(SETTINGS_READ)
def branding_theme(theme_id):
    row = get_sandbox().store.one("SELECT doc FROM branding_themes WHERE tenant_id=? AND theme_id=?",
                                  (g.tenant_id, theme_id.lower()))
    if row is None:
        return not_found()
    return ok("BrandingThemes", [json.loads(row["doc"])])


TAX_FIELDS = {"Name", "TaxType", "ReportTaxType", "Status", "DisplayTaxRate", "EffectiveRate",
              "CanApplyToAssets", "CanApplyToEquity", "CanApplyToExpenses", "CanApplyToLiabilities",
              "CanApplyToRevenue"}


@bp.route("/TaxRates", methods=["GET"])
@requires(SETTINGS_READ)
def tax_rates():
    docs = [seed.tax_rate_doc(t) for t in seed.TAX_RATES]
    pred = compile_where(request.args.get("where"), TAX_FIELDS)
    if pred:
        docs = [d for d in docs if pred(d)]
    tax_type = request.args.get("TaxType")
    if tax_type:
        docs = [d for d in docs if d["TaxType"].lower() == tax_type.lower()]
    return ok("TaxRates", apply_order(docs, request.args.get("order"), lambda d: d["Name"]))

