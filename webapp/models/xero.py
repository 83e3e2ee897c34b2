"""What Socket keeps of a practice's Xero organisation: the connection and the synced reference data."""
import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Model, UTCDateTime, utcnow

if TYPE_CHECKING:
    from webapp.models.practice import User


class ConnectionStatus(str, enum.Enum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


class XeroConnection(Model):
    """A practice's link to one Xero organisation. Tokens are Fernet-encrypted; never log them."""

    __tablename__ = "xero_connections"
    __table_args__ = (
        # One live connection per Xero organisation across all practices (tenant_connected_elsewhere only reads).
        Index("uq_xero_connections_live_tenant", "tenant_id", unique=True,
              postgresql_where=text("status != 'disconnected'"),
              sqlite_where=text("status != 'disconnected'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), unique=True)
    connection_id: Mapped[str | None] = mapped_column(String(36))  # Xero's connection id (DELETE /connections/{id})
    tenant_id: Mapped[str | None] = mapped_column(String(36))
    tenant_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(24), default=ConnectionStatus.CONNECTED.value)
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scopes: Mapped[str | None] = mapped_column(Text)
    connected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    connected_by: Mapped["User | None"] = relationship()

    @property
    def is_connected(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED.value


class XeroAccount(Model):
    """An account code from the organisation's chart of accounts."""

    __tablename__ = "xero_accounts"
    __table_args__ = (UniqueConstraint("practice_id", "account_id", name="uq_xero_accounts_practice_account"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(36))
    code: Mapped[str | None] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(150))
    type: Mapped[str | None] = mapped_column(String(32))
    account_class: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    tax_type: Mapped[str | None] = mapped_column(String(50))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def label(self) -> str:
        return f"{self.code} — {self.name}"


class XeroBrandingTheme(Model):
    __tablename__ = "xero_branding_themes"
    __table_args__ = (
        UniqueConstraint("practice_id", "branding_theme_id", name="uq_xero_branding_themes_practice_theme"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    branding_theme_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(150))
    sort_order: Mapped[int] = mapped_column(default=0)
    # False once the theme no longer comes back from Xero (deleted there).
    present_in_xero: Mapped[bool] = mapped_column(default=True)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class XeroTaxRate(Model):
    __tablename__ = "xero_tax_rates"
    __table_args__ = (UniqueConstraint("practice_id", "tax_type", name="uq_xero_tax_rates_practice_tax_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    tax_type: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(150))
    status: Mapped[str] = mapped_column(String(16))
    effective_rate: Mapped[str | None] = mapped_column(String(16))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class SyncRun(Model):
    """One run of a background sync: what it did, how many Xero calls it made, how it ended."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # connect / manual / nightly / retry / support (sync_history)
    status: Mapped[str] = mapped_column(String(16), default=SyncStatus.QUEUED.value)
    rq_job_id: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[str] = mapped_column(String(200), default="")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    xero_calls: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class NightlyDispatch(Model):
    """A practice's nightly sync queued for one local night: at most one per night (the unique key), however often
    or concurrently the dispatcher runs."""

    __tablename__ = "nightly_dispatches"
    __table_args__ = (UniqueConstraint("practice_id", "night", name="uq_nightly_dispatches_practice_night"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"))
    night: Mapped[date]  # the practice's local date when its window opened
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"))
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(200), default="queued")  # or why nothing was queued
