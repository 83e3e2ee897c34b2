"""Jinja filters: money, dates in the practice's time zone, labels."""
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask
from flask_login import current_user

from webapp.models.pricing import BILLING_METHOD_LABELS, BillingMethod


def format_money(value) -> str:
    """£1,234.50 — from a Decimal, never a float."""
    if value is None:
        return ""
    value = Decimal(value).quantize(Decimal("0.01"))
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.2f}"


def to_practice_time(value: datetime | None, time_zone: str | None = None) -> datetime | None:
    """Convert a stored UTC timestamp to the practice's own time zone."""
    if value is None:
        return None
    if time_zone is None:
        time_zone = current_user.practice.time_zone if current_user and current_user.is_authenticated else "UTC"
    return value.astimezone(ZoneInfo(time_zone))


def format_local_datetime(value: datetime | None, time_zone: str | None = None) -> str:
    local = to_practice_time(value, time_zone)
    return local.strftime("%-d %b %Y, %H:%M %Z") if local else ""


def billing_method_label(value: str) -> str:
    return BILLING_METHOD_LABELS[BillingMethod(value)]


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["local_datetime"] = format_local_datetime
    app.jinja_env.filters["billing_method"] = billing_method_label
    app.jinja_env.globals["BillingMethod"] = BillingMethod
