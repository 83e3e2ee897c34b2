"""Clients' Xero contacts: the review list, searching the mirrored contacts, link / unlink / match again / create.

Each action answers an htmx request with the client's row as it is now — the review list's row (with the Billing
Plan's counts swapped in out of band) or the client page's "Xero contact" section, as the form's `context` says —
and a browser with a redirect back (`next`) and a flash. Linking decides who gets invoiced, so only owners and
admins act; staff see the same rows with a line saying who can.
"""
from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp.contacts import bp
from webapp.htmx import is_htmx_request, render_fragment, render_page_or_fragment
from webapp.models import Client
from webapp.scoping import current_practice_id, get_or_404, is_manager, manager_required
from webapp.services import contact_bulk_create, contact_sync_issues
from webapp.services import contact_matching_ui as ui
from webapp.sync import contact_links
from webapp.sync.contact_links import ContactLinkError

READ_ONLY = "Only owners and admins can link clients to Xero contacts."
ROW_TEMPLATES = {"review": "contacts/_review_row.html", "client": "contacts/_client_xero.html"}
SAFE_NEXT = ("/billing/plan", "/contacts/", "/clients/")


# -- what every page may show: the Billing Plan's warning, the Clients list's chips, a client's section -----------
@bp.app_context_processor
def contact_helpers():
    """Functions the templates call where they show Xero contacts (so a page pays for them only when shown)."""
    signed_in = bool(current_user and current_user.is_authenticated)
    return {
        "xero_unmatched_banner": lambda: ui.banner(current_practice_id()) if signed_in else None,
        "client_xero_states": lambda clients: (ui.xero_states(current_practice_id(), [c.id for c in clients])
                                               if signed_in else None),
        "client_xero_row": lambda client_id: ui.client_row(current_practice_id(), client_id) if signed_in else None,
        "client_sync_issues": lambda client_id: (contact_sync_issues.open_issues(current_practice_id(), client_id)
                                                 if signed_in else []),
        "can_link_contacts": signed_in and is_manager(),
        "link_contacts_read_only": READ_ONLY,
        "xero_state_filters": ui.FILTERS,
        "creatable_contacts": contact_bulk_create.creatable,
    }


# -- the review list -----------------------------------------------------------------------------------------------
@bp.route("/review")
@login_required
def review():
    """Every active client left unmatched or needing review: the page, or the list alone for the banner (htmx)."""
    return render_page_or_fragment("contacts/review.html", "contacts/_review.html",
                                   review=ui.review(current_practice_id()), context="review")


@bp.route("/clients/<int:client_id>/search")
@login_required
def search(client_id):
    """Mirrored contacts matching `q`, each with a Link button for the client (htmx: the results alone)."""
    client = get_or_404(Client, client_id)
    term = request.args.get("q", "")
    results, error, status = [], None, 200
    if term.strip():
        try:
            results = ui.search(current_practice_id(), client.id, term)
        except ContactLinkError as exc:
            error, status = exc.message, 422
    return render_page_or_fragment("contacts/search.html", "contacts/_contact_search_results.html", status,
                                   client=client, q=term, results=results, error=error, context=_context())


# -- a person's decisions ------------------------------------------------------------------------------------------
@bp.route("/clients/<int:client_id>/link", methods=["POST"])
@login_required
@manager_required
def link(client_id):
    client = get_or_404(Client, client_id)
    contact_id = request.form.get("contact_id", "").strip()
    if not contact_id:
        return _answer(client, 422, error="Choose the Xero contact to link this client to.")
    contact = ui.mirrored_contact(current_practice_id(), contact_id)
    if contact is None:
        abort(404)  # not one of this practice's contacts: another practice's ids do not exist here
    try:
        contact_links.link_client(current_practice_id(), client.id, contact.contact_id, current_user.id)
    except ContactLinkError as exc:
        return _answer(client, 422, error=exc.message)
    return _answer(client, message=f"{client.code} is now linked to '{contact.name}' in Xero.")


@bp.route("/clients/<int:client_id>/unlink", methods=["POST"])
@login_required
@manager_required
def unlink(client_id):
    """Take the client's link away: recorded as "no Xero contact", which matching leaves alone until a person
    links it or lets matching decide again."""
    client = get_or_404(Client, client_id)
    try:
        contact_links.unlink_client(current_practice_id(), client.id, current_user.id)
    except ContactLinkError as exc:
        return _answer(client, 422, error=exc.message)
    return _answer(client, message=f"{client.code} is unlinked: it has no Xero contact until you link one.")


