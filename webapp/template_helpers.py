"""Jinja filters and globals: money, dates in the practice's time zone, labels, HTML attributes, the model enums."""
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask
from flask_login import current_user
from markupsafe import Markup, escape

from webapp.models import (
    BillingMethod,
    ClientStatus,
    ConnectionStatus,
    InvoiceStatus,
    PrimaryCRM,
    Role,
    SyncStatus,
    XeroPostStatus,
)
from webapp.models.pricing import BILLING_METHOD_LABELS

# Templates compare stored statuses with these (`run.status == SyncStatus.RUNNING.value`), never with literals.
MODEL_ENUMS = (BillingMethod, ClientStatus, ConnectionStatus, InvoiceStatus, PrimaryCRM, Role, SyncStatus,
               XeroPostStatus)


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


def invoice_status_label(value: str) -> str:
    """Socket's label for a stored invoice status ("Posted to Xero"); never "Approved", which is Xero's word."""
    try:
        return InvoiceStatus(value).label
    except ValueError:
        return str(value).capitalize()


def html_attrs(attrs: dict | None) -> Markup:
    """` name="value"` for each attribute, in the order given: True gives a bare attribute (`disabled`),
    False and None leave it out. Unlike Jinja's xmlattr, `disabled=False` really means "not disabled"."""
    parts = []
    for name, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        parts.append(f" {escape(name)}" if value is True else f' {escape(name)}="{escape(value)}"')
    return Markup("".join(parts))


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["local_datetime"] = format_local_datetime
    app.jinja_env.filters["billing_method"] = billing_method_label
    app.jinja_env.filters["invoice_status"] = invoice_status_label
    app.jinja_env.filters["html_attrs"] = html_attrs
    for model_enum in MODEL_ENUMS:
        app.jinja_env.globals[model_enum.__name__] = model_enum
