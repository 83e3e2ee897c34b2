"""Billing Plan pages: the month's plan with previews, approving it, and the invoices it raised.

Approving raises the month's invoices (which go on to Xero), so only owners and admins approve (manager_required);
staff see the plan with "Approve plan" disabled and a line saying who can. Before approving, the plan shows the
dates its invoices will get; when an invoice day has already passed, the approve form asks whether to date them
on it or today (today by default), and approving refuses (422, nothing raised) without a valid answer.
"""
from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.billing import bp
from webapp.billing.forms import CHOOSE_DATE, InvoiceDateForm, parse_dating
from webapp.clock import local_today, this_month
from webapp.forms import ascii_int
from webapp.htmx import is_htmx_request, render_page_or_fragment
from webapp.models import Client, Invoice
from webapp.scoping import current_practice_id, get_or_404, is_manager, manager_required
from webapp.services.billing.approval import Outcome, approve_plan, approver_name
from webapp.services.billing.changes import Change
from webapp.services.billing.dates import InvoiceDating
from webapp.services.billing.invoices import invoice_page
from webapp.services.billing.plan import parse_period
from webapp.services.billing.plan_page import SORTS, PlanQuery, plan_page
from webapp.services.billing.plan_preview import client_preview
from webapp.services.billing.tax import tax_reference
from webapp.services.xero_posting import (
    PostingRefused,
    fixes_for,
    month_posting,
    post_after_approval,
    post_month,
    posting_views,
    retry,
)
from webapp.sync.reference_data import theme_name
from webapp.template_helpers import format_local_datetime

BAD_MONTH = "That is not a month Socket understands (use YYYY-MM). Showing this month instead."
BAD_PREVIEW_MONTH = "That is not a month Socket understands (use YYYY-MM)."
NOT_IN_PLAN = "{client} has no invoice in the {month} plan, so there is nothing to preview."
POSTING_FINISHED_EVENT = "posting-finished"


@bp.app_context_processor
def posting_helpers():
    """What the invoice posting fragments call: where to fix a held invoice, and whether the user may post."""
    return {"posting_fixes": fixes_for, "change_label": _change_label, "change_count": _change_count}


def _change_label(change) -> str:
    """A row's chip, e.g. "Same work"."""
    return Change(change).label


def _change_count(change, count: int) -> str:
    """The summary's chip and the Change type filter's option, e.g. "6 new clients"."""
    return Change(change).count_label(count)


@bp.route("/plan")
@login_required
def plan():
    month = request.args.get("month")
    current = this_month(current_user.practice.time_zone)
    period = parse_period(month) if month else current
    error, status = None, 200
    if period is None:
        error, status, period = BAD_MONTH, 400, current
    return _render_plan(period, status=status, error=error)


def _plan_query() -> PlanQuery:
    """The filter, search, order and page asked for (from the query string, or the form that posted)."""
    source = request.args if request.method == "GET" else request.form
    return PlanQuery.from_args(source.get("change"), source.get("q"), source.get("sort"), source.get("page"))


def _render_plan(period, status=200, error=None, notice=None, notice_ok=False, date_error=None,
                 posting_error=None):
    time_zone = current_user.practice.time_zone
    # Open month: previews dated as the approve form's default (today, for invoices whose day has passed).
    plan = plan_page(current_practice_id(), period, _plan_query(), today=local_today(time_zone),
                     dating=InvoiceDating.TODAY)
    approver = approver_name(plan.run) if plan.run else None
    date_form = InvoiceDateForm(plan.dates, error=date_error) if plan.dates and plan.dates.ask else None
    shown = [row.invoice.id for row in plan.rows if row.invoice is not None]
    posting = month_posting(current_practice_id(), period, shown) if plan.run else None
    return render_page_or_fragment(
        "billing/plan.html", "billing/_plan.html", status,
        plan=plan, approver=approver, error=error, notice=notice, notice_ok=notice_ok,
        this_month=this_month(time_zone), can_approve=is_manager(), date_form=date_form,
        posting=posting, can_post=is_manager(), posting_error=posting_error, sorts=SORTS,
    )


@bp.route("/plan/clients/<int:client_id>/preview")
@login_required
def plan_preview(client_id):
    """One client's invoice in the month's plan: the plan's preview dialog loads it (htmx), and without htmx the
    same link opens it as a page."""
    time_zone = current_user.practice.time_zone
    month = request.args.get("month")
    period = parse_period(month) if month else this_month(time_zone)
    if period is None:
        return _render_preview(None, None, status=400, message=BAD_PREVIEW_MONTH)
    # Dated as the plan page dates its open month: today for invoices whose day has passed (the approve default).
    row = client_preview(current_practice_id(), period, client_id, today=local_today(time_zone),
                         dating=InvoiceDating.TODAY)
    if row is None:
        client = get_or_404(Client, client_id)  # another practice's client: a plain 404
        return _render_preview(None, period, status=404,
                               message=NOT_IN_PLAN.format(client=client.name, month=f"{period:%B %Y}"))
    return _render_preview(row, period)


def _render_preview(row, period, status=200, message=None):
    return render_page_or_fragment("billing/plan_preview.html", "billing/_plan_preview.html", status,
                                   row=row, period=period, message=message)



REFUSAL_STATUS = {Outcome.ALREADY_APPROVED: 409, Outcome.PLAN_CHANGED: 409, Outcome.NOTHING_TO_BILL: 422,
                  Outcome.FUTURE_MONTH: 422, Outcome.DATE_NEEDED: 422}


