"""Pricing menus, the services on them, and the engagements that bill them."""
import enum

from webapp.extensions import db
from webapp.models.base import Money, UTCDateTime, utcnow


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


class PricingMenu(db.Model):
    __tablename__ = "pricing_menus"

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    name = db.Column(db.String(200), nullable=False)
    is_active = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    services = db.relationship(
        "Service", back_populates="pricing_menu", order_by="Service.position, Service.id", lazy="selectin"
    )


class Service(db.Model):
    __tablename__ = "services"

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    pricing_menu_id = db.Column(db.Integer, db.ForeignKey("pricing_menus.id"), nullable=False, index=True)
    name = db.Column(db.String(200), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    billing_method = db.Column(db.String(32), nullable=False)
    price = db.Column(Money, nullable=False)
    # None means "use the practice's default account code" for recurring or one-off sales.
    account_code = db.Column(db.String(10))
    tax_type = db.Column(db.String(50))
    position = db.Column(db.Integer, nullable=False, default=0)

    pricing_menu = db.relationship("PricingMenu", back_populates="services")

    @property
    def method(self) -> BillingMethod:
        return BillingMethod(self.billing_method)

    @property
    def is_recurring(self) -> bool:
        return self.method.is_recurring


class Engagement(db.Model):
    """A client's agreed service: the source of billing."""

    __tablename__ = "engagements"

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    client_id = db.Column(db.Integer, db.ForeignKey("clients.id"), nullable=False, index=True)
    service_id = db.Column(db.Integer, db.ForeignKey("services.id"), nullable=False, index=True)
    price = db.Column(Money, nullable=False)
    start_date = db.Column(db.Date, nullable=False)
    end_date = db.Column(db.Date)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    client = db.relationship("Client", back_populates="engagements")
    service = db.relationship("Service", lazy="joined")
    # For "on completion" and one-off work: each completion is invoiced once, in the month it falls in.
    completions = db.relationship(
        "EngagementCompletion", back_populates="engagement", lazy="selectin",
        order_by="EngagementCompletion.completed_on, EngagementCompletion.id",
    )


class EngagementCompletion(db.Model):
    """Work on a one-off or on-completion engagement marked complete: one charge, billed once."""

    __tablename__ = "engagement_completions"

    id = db.Column(db.Integer, primary_key=True)
    practice_id = db.Column(db.Integer, db.ForeignKey("practices.id"), nullable=False, index=True)
    engagement_id = db.Column(db.Integer, db.ForeignKey("engagements.id"), nullable=False, index=True)
    completed_on = db.Column(db.Date, nullable=False)
    created_by_id = db.Column(db.Integer, db.ForeignKey("users.id"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    engagement = db.relationship("Engagement", back_populates="completions")
