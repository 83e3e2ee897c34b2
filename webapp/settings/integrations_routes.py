"""Practice Settings > Integrations: connect, choose the organisation, disconnect, sync, default codes.

Only owners and admins change anything here (require_settings_manager); staff see the page read-only.
The session (a signed, readable cookie) holds only random ids: the OAuth `state` and PKCE verifier of a
sign-in, and a grant waiting for the choice, stay server-side (webapp.services.xero_connection).
"""
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, StringField
from wtforms.validators import AnyOf, InputRequired

from webapp.htmx import is_htmx_request, render_fragment, render_page_or_fragment
from webapp.models import SyncStatus
from webapp.scoping import current_practice_id, require_settings_manager
from webapp.services import default_account_codes as codes
from webapp.services import sync_history
from webapp.services import xero_connection as xero
from webapp.settings import bp
from webapp.sync import sync_runs
from webapp.xero import XeroError

FLOW_KEY = "xero_oauth"  # id of the sign-in (its state and PKCE verifier wait in Redis)
PENDING_KEY = "xero_pending"  # id of the grant waiting in Redis for "Select your Xero company"


class ChooseCompanyForm(FlaskForm):
    tenant_connection = RadioField("Xero company", choices=[],
                                   validators=[InputRequired("Choose the organisation to connect.")],
                                   validate_choice=False)


class DisconnectForm(FlaskForm):
    confirm = HiddenField(validators=[AnyOf(["yes"], message="Confirm that you want to disconnect.")])


class AccountCodeForm(FlaskForm):
    """One default-code select; which one is decided by the field name posted."""

    recurring_account_code = StringField("Recurring sales")
    one_off_account_code = StringField("One-off sales")


def _page(status: int = 200, choose_form: ChooseCompanyForm | None = None, choices=None, choose_error=None,
          code_fields=None, code_errors=None):
    """The Integrations page; `code_fields`/`code_errors` (field name -> message) re-render a refused code
    with the user's choice kept and the message beside its select."""
    practice_id = current_practice_id()
    return render_template(
        "settings/integrations.html",
        connection=xero.get_connection(practice_id),
        run=sync_runs.latest_sync_run(practice_id),
        code_fields=code_fields or codes.account_code_fields(practice_id),
        code_errors=code_errors or {},
        can_manage=current_user.can_manage_settings,
        choices=choices, choose_form=choose_form, choose_error=choose_error,
    ), status


@bp.route("/integrations")
@login_required
def integrations():
    return _page()


# -- connect ------------------------------------------------------------------------------------------------
@bp.route("/integrations/xero/connect", methods=["POST"])
@login_required
def xero_connect():
    require_settings_manager()
    try:
        sign_in = xero.start_connect(current_practice_id())
    except (XeroError, xero.ConnectError) as exc:
        flash(exc.message, "error")
        return redirect(url_for("settings.integrations"), code=303)
    session[FLOW_KEY] = sign_in.flow_id
    return redirect(sign_in.url, code=303)


def _refuse(message: str):
    flash(message, "error")
    return redirect(url_for("settings.integrations"), code=303)


@bp.route("/integrations/xero/callback")
@login_required
def xero_callback():
    require_settings_manager()
    flow_id = session.pop(FLOW_KEY, None)  # one use only: a replayed callback finds nothing
    try:
        outcome = xero.complete_sign_in(current_practice_id(), current_user.id, flow_id,
                                        state=request.args.get("state", ""), code=request.args.get("code", ""),
                                        error=request.args.get("error"))
    except (XeroError, xero.ConnectError) as exc:
        return _refuse(exc.message)
    if outcome.choices:
        session[PENDING_KEY] = outcome.pending_id
        return redirect(url_for("settings.xero_select"), code=303)
    return _connected(outcome)


def _connected(outcome: xero.ConnectOutcome):
    assert outcome.connection is not None, "an outcome with no choice to make is connected"
    flash(f"Connected to Xero: {outcome.connection.tenant_name}.", "success")
    if outcome.sync_error:
        flash(outcome.sync_error, "error")
    if outcome.cleanup_problems:
        flash("Xero did not confirm removing Socket's previous connection or the organisations you did not choose ("
              + "; ".join(outcome.cleanup_problems)
              + "). You can remove Socket in those organisations under Settings > Connected apps.", "error")
    return redirect(url_for("settings.integrations"), code=303)


@bp.route("/integrations/xero/select", methods=["GET", "POST"])
@login_required
def xero_select():
    require_settings_manager()
    practice_id = current_practice_id()
    pending_id = session.get(PENDING_KEY)
    try:
        choices = xero.pending_choices(practice_id, pending_id)
    except xero.ConnectError as exc:
        return _refuse(exc.message)
    if choices is None:
        session.pop(PENDING_KEY, None)
        return _refuse("That choice has expired. Start again with Connect to Xero.")
    form = ChooseCompanyForm()
    form.tenant_connection.choices = [(org.id, org.tenant_name) for org in choices]
    if request.method == "GET":
        return _page(choose_form=form, choices=choices)
    if not form.validate():
        return _page(422, choose_form=form, choices=choices)
    try:
        outcome = xero.choose_organisation(practice_id, current_user.id, pending_id, form.tenant_connection.data)
    except (XeroError, xero.ConnectError) as exc:
        return _page(422, choose_form=form, choices=choices, choose_error=exc.message)
    session.pop(PENDING_KEY, None)
    return _connected(outcome)


