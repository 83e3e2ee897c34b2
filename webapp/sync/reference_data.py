"""Reading the Xero reference data Socket has synced (account codes, branding themes, tax rates).

Every screen that offers or shows a code or theme goes through here, so "what can be chosen" and
"what is wrong with a choice" are decided in one place.
"""
from dataclasses import dataclass

from webapp.extensions import db
from webapp.models import XeroAccount, XeroBrandingTheme

REVENUE_CLASS = "REVENUE"
REVENUE_TYPES = ("REVENUE", "SALES", "OTHERINCOME")


@dataclass(frozen=True)
class ChoiceProblem:
    """Why a stored code or theme can no longer be used, and how to fix it."""

    message: str


def revenue_accounts(practice_id: int) -> list[XeroAccount]:
    """ACTIVE revenue-class accounts with a code, ordered by code: what a sale may be posted to."""
    return list(db.session.execute(
        db.select(XeroAccount)
        .filter_by(practice_id=practice_id, status="ACTIVE", account_class=REVENUE_CLASS)
        .filter(XeroAccount.type.in_(REVENUE_TYPES), XeroAccount.code.is_not(None))
        .order_by(XeroAccount.code)
    ).scalars())


def has_synced_accounts(practice_id: int) -> bool:
    return db.session.execute(
        db.select(XeroAccount.id).filter_by(practice_id=practice_id).limit(1)
    ).first() is not None


def find_account(practice_id: int, code: str) -> XeroAccount | None:
    return db.session.execute(
        db.select(XeroAccount).filter_by(practice_id=practice_id, code=code)
    ).scalars().first()


def is_offerable_account(practice_id: int, code: str) -> bool:
    """True when `code` is one of the ACTIVE revenue accounts (the only codes a form may accept)."""
    return any(account.code == code for account in revenue_accounts(practice_id))


def account_problem(practice_id: int, code: str | None) -> ChoiceProblem | None:
    """What is wrong with a chosen account code now, or None when it is fine (or not chosen)."""
    if not code or not has_synced_accounts(practice_id):
        return None
    account = find_account(practice_id, code)
    if account is None or account.status == "DELETED":
        return ChoiceProblem(f"Account code {code} no longer exists in Xero. Choose another code here; "
                             "invoices will not be posted with it.")
    if account.status == "ARCHIVED":
        return ChoiceProblem(f"Account code {code} — {account.name} was archived in Xero. Choose another code "
                             "here (or restore it in Xero and sync); invoices will not be posted with it.")
    if account.account_class != REVENUE_CLASS or account.type not in REVENUE_TYPES:
        return ChoiceProblem(f"Account code {code} — {account.name} is not a revenue account in Xero. "
                             "Choose a sales code here.")
    return None


def branding_themes(practice_id: int) -> list[XeroBrandingTheme]:
    """Themes present in Xero, the default (lowest SortOrder) first."""
    return list(db.session.execute(
        db.select(XeroBrandingTheme)
        .filter_by(practice_id=practice_id, present_in_xero=True)
        .order_by(XeroBrandingTheme.sort_order, XeroBrandingTheme.name)
    ).scalars())


def default_branding_theme(practice_id: int) -> XeroBrandingTheme | None:
    themes = branding_themes(practice_id)
    return themes[0] if themes else None


def theme_problem(practice_id: int, theme_id: str | None) -> ChoiceProblem | None:
    """What is wrong with a chosen branding theme now, or None."""
    if not theme_id:
        return None
    theme = db.session.execute(
        db.select(XeroBrandingTheme).filter_by(practice_id=practice_id, branding_theme_id=theme_id)
    ).scalar_one_or_none()
    if theme is None or not theme.present_in_xero:
        name = f" “{theme.name}”" if theme else ""
        return ChoiceProblem(f"The invoice template{name} was deleted in Xero. Choose another template here; "
                             "invoices will not be posted with it.")
    return None


def theme_name(practice_id: int, theme_id: str | None) -> str | None:
    if not theme_id:
        return None
    theme = db.session.execute(
        db.select(XeroBrandingTheme).filter_by(practice_id=practice_id, branding_theme_id=theme_id)
    ).scalar_one_or_none()
    return theme.name if theme else None
