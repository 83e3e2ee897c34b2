"""What the pages say about sync runs: the history a page at a time, each run's steps with their counts, and the
banner every page shows when Xero needs attention.

A run's steps are recorded by webapp.sync.practice_sync in `SyncRun.counts["steps"]` (name, label, outcome: done,
failed or not run, and the error); the counts themselves are flat in `SyncRun.counts`. Which counts belong to
which step is said here (STEP_COUNTS); a step added later shows its label, outcome and error until it is listed.
"""
import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import aliased

from webapp.extensions import db
from webapp.models import ConnectionStatus, SyncRun, SyncStatus, XeroConnection
from webapp.models.base import utcnow
from webapp.pagination import PageNumbers

PER_PAGE = 25

TRIGGER_LABELS = {
    "connect": "Connected",  # the first sync, on connecting
    "manual": "Sync now",
    "nightly": "Nightly",
    "retry": "Retry",  # "Retry" on a failed run's page
    "support": "Support",  # `flask sync-practice` (webapp/sync_cli.py)
}
# Who may ask for a sync from a page, as the form posts it (settings.xero_sync).
PAGE_TRIGGERS = ("manual", "retry")

STATUS_LABELS = {
    SyncStatus.QUEUED.value: "Queued",
    SyncStatus.RUNNING.value: "Running",
    SyncStatus.SUCCEEDED.value: "Succeeded",
    SyncStatus.FAILED.value: "Failed",
}
ACTIVE = (SyncStatus.QUEUED.value, SyncStatus.RUNNING.value)
FINISHED = (SyncStatus.SUCCEEDED.value, SyncStatus.FAILED.value)

# A step's state as shown: a recorded outcome, or, while the run goes on, the step it is on and those still to come.
STATE_LABELS = {"done": "Done", "failed": "Failed", "not run": "Not run", "running": "Running", "waiting": "Waiting"}
COUNTED_STATES = ("done", "failed", "running")  # a step not reached has nothing of its own to count


@dataclass(frozen=True)
class Count:
    key: str  # in SyncRun.counts
    one: str  # "{n} account code"
    many: str  # "{n} account codes"

    def phrase(self, value: int) -> str:
        return (self.one if value == 1 else self.many).format(n=value)


@dataclass(frozen=True)
class CountGroup:
    """Counts read together ("pulled 4 new, 2 changed"): `lead` before them, and `always` whether the group shows
    when every count in it is 0 (the step's main news) or only when one is not (extras)."""

    lead: str
    counts: tuple[Count, ...]
    always: bool = True


def _c(key: str, one: str, many: str | None = None) -> Count:
    return Count(key, one, many or one)


