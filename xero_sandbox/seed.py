"""Demo data: two UK organisations, chart of accounts, branding themes, tax rates, contacts."""
from __future__ import annotations

import csv
import json
import os
import uuid

from . import constants as C
from .xerojson import ms_date

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")
CONTACTS_CSV = os.path.join(DATA_DIR, "xero_contacts.csv")
NS = uuid.UUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")

# Fixed seed time (2026-01-05T09:00:00Z) so If-Modified-Since tests are deterministic.
SEED_MS = 1767603600000

TYPE_CLASS = {
    "BANK": "ASSET", "CURRENT": "ASSET", "FIXED": "ASSET", "INVENTORY": "ASSET", "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET", "CURRLIAB": "LIABILITY", "LIABILITY": "LIABILITY", "TERMLIAB": "LIABILITY",
    "EQUITY": "EQUITY", "DEPRECIATN": "EXPENSE", "DIRECTCOSTS": "EXPENSE", "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE", "REVENUE": "REVENUE", "SALES": "REVENUE", "OTHERINCOME": "REVENUE",
}
REPORTING = {"ASSET": ("ASS", "Assets"), "LIABILITY": ("LIA", "Liabilities"), "EQUITY": ("EQU", "Equity"),
             "EXPENSE": ("EXP", "Expenses"), "REVENUE": ("REV", "Revenue")}

# (code, name, type, tax type, status, extra)
CHART = [
    ("090", "Business Bank Account", "BANK", "NONE", "ACTIVE", {"BankAccountNumber": "20304012345678"}),
    ("091", "Business Savings Account", "BANK", "NONE", "ACTIVE", {"BankAccountNumber": "20304087654321"}),
    ("200", "Sales", "REVENUE", "OUTPUT2", "ACTIVE", {"Description": "Income from any normal business activity"}),
    ("210", "Consulting & Advisory Fees", "REVENUE", "OUTPUT2", "ACTIVE", {}),
    ("215", "Old Bookkeeping Fees", "REVENUE", "OUTPUT2", "ARCHIVED", {}),
    ("220", "Payroll Services", "REVENUE", "OUTPUT2", "ACTIVE", {}),
    ("225", "Company Secretarial (closed)", "REVENUE", "OUTPUT2", "DELETED", {}),
    ("230", "Training Income", "SALES", "EXEMPTOUTPUT", "ACTIVE", {}),
    ("260", "Other Revenue", "REVENUE", "OUTPUT2", "ACTIVE",
     {"Description": "Any other income that does not relate to normal business activities"}),
    ("270", "Interest Income", "OTHERINCOME", "NONE", "ACTIVE", {"Description": "Interest income"}),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "INPUT2", "ACTIVE", {}),
    ("400", "Advertising & Marketing", "OVERHEADS", "INPUT2", "ACTIVE", {}),
    ("404", "Bank Fees", "OVERHEADS", "NONE", "ACTIVE", {}),
    ("408", "Cleaning", "OVERHEADS", "INPUT2", "ACTIVE", {}),
    ("412", "Consulting", "OVERHEADS", "INPUT2", "ACTIVE", {}),
    ("429", "General Expenses", "OVERHEADS", "INPUT2", "ACTIVE", {}),
    ("445", "Light, Power, Heating", "OVERHEADS", "INPUT2", "ACTIVE", {}),
    ("461", "Printing & Stationery", "OVERHEADS", "INPUT2", "ACTIVE", {}),
    ("469", "Rent", "OVERHEADS", "EXEMPTINPUT", "ACTIVE", {}),
    ("489", "Telephone & Internet", "OVERHEADS", "INPUT2", "ACTIVE", {}),
    ("493", "Travel - National", "OVERHEADS", "INPUT2", "ACTIVE", {}),
    ("610", "Accounts Receivable", "CURRENT", "NONE", "ACTIVE", {"SystemAccount": "DEBTORS"}),
    ("620", "Prepayments", "CURRENT", "NONE", "ACTIVE", {}),
    ("710", "Office Equipment", "FIXED", "INPUT2", "ACTIVE", {}),
    ("800", "Accounts Payable", "CURRLIAB", "NONE", "ACTIVE", {"SystemAccount": "CREDITORS"}),
    ("820", "VAT", "CURRLIAB", "NONE", "ACTIVE", {"SystemAccount": "GST"}),
    ("825", "PAYE Payable", "CURRLIAB", "NONE", "ACTIVE", {}),
    ("900", "Loan", "TERMLIAB", "NONE", "ACTIVE", {}),
    ("960", "Retained Earnings", "EQUITY", "NONE", "ACTIVE", {"SystemAccount": "RETAINEDEARNINGS"}),
]

