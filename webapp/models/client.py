"""A practice's clients (the people and companies it bills)."""
import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Model, UTCDateTime, utcnow

if TYPE_CHECKING:
    from webapp.models.pricing import Engagement


class ClientStatus(str, enum.Enum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class Client(Model):
    __tablename__ = "clients"
    __table_args__ = (
        UniqueConstraint("practice_id", "code", name="uq_clients_practice_code"),
        CheckConstraint("invoice_day BETWEEN 1 AND 28", name="invoice_day"),
        CheckConstraint("payment_terms_days BETWEEN 0 AND 120", name="payment_terms_days"),
        # The Clients list's order (services.clients.search_clients): a page reads 25 entries of this index.
        Index("ix_clients_practice_lower_name", "practice_id", func.lower(text("name")), "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    address_line: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(16))
    company_number: Mapped[str | None] = mapped_column(String(16))
    vat_number: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default=ClientStatus.ACTIVE.value)
    # None means "use the practice's Billing Settings".
    consolidate_recurring: Mapped[bool | None]
    consolidate_one_off: Mapped[bool | None]
    branding_theme_id: Mapped[str | None] = mapped_column(String(36))
    invoice_day: Mapped[int | None]  # 1-28: the day of the month its invoices are dated
    payment_terms_days: Mapped[int | None]  # 0-120: days from the invoice date to the due date
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    engagements: Mapped[list["Engagement"]] = relationship(back_populates="client", lazy="selectin")

    @property
    def is_archived(self) -> bool:
        return self.status == ClientStatus.ARCHIVED.value