STEP_COUNTS: dict[str, tuple[CountGroup, ...]] = {
    "reference": (
        CountGroup("", (_c("accounts", "{n} account code", "{n} account codes"),
                        _c("branding_themes", "{n} branding theme", "{n} branding themes"),
                        _c("tax_rates", "{n} tax rate", "{n} tax rates"))),
    ),
    "contacts": (
        CountGroup("Contacts pulled: ", (_c("contacts_new", "{n} new"), _c("contacts_changed", "{n} changed"))),
        CountGroup("Clients: ", (_c("clients_linked", "{n} linked"),
                                 _c("clients_needs_review", "{n} needs review", "{n} need review"),
                                 _c("clients_unmatched", "{n} unmatched"))),
        CountGroup("", (_c("contacts_skipped", "{n} contact skipped", "{n} contacts skipped"),
                        _c("clients_imported", "{n} client made from Xero", "{n} clients made from Xero"),
                        _c("clients_archived_from_xero", "{n} client archived as in Xero",
                           "{n} clients archived as in Xero")), always=False),
    ),
    "contact_updates": (
        CountGroup("", (_c("contact_updates_sent", "{n} sent to Xero"),
                        _c("contact_updates_received", "{n} received from Xero"),
                        _c("contact_update_conflicts", "{n} conflict", "{n} conflicts"))),
        CountGroup("", (_c("contact_updates_refused", "{n} refused by Xero"),
                        _c("contact_numbers_written", "{n} client code written to Xero",
                           "{n} client codes written to Xero"),
                        _c("contact_numbers_failed", "{n} client code not written", "{n} client codes not written")),
                   always=False),
    ),
    "posting": (
        CountGroup("", (_c("posting_posted", "{n} invoice posted", "{n} invoices posted"),
                        _c("posting_held", "{n} held"), _c("posting_failed", "{n} refused by Xero"))),
        CountGroup("", (_c("posting_found_after_unknown", "{n} found in Xero after an unanswered send"),
                        _c("posting_unknown", "{n} not confirmed"),
                        _c("posting_outstanding", "{n} still outstanding"),
                        _c("posting_contacts_created", "{n} contact created in Xero",
                           "{n} contacts created in Xero")), always=False),
    ),
    "invoice_status": (
        CountGroup("", (_c("invoices_updated", "{n} invoice updated", "{n} invoices updated"),
                        _c("invoices_edited_in_xero", "{n} edited in Xero"))),
        CountGroup("", (_c("invoices_skipped", "{n} skipped"),), always=False),
    ),
}
# Automatic monthly billing records what happened rather than how many (automatic_approval; see approval_phrases).
APPROVAL_OUTCOMES = {
    "off": "Off: a person approves each month",
    "not yet": "Not the invoice day yet",
    "already_approved": "This month was already approved",
    "nothing_to_bill": "Nothing to bill this month",
    "plan_changed": "The plan changed while it was being approved; the next run tries again",
    "date_needed": "Waiting for a person to choose the invoice date",
}
# What a step's counts are called in the one-line summary of a run (the history), shortest first.
SUMMARY_COUNTS: dict[str, tuple[Count, ...]] = {
    "reference": (_c("accounts", "{n} account code", "{n} account codes"),
                  _c("branding_themes", "{n} theme", "{n} themes"), _c("tax_rates", "{n} tax rate", "{n} tax rates")),
    "contacts": (_c("contacts_new", "{n} new contact", "{n} new contacts"),
                 _c("contacts_changed", "{n} changed contact", "{n} changed contacts"),
                 _c("clients_linked", "{n} linked"), _c("clients_needs_review", "{n} to review"),
                 _c("clients_unmatched", "{n} unmatched"), _c("clients_imported", "{n} clients made")),
    "contact_updates": (_c("contact_updates_sent", "{n} update sent", "{n} updates sent"),
                        _c("contact_updates_received", "{n} update received", "{n} updates received"),
                        _c("contact_update_conflicts", "{n} conflict", "{n} conflicts")),
    "approval": (_c("automatic_invoices", "{n} invoice raised automatically", "{n} invoices raised automatically"),),
    "posting": (_c("posting_posted", "{n} invoice posted", "{n} invoices posted"), _c("posting_held", "{n} held"),
                _c("posting_failed", "{n} refused by Xero")),
    "invoice_status": (_c("invoices_updated", "{n} invoice updated", "{n} invoices updated"),),
}
# Runs recorded before steps were (flat counts only): their steps are worked out from the counts present.
LEGACY_LABELS = {"reference": "Account codes, branding themes and tax rates", "contacts": "Contacts and matching",
                 "contact_updates": "Contact details both ways"}


@dataclass(frozen=True)
class StepView:
    name: str
    label: str
    state: str  # done / failed / not run / running / waiting
    error: str | None
    counts: list[str]  # "12 account codes", "Contacts pulled: 4 new, 2 changed", ...
    progress: str | None = None  # what the running step is doing, when it says more than its label

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state.capitalize())


def _int(counts: dict[str, Any], key: str) -> int | None:
    value = counts.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def approval_phrases(counts: dict[str, Any]) -> list[str]:
    """What automatic monthly billing did, from `automatic_approval` (and `automatic_invoices`)."""
    outcome = counts.get("automatic_approval")
    if not isinstance(outcome, str):
        return []
    if outcome == "approved":
        raised = _int(counts, "automatic_invoices") or 0
        return [f"This month approved: {raised} invoice{'' if raised == 1 else 's'} raised"]
    return [APPROVAL_OUTCOMES.get(outcome, outcome.replace("_", " ").capitalize())]


