"""The sync run's reference data and contacts steps (webapp.sync.practice_sync runs them).

Reference data: account codes, branding themes, tax rates.
What Xero returns is stored as Xero says it (an account keeps Xero's Status); what it no longer returns is
marked rather than deleted, so a code or theme chosen earlier can still be named in a warning: accounts
become DELETED, tax rates DELETED, themes present_in_xero=False.

Contacts (`pull_and_match_contacts`, then `write_contact_changes`): pulled into the mirror
(webapp.sync.contacts_pull), clients matched to them
(webapp.sync.contact_links), with Xero as the primary CRM its contacts made clients and archived ones' clients
archived (webapp.sync.crm_import), details changed on either side of a linked pair copied across
(webapp.sync.contact_updates), and new automatic links' client codes written to Xero's ContactNumber
(webapp.sync.contact_numbers). Contacts Socket skipped (or could not make clients of) and codes Xero refused are
listed in the run's `counts["warnings"]`.
"""
import logging
from collections.abc import Callable
from typing import Any

from webapp.extensions import db
from webapp.models import (
    XeroAccount,
    XeroBrandingTheme,
    XeroTaxRate,
)
from webapp.models.base import utcnow
from webapp.sync.contact_links import rematch_practice
from webapp.sync.contact_numbers import stamp_contact_numbers
from webapp.sync.contact_updates import update_contacts
from webapp.sync.contacts_pull import pull_contacts
from webapp.sync.crm_import import import_from_xero
from webapp.sync.reference_items import BadItem, Item, label, read_account, read_tax_rate, read_theme
from webapp.xero import XeroClient, XeroUnavailable

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
MAX_WARNINGS = 50  # kept in SyncRun.counts; the counts say how many there were
XERO_ID = {"account_id": "AccountID", "branding_theme_id": "BrandingThemeID", "tax_type": "TaxType"}  # column: key


def _mirror(practice_id: int, model, key_attr: str, items: list, read: Callable[[Any], Item], what: str,
            is_gone: Callable, mark_gone: Callable) -> tuple[int, int, list[str]]:
    """Upsert `items` into `model` rows keyed by `key_attr`; mark rows Xero no longer returns as gone.

    An item that cannot be read is skipped with a warning; then no row is marked gone, as the skipped item may be
    any of them. Nor is any when Xero lists none at all: an organisation always has accounts, a theme and tax rates,
    so an empty list is Xero's glitch, and taking every code or theme away would stop every invoice posting.
    The same key twice: the later item wins. Returns (rows seen in Xero, rows newly marked gone,
    warnings).
    """
    existing = {getattr(row, key_attr): row
                for row in db.session.execute(db.select(model).filter_by(practice_id=practice_id)).scalars()}
    now = utcnow()
    seen = set()
    warnings = []
    for item in items:
        try:
            checked = read(item)
        except BadItem as problem:
            warnings.append(f"{what.capitalize()} from Xero was skipped ({label(item, XERO_ID[key_attr])}): "
                            f"{problem}.")
            continue
        seen.add(checked.key)
        row = existing.get(checked.key)
        if row is None:
            row = existing[checked.key] = model(practice_id=practice_id, **{key_attr: checked.key})
            db.session.add(row)
        for column, value in checked.values.items():
            setattr(row, column, value)
        row.synced_at = now
    removed = 0
    kind = what.split(" ", 1)[1]
    if not items and any(not is_gone(row) for row in existing.values()):
        return 0, removed, [f"Xero listed no {kind}s, which an organisation always has, so none was marked as gone "
                            "from Xero this time."]
    if warnings:
        warnings.append(f"Because {len(warnings)} could not be read, no {kind} was marked as gone "
                        "from Xero this time.")
        return len(seen), removed, warnings
    for key, row in existing.items():
        if key not in seen and not is_gone(row):
            mark_gone(row)
            row.synced_at = now
            removed += 1
    return len(seen), removed, warnings


def _mark_deleted(row) -> None:
    row.status = "DELETED"


def sync_accounts(practice_id: int, accounts: list) -> dict:
    """Upsert the chart of accounts; accounts Xero no longer returns become DELETED."""
    seen, removed, warnings = _mirror(practice_id, XeroAccount, "account_id", accounts, read_account, "an account",
                                      lambda row: row.status == "DELETED", _mark_deleted)
    return {"accounts": seen, "accounts_removed": removed, "warnings": warnings}


