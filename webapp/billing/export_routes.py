"""Downloads of the Billing Plan (the month shown, every client matching its filter) and of the invoice list, as
CSV or an Excel workbook. Read-only: staff may download them too.

They take the pages' own query strings: a plan with no month is this month's and a month Socket cannot read is
a 400 (the page shows this month with an error instead; a file of another month would mislead); the change type,
search and sort fall back as the page's do. The invoice list's month reads as the page reads it (all invoices
unless it is a month).
"""
from datetime import date

from flask import Response, request
from flask_login import current_user, login_required

from webapp.billing import bp
from webapp.clock import local_today, this_month
from webapp.errors import error_response
from webapp.scoping import current_practice_id
from webapp.services.billing.export_rows import invoice_table, plan_table
from webapp.services.billing.exports import CSV_TYPE, XLSX_TYPE, Table, csv_chunks, xlsx_bytes
from webapp.services.billing.plan import parse_period
from webapp.services.billing.plan_page import PlanQuery

BAD_MONTH = "That is not a month Socket understands (use YYYY-MM), so there is nothing to download."


@bp.route("/plan/export.csv", defaults={"file_type": "csv"})
@bp.route("/plan/export.xlsx", defaults={"file_type": "xlsx"})
@login_required
def export_plan(file_type: str):
    time_zone = current_user.practice.time_zone
    month = request.args.get("month")
    period = parse_period(month) if month else this_month(time_zone)
    if period is None:
        return error_response(400, BAD_MONTH)
    query = PlanQuery.from_args(request.args.get("change"), request.args.get("q"), request.args.get("sort"), None)
    table = plan_table(current_practice_id(), period, query, today=local_today(time_zone))
    return _download(table, f"socket-billing-plan-{period:%Y-%m}", file_type)


@bp.route("/invoices/export.csv", defaults={"file_type": "csv"})
@bp.route("/invoices/export.xlsx", defaults={"file_type": "xlsx"})
@login_required
def export_invoices(file_type: str):
    month = request.args.get("month")
    period: date | None = parse_period(month) if month else None
    table = invoice_table(current_practice_id(), period)
    return _download(table, f"socket-invoices-{period:%Y-%m}" if period else "socket-invoices", file_type)


def _download(table: Table, name: str, file_type: str) -> Response:
    # Written whole before it is sent (rows are still read from the database in batches): a response streamed
    # after the view returned would need the request's context kept open, and an error half-way through would
    # leave a truncated file that looks complete. A file is a few megabytes at most.
    if file_type == "csv":
        response = Response(b"".join(csv_chunks(table)), content_type=CSV_TYPE)
    else:
        response = Response(xlsx_bytes(table), content_type=XLSX_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{file_type}"'
    response.headers["Cache-Control"] = "private, no-store"  # client fees: not kept by shared caches or disk
    return response
