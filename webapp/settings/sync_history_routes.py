"""Practice Settings > Integrations > Sync history: the practice's sync runs, a run's own page, the Xero chip every
page shows, and the banner when Xero needs attention (reconnecting, or a nightly run that failed).

Staff see the history and the runs read-only; "Sync now" and "Retry" (settings.xero_sync) are for owners and admins.
Every lookup is scoped to the signed-in user's practice: another practice's run is a 404.
"""
import functools

from flask import request
from flask_login import current_user, login_required

from webapp.forms import ascii_int
from webapp.htmx import render_page_or_fragment
from webapp.models import SyncRun
from webapp.scoping import current_practice_id, get_or_404
from webapp.services import sync_history
from webapp.services import xero_connection as xero
from webapp.settings import bp
from webapp.sync import sync_runs


def _action_context(practice_id: int) -> dict:
    """What the pages need to offer Sync now: the connection, whether a run is going, who is looking."""
    connection = xero.get_connection(practice_id)
    latest = sync_runs.latest_sync_run(practice_id)
    return {"connection": connection, "can_manage": current_user.can_manage_settings,
            "connected": bool(connection and connection.is_connected),
            "busy": bool(latest and latest.status in sync_history.ACTIVE)}


@bp.route("/integrations/xero/runs")
@login_required
def xero_runs():
    """The practice's sync runs, newest first, 25 a page; the table alone for htmx (paging, and its own polling
    while a run on the first page is going)."""
    practice_id = current_practice_id()
    listing = sync_history.run_page(practice_id, request.args.get("page", 1, type=ascii_int))
    return render_page_or_fragment("settings/xero_runs.html", "settings/_xero_runs.html",
                                   listing=listing, **_action_context(practice_id))


@bp.route("/integrations/xero/runs/<int:run_id>")
@login_required
def xero_run(run_id: int):
    """One run: every step with its outcome, counts and error, the warnings, Xero calls and times. The details
    alone for htmx (the page polls them while the run is going)."""
    run = get_or_404(SyncRun, run_id)
    return render_page_or_fragment("settings/xero_run.html", "settings/_xero_run.html", run=run,
                                   is_latest=sync_history.is_latest_run(run), **_action_context(run.practice_id))


# -- the chip and the banner on every page ---------------------------------------------------------------------------
@bp.app_context_processor
def xero_health_banner():
    """`xero_state()`: the layout's Xero chip and banner (xero_state.alert, which `xero_alert()` gives alone).
    Functions rather than values, so only a page that shows them asks: fragments never extend the layout, and a
    poll every second costs no query for them. The chip and the banner share one statement per render."""
    if not current_user or not current_user.is_authenticated:
        return {"xero_state": lambda: None, "xero_alert": lambda: None}
    practice_id = current_user.practice_id
    state = functools.cache(lambda: sync_history.xero_state(practice_id))
    return {"xero_state": state, "xero_alert": lambda: state().alert}


# -- filters the sync templates use ----------------------------------------------------------------------------------
bp.add_app_template_filter(sync_history.run_steps, "sync_steps")
bp.add_app_template_filter(sync_history.run_summary, "sync_summary")
bp.add_app_template_filter(sync_history.run_warnings, "sync_warnings")
bp.add_app_template_filter(sync_history.warning_count, "sync_warning_count")
bp.add_app_template_filter(sync_history.run_other_counts, "sync_other_counts")
bp.add_app_template_filter(sync_history.run_duration, "sync_duration")
bp.add_app_template_filter(sync_history.trigger_label, "sync_trigger")
bp.add_app_template_filter(sync_history.status_label, "sync_status")