def sync_branding_themes(practice_id: int, themes: list) -> dict:
    """Upsert the branding themes; themes Xero no longer returns get present_in_xero=False."""
    def mark_gone(row):
        row.present_in_xero = False

    seen, removed, warnings = _mirror(practice_id, XeroBrandingTheme, "branding_theme_id", themes, read_theme,
                                      "a branding theme", lambda row: not row.present_in_xero, mark_gone)
    return {"branding_themes": seen, "branding_themes_removed": removed, "warnings": warnings}


def sync_tax_rates(practice_id: int, rates: list) -> dict:
    """Upsert the tax rates by TaxType; rates Xero no longer returns become DELETED."""
    seen, _, warnings = _mirror(practice_id, XeroTaxRate, "tax_type", rates, read_tax_rate, "a tax rate",
                                lambda row: row.status == "DELETED", _mark_deleted)
    return {"tax_rates": seen, "warnings": warnings}


def fetch_collection(client: XeroClient, name: str) -> list[dict]:
    """GET `name` and return its `name` list. An answer without that list is XeroUnavailable: read as an
    empty list it would mark every account or theme as gone from Xero."""
    body = client.get(name)
    items = body.get(name) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise XeroUnavailable(f"Xero's answer for {name} had no {name} list, so nothing was changed; "
                              "try the sync again shortly.")
    return items


def sync_reference_data(practice_id: int, client: XeroClient, progress: Progress = lambda message: None) -> dict:
    """Fetch and store accounts, branding themes and tax rates; commits after each kind. Items that could not be
    read are listed in `counts["warnings"]`."""
    counts: dict = {}
    warnings: list[str] = []
    for message, sync, name in (("Fetching account codes", sync_accounts, "Accounts"),
                                ("Fetching branding themes", sync_branding_themes, "BrandingThemes"),
                                ("Fetching tax rates", sync_tax_rates, "TaxRates")):
        progress(message)
        synced = sync(practice_id, fetch_collection(client, name))
        warnings += synced.pop("warnings")
        counts.update(synced)
        db.session.commit()
    if warnings:
        counts["warnings"] = _capped(warnings)
    return counts


def _capped(warnings: list[str]) -> list[str]:
    if len(warnings) <= MAX_WARNINGS:
        return warnings
    return warnings[:MAX_WARNINGS] + [f"... and {len(warnings) - MAX_WARNINGS} more."]


def pull_and_match_contacts(practice_id: int, tenant_id: str, client: XeroClient, counts: dict,
                            progress: Progress = lambda message: None) -> None:
    """Pull contacts, match clients to them, and with Xero as the primary CRM import its contacts as clients;
    fills `counts` (and its warnings) as each part ends.

    Matching runs only after a pull that read every page, so a half-read organisation never decides a link.
    """
    progress("Fetching contacts")
    pulled = pull_contacts(practice_id, tenant_id, client)
    warnings = counts.setdefault("warnings", [])
    warnings += pulled.warnings
    counts.update(pulled.counts(), warnings=_capped(warnings))
    progress("Matching clients to Xero contacts")
    counts.update(rematch_practice(practice_id))
    imported = import_from_xero(practice_id, progress)  # only when Xero is the primary CRM
    counts.update(imported.counts(), warnings=_capped(warnings + imported.warnings))


def write_contact_changes(practice_id: int, tenant_id: str, client: XeroClient, counts: dict,
                          progress: Progress = lambda message: None) -> None:
    """Copy details changed on either side of linked pairs across, then write new links' client codes to Xero's
    ContactNumber; fills `counts` (and its warnings)."""
    warnings = counts.setdefault("warnings", [])
    progress("Updating details changed in Socket or Xero")
    updated = update_contacts(practice_id, tenant_id, client)
    counts.update(updated.counts(), warnings=_capped(warnings + updated.warnings))
    progress("Writing client codes to Xero contacts")
    stamped = stamp_contact_numbers(practice_id, tenant_id, client)
    counts.update(stamped.counts(), warnings=_capped(counts["warnings"] + stamped.warnings))
