"""Clients: list and search, create/edit with inline validation, archive, and each client's engagements."""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.clients import bp
from webapp.clients.forms import (
    ClientForm,
    CompleteEngagementForm,
    EndEngagementForm,
    EngagementForm,
    company_number_padded,
    consolidation_choice,
)
from webapp.clock import local_today
from webapp.extensions import db
from webapp.forms import ascii_int
from webapp.htmx import is_htmx_request, render_fragment, render_page_or_fragment
from webapp.models import BillingSettings, Client, Engagement, EngagementCompletion
from webapp.scoping import current_practice_id, get_or_404
from webapp.services import clients as client_service
from webapp.services import contact_matching_ui
from webapp.services.billing import completions as engagement_service
from webapp.services.billing.settings import get_billing_settings
from webapp.sync import reference_data

VALIDATED_FIELDS = ("name", "code", "email", "phone", "address_line", "city", "postcode", "company_number",
                    "vat_number", "invoice_day", "payment_terms_days")


# --- list -------------------------------------------------------------------------------------

@bp.route("/")
@login_required
def index():
    query = request.args.get("q", "").strip()
    show_archived = request.args.get("archived") == "1"
    page = request.args.get("page", 1, type=ascii_int)
    xero = request.args.get("xero", "")  # the Xero column's filter: linked, needs_review, unmatched, no_contact
    practice_id = current_practice_id()
    result = client_service.search_clients(practice_id, query, show_archived, page,
                                           current_app.config["CLIENTS_PER_PAGE"], xero_state=xero)
    # Once for the page: the Xero filter shows when they are known, the table's chips use them.
    xero_states = contact_matching_ui.xero_states(practice_id, [client.id for client in result.clients])
    return render_page_or_fragment("clients/index.html", "clients/_client_table.html", result=result, q=query,
                                   show_archived=show_archived, xero=xero, xero_states=xero_states)


@bp.route("/<int:client_id>/archive", methods=["POST"], endpoint="archive")
@bp.route("/<int:client_id>/unarchive", methods=["POST"], endpoint="unarchive")
@login_required
def set_archived(client_id):
    client = get_or_404(Client, client_id)
    archived = request.endpoint == "clients.archive"
    client_service.set_archived(client, archived)
    if is_htmx_request():
        return render_fragment("clients/_client_row.html", client=client)
    flash(f"{client.name} was {'archived' if archived else 'restored'}.", "success")
    return redirect(_safe_next(request.form.get("next")), code=303)


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/clients") and "//" not in target:
        return target
    return url_for("clients.index")


# --- create and edit ---------------------------------------------------------------------------

def _client_form(client: Client | None = None, formdata=None) -> ClientForm:
    practice_id = current_practice_id()
    stored_theme = client.branding_theme_id if client else None
    settings = get_billing_settings(practice_id)
    form = ClientForm(
        formdata=formdata,
        obj=client,
        practice_id=practice_id,
        client_id=client.id if client else None,
        theme_choices=_theme_choices(practice_id, stored_theme),
        stored_theme_id=stored_theme,
        practice_terms=(settings.invoice_day, settings.payment_terms_days),
    )
    if client is not None and formdata is None:
        form.consolidate_recurring.data = consolidation_choice(client.consolidate_recurring)
        form.consolidate_one_off.data = consolidation_choice(client.consolidate_one_off)
        form.branding_theme_id.data = client.branding_theme_id or ""
    return form


def _theme_choices(practice_id: int, stored_theme: str | None) -> list[tuple[str, str]] | None:
    """The template select's options, or None when no branding themes are synced (no select then)."""
    themes = reference_data.branding_themes(practice_id)
    if not themes:
        return None
    settings = db.session.get(BillingSettings, practice_id)
    default_name = reference_data.theme_name(practice_id, settings.default_branding_theme_id if settings else None)
    default_name = default_name or themes[0].name
    choices = [("", f"Use practice default ({default_name})")]
    choices += [(theme.branding_theme_id, theme.name) for theme in themes]
    if stored_theme and stored_theme not in {theme.branding_theme_id for theme in themes}:
        name = reference_data.theme_name(practice_id, stored_theme) or "Unknown template"
        choices.append((stored_theme, f"{name} (deleted in Xero)"))
    return choices