def step_counts(name: str, counts: dict[str, Any]) -> list[str]:
    """The phrases for step `name`'s counts, from the run's flat counts; [] for a step not listed or not counted."""
    if name == "approval":
        return approval_phrases(counts)
    phrases = []
    for group in STEP_COUNTS.get(name, ()):
        values = [(count, _int(counts, count.key)) for count in group.counts]
        present = [(count, value) for count, value in values if value is not None]
        if not present or (not group.always and not any(value for _, value in present)):
            continue
        shown = present if group.always else [(count, value) for count, value in present if value]
        phrases.append(group.lead + ", ".join(count.phrase(value) for count, value in shown))
    return phrases


def _recorded_steps(run: SyncRun) -> list[dict[str, Any]]:
    counts = run.counts or {}
    steps = counts.get("steps")
    if isinstance(steps, list):
        return [step for step in steps if isinstance(step, dict)]
    # An older run: each step whose counts are there was done.
    return [{"name": name, "label": label, "outcome": "done"} for name, label in LEGACY_LABELS.items()
            if step_counts(name, counts)]


def run_steps(run: SyncRun) -> list[StepView]:
    """Each step of `run` with its state, error and counts. While the run goes on, the first step not yet run is
    the one running (steps run in order) and those after it are waiting."""
    counts = run.counts or {}
    running = run.status == SyncStatus.RUNNING.value
    views = []
    current_found = False
    for step in _recorded_steps(run):
        name = str(step.get("name", ""))
        state = str(step.get("outcome") or "not run")
        progress = None
        if state == "not run" and running:
            state = "waiting" if current_found else "running"
            if not current_found and run.progress and run.progress != step.get("label"):
                progress = run.progress
            current_found = True
        error = step.get("error")
        shown = step_counts(name, counts) if state in COUNTED_STATES else []
        if name == "approval" and state == "done" and not shown and run.trigger != "nightly":
            shown = ["Only the nightly sync approves the month"]
        views.append(StepView(name=name, label=str(step.get("label") or name), state=state,
                              error=str(error) if error else None, counts=shown, progress=progress))
    return views


def run_summary(run: SyncRun) -> str:
    """One line of what the run did ("2 new contacts, 20 linked · 12 account codes, 3 themes, 8 tax rates"):
    counts that are 0 are left out, so a quiet night reads short, and the reference data (the same most nights)
    comes last."""
    counts = run.counts or {}
    parts = []
    for step in sorted(_recorded_steps(run), key=lambda step: step.get("name") == "reference"):
        phrases = [count.phrase(value) for count in SUMMARY_COUNTS.get(str(step.get("name")), ())
                   for value in [_int(counts, count.key)] if value]
        if phrases:
            parts.append(", ".join(phrases))
    return " · ".join(parts)


def run_warnings(run: SyncRun) -> list[str]:
    warnings = (run.counts or {}).get("warnings")
    return [str(warning) for warning in warnings] if isinstance(warnings, list) else []


_MORE = re.compile(r"^\.\.\. and (\d+) more\.$")


def warning_count(run: SyncRun) -> int:
    """How many warnings the run had: the list keeps the first 50 and says "... and N more." after them."""
    warnings = run_warnings(run)
    more = _MORE.match(warnings[-1]) if warnings else None
    return len(warnings) - 1 + int(more.group(1)) if more else len(warnings)


def run_other_counts(run: SyncRun) -> list[tuple[str, Any]]:
    """Every flat count recorded, by name (for support: the run's page lists them under "All counts")."""
    counts = run.counts or {}
    return sorted((key, value) for key, value in counts.items()
                  if key not in ("steps", "warnings") and isinstance(value, int | str | bool))


def trigger_label(trigger: str) -> str:
    return TRIGGER_LABELS.get(trigger, trigger.replace("_", " ").capitalize())


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.capitalize())


def format_duration(delta: timedelta | None) -> str:
    """"45 s", "3 min 5 s", "1 h 12 min"; "" when there is nothing to measure."""
    if delta is None:
        return ""
    seconds = max(0, round(delta.total_seconds()))
    if seconds < 1:
        return "under 1 s"
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def run_duration(run: SyncRun, now: datetime | None = None) -> str:
    """How long the run took, or has taken so far; "" before it starts."""
    if run.started_at is None:
        return ""
    return format_duration((run.finished_at or now or utcnow()) - run.started_at)