@bp.route("/integrations/xero/select/cancel", methods=["POST"])
@login_required
def xero_select_cancel():
    require_settings_manager()
    try:
        outcome = xero.cancel_choice(current_practice_id(), session.pop(PENDING_KEY, None))
    except xero.ConnectError as exc:
        return _refuse(exc.message)
    if outcome.kept is not None:
        flash(f"Connection cancelled. Socket is still connected to {outcome.kept.tenant_name} and kept no access to "
              "the other organisations you ticked.", "info")
    else:
        flash("Connection cancelled; Socket kept no access to those organisations.", "info")
    if outcome.problems:
        flash("Xero did not confirm removing Socket's access (" + "; ".join(outcome.problems) + "). You can remove "
              "Socket in those organisations under Settings > Connected apps.", "error")
    return redirect(url_for("settings.integrations"), code=303)


# -- disconnect -----------------------------------------------------------------------------------------------
@bp.route("/integrations/xero/disconnect", methods=["POST"])
@login_required
def xero_disconnect():
    require_settings_manager()
    form = DisconnectForm()
    if not form.validate():
        return _refuse("Confirm that you want to disconnect from Xero; nothing was changed.")
    try:
        problems = xero.disconnect(current_practice_id())
    except xero.ConnectError as exc:
        return _refuse(exc.message)
    flash("Disconnected from Xero. Socket has kept the data it synced (account codes, branding themes, "
          "tax rates); nothing more will be sent to or read from Xero until you connect again.", "success")
    if problems:
        flash("Xero could not confirm the removal (" + "; ".join(problems) + "). You can also remove Socket in "
              "Xero under Settings > Connected apps.", "error")
    return redirect(url_for("settings.integrations"), code=303)


# -- sync ----------------------------------------------------------------------------------------------------
def _sync_status(run, status: int = 200, error: str | None = None):
    return render_fragment("settings/_xero_sync_status.html", status, run=run, sync_error=error,
                           connection=xero.get_connection(current_practice_id()),
                           can_manage=current_user.can_manage_settings)


SYNC_FINISHED_EVENT = "xero-synced"


@bp.route("/integrations/xero/sync-status")
@login_required
def xero_sync_status():
    run = sync_runs.latest_sync_run(current_practice_id())
    response = _sync_status(run)
    if run and run.status in (SyncStatus.SUCCEEDED.value, SyncStatus.FAILED.value):
        # The poll that sees the run finish tells the account-code selects to reload with the new codes.
        response.headers["HX-Trigger"] = SYNC_FINISHED_EVENT
    return response


@bp.route("/integrations/xero/account-codes")
@login_required
def xero_account_codes():
    """The default-code selects for htmx (reloaded after a sync); a normal GET gets the whole page."""
    practice_id = current_practice_id()
    return render_page_or_fragment(
        "settings/integrations.html", "settings/_xero_account_codes.html",
        connection=xero.get_connection(practice_id), run=sync_runs.latest_sync_run(practice_id),
        code_fields=codes.account_code_fields(practice_id), code_errors={},
        can_manage=current_user.can_manage_settings)


@bp.route("/integrations/xero/sync", methods=["POST"])
@login_required
def xero_sync():
    """Sync now (the Integrations tab's widget, the history) or Retry (a failed run's page): queue the practice's sync.
    The widget gets itself back; a form posted with `show=run` is sent to the run's own page, which follows it."""
    require_settings_manager()
    practice_id = current_practice_id()
    trigger = request.form.get("trigger", "manual")
    if trigger not in sync_history.PAGE_TRIGGERS:
        trigger = "manual"
    try:
        run = sync_runs.start_sync(practice_id, trigger=trigger)
    except sync_runs.SyncAlreadyRunning as exc:
        return _sync_response(exc.run, 409, exc.message)
    except sync_runs.SyncRefused as exc:
        return _sync_response(sync_runs.latest_sync_run(practice_id), 409, exc.message)
    return _sync_response(run)


def _sync_response(run, status: int = 200, error: str | None = None):
    if is_htmx_request():
        return _sync_status(run, status, error)
    if error:
        flash(error, "error")
    if request.form.get("show") == "run" and run is not None:
        return redirect(url_for("settings.xero_run", run_id=run.id), code=303)
    return redirect(url_for("settings.integrations"), code=303)


# -- default account codes ----------------------------------------------------------------------------------
@bp.route("/integrations/account-codes", methods=["POST"])
@login_required
def save_default_account_code():
    require_settings_manager()
    practice_id = current_practice_id()
    form = AccountCodeForm()
    name = next((n for n in codes.KINDS if n in request.form), None)
    if name is None:
        abort(400)
    value = form[name].data
    try:
        codes.set_default_account_code(practice_id, name, value)
    except codes.AccountCodeRefused as exc:
        field = codes.account_code_field(practice_id, name, selected=value, use_stored=False)
        if is_htmx_request():
            return render_fragment("settings/_xero_account_code.html", 422, field=field, error=exc.message,
                                   can_manage=True)
        fields = [field if f.name == name else f for f in codes.account_code_fields(practice_id)]
        return _page(422, code_fields=fields, code_errors={name: exc.message})
    if is_htmx_request():
        return render_fragment("settings/_xero_account_code.html", field=codes.account_code_field(practice_id, name),
                               saved=True, can_manage=True)
    flash(f"{codes.KINDS[name]} account code saved.", "success")
    return redirect(url_for("settings.integrations"), code=303)