# (TaxType, Name, rate %, ReportTaxType, applies to)
TAX_RATES = [
    ("OUTPUT2", "20% (VAT on Income)", "20", "OUTPUT", {"REVENUE", "ASSET", "LIABILITY", "EQUITY"}),
    ("RROUTPUT", "5% (VAT on Income)", "5", "OUTPUT", {"REVENUE", "ASSET", "LIABILITY", "EQUITY"}),
    ("ZERORATEDOUTPUT", "Zero Rated Income", "0", "ZERORATEDOUTPUT", {"REVENUE", "ASSET", "LIABILITY", "EQUITY"}),
    ("EXEMPTOUTPUT", "Exempt Income", "0", "EXEMPTOUTPUT", {"REVENUE", "ASSET", "LIABILITY", "EQUITY"}),
    ("ECZROUTPUTSERVICES", "Zero Rated EC Services", "0", "ECOUTPUTSERVICES", {"REVENUE"}),
    ("NONE", "No VAT", "0", "NONE", {"REVENUE", "EXPENSE", "ASSET", "LIABILITY", "EQUITY"}),
    ("INPUT2", "20% (VAT on Expenses)", "20", "INPUT", {"EXPENSE", "ASSET", "LIABILITY", "EQUITY"}),
    ("RRINPUT", "5% (VAT on Expenses)", "5", "INPUT", {"EXPENSE", "ASSET", "LIABILITY", "EQUITY"}),
    ("ZERORATEDINPUT", "Zero Rated Expenses", "0", "ZERORATEDINPUT", {"EXPENSE", "ASSET", "LIABILITY", "EQUITY"}),
    ("EXEMPTINPUT", "Exempt Expenses", "0", "EXEMPTINPUT", {"EXPENSE", "ASSET", "LIABILITY", "EQUITY"}),
]
TAX_BY_TYPE = {t[0]: t for t in TAX_RATES}


def tax_rate_doc(t) -> dict:
    tax_type, name, rate, report, applies = t
    r = float(rate)
    return {"Name": name, "TaxType": tax_type, "ReportTaxType": report,
            "CanApplyToAssets": "ASSET" in applies, "CanApplyToEquity": "EQUITY" in applies,
            "CanApplyToExpenses": "EXPENSE" in applies, "CanApplyToLiabilities": "LIABILITY" in applies,
            "CanApplyToRevenue": "REVENUE" in applies, "DisplayTaxRate": r, "EffectiveRate": r,
            "Status": "ACTIVE",
            "TaxComponents": [{"Name": "VAT", "Rate": r, "IsCompound": False, "IsNonRecoverable": False}]}


def org_doc(tenant_id: str, name: str, legal_name: str, short_code: str, created_ms: int,
            org_type: str = "COMPANY") -> dict:
    return {
        "OrganisationID": tenant_id, "APIKey": "", "Name": name, "LegalName": legal_name, "PaysTax": True,
        "Version": "UK", "OrganisationType": org_type, "BaseCurrency": "GBP", "CountryCode": "GB",
        "IsDemoCompany": False, "OrganisationStatus": "ACTIVE", "RegistrationNumber": "",
        "TaxNumber": "GB123456789", "FinancialYearEndDay": 31, "FinancialYearEndMonth": 3,
        "SalesTaxBasis": "ACCRUALS", "SalesTaxPeriod": "QUARTERLY1", "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Inclusive", "CreatedDateUTC": ms_date(created_ms),
        "Timezone": "GMTSTANDARDTIME", "OrganisationEntityType": org_type, "ShortCode": short_code,
        "Class": "STANDARD", "Edition": "BUSINESS", "LineOfBusiness": "Accountancy services",
        "Addresses": [{"AddressType": "STREET", "AddressLine1": "1 Sandbox Street", "City": "London",
                       "PostalCode": "EC1A 1AA", "Country": "United Kingdom"}],
        "Phones": [], "ExternalLinks": [],
        "PaymentTerms": {"Sales": {"Day": 30, "Type": "DAYSAFTERBILLDATE"}},
    }


