"""Marking the stored Billing Plan stale: a flush listener that deletes the plan rows a change makes wrong.

Whatever changes what a plan bills — a client's billing details, an engagement, a completion, a service, the
billing settings, an approval, Xero's themes, accounts and tax rates — deletes the rows it affects (one
client's, or the whole practice's) and every month's summary of that practice, in the same transaction as the
change. The next page view rebuilds what is missing (webapp.services.billing.plan_store), so the stored plan
always equals a full rebuild: tests/test_plan_store.py compares them after every kind of change.

It listens to the ORM flush, so it sees every change made through the session, however deep in a service it is
made. Bulk `insert()`/`update()`/`delete()` statements bypass flush events: code that changes plan inputs that
way calls `mark_practice_stale` itself (today: forgetting Xero's reference data on disconnect; approval also adds
its BillingRun through the session, which marks the whole practice).

Only the columns a plan reads count: a contact sync rewriting a client's email or address, or a token refresh on
the Xero connection, leaves the stored plan alone.
"""
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, event, inspect, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from webapp.models import (
    BilledCharge,
    BillingRun,
    BillingRunClient,
    BillingSettings,
    Client,
    Engagement,
    EngagementCompletion,
    Invoice,
    InvoiceLine,
    Service,
    XeroAccount,
    XeroBrandingTheme,
    XeroConnection,
    XeroTaxRate,
)
from webapp.models.billing_plan import BillingPlanRow, BillingPlanState, BillingPlanVersion

# What the plan reads of a client (everything else — contact details, Xero links — it never shows or bills by).
CLIENT_COLUMNS = frozenset({"practice_id", "name", "code", "status", "created_at", "invoice_day",
                            "payment_terms_days", "branding_theme_id", "consolidate_recurring",
                            "consolidate_one_off"})
# An invoice's posting state is shown live from its own row; nothing else of a raised invoice changes.
INVOICE_IGNORED = frozenset({"status", "xero_invoice_id"})
XERO_ACCOUNT_COLUMNS = frozenset({"practice_id", "code", "tax_type", "status"})
XERO_CONNECTION_COLUMNS = frozenset({"practice_id", "status"})  # tax_reference: connected or not
# Every change to these concerns the whole practice's plan (each month's scope, ledger, totals or previews).
PRACTICE_WIDE = (BillingSettings, BillingRun, BillingRunClient, BilledCharge, Invoice, InvoiceLine, XeroAccount,
                 XeroBrandingTheme, XeroConnection, XeroTaxRate)
# Every class `_note` reads: a changed row of any other (a posting, a contact link, the mirror) is not even
# checked for changes, which cost a history scan of each of thousands of rows in a sync's flushes.
WATCHED = (Client, Engagement, EngagementCompletion, Service, *PRACTICE_WIDE)


class _Stale:
    """What one flush made stale, per practice."""

    def __init__(self) -> None:
        self.practices: set[int] = set()  # the whole practice
        self.clients: dict[int, set[int]] = {}
        self.engagements: dict[int, set[int]] = {}  # -> their clients
        self.services: dict[int, set[int]] = {}  # -> the clients with an engagement on them
        # Rows that carry no practice id: their invoice's or run's practice, looked up in apply().
        self.invoices: set[int] = set()
        self.runs: set[int] = set()

    def add(self, kind: dict[int, set[int]], practice_id: int | None, key: int | None) -> None:
        if practice_id is not None and key is not None:
            kind.setdefault(practice_id, set()).add(key)

    @property
    def touched(self) -> set[int]:
        return self.practices | set(self.clients) | set(self.engagements) | set(self.services)


def _changed(obj: object, columns: frozenset[str] | None = None, ignored: frozenset[str] = frozenset()) -> bool:
    """Whether a pending update changes a column that matters (all but `ignored`, or only `columns`)."""
    state: Any = inspect(obj)
    column_attrs = state.mapper.column_attrs
    # Only attributes set since the row was loaded or last flushed can have changes (the ORM keeps their old
    # value in committed_state): not a history scan of every column of each of 2,000 invoices a posting flushes.
    for key in list(state.committed_state):
        if key not in column_attrs or (columns is not None and key not in columns) or key in ignored:
            continue
        if state.attrs[key].history.has_changes():
            return True
    return False


def _previous(obj: object, key: str) -> list[int]:
    """The attribute's value before this flush and now (both, when it moved, e.g. an engagement's client)."""
    state: Any = inspect(obj)
    history = state.attrs[key].history
    return [value for value in (*history.deleted, *history.unchanged, *history.added) if value is not None]


