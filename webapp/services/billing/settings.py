"""A practice's Billing Settings: reading them (with defaults), the template choice, saving them."""
from dataclasses import dataclass

from webapp.extensions import db
from webapp.models import BillingSettings, ConnectionStatus, XeroBrandingTheme, XeroConnection
from webapp.sync import reference_data


@dataclass(frozen=True)
class SettingsChange:
    """Validated values for the Billing Settings form. `branding_theme_id` None leaves the theme as it is, and
    `create_missing_contacts` None that setting."""

    consolidate_recurring: bool
    consolidate_one_off: bool
    invoice_day: int
    payment_terms_days: int
    xero_post_status: str
    branding_theme_id: str | None = None
    create_missing_contacts: bool | None = None
    approve_automatically: bool | None = None


@dataclass(frozen=True)
class ThemeChoice:
    """What the template selector offers and shows."""

    enabled: bool  # False until Xero is connected
    themes: list[XeroBrandingTheme]
    selected_id: str | None  # the stored theme, else Xero's default
    stored_missing_name: str | None  # the stored theme's name when it is no longer in Xero
    problem: reference_data.ChoiceProblem | None


def get_billing_settings(practice_id: int) -> BillingSettings:
    """The practice's settings row, created with the defaults if it does not exist yet."""
    settings = db.session.get(BillingSettings, practice_id)
    if settings is None:
        settings = BillingSettings(practice_id=practice_id)
        db.session.add(settings)
        db.session.flush()
    return settings


def xero_connected(practice_id: int) -> bool:
    """True while the practice has a Xero connection (even one that needs reconnecting: its themes are known)."""
    status = db.session.execute(
        db.select(XeroConnection.status).filter_by(practice_id=practice_id)
    ).scalar_one_or_none()
    return status in (ConnectionStatus.CONNECTED.value, ConnectionStatus.NEEDS_RECONNECT.value)


def theme_choice(practice_id: int, stored_id: str | None) -> ThemeChoice:
    """The template selector's options: synced themes, the stored one (or Xero's default) selected."""
    themes = reference_data.branding_themes(practice_id)
    problem = reference_data.theme_problem(practice_id, stored_id)
    default = themes[0] if themes else None
    missing_name = None
    if problem is not None:
        missing_name = reference_data.theme_name(practice_id, stored_id) or "Unknown template"
    return ThemeChoice(
        enabled=xero_connected(practice_id),
        themes=themes,
        selected_id=stored_id or (default.branding_theme_id if default else None),
        stored_missing_name=missing_name,
        problem=problem,
    )


def is_allowed_theme(practice_id: int, theme_id: str, stored_id: str | None) -> bool:
    """A theme may be saved if Xero still has it, or if it is the one already stored (left unchanged)."""
    if theme_id == stored_id:
        return True
    return any(theme.branding_theme_id == theme_id for theme in reference_data.branding_themes(practice_id))


INLINE_FIELDS = ("consolidate_recurring", "consolidate_one_off", "invoice_day", "payment_terms_days",
                 "xero_post_status", "create_missing_contacts", "branding_theme_id", "monthly_billing")


def save_one_setting(practice_id: int, name: str, value) -> BillingSettings:
    """Store one validated setting (an inline save) and commit; the others are left as they are."""
    if name not in INLINE_FIELDS:
        raise ValueError(f"not a Billing Setting: {name}")
    settings = get_billing_settings(practice_id)
    if name in ("consolidate_recurring", "consolidate_one_off"):
        value = value == "consolidated"
    if name == "monthly_billing":
        name, value = "approve_automatically", value == "automatic"
    setattr(settings, "default_branding_theme_id" if name == "branding_theme_id" else name, value)
    db.session.commit()
    return settings


def save_billing_settings(practice_id: int, change: SettingsChange) -> BillingSettings:
    """Store validated Billing Settings and commit."""
    settings = get_billing_settings(practice_id)
    settings.consolidate_recurring = change.consolidate_recurring
    settings.consolidate_one_off = change.consolidate_one_off
    settings.invoice_day = change.invoice_day
    settings.payment_terms_days = change.payment_terms_days
    settings.xero_post_status = change.xero_post_status
    if change.branding_theme_id is not None:
        settings.default_branding_theme_id = change.branding_theme_id
    if change.create_missing_contacts is not None:
        settings.create_missing_contacts = change.create_missing_contacts
    if change.approve_automatically is not None:
        settings.approve_automatically = change.approve_automatically
    db.session.commit()
    return settings
