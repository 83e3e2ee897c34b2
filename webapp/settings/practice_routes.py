"""Practice Settings > Practice: name, time zone, nightly sync time, primary CRM and which Xero contacts become
clients (owner/admin change them).

Saved as Billing Settings are: with htmx each control saves itself when it changes and comes back alone, with
"Saved" or its error beside it; without JavaScript the Save button posts the whole form."""
from datetime import time

from flask_login import current_user, login_required

from webapp.htmx import render_fragment, render_page_or_fragment
from webapp.models import PrimaryCRM
from webapp.models.practice import CRMImportScope
from webapp.scoping import require_settings_manager
from webapp.services import time_zones
from webapp.services.practice_details import DETAIL_FIELDS, save_practice_detail, save_practice_details
from webapp.settings import bp
from webapp.settings.inline import changed_field, validate_control
from webapp.settings.practice_forms import NOT_POSTED, PracticeDetailsForm


def _context(form):
    stored = current_user.practice.time_zone
    return {"form": form, "can_edit": current_user.can_manage_settings, "zones": time_zones.offered_time_zones(),
            "stored_time_zone": stored, "current_zone_name": time_zones.current_name(stored)}


def _render(form, status=200, saved=False):
    return render_page_or_fragment("settings/practice.html", "settings/_practice_form.html", status,
                                   saved_field="form" if saved else None, **_context(form))


def _render_control(form, name, status=200, saved=False):
    return render_fragment("settings/_practice_control.html", status, name=name,
                           saved_field=name if saved else None, **dict(_context(form), can_edit=True))


def _show_stored(form, practice):
    form.crm_import_scope.data = practice.crm_import_scope  # the stored choice, when it was not posted
    form.nightly_sync_at.data = f"{practice.nightly_sync_at:%H:%M}"


@bp.route("/practice")
@login_required
def practice():
    practice = current_user.practice
    form = PracticeDetailsForm(obj=practice)
    form.nightly_sync_at.data = f"{practice.nightly_sync_at:%H:%M}"
    return _render(form)


@bp.route("/practice", methods=["POST"])
@login_required
def practice_save():
    require_settings_manager()
    form = PracticeDetailsForm(stored_time_zone=current_user.practice.time_zone)
    changed = changed_field(form)
    if changed in DETAIL_FIELDS:
        return _save_inline(form, changed)
    if not form.validate():
        return _render(form, status=422)
    scope = form.crm_import_scope.data
    nightly = time.fromisoformat(form.nightly_sync_at.data) if form.nightly_sync_at.raw_data else None
    practice = save_practice_details(current_user.practice_id, form.name.data, form.time_zone.data,
                                     PrimaryCRM(form.primary_crm.data), CRMImportScope(scope) if scope else None,
                                     nightly)
    _show_stored(form, practice)
    return _render(form, saved=True)


def _save_inline(form, name):
    """Validate and store only the control that changed, and answer with that control alone."""
    field = form[name]
    valid = validate_control(form, name)
    if valid and name in NOT_POSTED and not field.raw_data:
        field.errors = [NOT_POSTED[name]]
        valid = False
    if not valid:
        return _render_control(form, name, status=422)
    value = field.data
    if name == "nightly_sync_at":
        value = time.fromisoformat(value)
    elif name == "primary_crm":
        value = PrimaryCRM(value)
    elif name == "crm_import_scope":
        value = CRMImportScope(value)
    practice = save_practice_detail(current_user.practice_id, name, value)
    _show_stored(form, practice)
    return _render_control(form, name, saved=True)
