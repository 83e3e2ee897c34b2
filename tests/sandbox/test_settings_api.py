"""Organisation, Accounts, BrandingThemes, TaxRates; Xero's envelope, dates and 404s; the validator itself."""
from __future__ import annotations

import re

import pytest

from xero_sandbox import DEMO_TENANT_ID, SECOND_TENANT_ID, SOCKET_THEME_ID, SPECIAL_PROJECTS_THEME_ID, STANDARD_THEME_ID

MSDATE = re.compile(r"^/Date\(\d+\+0000\)/$")


def test_envelope_and_organisation(api):
    body = api("GET", "Organisation")
    assert list(body)[:4] == ["Id", "Status", "ProviderName", "DateTimeUTC"]
    assert body["Status"] == "OK" and re.match(r"^/Date\(\d+\)/$", body["DateTimeUTC"])
    org = body["Organisations"][0]
    assert (org["OrganisationID"], org["Name"], org["CountryCode"], org["BaseCurrency"], org["Timezone"]) == \
        (DEMO_TENANT_ID, "Demo Company (UK)", "GB", "GBP", "GMTSTANDARDTIME")
    assert MSDATE.match(org["CreatedDateUTC"])


def test_second_org_is_a_separate_tenant(sb, validate):
    token = sb.connect(tenants=[SECOND_TENANT_ID])["access_token"]
    body = validate(sb.api("GET", "Organisation", token, tenant_id=SECOND_TENANT_ID), 200)
    assert body["Organisations"][0]["Name"] == "Demo Practice Holdings Ltd"
    contacts = validate(sb.api("GET", "Contacts", token, tenant_id=SECOND_TENANT_ID), 200)["Contacts"]
    assert len(contacts) == 5


def test_chart_of_accounts_is_a_realistic_uk_one(api):
    accounts = {a["Code"]: a for a in api("GET", "Accounts")["Accounts"]}
    assert accounts["200"]["Name"] == "Sales" and accounts["200"]["TaxType"] == "OUTPUT2"
    assert (accounts["270"]["Type"], accounts["270"]["Class"]) == ("OTHERINCOME", "REVENUE")
    assert accounts["215"]["Status"] == "ARCHIVED" and accounts["225"]["Status"] == "DELETED"
    assert accounts["090"]["Type"] == "BANK" and accounts["610"]["SystemAccount"] == "DEBTORS"
    assert accounts["820"]["Class"] == "LIABILITY" and accounts["400"]["Class"] == "EXPENSE"
    assert all(MSDATE.match(a["UpdatedDateUTC"]) for a in accounts.values())


def test_accounts_where_filters_like_xero(api):
    where = 'Status=="ACTIVE" AND Class=="REVENUE"'
    codes = [a["Code"] for a in api("GET", "Accounts", params={"where": where})["Accounts"]]
    assert codes == ["200", "210", "220", "230", "260", "270"]
    body = api("GET", "Accounts", params={"where": '(Type=="REVENUE" OR Type=="OTHERINCOME") && Code=="270"'})
    assert [a["Code"] for a in body["Accounts"]] == ["270"]
    body = api("GET", "Accounts", params={"where": 'Name.Contains("fees")'})
    assert {a["Code"] for a in body["Accounts"]} == {"210", "215", "404"}
    body = api("GET", "Accounts", params={"where": 'Type=="BANK"', "order": "Code DESC"})
    assert [a["Code"] for a in body["Accounts"]] == ["091", "090"]


def test_bad_where_is_a_query_parse_error(api):
    body = api("GET", "Accounts", params={"where": 'Status=="ACTIVE" AND'}, expect=400)
    assert body["Type"] == "QueryParseException" and body["ErrorNumber"] == 16
    body = api("GET", "Accounts", params={"where": 'Colour=="red"'}, expect=400)
    assert "Colour" in body["Message"]


def test_accounts_if_modified_since(sb, api):
    assert len(api("GET", "Accounts", headers={"If-Modified-Since": "2026-01-01T00:00:00"})["Accounts"]) > 20
    assert api("GET", "Accounts", headers={"If-Modified-Since": "Wed, 04 Nov 2026 00:00:00 GMT"})["Accounts"] == []
    sb.archive_account("210")
    changed = api("GET", "Accounts", headers={"If-Modified-Since": "2026-11-01T00:00:00Z"})["Accounts"]
    assert [(a["Code"], a["Status"]) for a in changed] == [("210", "ARCHIVED")]


def test_branding_themes_three_with_standard_default(api):
    themes = api("GET", "BrandingThemes")["BrandingThemes"]
    assert [(t["BrandingThemeID"], t["Name"], t["SortOrder"]) for t in themes] == [
        (STANDARD_THEME_ID, "Standard", 0), (SOCKET_THEME_ID, "Socket Practice", 1),
        (SPECIAL_PROJECTS_THEME_ID, "Special Projects", 2)]
    assert all(t["Type"] == "INVOICE" for t in themes)
    one = api("GET", f"BrandingThemes/{SOCKET_THEME_ID}")["BrandingThemes"]
    assert one[0]["Name"] == "Socket Practice"


def test_uk_tax_rates(api):
    rates = {t["TaxType"]: t for t in api("GET", "TaxRates")["TaxRates"]}
    assert rates["OUTPUT2"]["Name"] == "20% (VAT on Income)" and rates["OUTPUT2"]["EffectiveRate"] == 20
    assert rates["RROUTPUT"]["DisplayTaxRate"] == 5
    assert {"ZERORATEDOUTPUT", "EXEMPTOUTPUT", "NONE", "INPUT2"} <= set(rates)
    assert rates["OUTPUT2"]["CanApplyToRevenue"] and not rates["INPUT2"]["CanApplyToRevenue"]


def test_unknown_ids_and_paths_are_xero_404s(api):
    for path in ("Accounts/00000000-0000-0000-0000-000000000000", "BrandingThemes/not-a-theme",
                 "Contacts/00000000-0000-0000-0000-000000000000", "Invoices/INV-9999", "Nonsense"):
        assert api("GET", path, expect=404) == "The resource you're looking for cannot be found"


def test_resource_paths_are_case_insensitive(sb, token, validate):
    r = sb.http.get(f"{sb.url}/api.xro/2.0/brandingthemes",
                    headers={"Authorization": f"Bearer {token}", "xero-tenant-id": DEMO_TENANT_ID})
    assert r.status_code == 200 and len(r.json()["BrandingThemes"]) == 3


def test_validator_rejects_a_response_that_breaks_the_spec(sb, token, validate):
    from openapi_core.validation.response.exceptions import InvalidData
    r = sb.api("GET", "Contacts", token, params={"page": 1})
    r._content = r.content.replace(b'"ContactStatus":"ACTIVE"', b'"ContactStatus":"BOGUS"', 1)
    with pytest.raises(InvalidData):
        validate(r)