def _form_context(form: ClientForm, client: Client | None) -> dict:
    practice_id = current_practice_id()
    theme_problem = None
    if form.themes_offered and client is not None:
        theme_problem = reference_data.theme_problem(practice_id, client.branding_theme_id)
    return {"form": form, "client": client, "theme_problem": theme_problem}


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form = _client_form(formdata=request.form if request.method == "POST" else None)
    if request.method == "POST":
        if form.validate():
            try:
                client = client_service.create_client(current_practice_id(), form.client_fields())
            except client_service.DuplicateClientCode:
                form.code.errors.append(f"Another client already has the code {form.code.data}.")
            else:
                flash(f"{client.name} was added.", "success")
                _flash_notes(form, client)
                return redirect(url_for("clients.detail", client_id=client.id), code=303)
        return render_template("clients/new.html", **_form_context(form, None)), 422
    return render_template("clients/new.html", **_form_context(form, None))


@bp.route("/<int:client_id>", methods=["GET", "POST"])
@login_required
def detail(client_id):
    client = get_or_404(Client, client_id)
    form = _client_form(client, formdata=request.form if request.method == "POST" else None)
    if request.method == "POST":
        if form.validate():
            try:
                client_service.update_client(client, form.client_fields())
            except client_service.DuplicateClientCode:
                form.code.errors.append(f"Another client already has the code {form.code.data}.")
            else:
                flash("Saved.", "success")
                _flash_notes(form, client)
                return redirect(url_for("clients.detail", client_id=client.id), code=303)
        return render_template("clients/detail.html", **_detail_context(client, form)), 422
    return render_template("clients/detail.html", **_detail_context(client, form))


def _flash_notes(form: ClientForm, client: Client) -> None:
    """After saving: what the inline check said beside a field, for a user who never left it (or has no script)."""
    if "company_number" in form.notes and client.company_number:
        flash(company_number_padded(client.company_number), "info")


@bp.route("/validate/<field_name>", methods=["POST"])
@bp.route("/<int:client_id>/validate/<field_name>", methods=["POST"])
@login_required
def validate_field(field_name, client_id=None):
    """Check one field as the user leaves it; returns that field's fragment with its message."""
    client = get_or_404(Client, client_id) if client_id is not None else None
    if field_name not in VALIDATED_FIELDS:
        abort(404)
    form = _client_form(client, formdata=request.form)
    valid = form.validate_field(field_name)
    return render_fragment("clients/_field.html", status=200 if valid else 422, form=form, f=form[field_name],
                           client=client)


# --- engagements -------------------------------------------------------------------------------

def _detail_context(client: Client, form: ClientForm | None = None, **engagement_context) -> dict:
    context = _form_context(form or _client_form(client), client)
    context.update(_engagement_context(client, **engagement_context))
    return context


def _engagement_context(client: Client, engagement_form=None, editing_id=None, ending_id=None,
                        end_form=None, completing_id=None, complete_error=None, complete_value=None) -> dict:
    engagements = client_service.client_engagements(client)
    return {
        "client": client,
        "engagements": engagements,
        "engagement_form": engagement_form,
        "editing_id": editing_id,
        "ending_id": ending_id,
        "end_form": end_form,
        "completing_id": completing_id,
        "complete_error": complete_error,
        "complete_value": complete_value,
        "completable": {e.id for e in engagements if engagement_service.is_completable(e)},
        "invoiced_completions": engagement_service.invoiced_completions(engagements),
        "today": local_today(current_user.practice.time_zone),
    }


def _render_engagements(client: Client, status: int = 200, **engagement_context):
    """The client page, or only its engagements section for htmx."""
    if is_htmx_request():
        return render_fragment("clients/_engagements.html", status=status,
                               **_engagement_context(client, **engagement_context))
    return render_page_or_fragment("clients/detail.html", "clients/_engagements.html", status=status,
                                   **_detail_context(client, **engagement_context))


def _engagements_changed(client, message: str):
    """After a change to a client's engagements: the list again for htmx, else a flash and back to the client."""
    if is_htmx_request():
        return _render_engagements(client)
    flash(message, "success")
    return redirect(url_for("clients.detail", client_id=client.id) + "#engagements", code=303)


def _engagement_form(formdata=None, **kwargs) -> EngagementForm:
    return EngagementForm(formdata=formdata, services_by_menu=client_service.engagement_services(
        current_practice_id()), **kwargs)


def _client_engagement_or_404(client: Client, engagement_id: int) -> Engagement:
    engagement = get_or_404(Engagement, engagement_id)
    if engagement.client_id != client.id:
        abort(404)
    return engagement


