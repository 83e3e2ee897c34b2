"""The stored Billing Plan: each client's outcome of a month's plan, written once and read by the page in SQL.

`ensure_stored(practice_id, period)` makes sure every client of the month has its row and the month has its
summary. On the common path that is one query (the summary exists, so every row is fresh: see
plan_staleness, which deletes the two together); otherwise it takes the practice's plan lock, builds the
outcomes of only the clients whose rows are missing (billing.plan.build_client_outcomes, constant statements),
writes them, and sums every row into the summary. A change to one engagement therefore rebuilds one client,
not two thousand.

What a row stores is what the plan builder produced, in JSON (`encode_row`/`decode_*`), except what depends on
the day the page is viewed: an open month's invoice dates (dated today once the invoice day has passed) are
worked out when shown, from the stored invoice-day dates.
"""
import enum
import functools
from collections.abc import Callable, Hashable
from dataclasses import dataclass, fields, is_dataclass
from datetime import date
from decimal import Decimal
from types import NoneType, UnionType
from typing import Any, Union, cast, get_args, get_origin, get_type_hints

from sqlalchemy import exists, insert, select

from webapp.extensions import db
from webapp.models import BillingRun, Client
from webapp.models.billing_plan import BillingPlanRow, BillingPlanState
from webapp.services.billing import cadence
from webapp.services.billing.changes import Change
from webapp.services.billing.lines import BillableItem, DraftLine
from webapp.services.billing.plan import (
    ClientOutcome,
    ClientPlan,
    EndedClientPlan,
    build_client_outcomes,
    combine_fingerprints,
    row_fingerprint,
)
from webapp.services.billing.plan_loader import plan_clients
from webapp.services.billing.plan_staleness import bump_version
from webapp.services.billing.settings import get_billing_settings
from webapp.services.billing.tax import InvoiceTax, TaxedLine, TaxRate
from webapp.services.bulk_insert import insert_rows

ZERO = Decimal("0.00")


class Section(str, enum.Enum):
    BILLED = "billed"  # invoiced this month (has a preview, or the invoice its run raised)
    ENDED = "ended"  # billed last month, nothing this month
    NONE = "none"  # neither: stored for what the plan says about it (late charges, months awaiting approval)

    @property
    def order(self) -> int:
        """Where the page lists it: invoiced clients first, then those billed last month only."""
        return list(Section).index(self)


@dataclass(frozen=True)
class PlanSummary:
    """A month's totals and plan-wide notes, summed from every stored row when the last one was written."""

    this_month: Decimal
    last_month: Decimal
    vat: Decimal | None  # None unless every billed row's VAT is known
    counts: dict[str, int]  # Change value -> clients shown with it
    billed: int  # rows with an invoice this month
    ended: int
    invoice_count: int  # approved month: invoices its run raised
    catch_up_count: int
    own_terms: int
    awaiting_periods: tuple[date, ...]
    before_socket: tuple[str, ...]
    late: tuple[tuple[int, tuple[BillableItem, ...]], ...]  # (client id, its late charges), in client order
    invoice_days: dict[str, int]  # open month: invoice-day date (ISO) -> invoices dated on it
    invoice_day: int  # the practice's, when the summary was written (a settings change marks it stale)
    payment_terms_days: int

    def passed(self, today: date) -> int:
        """Invoices whose invoice day is before `today`."""
        return sum(count for day, count in self.invoice_days.items() if date.fromisoformat(day) < today)


# -- the JSON codec: flat dataclasses of str/int/bool/Decimal/date/tuple fields, and PlanSummary ------------------

_AS_IS = frozenset({str, int, bool, float, type(None)})


def to_json(value: Any) -> Any:
    """A value made of dataclasses, Decimals, dates, enums, tuples and dicts, as JSON-safe data.

    Dispatches on the exact type first (a first view encodes some 100,000 values at 2,000 clients)."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is Decimal:
        return str(value)
    if kind is list or kind is tuple:
        return [to_json(item) for item in value]
    names = _field_names(cast(Hashable, kind))
    if names is not None:
        return {name: to_json(getattr(value, name)) for name in names}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    return value


@functools.cache
def _field_names(kind: Hashable) -> tuple[str, ...] | None:
    """A dataclass's field names (None for any other type)."""
    return tuple(f.name for f in fields(cast(Any, kind))) if is_dataclass(kind) else None


def from_json(kind: Any, data: Any) -> Any:
    """The inverse of to_json, led by `kind`'s type hints."""
    return _decoder(kind)(data)


