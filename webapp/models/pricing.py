"""Pricing menus, the services on them, and the engagements that bill them."""
import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.models.base import Model, Money, UTCDateTime, utcnow

if TYPE_CHECKING:
    from webapp.models.client import Client


class BillingMethod(str, enum.Enum):
    MONTHLY = "monthly"
    QUARTERLY_ADVANCE = "quarterly_advance"
    QUARTERLY_COMPLETION = "quarterly_completion"
    ANNUAL_ADVANCE = "annual_advance"
    ANNUAL_COMPLETION = "annual_completion"
    ONCE = "once"

    @property
    def label(self) -> str:
        return BILLING_METHOD_LABELS[self]

    @property
    def is_recurring(self) -> bool:
        return self is not BillingMethod.ONCE

    @property
    def on_completion(self) -> bool:
        return self in (BillingMethod.QUARTERLY_COMPLETION, BillingMethod.ANNUAL_COMPLETION)


BILLING_METHOD_LABELS = {
    BillingMethod.MONTHLY: "Monthly",
    BillingMethod.QUARTERLY_ADVANCE: "Quarterly in advance",
    BillingMethod.QUARTERLY_COMPLETION: "Quarterly on completion",
    BillingMethod.ANNUAL_ADVANCE: "Annual in advance",
    BillingMethod.ANNUAL_COMPLETION: "Annual on completion",
    BillingMethod.ONCE: "Once (one-off)",
}


class PricingMenu(Model):
    __tablename__ = "pricing_menus"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    services: Mapped[list["Service"]] = relationship(
        back_populates="pricing_menu", order_by="Service.position, Service.id", lazy="selectin"
    )


class Service(Model):
    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    pricing_menu_id: Mapped[int] = mapped_column(ForeignKey("pricing_menus.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    billing_method: Mapped[str] = mapped_column(String(32))
    price: Mapped[Decimal] = mapped_column(Money)
    # None means "use the practice's default account code" for recurring or one-off sales.
    account_code: Mapped[str | None] = mapped_column(String(10))
    tax_type: Mapped[str | None] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(default=0)
    # Last changed (e.g. its billing method): the Billing Plan checks its engagements again like their own changes.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    pricing_menu: Mapped[PricingMenu] = relationship(back_populates="services")

    @property
    def method(self) -> BillingMethod:
        return BillingMethod(self.billing_method)

    @property
    def is_recurring(self) -> bool:
        return self.method.is_recurring


class Engagement(Model):
    """A client's agreed service: the source of billing."""

    __tablename__ = "engagements"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    price: Mapped[Decimal] = mapped_column(Money)
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Last changed (dates, price, service): the Billing Plan checks the months approved before then again for
    # charges they missed (see billing.plan_classifier). SQL written by hand must set it (update() statements do).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    client: Mapped["Client"] = relationship(back_populates="engagements")
    service: Mapped[Service] = relationship(lazy="joined")
    # For "on completion" and one-off work: each completion is invoiced once, in the month it falls in.
    completions: Mapped[list["EngagementCompletion"]] = relationship(
        back_populates="engagement", lazy="selectin",
        order_by="EngagementCompletion.completed_on, EngagementCompletion.id",
    )


class EngagementCompletion(Model):
    """Work on a one-off or on-completion engagement marked complete: one charge, billed once."""

    __tablename__ = "engagement_completions"

    id: Mapped[int] = mapped_column(primary_key=True)
    practice_id: Mapped[int] = mapped_column(ForeignKey("practices.id"), index=True)
    engagement_id: Mapped[int] = mapped_column(ForeignKey("engagements.id"), index=True)
    completed_on: Mapped[date]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    engagement: Mapped[Engagement] = relationship(back_populates="completions")