def _approval_message(result) -> str:
    month = f"{result.period:%B %Y}"
    if result.outcome is Outcome.APPROVED:
        count = result.invoice_count
        return f"{month} approved: {count} invoice{'s' if count != 1 else ''} raised."
    if result.outcome is Outcome.ALREADY_APPROVED:
        when = format_local_datetime(result.run.approved_at)
        return (f"{month} was already approved on {when} by {approver_name(result.run)}. "
                "No new invoices were raised.")
    if result.outcome is Outcome.PLAN_CHANGED:
        return "The plan changed since you opened it — review it and approve again. No invoices were raised."
    if result.outcome is Outcome.DATE_NEEDED:
        return f"{CHOOSE_DATE} No invoices were raised."
    if result.outcome is Outcome.FUTURE_MONTH:
        return (f"{month} has not started yet: you can approve it from 1 {month}. "
                "No invoices were raised.")
    return f"There is nothing to invoice for {month}, so there is nothing to approve."


@bp.route("/plan/approve", methods=["POST"])
@login_required
@manager_required
def approve():
    period = parse_period(request.form.get("month"))
    fingerprint = request.form.get("fingerprint")
    if period is None or not fingerprint:
        abort(400)
    try:
        dating = parse_dating(request.form.get("invoice_date"))
    except ValueError:
        return _render_plan(period, status=422, notice=f"{CHOOSE_DATE} No invoices were raised.",
                            date_error=CHOOSE_DATE)
    result = approve_plan(current_practice_id(), period, current_user.id, fingerprint=fingerprint, dating=dating)
    message = _approval_message(result)
    if result.outcome is not Outcome.APPROVED:
        # Refused: show the plan as it is now, the reason above it, with a status that says so.
        date_error = CHOOSE_DATE if result.outcome is Outcome.DATE_NEEDED else None
        return _render_plan(period, status=REFUSAL_STATUS[result.outcome], notice=message, date_error=date_error)
    message = f"{message} {post_after_approval(current_practice_id(), period)}"
    if is_htmx_request():
        return _render_plan(period, notice=message, notice_ok=True)
    flash(message, "success")
    return redirect(url_for("billing.plan", month=f"{period:%Y-%m}"), 303)


@bp.route("/plan/posting")
@login_required
def posting_status():
    """The approved month's posting summary alone (htmx polls it while a run is active); the poll that sees the run
    finish tells the plan to reload."""
    period = parse_period(request.args.get("month"))
    if period is None:
        abort(400)
    posting = month_posting(current_practice_id(), period, invoice_ids=())
    if not posting.invoice_count:
        abort(404)
    response = make_response(render_template("billing/_xero_posting.html", posting=posting, can_post=is_manager(),
                                             month_param=f"{period:%Y-%m}"))
    if not posting.active:
        response.headers["HX-Trigger"] = POSTING_FINISHED_EVENT
    return response


@bp.route("/plan/post", methods=["POST"])
@login_required
@manager_required
def post_to_xero():
    """"Post outstanding invoices": queue the month's invoices not yet in Xero (held ones are checked again)."""
    period = parse_period(request.form.get("month"))
    if period is None:
        abort(400)
    try:
        post_month(current_practice_id(), period)
    except PostingRefused as refused:
        if is_htmx_request():
            return _render_plan(period, status=422, posting_error=refused.message)
        flash(refused.message, "error")
    else:
        if is_htmx_request():
            return _render_plan(period)
        flash(f"Posting {period:%B %Y}'s outstanding invoices to Xero.", "success")
    return redirect(url_for("billing.plan", month=f"{period:%Y-%m}"), 303)


@bp.route("/invoices/<int:invoice_id>/retry", methods=["POST"])
@login_required
@manager_required
def retry_xero_posting(invoice_id):
    """Send one held (once fixed) or refused invoice to Xero again."""
    invoice = get_or_404(Invoice, invoice_id)
    error = None
    try:
        retry(current_practice_id(), invoice.id)
    except PostingRefused as refused:
        error = refused.message
    if is_htmx_request():
        if request.form.get("context") == "plan":
            return _render_plan(invoice.period, status=422 if error else 200, posting_error=error)
        return _render_invoice(invoice, status=422 if error else 200, posting_error=error)
    flash(error or f"Posting {invoice.number} to Xero again.", "error" if error else "success")
    return redirect(url_for("billing.invoice", invoice_id=invoice.id), 303)


@bp.route("/invoices")
@login_required
def invoices():
    month = request.args.get("month")
    period = parse_period(month) if month else None
    listing = invoice_page(current_practice_id(), period, request.args.get("page", 1, type=ascii_int))
    tax = tax_reference(current_practice_id())
    views = posting_views(current_practice_id(), [row.id for row in listing.invoices])
    return render_page_or_fragment("billing/invoices.html", "billing/_invoice_list.html",
                                   listing=listing, invoices=listing.invoices, views=views,
                                   taxes={row.id: tax.tax(row.lines) for row in listing.invoices}, period=period)


@bp.route("/invoices/<int:invoice_id>")
@login_required
def invoice(invoice_id):
    return _render_invoice(get_or_404(Invoice, invoice_id))


def _render_invoice(invoice: Invoice, status: int = 200, posting_error: str | None = None):
    practice_id = current_practice_id()
    template = theme_name(practice_id, invoice.branding_theme_id) or "Xero's default template"
    tax = tax_reference(practice_id).tax(invoice.lines)
    posting = month_posting(practice_id, invoice.period, [invoice.id])
    view = posting.views.get(invoice.id)
    active = posting.active and view is not None and view.state in ("waiting", "posting", "held")
    return render_page_or_fragment("billing/invoice.html", "billing/_invoice.html", status,
                                   invoice=invoice, template_name=template, tax=tax, view=view,
                                   posting_active=active, can_post=is_manager(), posting_error=posting_error)