def _collect(session: Session) -> _Stale:
    stale = _Stale()
    for obj in (*session.new, *session.deleted):
        _note(stale, obj, inserted_or_deleted=True)
    for obj in session.dirty:
        if isinstance(obj, WATCHED) and session.is_modified(obj, include_collections=False):
            _note(stale, obj, inserted_or_deleted=False)
    return stale


def _note(stale: _Stale, obj: object, inserted_or_deleted: bool) -> None:
    whole = inserted_or_deleted
    if isinstance(obj, Client):
        if whole or _changed(obj, CLIENT_COLUMNS):
            stale.add(stale.clients, obj.practice_id, obj.id)
    elif isinstance(obj, Engagement):
        for client_id in _previous(obj, "client_id"):
            stale.add(stale.clients, obj.practice_id, client_id)
    elif isinstance(obj, EngagementCompletion):
        stale.add(stale.engagements, obj.practice_id, obj.engagement_id)
    elif isinstance(obj, Service):
        stale.add(stale.services, obj.practice_id, obj.id)
    elif isinstance(obj, Invoice):
        if whole or _changed(obj, ignored=INVOICE_IGNORED):
            stale.practices.add(obj.practice_id)
    elif isinstance(obj, InvoiceLine):
        stale.invoices.add(obj.invoice_id)
    elif isinstance(obj, XeroAccount):
        if whole or _changed(obj, XERO_ACCOUNT_COLUMNS):
            stale.practices.add(obj.practice_id)
    elif isinstance(obj, XeroConnection):
        if whole or _changed(obj, XERO_CONNECTION_COLUMNS):
            stale.practices.add(obj.practice_id)
    elif isinstance(obj, BillingRunClient):
        stale.runs.add(obj.billing_run_id)
    elif isinstance(obj, PRACTICE_WIDE):
        stale.practices.add(obj.practice_id)  # type: ignore[union-attr]


def _after_flush(session: Session, _flush_context: object) -> None:
    stale = _collect(session)
    if stale.touched or stale.invoices or stale.runs:
        apply(session.connection(), stale)


def apply(connection: Connection, stale: _Stale) -> None:
    """Bump each touched practice's version (taking its lock), then delete the rows and summaries it made stale."""
    _resolve_practices(connection, stale)
    for practice_id in sorted(stale.touched):
        bump_version(connection, practice_id)
        connection.execute(delete(BillingPlanState).where(BillingPlanState.practice_id == practice_id))
        in_practice = BillingPlanRow.practice_id == practice_id
        if practice_id in stale.practices:
            connection.execute(delete(BillingPlanRow).where(in_practice))
            continue
        wanted = _client_conditions(BillingPlanRow.client_id, practice_id, stale)
        connection.execute(delete(BillingPlanRow).where(in_practice, or_(*wanted)))


def _resolve_practices(connection: Connection, stale: _Stale) -> None:
    invoices, runs = Invoice.__table__, BillingRun.__table__
    if stale.invoices:
        stale.practices.update(connection.execute(
            select(invoices.c.practice_id).where(invoices.c.id.in_(sorted(stale.invoices)))).scalars())
    if stale.runs:
        stale.practices.update(connection.execute(
            select(runs.c.practice_id).where(runs.c.id.in_(sorted(stale.runs)))).scalars())


def _client_conditions(client_id_column, practice_id: int, stale: _Stale) -> list:
    engagements = Engagement.__table__
    conditions = []
    if stale.clients.get(practice_id):
        conditions.append(client_id_column.in_(sorted(stale.clients[practice_id])))
    if stale.engagements.get(practice_id):
        conditions.append(client_id_column.in_(
            select(engagements.c.client_id).where(engagements.c.id.in_(sorted(stale.engagements[practice_id])))))
    if stale.services.get(practice_id):
        conditions.append(client_id_column.in_(
            select(engagements.c.client_id).where(engagements.c.service_id.in_(sorted(stale.services[practice_id])))))
    return conditions


def bump_version(connection: Connection, practice_id: int) -> None:
    """Add one to the practice's plan version, creating it at 1: holds its row lock until the transaction ends."""
    table = BillingPlanVersion.__table__
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(practice_id=practice_id, version=1)
    connection.execute(statement.on_conflict_do_update(index_elements=[table.c.practice_id],
                                                       set_={"version": table.c.version + 1}))


def mark_practice_stale(session: Session, practice_ids: Iterable[int]) -> None:
    """For a bulk statement that changed plan inputs without the flush seeing it: the whole practice's plan."""
    stale = _Stale()
    stale.practices.update(practice_ids)
    apply(session.connection(), stale)


def watch() -> None:
    """Listen to every session's flushes (once per process)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
