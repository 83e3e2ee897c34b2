"""The practice's default account codes for recurring and one-off sales (Integrations page)."""
from dataclasses import dataclass

from webapp.extensions import db
from webapp.models import XeroAccount
from webapp.services.billing.settings import get_billing_settings
from webapp.sync import reference_data

KINDS = {
    "recurring_account_code": "Recurring sales",
    "one_off_account_code": "One-off sales",
}


class AccountCodeRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class AccountCodeField:
    """One selector: its name, label, the offerable accounts, the stored code and what is wrong with it."""

    name: str
    label: str
    accounts: list[XeroAccount]
    selected: str | None
    stored_account: XeroAccount | None  # the stored account when it is no longer offerable (to keep it visible)
    problem: reference_data.ChoiceProblem | None


def account_code_field(practice_id: int, name: str, selected: str | None = None,
                       use_stored: bool = True) -> AccountCodeField:
    """What the `name` selector shows; `selected` overrides the stored code (a refused choice is kept)."""
    stored = getattr(get_billing_settings(practice_id), name)
    code = stored if use_stored else selected
    accounts = reference_data.revenue_accounts(practice_id)
    offerable = {account.code for account in accounts}
    stored_account = None
    if code and code not in offerable:
        stored_account = reference_data.find_account(practice_id, code)
    return AccountCodeField(name=name, label=KINDS[name], accounts=accounts, selected=code,
                            stored_account=stored_account,
                            problem=reference_data.account_problem(practice_id, stored))


def account_code_fields(practice_id: int) -> list[AccountCodeField]:
    return [account_code_field(practice_id, name) for name in KINDS]


def set_default_account_code(practice_id: int, name: str, code: str | None) -> None:
    """Store a default code; only ACTIVE revenue codes synced from Xero (or none) are accepted."""
    if name not in KINDS:
        raise AccountCodeRefused("Unknown account code setting.")
    code = (code or "").strip() or None
    if code is not None and not reference_data.is_offerable_account(practice_id, code):
        raise AccountCodeRefused(f"Account code {code} is not an active sales account in your Xero "
                                 "organisation. Choose one from the list (Sync now if it was added recently).")
    setattr(get_billing_settings(practice_id), name, code)
    db.session.commit()
