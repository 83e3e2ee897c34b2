"""What Socket keeps of a practice's Xero organisation: the connection and the synced reference data."""
import enum

from webapp.extensions import db
from webapp.models.base import UTCDateTime, utcnow


class ConnectionStatus(str, enum.Enum):
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    DISCONNECTED = "disconnected"


class XeroConnection(db.Model):
    """A practice's link to one Xero organisation. Tokens are Fernet-encrypted; never log them."""

    __tablename__ = "xero_connections"
    __table_args__ = (
        # One live connection per Xero organisation across all practices (tenant_connected_elsewhere only reads).
        db.Index("uq_xero_connections_live_tenant", "tenant_id", unique=True,
                 postgresql_where=db.text("status != 'disconnected'"),
                 sqlite_where=db.text("status != 'disconnected'")),
    )

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, unique=True)
    connection_id = db.Column(db.String(36))  # Xero's connection id (DELETE /connections/{id})
    tenant_id = db.Column(db.String(36))
    tenant_name = db.Column(db.String(200))
    status = db.Column(db.String(24), nullable=False, default=ConnectionStatus.CONNECTED.value)
    access_token_encrypted = db.Column(db.Text)
    refresh_token_encrypted = db.Column(db.Text)
    access_token_expires_at = db.Column(UTCDateTime)
    scopes = db.Column(db.Text)
    connected_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    connected_at = db.Column(UTCDateTime)
    disconnected_at = db.Column(UTCDateTime)
    last_error = db.Column(db.Text)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    connected_by = db.relationship("User")

    @property
    def is_connected(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED.value


class XeroAccount(db.Model):
    """An account code from the organisation's chart of accounts."""

    __tablename__ = "xero_accounts"
    __table_args__ = (db.UniqueConstraint("practice_id", "account_id", name="uq_xero_accounts_practice_account"),)

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    account_id = db.Column(db.String(36), nullable=False)
    code = db.Column(db.String(10))
    name = db.Column(db.String(150), nullable=False)
    type = db.Column(db.String(32))
    account_class = db.Column(db.String(16))
    status = db.Column(db.String(16), nullable=False)
    tax_type = db.Column(db.String(50))
    synced_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    @property
    def label(self) -> str:
        return f"{self.code} — {self.name}"


class XeroBrandingTheme(db.Model):
    __tablename__ = "xero_branding_themes"
    __table_args__ = (
        db.UniqueConstraint("practice_id", "branding_theme_id", name="uq_xero_branding_themes_practice_theme"),
    )

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    branding_theme_id = db.Column(db.String(36), nullable=False)
    name = db.Column(db.String(150), nullable=False)
    sort_order = db.Column(db.Integer, nullable=False, default=0)
    # False once the theme no longer comes back from Xero (deleted there).
    present_in_xero = db.Column(db.Boolean, nullable=False, default=True)
    synced_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class XeroTaxRate(db.Model):
    __tablename__ = "xero_tax_rates"
    __table_args__ = (db.UniqueConstraint("practice_id", "tax_type", name="uq_xero_tax_rates_practice_tax_type"),)

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    tax_type = db.Column(db.String(50), nullable=False)
    name = db.Column(db.String(150), nullable=False)
    status = db.Column(db.String(16), nullable=False)
    effective_rate = db.Column(db.String(16))
    synced_at = db.Column(UTCDateTime, nullable=False, default=utcnow)


class SyncStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class SyncRun(db.Model):
    """One run of a background sync: what it did, how many Xero calls it made, how it ended."""

    __tablename__ = "sync_runs"

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    trigger = db.Column(db.String(16), nullable=False)  # connect / manual / nightly
    status = db.Column(db.String(16), nullable=False, default=SyncStatus.QUEUED.value)
    rq_job_id = db.Column(db.String(64))
    progress = db.Column(db.String(200), nullable=False, default="")
    counts = db.Column(db.JSON, nullable=False, default=dict)
    xero_calls = db.Column(db.Integer, nullable=False, default=0)
    error = db.Column(db.Text)
    queued_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    started_at = db.Column(UTCDateTime)
    finished_at = db.Column(UTCDateTime)
