"""Hostile and malformed input: always Xero's status and body, never a 500."""
from __future__ import annotations

import json

import pytest

ABBOTT = "f7488d45-ec18-5ff2-9156-b307b4f5f2a9"


def _line(**kw):
    return {"Description": "x", "UnitAmount": 1, "AccountCode": "200", **kw}


def _inv(**kw):
    return {"Type": "ACCREC", "Contact": {"ContactID": ABBOTT}, "LineItems": [_line()], **kw}


NASTY_BODIES = [
    ("Invoices", "5"), ("Invoices", "null"), ("Invoices", "[1, 2]"), ("Invoices", '{"Invoices": null}'),
    ("Invoices", json.dumps(_inv(LineItems=[_line(Quantity="1e400")]))),
    ("Invoices", json.dumps(_inv(LineItems=[_line(Quantity=1e20, UnitAmount=1e20)]))),
    ("Invoices", json.dumps(_inv(LineItems=[_line(UnitAmount="NaN")]))),
    ("Invoices", json.dumps(_inv(LineItems=[_line(UnitAmount=True)]))),
    ("Invoices", json.dumps(_inv(LineItems=[_line(DiscountRate=250)]))),
    ("Invoices", json.dumps(_inv(LineItems=["line"]))),
    ("Invoices", json.dumps(_inv(LineItems=[{}]))),
    ("Invoices", json.dumps(_inv(Date="/Date(99999999999999999999)/"))),
    ("Invoices", json.dumps(_inv(Date="2026-02-30"))),
    ("Invoices", json.dumps(_inv(Status="authorised", DueDate="2026-12-01"))),
    ("Invoices", json.dumps(_inv(BrandingThemeID=12))),
    ("Invoices", json.dumps(_inv(Contact={"ContactID": None, "Name": None}))),
    ("Invoices", json.dumps(_inv(LineItems=[_line(AccountCode=200, TaxType="output2")]))),
    ("Invoices", json.dumps({"Invoices": [_inv(InvoiceID="00000000-0000-0000-0000-000000000009")]})),
    ("Invoices", '{"Invoices": [' + ",".join([json.dumps(_inv())] * 60) + "]}"),
    ("Contacts", json.dumps({"Name": "x" * 300})),
    ("Contacts", json.dumps({"Name": "Addr Ltd", "Addresses": "nope"})),
    ("Contacts", json.dumps({"Name": "Addr Ltd", "Phones": [1, 2]})),
    ("Contacts", json.dumps({"Name": "Num Ltd", "ContactNumber": "x" * 51})),
    ("Contacts", json.dumps({"Name": 12345})),
    ("Contacts", json.dumps({"Name": "\u0000\ud7ff weird"})),
    ("Contacts", b"\xff\xfe not utf8"),
]


@pytest.mark.parametrize("resource,data", NASTY_BODIES)
def test_nasty_bodies(sb, token, validate, resource, data):
    r = sb.api("PUT", resource, token, data=data, headers={"Content-Type": "application/json"})
    assert r.status_code in (200, 400), (r.status_code, r.text[:300])
    validate(r)


NASTY_QUERIES = [
    ("Contacts", {"where": 'Name=="\\x"'}), ("Contacts", {"where": "Name==\"a\" AND (ContactStatus"}),
    ("Contacts", {"where": "Name > 5"}), ("Contacts", {"where": 'Name.Explode("x")'}),
    ("Contacts", {"where": "UpdatedDateUTC >= DateTime(2026, 13, 1)"}),
    ("Contacts", {"where": "UpdatedDateUTC >= DateTime(2026, 1, 1)"}), ("Contacts", {"where": "1e5"}),
    ("Contacts", {"where": "!"}), ("Contacts", {"page": "-1", "pageSize": "abc"}), ("Contacts", {"page": "0"}),
    ("Contacts", {"order": "Name DESC,,UpdatedDateUTC"}), ("Contacts", {"IDs": ",,"}),
    ("Contacts", {"includeArchived": "maybe", "summaryOnly": "1"}), ("Invoices", {"Statuses": "NOPE"}),
    ("Invoices", {"where": 'Total > 10 AND Contact.Name.StartsWith("a")'}), ("Invoices", {"order": "Total DESC"}),
    ("Accounts", {"where": "Code == null"}), ("TaxRates", {"where": "EffectiveRate >= 20"}),
]


@pytest.mark.parametrize("resource,params", NASTY_QUERIES)
def test_nasty_queries(sb, token, validate, resource, params):
    r = sb.api("GET", resource, token, params=params)
    assert r.status_code in (200, 400), (r.status_code, r.text[:300])
    validate(r)


@pytest.mark.parametrize("value", ["garbage", "Wed, 99 Foo 2026", "9999-99-99", "-1", "2026-01-01T00:00:00+99:00"])
def test_unparseable_if_modified_since_is_ignored(sb, token, validate, value):
    r = sb.api("GET", "Contacts", token, headers={"If-Modified-Since": value})
    assert len(validate(r, 200)["Contacts"]) == 43


@pytest.mark.parametrize("auth", ["", "Bearer", "Bearer ", "Basic abc", "Bearer a.b.c", "bearer " + "x" * 5000])
def test_bad_authorization_headers(sb, validate, auth):
    r = sb.http.get(f"{sb.url}/api.xro/2.0/Contacts", headers={"Authorization": auth,
                                                               "xero-tenant-id": sb.DEMO_TENANT_ID})
    assert validate(r, 401)["Detail"] == "AuthenticationUnsuccessful"


@pytest.mark.parametrize("headers,data", [
    ({"Authorization": "Basic !!!"}, {"grant_type": "refresh_token", "refresh_token": "x"}),
    ({}, {"grant_type": "authorization_code"}),
    ({"Content-Type": "application/json"}, '{"grant_type": "refresh_token"}'),
    ({}, {}),
])
def test_bad_token_requests(sb, validate, headers, data):
    r = sb.http.post(f"{sb.url}/connect/token", headers=headers, data=data)
    assert validate(r, 400)["error"] in ("invalid_client", "invalid_grant", "unsupported_grant_type")


def test_wrong_methods_and_admin_garbage(sb, token):
    r = sb.api("DELETE", "Contacts", token)
    assert r.status_code == 405 and r.json()["Status"] == 405
    assert sb.http.post(f"{sb.url}/_sandbox/contacts/nope/archive").status_code == 404
    assert sb.http.post(f"{sb.url}/_sandbox/orgs", data="{{").status_code == 400
    assert sb.http.post(f"{sb.url}/_sandbox/accounts/999/archive").status_code == 404
    r = sb.http.post(f"{sb.url}/identity/connect/authorize", data={"action": "allow"})
    assert r.status_code == 400 and "unauthorized_client" in r.text
