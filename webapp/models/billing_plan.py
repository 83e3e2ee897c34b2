"""The stored Billing Plan: each client's row of a month's plan, kept equal to a full rebuild.

Rows are written by webapp.services.billing.plan_store from the plan builder's per-client outcomes and
deleted (marked stale) by a flush listener whenever something a plan reads changes; the page then reads,
filters, sorts and pages them in SQL instead of rebuilding the plan for every client on every request.
"""
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.models.base import Model, Money, UTCDateTime, utcnow


class BillingPlanRow(Model):
    """One client in one month's plan: billed this month, billed last month only ("ended"), or neither but
    with something the plan says about it (a late charge, an earlier month awaiting approval)."""

    __tablename__ = "billing_plan_rows"
    __table_args__ = (Index("ix_billing_plan_rows_client", "client_id"),
                      Index("ix_billing_plan_rows_by_name", "practice_id", "period", "client_name", "client_id"),
                      # The page's default order: invoiced clients first, then by name (a page reads 50 entries).
                      Index("ix_billing_plan_rows_page", "practice_id", "period", "section_order", "client_name",
                            "client_id"))

    # Plain ids, not foreign keys (here and below): a row inserted with a foreign key to practices takes a share
    # lock on the practice's row, which the billing lock (SELECT ... FOR UPDATE) holds while an engagement is
    # saved — while that save waits for this plan's lock: a deadlock. And a deleted client or invoice must not be
    # refused over a stale plan row (the flush listener deletes it in the same flush).
    practice_id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[date] = mapped_column(primary_key=True)  # first day of the month
    client_id: Mapped[int] = mapped_column(primary_key=True)
    # The client's name and code when the row was built (a rename marks the row stale), so the page sorts and
    # searches its rows without joining every client.
    client_name: Mapped[str] = mapped_column(String(200))
    client_code: Mapped[str] = mapped_column(String(32))
    section: Mapped[str] = mapped_column(String(8))  # billed | ended | none (see plan_store.Section)
    # billed 0, ended 1, none 2: the page lists invoiced clients first (an index serves that order).
    section_order: Mapped[int] = mapped_column(default=0, server_default="0")
    change: Mapped[str | None] = mapped_column(String(16))  # billing.changes.Change value
    amount: Mapped[Decimal] = mapped_column(Money)  # net, this month
    last_amount: Mapped[Decimal] = mapped_column(Money)
    vat: Mapped[Decimal | None] = mapped_column(Money)  # this month's VAT, None when not every rate is known
    line_count: Mapped[int] = mapped_column(default=0)
    catch_up_count: Mapped[int] = mapped_column(default=0)
    invoice_day_date: Mapped[date | None]  # open month: the invoice's date on its invoice day
    own_terms: Mapped[bool] = mapped_column(default=False)
    invoice_id: Mapped[int | None]  # approved month: the invoice its run raised
    digest: Mapped[str | None] = mapped_column(String(64))  # billing.plan.row_fingerprint, billed rows
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the row's items, lines, notes (plan_store codec)
    extras: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # its late charges, months awaiting approval…
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BillingPlanState(Model):
    """A month's stored plan is complete: its rows are all written, and these are their totals.

    Deleted with the rows it summarises whenever they go stale, so "a state exists" means "every row is fresh".
    """

    __tablename__ = "billing_plan_states"

    practice_id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[date] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)  # totals, counts, notes (plan_store.PlanSummary)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BillingPlanVersion(Model):
    """Where writers and rebuilders of one practice's stored plan take turns.

    Every change that makes rows stale bumps `version` (taking the row's lock) before deleting them; a rebuild
    holds the same lock while it reads and writes, so it never stores rows built from data a concurrent change
    is replacing.
    """

    __tablename__ = "billing_plan_versions"

    practice_id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
