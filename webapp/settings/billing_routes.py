"""Practice Settings > Billing Settings: view (everyone), change inline (owner/admin only)."""
from flask_login import current_user, login_required

from webapp.htmx import render_fragment, render_page_or_fragment
from webapp.scoping import current_practice_id, require_settings_manager
from webapp.services.billing.settings import (
    INLINE_FIELDS,
    SettingsChange,
    get_billing_settings,
    is_allowed_theme,
    save_billing_settings,
    save_one_setting,
    theme_choice,
)
from webapp.settings import bp
from webapp.settings.billing_forms import BillingSettingsForm
from webapp.settings.inline import changed_field, validate_control

THEME_NOT_SYNCED = "Choose a template from the list synced from Xero (sync again if it is new)."


def _render(form, settings, status=200, saved_field=None):
    return render_page_or_fragment(
        "settings/billing.html", "settings/_billing_form.html", status,
        form=form, theme=theme_choice(current_practice_id(), settings.default_branding_theme_id),
        can_edit=current_user.can_manage_settings, saved_field=saved_field,
    )


@bp.route("/billing")
@login_required
def billing():
    settings = get_billing_settings(current_practice_id())
    choice = theme_choice(current_practice_id(), settings.default_branding_theme_id)
    return _render(BillingSettingsForm.from_settings(settings, choice.selected_id), settings)


def _render_control(form, settings, name, status=200, saved=False):
    return render_fragment("settings/_billing_control.html", status, form=form, name=name,
                           theme=theme_choice(current_practice_id(), settings.default_branding_theme_id),
                           can_edit=True, saved_field=name if saved else None)


def _save_inline(form, settings, name):
    """Validate and store only the control that changed, and answer with that control alone."""
    practice_id = current_practice_id()
    field = form[name]
    valid = validate_control(form, name)
    value = field.data
    if name == "branding_theme_id":
        value = value or None
        if value and not is_allowed_theme(practice_id, value, settings.default_branding_theme_id):
            field.errors = [THEME_NOT_SYNCED]
            valid = False
        elif not value:
            return _render_control(form, settings, name)  # nothing chosen: nothing to store
    if not valid:
        return _render_control(form, settings, name, status=422)
    save_one_setting(practice_id, name, value)
    return _render_control(form, settings, name, saved=True)


@bp.route("/billing", methods=["POST"])
@login_required
def billing_save():
    require_settings_manager()
    practice_id = current_practice_id()
    settings = get_billing_settings(practice_id)
    form = BillingSettingsForm()
    changed = changed_field(form)
    if changed in INLINE_FIELDS:
        return _save_inline(form, settings, changed)
    theme_id = form.branding_theme_id.data or None
    valid = form.validate()
    if theme_id and not is_allowed_theme(practice_id, theme_id, settings.default_branding_theme_id):
        form.branding_theme_id.errors = [THEME_NOT_SYNCED]
        valid = False
    if not valid:
        return _render(form, settings, status=422)
    save_billing_settings(practice_id, SettingsChange(
        consolidate_recurring=form.consolidate_recurring.data == "consolidated",
        consolidate_one_off=form.consolidate_one_off.data == "consolidated",
        invoice_day=form.invoice_day.data,
        payment_terms_days=form.payment_terms_days.data,
        xero_post_status=form.xero_post_status.data,
        branding_theme_id=theme_id,
        create_missing_contacts=form.create_missing_contacts.data,
        approve_automatically=form.monthly_billing.data == "automatic",
    ))
    return _render(form, settings, saved_field="form")

