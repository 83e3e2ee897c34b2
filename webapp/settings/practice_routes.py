"""Practice Settings > Practice: name, time zone, nightly sync time, primary CRM and which Xero contacts become
clients (owner/admin change them)."""
from datetime import time

from flask_login import current_user, login_required

from webapp.htmx import render_page_or_fragment
from webapp.models import PrimaryCRM
from webapp.models.practice import CRMImportScope
from webapp.scoping import require_settings_manager
from webapp.services.practice_details import save_practice_details
from webapp.settings import bp
from webapp.settings.practice_forms import PracticeDetailsForm


def _render(form, status=200, saved=False):
    return render_page_or_fragment("settings/practice.html", "settings/_practice_form.html", status,
                                   form=form, can_edit=current_user.can_manage_settings, saved=saved)


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
    form = PracticeDetailsForm()
    if not form.validate():
        return _render(form, status=422)
    scope = form.crm_import_scope.data
    nightly = time.fromisoformat(form.nightly_sync_at.data) if form.nightly_sync_at.raw_data else None
    practice = save_practice_details(current_user.practice_id, form.name.data, form.time_zone.data,
                                     PrimaryCRM(form.primary_crm.data), CRMImportScope(scope) if scope else None,
                                     nightly)
    form.crm_import_scope.data = practice.crm_import_scope  # the stored choice, when it was not posted
    form.nightly_sync_at.data = f"{practice.nightly_sync_at:%H:%M}"
    return _render(form, saved=True)