# -- the history ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunPage(PageNumbers):
    runs: list[SyncRun]
    page: int  # 1-based, clamped to the pages there are
    pages: int  # at least 1
    total: int

    @property
    def any_active(self) -> bool:
        return any(run.status in ACTIVE for run in self.runs)


def run_page(practice_id: int, page: int = 1, per_page: int = PER_PAGE) -> RunPage:
    """One page of the practice's sync runs, newest first (two statements)."""
    total = db.session.execute(
        db.select(db.func.count(SyncRun.id)).filter(SyncRun.practice_id == practice_id)).scalar_one()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    runs = list(db.session.execute(
        db.select(SyncRun).filter(SyncRun.practice_id == practice_id).order_by(SyncRun.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).scalars())
    return RunPage(runs, page, pages, total)


def is_latest_run(run: SyncRun) -> bool:
    """Whether no later run of the practice exists (a failed run's page offers Retry only then)."""
    later = db.session.execute(db.select(SyncRun.id).filter(
        SyncRun.practice_id == run.practice_id, SyncRun.id > run.id).limit(1)).first()
    return later is None


# -- the banner on every page ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class XeroAlert:
    """Why every page shows a banner: the connection needs reconnecting ("reconnect"), or the last nightly run
    failed and nothing has succeeded since ("nightly_failed": `run_id`, `error`, `run_at`)."""

    kind: str
    tenant_name: str | None
    run_id: int | None = None
    error: str | None = None
    run_at: datetime | None = None

    def is_last_night(self, now: datetime | None = None) -> bool:
        """Whether the run was within the last day and a half (the banner then says "last night")."""
        return self.run_at is not None and (now or utcnow()) - self.run_at < timedelta(hours=36)


@functools.cache
def _alert_statement() -> Select:
    """xero_alert's statement, built once: every page's layout runs it, and building it (two aliases of SyncRun)
    cost more than running it."""
    practice_id = db.bindparam("practice_id")
    nightly, later = aliased(SyncRun), aliased(SyncRun)
    latest_nightly = (db.select(db.func.max(SyncRun.id))
                      .filter(SyncRun.practice_id == practice_id, SyncRun.trigger == "nightly",
                              SyncRun.status.in_(FINISHED))
                      .scalar_subquery())
    succeeded_since = (db.select(later.id)
                       .filter(later.practice_id == practice_id, later.id > nightly.id,
                               later.status == SyncStatus.SUCCEEDED.value)
                       .exists())
    return (db.select(XeroConnection.status, XeroConnection.tenant_name, nightly.id, nightly.error,
                      nightly.started_at, nightly.queued_at)
            .select_from(XeroConnection)
            .outerjoin(nightly, db.and_(nightly.id == latest_nightly, nightly.status == SyncStatus.FAILED.value,
                                        ~succeeded_since))
            .filter(XeroConnection.practice_id == practice_id))


@dataclass(frozen=True)
class XeroState:
    """What every page shows of Xero: the chip's state ("connected", "needs_reconnect" or "not_connected") and
    the banner's alert, if any."""

    connection: str
    alert: XeroAlert | None = None


def xero_state(practice_id: int) -> XeroState:
    """The practice's Xero chip and banner, in one small statement: the connection's status, and its latest
    finished nightly run when that failed with no successful run (of any trigger) after it."""
    row = db.session.execute(_alert_statement(), {"practice_id": practice_id}).first()
    if row is None or row.status == ConnectionStatus.DISCONNECTED.value:
        return XeroState("not_connected")
    status, tenant_name, run_id, error, started_at, queued_at = row
    if status == ConnectionStatus.NEEDS_RECONNECT.value:
        return XeroState(status, XeroAlert("reconnect", tenant_name))
    if run_id is not None:
        alert = XeroAlert("nightly_failed", tenant_name, run_id=run_id, error=error, run_at=started_at or queued_at)
        return XeroState(status, alert)
    return XeroState(status)


def xero_alert(practice_id: int) -> XeroAlert | None:
    """The banner the practice's pages show, if any (xero_state's alert)."""
    return xero_state(practice_id).alert
