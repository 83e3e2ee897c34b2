"""api.xero.com/api.xro/2.0 settings endpoints: Organisation, Accounts, BrandingThemes, TaxRates.

Contacts and Invoices have their own modules; the checks every Accounting API call goes through are in
`accounting`."""
from __future__ import annotations

import json

from flask import Response, g, request

from . import seed
from .accounting import SETTINGS_READ, accounting_blueprint, ok, requires
from .bodies import is_uuid
from .listing import apply_order
from .params import if_modified_since
from .sandbox import get_sandbox
from .where import compile_where
from .xerojson import not_found

bp = accounting_blueprint("api", __name__)


@bp.route("/Organisation", methods=["GET"])
@requires(SETTINGS_READ)
def organisation() -> Response:
    row = get_sandbox().store.one("SELECT doc FROM orgs WHERE tenant_id=?", (g.tenant_id,))
    return ok("Organisations", [json.loads(row["doc"])])


ACCOUNT_FIELDS = {"AccountID", "Code", "Name", "Status", "Type", "TaxType", "Class", "Description",
                  "EnablePaymentsToAccount", "ShowInExpenseClaims", "BankAccountNumber", "BankAccountType",
                  "CurrencyCode", "SystemAccount", "ReportingCode", "ReportingCodeName", "HasAttachments",
                  "UpdatedDateUTC", "AddToWatchlist"}


def _accounts(where_text: str | None = None, order: str | None = None) -> list[dict]:
    sql, params = "SELECT doc FROM accounts WHERE tenant_id=?", [g.tenant_id]
    ims = if_modified_since()
    if ims is not None:
        sql += " AND updated_ms >= ?"
        params.append(ims)
    docs = [json.loads(r["doc"]) for r in get_sandbox().store.query(sql, params)]
    pred = compile_where(where_text, ACCOUNT_FIELDS)
    if pred:
        docs = [d for d in docs if pred(d)]
    return apply_order(docs, order, lambda d: (d.get("Code") or "", d["Name"]), ACCOUNT_FIELDS, "Account")


@bp.route("/Accounts", methods=["GET"])
@requires(SETTINGS_READ)
def accounts() -> Response:
    return ok("Accounts", _accounts(request.args.get("where"), request.args.get("order")))


@bp.route("/Accounts/<account_id>", methods=["GET"])
@requires(SETTINGS_READ)
def account(account_id: str) -> Response:
    if not is_uuid(account_id):
        return not_found()
    row = get_sandbox().store.one("SELECT doc FROM accounts WHERE tenant_id=? AND account_id=?",
                                  (g.tenant_id, account_id.lower()))
    if row is None:
        return not_found()
    return ok("Accounts", [json.loads(row["doc"])])


@bp.route("/BrandingThemes", methods=["GET"])
@requires(SETTINGS_READ)
def branding_themes() -> Response:
    rows = get_sandbox().store.query("SELECT doc FROM branding_themes WHERE tenant_id=? ORDER BY sort_order",
                                     (g.tenant_id,))
    return ok("BrandingThemes", [json.loads(r["doc"]) for r in rows])


@bp.route("/BrandingThemes/<theme_id>", methods=["GET"])
@requires(SETTINGS_READ)
def branding_theme(theme_id: str) -> Response:
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
def tax_rates() -> Response:
    docs = [seed.tax_rate_doc(t) for t in seed.TAX_RATES]
    pred = compile_where(request.args.get("where"), TAX_FIELDS)
    if pred:
        docs = [d for d in docs if pred(d)]
    tax_type = request.args.get("TaxType")
    if tax_type:
        docs = [d for d in docs if d["TaxType"].lower() == tax_type.lower()]
    return ok("TaxRates", apply_order(docs, request.args.get("order"), lambda d: d["Name"], TAX_FIELDS, "TaxRate"))

