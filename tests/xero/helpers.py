"""Helpers for the Xero tests: tokens as Xero issues them, reading stored tokens back, reference data mocked."""
import base64
import json
import uuid

from flask import current_app

from webapp.extensions import db
from webapp.models import XeroConnection
from webapp.xero.crypto import TokenCipher

ACCOUNTS = [
    {"AccountID": "acc-200", "Code": "200", "Name": "Sales", "Type": "REVENUE", "Class": "REVENUE",
     "Status": "ACTIVE", "TaxType": "OUTPUT2"},
    {"AccountID": "acc-260", "Code": "260", "Name": "Other Revenue", "Type": "OTHERINCOME", "Class": "REVENUE",
     "Status": "ACTIVE", "TaxType": "OUTPUT2"},
    {"AccountID": "acc-210", "Code": "210", "Name": "Old Sales", "Type": "SALES", "Class": "REVENUE",
     "Status": "ARCHIVED", "TaxType": "OUTPUT2"},
    {"AccountID": "acc-400", "Code": "400", "Name": "Advertising", "Type": "EXPENSE", "Class": "EXPENSE",
     "Status": "ACTIVE", "TaxType": "INPUT2"},
]
THEMES = [
    {"BrandingThemeID": "theme-std", "Name": "Standard", "SortOrder": 0, "Type": "INVOICE",
     "CreatedDateUTC": "/Date(1573755038314+0000)/"},
    {"BrandingThemeID": "theme-special", "Name": "Special projects", "SortOrder": 1, "Type": "INVOICE"},
]
TAX_RATES = [
    {"Name": "20% (VAT on Income)", "TaxType": "OUTPUT2", "Status": "ACTIVE", "EffectiveRate": 20.0},
    {"Name": "No VAT", "TaxType": "NONE", "Status": "ACTIVE", "EffectiveRate": 0.0},
]


def mock_reference(mocked, settings, accounts=ACCOUNTS, themes=THEMES, rates=TAX_RATES, contacts=()):
    """Xero (mocked by `responses`) answering the sync run: accounts, branding themes, tax rates, and one page of
    contacts (none unless given)."""
    mocked.get(f"{settings.accounting_url}/Accounts", json={"Accounts": accounts})
    mocked.get(f"{settings.accounting_url}/BrandingThemes", json={"BrandingThemes": themes})
    mocked.get(f"{settings.accounting_url}/TaxRates", json={"TaxRates": rates})
    mocked.get(f"{settings.accounting_url}/Contacts", json={"Contacts": list(contacts)})


def stored_tokens(connection_id: int) -> tuple[str | None, str | None, XeroConnection]:
    """The connection's access and refresh tokens as stored now (decrypted), and the connection."""
    db.session.expire_all()
    connection = db.session.get(XeroConnection, connection_id)
    cipher = TokenCipher(current_app.config["TOKEN_ENCRYPTION_KEY"])
    return (cipher.decrypt(connection.access_token_encrypted), cipher.decrypt(connection.refresh_token_encrypted),
            connection)


def fake_jwt(claims: dict) -> str:
    """An unsigned token shaped like Xero's access tokens, carrying `claims`."""
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.signature"


def token_body(access="new-access", refresh="new-refresh", expires_in=1800) -> dict:
    """What Xero's token endpoint answers."""
    return {"access_token": access, "refresh_token": refresh, "expires_in": expires_in, "token_type": "Bearer",
            "scope": "offline_access accounting.settings.read"}


def xero_contact(name: str, updated_ms: int = 1767603600000, **fields) -> dict:
    """A Contact as Xero's GET /Contacts returns it (ContactID made from the name unless given)."""
    contact = {"ContactID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero/{name}")), "ContactStatus": "ACTIVE",
               "Name": name, "Addresses": [], "Phones": [], "UpdatedDateUTC": f"/Date({updated_ms}+0000)/",
               "IsCustomer": True, "IsSupplier": False, "HasValidationErrors": False}
    contact.update(fields)
    return contact