def account_doc(tenant_id, code, name, typ, tax, status, extra, updated_ms) -> dict:
    cls = TYPE_CLASS[typ]
    doc = {"AccountID": str(uuid.uuid5(NS, f"{tenant_id}/account/{code}")), "Code": code, "Name": name,
           "Status": status, "Type": typ, "TaxType": tax, "Class": cls,
           "EnablePaymentsToAccount": False, "ShowInExpenseClaims": cls == "EXPENSE",
           "ReportingCode": REPORTING[cls][0], "ReportingCodeName": REPORTING[cls][1],
           "HasAttachments": False, "UpdatedDateUTC": ms_date(updated_ms), "AddToWatchlist": False}
    if typ == "BANK":
        doc.update({"BankAccountType": "BANK", "CurrencyCode": "GBP"})
    doc.update(extra)
    return doc


def contact_doc(contact_id: str, name: str, updated_ms: int, **fields) -> dict:
    doc = {"ContactID": contact_id, "ContactStatus": fields.pop("ContactStatus", "ACTIVE"), "Name": name}
    for k in ("ContactNumber", "AccountNumber", "FirstName", "LastName", "CompanyNumber", "EmailAddress",
              "TaxNumber", "MergedToContactID"):
        v = fields.pop(k, None)
        if v:
            doc[k] = v
    doc.update({
        "BankAccountDetails": "",
        "Addresses": [{"AddressType": "STREET", "City": "", "Region": "", "PostalCode": "", "Country": ""},
                      {"AddressType": "POBOX", "City": "", "Region": "", "PostalCode": "", "Country": ""}],
        "Phones": [{"PhoneType": t, "PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""}
                   for t in ("DEFAULT", "DDI", "FAX", "MOBILE")],
        "UpdatedDateUTC": ms_date(updated_ms),
        "ContactGroups": [],
        "IsSupplier": bool(fields.pop("IsSupplier", False)),
        "IsCustomer": bool(fields.pop("IsCustomer", False)),
        "ContactPersons": [],
        "HasAttachments": False,
        "HasValidationErrors": False,
    })
    doc.update(fields)
    return doc


def name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def insert_org(db, tenant_id, name, legal_name, short_code, sort, created_ms=SEED_MS, org_type="COMPANY"):
    db.execute("INSERT INTO orgs (tenant_id, name, doc, invoice_seq, created_ms, sort) VALUES (?,?,?,?,?,?)",
               (tenant_id, name, json.dumps(org_doc(tenant_id, name, legal_name, short_code, created_ms, org_type)),
                0, created_ms, sort))


def insert_chart(db, tenant_id, chart=CHART):
    for code, name, typ, tax, status, extra in chart:
        doc = account_doc(tenant_id, code, name, typ, tax, status, extra, SEED_MS)
        db.execute("INSERT INTO accounts (account_id, tenant_id, code, status, updated_ms, doc) VALUES (?,?,?,?,?,?)",
                   (doc["AccountID"], tenant_id, code, status, SEED_MS, json.dumps(doc)))


def insert_theme(db, tenant_id, theme_id, name, sort_order):
    doc = {"BrandingThemeID": theme_id, "Name": name, "Type": "INVOICE", "SortOrder": sort_order,
           "CreatedDateUTC": ms_date(SEED_MS)}
    db.execute("INSERT INTO branding_themes (theme_id, tenant_id, sort_order, doc) VALUES (?,?,?,?)",
               (theme_id, tenant_id, sort_order, json.dumps(doc)))


def insert_contact(db, tenant_id, doc, updated_ms):
    db.execute("INSERT INTO contacts (contact_id, tenant_id, name_key, status, contact_number, updated_ms, doc)"
               " VALUES (?,?,?,?,?,?,?)",
               (doc["ContactID"], tenant_id, name_key(doc["Name"]), doc["ContactStatus"],
                doc.get("ContactNumber"), updated_ms, json.dumps(doc)))


def load_demo_contacts() -> list[dict]:
    with open(CONTACTS_CSV, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    out = []
    for i, r in enumerate(rows):
        ms = SEED_MS + i * 60_000
        out.append(contact_doc(
            r["ContactID"], r["Name"], ms, ContactStatus=r["ContactStatus"] or "ACTIVE",
            ContactNumber=r["ContactNumber"], AccountNumber=r["AccountNumber"], CompanyNumber=r["CompanyNumber"],
            EmailAddress=r["EmailAddress"], TaxNumber=r["TaxNumber"], MergedToContactID=r["MergedToContactID"],
            IsCustomer=r["IsCustomer"].lower() == "true", IsSupplier=r["IsSupplier"].lower() == "true"))
    return out


SECOND_ORG_CONTACTS = ["Holdings Client One Ltd", "Northfield Estates Ltd", "Parkside Dental LLP",
                       "Quayside Brewing Co", "Rowan Tree Nursery"]


def seed_demo(db):
    insert_org(db, C.DEMO_TENANT_ID, C.DEMO_TENANT_NAME, "Demo Company (UK) Limited", "!sbx01", 0)
    insert_chart(db, C.DEMO_TENANT_ID)
    insert_theme(db, C.DEMO_TENANT_ID, C.STANDARD_THEME_ID, "Standard", 0)
    insert_theme(db, C.DEMO_TENANT_ID, C.SOCKET_THEME_ID, "Socket Practice", 1)
    insert_theme(db, C.DEMO_TENANT_ID, C.SPECIAL_PROJECTS_THEME_ID, "Special Projects", 2)
    for i, doc in enumerate(load_demo_contacts()):
        insert_contact(db, C.DEMO_TENANT_ID, doc, SEED_MS + i * 60_000)

    insert_org(db, C.SECOND_TENANT_ID, C.SECOND_TENANT_NAME, "Demo Practice Holdings Limited", "!sbx02", 1)
    insert_chart(db, C.SECOND_TENANT_ID, [c for c in CHART if c[4] == "ACTIVE"])
    insert_theme(db, C.SECOND_TENANT_ID, C.SECOND_STANDARD_THEME_ID, "Standard", 0)
    for i, name in enumerate(SECOND_ORG_CONTACTS):
        cid = str(uuid.uuid5(NS, f"{C.SECOND_TENANT_ID}/contact/{name}"))
        insert_contact(db, C.SECOND_TENANT_ID, contact_doc(cid, name, SEED_MS + i * 60_000, IsCustomer=True),
                       SEED_MS + i * 60_000)


_FIRST = ["Acorn", "Beacon", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbour", "Iris", "Juniper",
          "Kestrel", "Lantern", "Meadow", "Northgate", "Orchard", "Pioneer", "Quarry", "Riverside", "Summit",
          "Thistle", "Union", "Valley", "Willow", "Yardley", "Zephyr"]
_SECOND = ["Accounting", "Bakery", "Builders", "Consulting", "Dental", "Engineering", "Farms", "Garage",
           "Holdings", "Interiors", "Joinery", "Kitchens", "Logistics", "Media", "Nursery", "Opticians",
           "Plumbing", "Properties", "Roofing", "Studios", "Tailoring", "Upholstery", "Vets", "Wholesale"]
_SUFFIX = ["Ltd", "Limited", "LLP", "& Co", "and Sons", "Group Ltd", "Services"]


def generate_org(db, name: str, contacts: int, tenant_id: str | None = None) -> str:
    """A large organisation for benchmarks: standard chart, one theme, N deterministic contacts."""
    tenant_id = tenant_id or str(uuid.uuid5(NS, f"generated/{name}"))
    sort = (db.execute("SELECT COALESCE(MAX(sort), 0) + 1 FROM orgs").fetchone()[0])
    insert_org(db, tenant_id, name, name, "!gen" + tenant_id[:4], sort)
    insert_chart(db, tenant_id)
    insert_theme(db, tenant_id, str(uuid.uuid5(NS, f"{tenant_id}/theme/standard")), "Standard", 0)
    for i in range(contacts):
        a = _FIRST[i % len(_FIRST)]
        b = _SECOND[(i // len(_FIRST)) % len(_SECOND)]
        s = _SUFFIX[(i // (len(_FIRST) * len(_SECOND))) % len(_SUFFIX)]
        cname = f"{a} {b} {s} {i + 1:05d}"
        cid = str(uuid.uuid5(NS, f"{tenant_id}/contact/{i}"))
        fields = {"IsCustomer": True, "EmailAddress": f"accounts{i + 1}@{a.lower()}{b.lower()}.co.uk"}
        if i % 3 == 0:
            fields["CompanyNumber"] = f"{(i * 7919) % 100_000_000:08d}"
        if i % 5 == 0:
            fields["TaxNumber"] = f"GB{(i * 104729) % 1_000_000_000:09d}"
        if i % 50 == 49:
            fields["ContactStatus"] = "ARCHIVED"
        ms = SEED_MS + i * 1000
        insert_contact(db, tenant_id, contact_doc(cid, cname, ms, **fields), ms)
    return tenant_id
