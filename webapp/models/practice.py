"""Practices and the people who sign in to them."""
import enum

from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models.base import UTCDateTime, utcnow


class PrimaryCRM(str, enum.Enum):
    SOCKET = "socket"
    XERO = "xero"


class Role(str, enum.Enum):
    OWNER = "owner"
    ADMIN = "admin"
    STAFF = "staff"


class Practice(db.Model):
    __tablename__ = "practices"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False)
    time_zone = db.Column(db.String(64), nullable=False, default="Europe/London")
    primary_crm = db.Column(db.String(16), nullable=False, default=PrimaryCRM.SOCKET.value)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    users = db.relationship("User", back_populates="practice", lazy="dynamic")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    name = db.Column(db.String(200), nullable=False, default="")
    password_hash = db.Column(db.String(256), nullable=False)
    role = db.Column(db.String(16), nullable=False, default=Role.STAFF.value)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    practice = db.relationship("Practice", back_populates="users")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def can_manage_settings(self) -> bool:
        """Only owners and admins may change Practice Settings."""
        return self.role in (Role.OWNER.value, Role.ADMIN.value)
