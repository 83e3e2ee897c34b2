"""Practices and the people who sign in to them."""
import enum
import secrets
from datetime import datetime, time

from flask_login import UserMixin
from flask_sqlalchemy.query import Query
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DynamicMapped, Mapped, mapped_column, relationship
from werkzeug.security import generate_password_hash

from webapp.models.base import Model, UTCDateTime, utcnow


class PrimaryCRM(str, enum.Enum):
    SOCKET = "socket"
    XERO = "xero"


class CRMImportScope(str, enum.Enum):
    """Which active Xero contacts become Socket clients when Xero is the primary CRM (webapp.sync.crm_import)."""

    CUSTOMERS = "customers"  # IsCustomer: contacts the organisation has invoiced
    ALL = "all"


class Role(str, enum.Enum):
    OWNER = "owner"
    ADMIN = "admin"
    STAFF = "staff"


class Practice(Model):
    __tablename__ = "practices"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    primary_crm: Mapped[str] = mapped_column(String(16), default=PrimaryCRM.SOCKET.value)
    # Used only when primary_crm is Xero: which contacts each sync makes clients of.
    crm_import_scope: Mapped[str] = mapped_column(String(16), default=CRMImportScope.CUSTOMERS.value)
    # Local time (in time_zone) the nightly sync window opens; each practice's run starts within the hour after.
    nightly_sync_at: Mapped[time] = mapped_column(default=time(2, 0))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # Flask-SQLAlchemy's Query (as db.relationship would set) for the dynamic collection.
    users: DynamicMapped["User"] = relationship(back_populates="practice", lazy="dynamic", query_class=Query)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default=Role.STAFF.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of the id in every session cookie (get_id): a new token signs the user out everywhere.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)

    practice: Mapped[Practice] = relationship(back_populates="users")

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the id and the current session token (webapp/security/sessions.py)."""
        return f"{self.id}:{self.session_token}"

    def end_all_sessions(self) -> None:
        """Make every session cookie issued so far load no user (the caller commits)."""
        self.session_token = new_session_token()

    def set_password(self, password: str) -> None:
        """A new password, and every session signed in with the old one ended (the caller commits)."""
        self.password_hash = generate_password_hash(password)
        self.end_all_sessions()

    @property
    def is_manager(self) -> bool:
        """Owners and admins: they change Practice Settings and pricing, and approve the Billing Plan."""
        return self.role in (Role.OWNER.value, Role.ADMIN.value)

    @property
    def can_manage_settings(self) -> bool:
        """Only owners and admins may change Practice Settings."""
        return self.is_manager