@functools.cache
def _decoder(kind: Any) -> Callable[[Any], Any]:
    """A function turning to_json's output back into a `kind`, worked out once per type (rows decode 50 at a
    time on every page view)."""
    origin = get_origin(kind)
    if origin in (Union, UnionType):
        inner = _decoder(next(arg for arg in get_args(kind) if arg is not NoneType))
        return lambda data: None if data is None else inner(data)
    args = get_args(kind)
    if origin is tuple and args and args[-1] is not Ellipsis:  # tuple[int, str]: one decoder per position
        positions = [_decoder(arg) for arg in args]
        return lambda data: tuple(decode(value) for decode, value in zip(positions, data, strict=True))
    if origin in (tuple, list):
        item = _decoder(args[0])
        if origin is tuple:
            return lambda data: tuple(item(value) for value in data)
        return lambda data: [item(value) for value in data]
    if origin is dict:
        value_decoder = _decoder(get_args(kind)[1])
        return lambda data: {key: value_decoder(value) for key, value in data.items()}
    if is_dataclass(kind):
        decoders = {name: _decoder(hint) for name, hint in get_type_hints(kind).items()}
        build = cast(Any, kind)
        return lambda data: build(**{name: decoders[name](value) for name, value in data.items()})
    if kind is Decimal:
        return lambda data: None if data is None else Decimal(data)
    if kind is date:
        return lambda data: None if data is None else date.fromisoformat(data)
    return lambda data: data


@dataclass(frozen=True)
class StoredTax:
    """One line's VAT as the preview worked it out (tax.TaxedLine without its line)."""

    tax_type: str | None
    rate: TaxRate | None
    vat: Decimal | None


@dataclass(frozen=True)
class StoredPreview:
    """What a row keeps of its invoice preview: all of it but an open month's today-dated dates (see
    plan_page.dates_for)."""

    issue_date: date
    due_date: date
    branding_theme_id: str | None
    template_name: str
    lines: tuple[DraftLine, ...]
    taxes: tuple[StoredTax, ...]
    net: Decimal
    vat: Decimal | None
    xero_connected: bool
    invoice_day_date: date | None
    invoice_day_due_date: date | None
    own_terms: bool

    @property
    def tax(self) -> InvoiceTax:
        return InvoiceTax(lines=tuple(TaxedLine(line, taxed.tax_type, taxed.rate, taxed.vat)
                                      for line, taxed in zip(self.lines, self.taxes, strict=True)),
                          net=self.net, vat=self.vat, xero_connected=self.xero_connected)


@dataclass(frozen=True)
class StoredRow:
    """A row's payload: what the page shows of it."""

    items: tuple[BillableItem, ...] = ()
    details: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    preview: StoredPreview | None = None


@dataclass(frozen=True)
class StoredExtras:
    """What a client adds to the month's plan-wide notes (the `extras` column; NULL when it adds nothing)."""

    late: tuple[BillableItem, ...] = ()
    awaiting: tuple[date, ...] = ()
    before_socket: tuple[str, ...] = ()


def _section(outcome: ClientOutcome) -> Section:
    if isinstance(outcome.row, ClientPlan):
        return Section.BILLED
    if isinstance(outcome.row, EndedClientPlan):
        return Section.ENDED
    return Section.NONE


def encode_row(practice_id: int, period: date, outcome: ClientOutcome) -> dict[str, Any]:
    """One client's outcome as a billing_plan_rows row."""
    row = outcome.row
    preview = row.preview if isinstance(row, ClientPlan) else None
    stored = StoredRow(
        items=tuple(row.items) if row else (),
        details=tuple(row.details) if row else (),
        notes=tuple(row.notes) if row else (),
        preview=StoredPreview(
            issue_date=preview.issue_date, due_date=preview.due_date, branding_theme_id=preview.branding_theme_id,
            template_name=preview.template_name, lines=tuple(preview.lines),
            taxes=tuple(StoredTax(taxed.tax_type, taxed.rate, taxed.vat) for taxed in preview.tax.lines),
            net=preview.tax.net, vat=preview.tax.vat, xero_connected=preview.tax.xero_connected,
            invoice_day_date=preview.invoice_day_date, invoice_day_due_date=preview.invoice_day_due_date,
            own_terms=preview.own_terms) if preview else None,
    )
    extras = StoredExtras(late=tuple(outcome.late.items) if outcome.late else (),
                          awaiting=tuple(sorted(outcome.awaiting)), before_socket=outcome.before_socket)
    return {
        "practice_id": practice_id, "period": period, "client_id": outcome.client.id,
        "client_name": outcome.client.name, "client_code": outcome.client.code,
        "section": _section(outcome).value,
        "section_order": _section(outcome).order,
        "change": row.change.value if row else None,
        "amount": row.amount if row else ZERO,
        "last_amount": row.last_amount if row else ZERO,
        "vat": preview.tax.vat if preview else None,
        "line_count": len(preview.lines) if preview else 0,
        "catch_up_count": sum(1 for item in row.items if item.catch_up) if row else 0,
        "invoice_day_date": preview.invoice_day_date if preview else None,
        "own_terms": preview.own_terms if preview else False,
        "invoice_id": row.invoice.id if row and row.invoice else None,
        "digest": row_fingerprint(row) if isinstance(row, ClientPlan) else None,
        "payload": to_json(stored),
        "extras": to_json(extras) if extras != StoredExtras() else None,
    }


def decode_row(payload: dict[str, Any]) -> StoredRow:
    return from_json(StoredRow, payload)


# -- keeping it stored ---------------------------------------------------------------------------------------------

