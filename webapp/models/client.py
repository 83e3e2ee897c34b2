"""A practice's clients (the people and companies it bills)."""
import enum

from webapp.extensions import db
from webapp.models.base import UTCDateTime, utcnow


class ClientStatus(str, enum.Enum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class Client(db.Model):
    __tablename__ = "clients"
    __table_args__ = (db.UniqueConstraint("practice_id", "code", name="uq_clients_practice_code"),)

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    code = db.Column(db.String(32), nullable=False)
    name = db.Column(db.String(200), nullable=False)
    email = db.Column(db.String(254))
    phone = db.Column(db.String(50))
    address_line = db.Column(db.String(200))
    city = db.Column(db.String(100))
    postcode = db.Column(db.String(16))
    company_number = db.Column(db.String(16))
    vat_number = db.Column(db.String(20))
    status = db.Column(db.String(16), nullable=False, default=ClientStatus.ACTIVE.value)
    # None means "use the practice's Billing Settings".
    consolidate_recurring = db.Column(db.Boolean)
    consolidate_one_off = db.Column(db.Boolean)
    branding_theme_id = db.Column(db.String(36))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = db.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    engagements = db.relationship("Engagement", back_populates="client", lazy="selectin")

    @property
    def is_archived(self) -> bool:
        return self.status == ClientStatus.ARCHIVED.value