@bp.route("/clients/<int:client_id>/rematch", methods=["POST"])
@login_required
@manager_required
def rematch(client_id):
    """Forget a person's decision and let matching decide the client again (from the mirrored contacts)."""
    client = get_or_404(Client, client_id)
    try:
        contact_links.clear_manual_decision(current_practice_id(), client.id)
    except ContactLinkError as exc:
        return _answer(client, 422, error=exc.message)
    return _answer(client, message=f"Socket matched {client.code} again.")


@bp.route("/clients/<int:client_id>/create", methods=["POST"])
@login_required
@manager_required
def create_contact(client_id):
    """Create the client's contact in Xero from its details and link it (one call, within the web budget)."""
    client = get_or_404(Client, client_id)
    try:
        ui.create_in_xero(current_practice_id(), client.id, current_user.id)
    except ui.CreateRefused as exc:
        return _answer(client, exc.status, error=exc.message, offer=exc.existing)
    except ContactLinkError as exc:
        return _answer(client, 422, error=exc.message)
    return _answer(client, message=f"'{client.name}' was created in Xero and {client.code} is linked to it.")


@bp.route("/create-missing", methods=["POST"])
@login_required
@manager_required
def create_missing():
    """Create in Xero, in one call, the contacts of the clients the review list showed with nothing likely in Xero
    (the form names them), and link each; the list comes back as it is now, saying what was done."""
    practice_id = current_practice_id()
    ids = [int(value) for value in request.form.getlist("client_id") if value.isdigit() and len(value) < 12]
    message = error = None
    try:
        message = contact_bulk_create.create_missing(practice_id, ids, current_user.id).message
    except ContactLinkError as exc:
        error = exc.message
    if is_htmx_request():
        review = ui.review(practice_id)
        return render_fragment("contacts/_review.html", 422 if error else 200, review=review, context="review",
                               bulk_message=message, bulk_error=error, oob_counts=review.counts)
    flash(error or message or "", "error" if error else "success")
    return redirect(_next_page() or url_for("contacts.review"), 303)


@bp.route("/clients/<int:client_id>/sync-issues/<int:sync_issue_id>/dismiss", methods=["POST"])
@login_required
@manager_required
def dismiss_sync_issue(client_id, sync_issue_id):
    """Dismiss a difference two-way updates recorded on the client (a conflict, or a change not copied)."""
    client = get_or_404(Client, client_id)
    if not contact_sync_issues.dismiss(current_practice_id(), client.id, sync_issue_id, current_user.id):
        abort(404)
    return _answer(client, message="Dismissed.")


# -- answering -----------------------------------------------------------------------------------------------------
def _context() -> str:
    """Where the row is shown: the review list ("review", the default) or the client's page ("client")."""
    value = request.values.get("context")
    return value if value in ROW_TEMPLATES else "review"


def _answer(client: Client, status: int = 200, message: str | None = None, error: str | None = None, offer=None):
    """The client's row as it is now (htmx; on the review list with the banner's new counts out of band), or a
    flash and back where the form was (a browser)."""
    if is_htmx_request():
        context = _context()
        practice_id = current_practice_id()
        counts = ui.counts(practice_id) if context == "review" and ui.contacts_synced(practice_id) else None
        return render_fragment(ROW_TEMPLATES[context], status, row=ui.client_row(practice_id, client.id),
                               client=client, message=message, error=error, offer=offer, context=context,
                               oob_counts=counts)
    flash(error or message or "", "error" if error else "success")
    return redirect(_next(client), 303)


def _next_page() -> str | None:
    """The form's `next`, when it is one of Socket's own pages that show these rows."""
    target = request.form.get("next") or ""
    if target.startswith(SAFE_NEXT) and "//" not in target and "\\" not in target:
        return target
    return None


def _next(client: Client) -> str:
    target = _next_page()
    if target:
        return target
    if _context() == "client":
        return url_for("clients.detail", client_id=client.id) + "#client-xero"
    return url_for("contacts.review")