def stored_summary(practice_id: int, period: date) -> tuple[str, PlanSummary] | None:
    """The month's fingerprint and summary when every row is stored and fresh, else None (one query)."""
    found = db.session.execute(
        select(BillingPlanState.fingerprint, BillingPlanState.summary)
        .filter_by(practice_id=practice_id, period=period)).first()
    return (found.fingerprint, from_json(PlanSummary, found.summary)) if found else None


def ensure_stored(practice_id: int, period: date) -> tuple[str, PlanSummary]:
    """The month's fingerprint and summary, building and storing the rows that are missing first.

    Commits when it wrote anything (the stored plan is shared by every user of the practice), and expires the
    session's objects before building: call it with no changes pending.
    """
    period = cadence.month_start(period)
    found = stored_summary(practice_id, period)
    if found is not None:
        return found
    _lock(practice_id)
    # What this session loaded before the lock may have changed since (a change we waited for): build from the
    # database as it is now, not from objects in the identity map.
    db.session.expire_all()
    found = stored_summary(practice_id, period)  # built by a request we waited for
    if found is None:
        missing = _missing_clients(practice_id, period)
        if missing:
            build = build_client_outcomes(practice_id, period, client_ids=missing)
            rows = [encode_row(practice_id, period, outcome) for outcome in build.outcomes]
            insert_rows(BillingPlanRow, rows)
        found = _write_summary(practice_id, period)
    db.session.commit()
    return found


def _lock(practice_id: int) -> None:
    """Wait for any change or rebuild of this practice's stored plan, and hold them off until commit."""
    bump_version(db.session.connection(), practice_id)


def _runs_shown(practice_id: int, period: date) -> list[int]:
    previous = cadence.add_months(period, -1)
    return list(db.session.execute(
        select(BillingRun.id).filter(BillingRun.practice_id == practice_id,
                                     BillingRun.period.in_([period, previous]))).scalars())


def _missing_clients(practice_id: int, period: date) -> list[int]:
    """The month's clients (active, or invoiced by its run or last month's) without a stored row."""
    wanted = plan_clients(_runs_shown(practice_id, period))
    stored = exists().where(BillingPlanRow.practice_id == practice_id, BillingPlanRow.period == period,
                            BillingPlanRow.client_id == Client.id)
    return list(db.session.execute(
        select(Client.id).filter(Client.practice_id == practice_id, wanted, ~stored)).scalars())


def _write_summary(practice_id: int, period: date) -> tuple[str, PlanSummary]:
    """Sum every stored row of the month (in the plan's client order) into its summary, and store it."""
    rows = db.session.execute(
        select(BillingPlanRow.client_id, BillingPlanRow.section, BillingPlanRow.change, BillingPlanRow.amount,
               BillingPlanRow.last_amount, BillingPlanRow.vat, BillingPlanRow.invoice_id,
               BillingPlanRow.invoice_day_date, BillingPlanRow.catch_up_count, BillingPlanRow.own_terms,
               BillingPlanRow.digest, BillingPlanRow.extras)
        .filter(BillingPlanRow.practice_id == practice_id, BillingPlanRow.period == period)
        .order_by(BillingPlanRow.client_name, BillingPlanRow.client_id)
    ).all()
    settings = get_billing_settings(practice_id)
    counts = {change.value: 0 for change in Change}
    this_month = last_month = vat = ZERO
    vat_known = True
    billed = ended = invoice_count = catch_ups = own_terms = 0
    digests: dict[int, str] = {}
    awaiting: set[date] = set()
    before_socket: list[str] = []
    late: list[tuple[int, tuple[BillableItem, ...]]] = []
    invoice_days: dict[str, int] = {}
    for row in rows:
        if row.extras is not None:
            extras = from_json(StoredExtras, row.extras)
            awaiting.update(extras.awaiting)
            before_socket += extras.before_socket
            if extras.late:
                late.append((row.client_id, extras.late))
        if row.section == Section.NONE.value:
            continue
        counts[row.change] += 1
        this_month += row.amount
        last_month += row.last_amount
        if row.section == Section.ENDED.value:
            ended += 1
            continue
        billed += 1
        invoice_count += row.invoice_id is not None
        catch_ups += row.catch_up_count
        own_terms += row.own_terms
        digests[row.client_id] = row.digest
        if row.invoice_day_date is not None:
            day = row.invoice_day_date.isoformat()
            invoice_days[day] = invoice_days.get(day, 0) + 1
        if row.vat is None:
            vat_known = False
        else:
            vat += row.vat
    summary = PlanSummary(this_month=this_month, last_month=last_month,
                          vat=vat if billed and vat_known else None, counts=counts, billed=billed, ended=ended,
                          invoice_count=invoice_count, catch_up_count=catch_ups, own_terms=own_terms,
                          awaiting_periods=tuple(sorted(awaiting)), before_socket=tuple(before_socket),
                          late=tuple(late), invoice_days=invoice_days, invoice_day=settings.invoice_day,
                          payment_terms_days=settings.payment_terms_days)
    fingerprint = combine_fingerprints(digests)
    db.session.execute(insert(BillingPlanState), [{"practice_id": practice_id, "period": period,
                                                   "fingerprint": fingerprint, "summary": to_json(summary)}])
    return fingerprint, summary