@bp.route("/<int:client_id>/engagements")
@login_required
def engagements(client_id):
    return _render_engagements(get_or_404(Client, client_id))


@bp.route("/<int:client_id>/engagements/new")
@login_required
def new_engagement(client_id):
    client = get_or_404(Client, client_id)
    form = _engagement_form(start_date=local_today(current_user.practice.time_zone))
    return _render_engagements(client, engagement_form=form, editing_id="new")


@bp.route("/<int:client_id>/engagements", methods=["POST"])
@login_required
def add_engagement(client_id):
    client = get_or_404(Client, client_id)
    form = _engagement_form(request.form)
    if not form.validate():
        return _render_engagements(client, 422, engagement_form=form, editing_id="new")
    client_service.save_engagement(client, form.services[form.service_id.data], form.price.price,
                                   form.start_date.data, form.end_date.data)
    return _engagements_changed(client, "Engagement added.")


@bp.route("/<int:client_id>/engagements/<int:engagement_id>/edit")
@login_required
def edit_engagement(client_id, engagement_id):
    client = get_or_404(Client, client_id)
    engagement = _client_engagement_or_404(client, engagement_id)
    form = _engagement_form(obj=engagement)
    return _render_engagements(client, engagement_form=form, editing_id=engagement.id)


@bp.route("/<int:client_id>/engagements/<int:engagement_id>", methods=["POST"])
@login_required
def update_engagement(client_id, engagement_id):
    client = get_or_404(Client, client_id)
    engagement = _client_engagement_or_404(client, engagement_id)
    form = _engagement_form(request.form)
    if not form.validate():
        return _render_engagements(client, 422, engagement_form=form, editing_id=engagement.id)
    try:
        client_service.save_engagement(client, form.services[form.service_id.data], form.price.price,
                                       form.start_date.data, form.end_date.data, engagement=engagement)
    except client_service.EngagementLocked as locked:
        for name in locked.fields:
            getattr(form, name).errors.append(str(locked))
        return _render_engagements(client, 422, engagement_form=form, editing_id=engagement.id)
    return _engagements_changed(client, "Engagement saved.")


@bp.route("/<int:client_id>/engagements/<int:engagement_id>/end", methods=["POST"])
@login_required
def end_engagement(client_id, engagement_id):
    client = get_or_404(Client, client_id)
    engagement = _client_engagement_or_404(client, engagement_id)
    form = EndEngagementForm(request.form)
    valid = form.validate()
    if valid and form.end_date.data < engagement.start_date:
        form.end_date.errors.append("The end date cannot be before the start date.")
        valid = False
    if not valid:
        return _render_engagements(client, 422, ending_id=engagement.id, end_form=form)
    client_service.end_engagement(engagement, form.end_date.data)
    return _engagements_changed(client, "Engagement ended.")


@bp.route("/<int:client_id>/engagements/<int:engagement_id>/complete", methods=["POST"])
@login_required
def complete_engagement(client_id, engagement_id):
    """Mark one-off or on-completion work complete: the Billing Plan bills it once."""
    client = get_or_404(Client, client_id)
    engagement = _client_engagement_or_404(client, engagement_id)
    form = CompleteEngagementForm(request.form)
    error = None
    if not form.validate():
        error = " ".join(form.completed_on.errors) or "Enter the date the work was completed."
    else:
        try:
            today = local_today(current_user.practice.time_zone)
            engagement_service.mark_complete(engagement, form.completed_on.data, today, current_user.id)
        except engagement_service.CompletionRefused as refused:
            error = str(refused)
    if error:
        return _render_engagements(client, 422, completing_id=engagement.id, complete_error=error,
                                   complete_value=request.form.get("completed_on", ""))
    return _engagements_changed(client, f"{engagement.service.name} marked complete.")


@bp.route("/<int:client_id>/engagements/<int:engagement_id>/completions/<int:completion_id>/undo",
          methods=["POST"])
@login_required
def undo_completion(client_id, engagement_id, completion_id):
    """Take back a completion that has not been invoiced yet."""
    client = get_or_404(Client, client_id)
    engagement = _client_engagement_or_404(client, engagement_id)
    completion = get_or_404(EngagementCompletion, completion_id)
    if completion.engagement_id != engagement.id:
        abort(404)
    try:
        engagement_service.undo_completion(completion)
    except engagement_service.CompletionRefused as refused:
        return _render_engagements(client, 409, completing_id=engagement.id, complete_error=str(refused))
    return _engagements_changed(client, "Completion undone.")
