"""The nightly dispatcher: which connected practices are due their nightly sync, each in its own local night.

The scheduler runs `dispatch_nightly` every few minutes (jobs/schedule.py); cron strings are UTC, so the time
zones are worked out here (zoneinfo: Europe/London is GMT in winter and BST in summer, and the change-over nights
need no special case). A practice's window opens at its `nightly_sync_at` local time (02:00 unless it chose
another) and its run is due from a fixed offset into the window's first hour, derived from its id, so a thousand
practices sharing 02:00 London are spread over an hour instead of meeting Xero's app-wide limit in one minute.

A practice is due once per local night: from its start time for six hours, and only if no `NightlyDispatch` row
exists for that night (its unique key makes a second dispatcher run, or two at once, queue nothing twice). A
dispatcher that was down at 02:00 catches up when it runs again within those hours; later, the next night does.
"""
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from webapp.extensions import db
from webapp.models import ConnectionStatus, NightlyDispatch, Practice, XeroConnection
from webapp.models.base import utcnow
from webapp.sync.sync_runs import start_syncs

log = logging.getLogger(__name__)

SPREAD = timedelta(hours=1)  # each practice starts somewhere in the first hour of its window
CATCH_UP = timedelta(hours=6)  # how long after its start a night's sync may still be queued
_SPREAD_SECONDS = int(SPREAD.total_seconds())


@dataclass(frozen=True)
class PracticeWindow:
    practice_id: int
    time_zone: str
    starts_at: time  # local


def offset_in_window(practice_id: int) -> timedelta:
    """The practice's fixed place in the window's first hour (a multiplicative hash, so neighbours spread out)."""
    return timedelta(seconds=(practice_id * 2654435761) % _SPREAD_SECONDS)


def window_start(window: PracticeWindow, night: date) -> datetime:
    """When the practice's sync is due for `night` (aware, UTC): its local start time on that date plus its offset.

    A local time that does not exist that day (in the hour the clocks skip) is read as the instant after the gap;
    one that happens twice (the hour repeated) as its first occurrence.
    """
    opens = datetime.combine(night, window.starts_at, tzinfo=ZoneInfo(window.time_zone))
    return opens.astimezone(UTC) + offset_in_window(window.practice_id)


def due_night(window: PracticeWindow, now: datetime) -> date | None:
    """The local night the practice's sync is due for at `now` (aware): from that night's start for CATCH_UP
    (a dispatcher that was down catches up); None outside it."""
    today = now.astimezone(ZoneInfo(window.time_zone)).date()
    for night in (today, today - timedelta(days=1)):  # a late window plus its offset may cross midnight
        start = window_start(window, night)
        if start <= now < start + CATCH_UP:
            return night
    return None


def due_practices(windows: Iterable[PracticeWindow], now: datetime,
                  dispatched: set[tuple[int, date]]) -> list[tuple[int, date]]:
    """(practice id, night) for each practice due at `now` and not yet dispatched for that night. Pure."""
    due = []
    for window in windows:
        night = due_night(window, now)
        if night is not None and (window.practice_id, night) not in dispatched:
            due.append((window.practice_id, night))
    return due


@dataclass
class DispatchResult:
    queued: list[int] = field(default_factory=list)  # practice ids whose sync was queued
    skipped: dict[int, str] = field(default_factory=dict)  # practice id -> why nothing was queued


def connected_windows() -> list[PracticeWindow]:
    """Every practice with a working Xero connection, with its time zone and window."""
    rows = db.session.execute(
        db.select(Practice.id, Practice.time_zone, Practice.nightly_sync_at)
        .join(XeroConnection, XeroConnection.practice_id == Practice.id)
        .filter(XeroConnection.status == ConnectionStatus.CONNECTED.value)).all()
    return [PracticeWindow(row.id, row.time_zone, row.nightly_sync_at) for row in rows]


def _dispatched_since(day: date) -> set[tuple[int, date]]:
    rows = db.session.execute(db.select(NightlyDispatch.practice_id, NightlyDispatch.night)
                              .filter(NightlyDispatch.night >= day)).all()
    return {(row.practice_id, row.night) for row in rows}


def _claim(due: list[tuple[int, date]]) -> list[tuple[int, date]]:
    """Insert the nights' rows, skipping any another dispatcher has (its unique key); returns those inserted."""
    if not due:
        return []
    insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(NightlyDispatch).on_conflict_do_nothing(index_elements=["practice_id", "night"]).returning(
        NightlyDispatch.practice_id, NightlyDispatch.night)
    now = utcnow()
    claimed = db.session.execute(statement, [{"practice_id": practice_id, "night": night, "dispatched_at": now,
                                              "outcome": "queued"} for practice_id, night in due]).all()
    db.session.commit()
    return [(row.practice_id, row.night) for row in claimed]


def dispatch_nightly(now: datetime | None = None) -> DispatchResult:
    """Queue the nightly sync of every connected practice due at `now` (default: the current time).

    A few statements and one Redis round trip whatever the number due (webapp.sync.sync_runs.start_syncs).
    """
    now = now or datetime.now(UTC)
    result = DispatchResult()
    # Every local date on Earth is within a day of UTC's, so older nights cannot be due.
    dispatched = _dispatched_since(now.astimezone(UTC).date() - timedelta(days=1))
    claimed = _claim(due_practices(connected_windows(), now, dispatched))
    if not claimed:
        return result
    runs, refused = start_syncs([practice_id for practice_id, _ in claimed], trigger="nightly")
    nights = dict(claimed)
    for practice_id, reason in refused.items():
        result.skipped[practice_id] = reason.message
        log.info("Nightly sync of practice %s not queued: %s", practice_id, reason.message)
    rows = db.session.execute(db.select(NightlyDispatch).filter(
        NightlyDispatch.practice_id.in_(list(nights)), NightlyDispatch.night.in_(set(nights.values())))).scalars()
    for row in rows:
        if nights.get(row.practice_id) != row.night:
            continue
        if row.practice_id in runs:
            row.sync_run_id = runs[row.practice_id].id
        elif row.practice_id in refused:
            row.outcome = refused[row.practice_id].message[:200]
    db.session.commit()
    result.queued = sorted(runs)
    return result
