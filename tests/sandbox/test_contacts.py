"""Contacts: paging, filters, search, create/update rules, bad input, archive and merge."""
from __future__ import annotations

import csv
import datetime as dt

import pytest

from xero_sandbox.seed import CONTACTS_CSV

ABBOTT = "f7488d45-ec18-5ff2-9156-b307b4f5f2a9"
KINGFISHER = "690cd19b-a676-5164-af6f-7c0b616f6195"      # archived
LAKESIDE_OLD = "4ded5785-5fe9-5657-b18b-079a55335adb"    # archived, merged into LAKESIDE_GROUP
LAKESIDE_GROUP = "9a64ff6b-7616-56ec-9931-b1a5c52e12f7"
GDPR = "16bd3e01-b2b3-5b38-adad-236f7cbd908f"

with open(CONTACTS_CSV, newline="", encoding="utf-8") as f:
    CSV_ROWS = list(csv.DictReader(f))
ACTIVE = [r for r in CSV_ROWS if r["ContactStatus"] == "ACTIVE"]


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()


def test_demo_contacts_keep_their_ids_and_fields(api):
    contacts = {c["ContactID"]: c for c in api("GET", "Contacts", params={"includeArchived": "true"})["Contacts"]}
    assert set(contacts) == {r["ContactID"] for r in CSV_ROWS}
    for r in CSV_ROWS:
        c = contacts[r["ContactID"]]
        assert c["Name"] == r["Name"] and c["ContactStatus"] == r["ContactStatus"]
        for field in ("EmailAddress", "ContactNumber", "CompanyNumber", "TaxNumber", "MergedToContactID"):
            assert c.get(field, "") == r[field], (r["Name"], field)
        assert c["IsCustomer"] == (r["IsCustomer"] == "true") and c["IsSupplier"] == (r["IsSupplier"] == "true")


def test_default_list_is_active_only(api):
    body = api("GET", "Contacts")
    assert "pagination" not in body
    assert {c["ContactStatus"] for c in body["Contacts"]} == {"ACTIVE"}
    assert len(body["Contacts"]) == len(ACTIVE)
    names = [c["Name"].casefold() for c in body["Contacts"]]
    assert names == sorted(names)


def test_paging_default_size_and_cap(api):
    body = api("GET", "Contacts", params={"page": 1, "pageSize": 10})
    assert body["pagination"] == {"page": 1, "pageSize": 10, "pageCount": 5, "itemCount": len(ACTIVE)}
    last = api("GET", "Contacts", params={"page": 5, "pageSize": 10})["Contacts"]
    assert len(last) == len(ACTIVE) - 40
    assert api("GET", "Contacts", params={"page": 9, "pageSize": 10})["Contacts"] == []
    assert api("GET", "Contacts", params={"page": 1})["pagination"]["pageSize"] == 100
    assert api("GET", "Contacts", params={"page": 1, "pageSize": 5000})["pagination"]["pageSize"] == 1000
    seen = [c["ContactID"] for p in range(1, 6)
            for c in api("GET", "Contacts", params={"page": p, "pageSize": 10})["Contacts"]]
    assert len(seen) == len(set(seen)) == len(ACTIVE)


@pytest.mark.parametrize("where,expected", [
    ('ContactStatus=="ARCHIVED"', {KINGFISHER, LAKESIDE_OLD}),
    ('Name=="Abbott & Sons Ltd"', {ABBOTT}),
    ('Name=="abbott & sons ltd"', {ABBOTT}),
    ('EmailAddress=="hello@ivylane.co.uk"', {"c2f2a4d2-a985-591d-8d40-de889ea3e13b",
                                             "5d83d99f-36aa-59ae-8b43-360a44e98a2c"}),
    ('ContactNumber=="FAIR01"', {"c5833aeb-37ac-5bcf-8879-62b09cf8e731"}),
    ('ContactStatus=="GDPRREQUEST"', {GDPR}),
    ('ContactStatus=="ACTIVE" AND CompanyNumber=="09876543"', {"1c4e7f68-7d1c-5f9e-b0d1-da55d316e66a"}),
])
def test_where_equality_forms(api, where, expected):
    assert {c["ContactID"] for c in api("GET", "Contacts", params={"where": where})["Contacts"]} == expected


def test_search_term_covers_name_number_and_email(api):
    names = {c["Name"] for c in api("GET", "Contacts", params={"searchTerm": "LANE"})["Contacts"]}
    assert names == {"Ivy Lane Bakery Shop", "I. Lane"}
    assert [c["Name"] for c in api("GET", "Contacts", params={"searchTerm": "fair01"})["Contacts"]] == \
        ["Fairweather Consultancy Services"]
    assert [c["Name"] for c in api("GET", "Contacts", params={"searchTerm": "riverside-vets"})["Contacts"]] == \
        ["Riverside Veterinary Practice"]


def test_ids_filter_includes_archived_and_merged(api):
    body = api("GET", "Contacts", params={"IDs": f"{ABBOTT},{LAKESIDE_OLD}"})
    got = {c["ContactID"]: c for c in body["Contacts"]}
    assert set(got) == {ABBOTT, LAKESIDE_OLD}
    assert got[LAKESIDE_OLD]["MergedToContactID"] == LAKESIDE_GROUP
    assert api("GET", "Contacts", params={"IDs": "not-a-guid"}, expect=400)["Type"] == "QueryParseException"


def test_summary_only_is_lightweight(api):
    full = api("GET", "Contacts", params={"page": 1, "pageSize": 3})["Contacts"][0]
    light = api("GET", "Contacts", params={"page": 1, "pageSize": 3, "summaryOnly": "true"})["Contacts"][0]
    assert "Addresses" in full and "Phones" in full
    assert "Addresses" not in light and "Phones" not in light
    assert light["ContactID"] == full["ContactID"] and light["UpdatedDateUTC"] == full["UpdatedDateUTC"]


def test_get_one_by_id_or_contact_number(api):
    assert api("GET", f"Contacts/{KINGFISHER}")["Contacts"][0]["ContactStatus"] == "ARCHIVED"
    assert api("GET", "Contacts/FAIR01")["Contacts"][0]["Name"] == "Fairweather Consultancy Services"
    assert api("GET", "Contacts/NOPE", expect=404) == "The resource you're looking for cannot be found"


def test_create_then_if_modified_since_sees_only_the_change(sb, api):
    before = sb.state()["now_ms"]
    created = api("PUT", "Contacts", json={"Contacts": [{"Name": "  New  Client   Ltd ", "EmailAddress":
                                                         "a@new.co.uk", "ContactNumber": "SKT-001",
                                                         "CompanyNumber": "01234567", "Colour": "ignored"}]})
    c = created["Contacts"][0]
    assert c["Name"] == "New Client Ltd" and c["ContactStatus"] == "ACTIVE" and "Colour" not in c
    assert c["ContactNumber"] == "SKT-001" and c["CompanyNumber"] == "01234567"
    changed = api("GET", "Contacts", headers={"If-Modified-Since": _iso(before)})["Contacts"]
    assert [x["ContactID"] for x in changed] == [c["ContactID"]]
    assert api("GET", f"Contacts/{c['ContactID']}")["Contacts"][0]["EmailAddress"] == "a@new.co.uk"


def test_update_sets_contact_number_and_bumps_updated_date(sb, api):
    old = api("GET", f"Contacts/{ABBOTT}")["Contacts"][0]
    body = api("POST", f"Contacts/{ABBOTT}", json={"ContactNumber": "CLI-0001"})
    new = body["Contacts"][0]
    assert new["ContactNumber"] == "CLI-0001" and new["Name"] == old["Name"]
    assert new["UpdatedDateUTC"] != old["UpdatedDateUTC"]
    body = api("POST", "Contacts", json={"Contacts": [{"ContactID": ABBOTT, "EmailAddress": "new@abbott.co.uk"}]})
    assert body["Contacts"][0]["EmailAddress"] == "new@abbott.co.uk"


def test_active_names_must_be_unique(api):
    body = api("PUT", "Contacts", json={"Name": "ABBOTT & SONS LTD"}, expect=400)
    assert body["Type"] == "ValidationException" and body["ErrorNumber"] == 10
    assert body["Elements"][0]["ValidationErrors"] == [{"Message":
        "The contact name ABBOTT & SONS LTD is already assigned to another contact. "
        "The contact name must be unique across all active contacts."}]
    # an archived contact's name is free
    assert api("PUT", "Contacts", json={"Name": "Kingfisher Hotels Ltd"})["Contacts"][0]["ContactStatus"] == "ACTIVE"
    body = api("POST", f"Contacts/{ABBOTT}", json={"Name": "Smith & Co"}, expect=400)
    assert "already assigned" in body["Elements"][0]["ValidationErrors"][0]["Message"]


def test_summarize_errors_false_creates_the_valid_ones(sb, api):
    body = api("PUT", "Contacts", params={"summarizeErrors": "false"}, json={"Contacts": [
        {"Name": "Valid Newco Ltd"}, {"Name": "Abbott & Sons Ltd"}, {"Name": "Bad Email Ltd", "EmailAddress": "x@"}]})
    ok, dup, bad = body["Contacts"]
    assert ok["StatusAttributeString"] == "OK" and ok["HasValidationErrors"] is False
    assert dup["StatusAttributeString"] == "ERROR" and dup["HasValidationErrors"] is True
    assert bad["ValidationErrors"] == [{"Message": "Email address must be valid."}]
    names = {c["Name"] for c in api("GET", "Contacts", params={"searchTerm": "Ltd"})["Contacts"]}
    assert "Valid Newco Ltd" in names and "Bad Email Ltd" not in names


def test_batch_with_an_error_is_all_or_nothing_by_default(api):
    body = api("PUT", "Contacts", json={"Contacts": [{"Name": "Batch One Ltd"}, {"Name": ""},
                                                     {"Name": "Batch One Ltd"}]}, expect=400)
    first, empty, dup = body["Elements"]
    assert first["ValidationErrors"] == [] and first["ContactID"] == "00000000-0000-0000-0000-000000000000"
    assert empty["ValidationErrors"] == [{"Message": "The contact name must be specified."}]
    assert "already assigned" in dup["ValidationErrors"][0]["Message"]
    assert api("GET", "Contacts", params={"where": 'Name=="Batch One Ltd"'})["Contacts"] == []


@pytest.mark.parametrize("data,kind", [
    ("{not json", "PostDataInvalidException"),
    ('{"Contacts": "nope"}', "PostDataInvalidException"),
    ('{"Contacts": [{"Name": {"first": "x"}}]}', "PostDataInvalidException"),
    ('{"Contacts": [{"Name": "X", "ContactID": "123"}]}', "PostDataInvalidException"),
    ('{"Contacts": [{"Name": "X", "ContactStatus": "SLEEPING"}]}', "PostDataInvalidException"),
    ('{"Contacts": [{"Name": "X", "IsCustomer": "perhaps"}]}', "PostDataInvalidException"),
    ("", "NoDataProcessedException"),
    ('{"Contacts": []}', "NoDataProcessedException"),
])
def test_bad_bodies_get_xero_errors_not_500s(api, data, kind):
    body = api("POST", "Contacts", data=data, headers={"Content-Type": "application/json"}, expect=400)
    assert body["Type"] == kind and "ErrorNumber" in body and body["Message"]


def test_unknown_contact_id_on_update(api):
    assert api("POST", "Contacts/00000000-0000-0000-0000-0000000000aa", json={"Name": "Ghost"}, expect=404)
    body = api("POST", "Contacts", json={"ContactID": "00000000-0000-0000-0000-0000000000aa", "Name": "Ghost"},
               expect=400)
    assert "could not be found" in body["Elements"][0]["ValidationErrors"][0]["Message"]


def test_archive_and_merge_through_admin(sb, api):
    sb.archive_contact(ABBOTT)
    assert ABBOTT not in {c["ContactID"] for c in api("GET", "Contacts")["Contacts"]}
    got = api("GET", f"Contacts/{ABBOTT}")["Contacts"][0]
    assert got["ContactStatus"] == "ARCHIVED"
    sb.merge_contact("921ca1af-73bd-538a-8846-f00f6420dc8e", into=ABBOTT)
    merged = api("GET", "Contacts/921ca1af-73bd-538a-8846-f00f6420dc8e")["Contacts"][0]
    assert (merged["ContactStatus"], merged["MergedToContactID"]) == ("ARCHIVED", ABBOTT)
    r = sb.http.post(f"{sb.url}/_sandbox/contacts/{ABBOTT}/merge", json={"into": ABBOTT})
    assert r.status_code == 400


def _by_type(entries, key):
    return {e[key]: e for e in entries}


def test_update_merges_addresses_and_phones_by_type(api):
    api("POST", f"Contacts/{ABBOTT}", json={
        "Addresses": [{"AddressType": "STREET", "AddressLine1": "1 High Street", "City": "Leeds",
                       "PostalCode": "LS1 1AA"}],
        "Phones": [{"PhoneType": "MOBILE", "PhoneNumber": "07700 900123"},
                   {"PhoneType": "DDI", "PhoneNumber": "0113 496 0000"}]})
    body = api("POST", f"Contacts/{ABBOTT}", json={
        "Addresses": [{"AddressType": "POBOX", "AddressLine1": "PO Box 12", "City": "York"}],
        "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "0113 496 0999", "PhoneAreaCode": "0113"}]})
    for got in (body["Contacts"][0], api("GET", f"Contacts/{ABBOTT}")["Contacts"][0]):
        addresses = _by_type(got["Addresses"], "AddressType")
        assert addresses["STREET"]["AddressLine1"] == "1 High Street" and addresses["STREET"]["City"] == "Leeds"
        assert addresses["POBOX"]["AddressLine1"] == "PO Box 12" and addresses["POBOX"]["City"] == "York"
        phones = _by_type(got["Phones"], "PhoneType")
        assert set(phones) == {"DEFAULT", "DDI", "FAX", "MOBILE"}
        assert (phones["DEFAULT"]["PhoneNumber"], phones["DEFAULT"]["PhoneAreaCode"]) == ("0113 496 0999", "0113")
        assert phones["MOBILE"]["PhoneNumber"] == "07700 900123" and phones["DDI"]["PhoneNumber"] == "0113 496 0000"


def test_fields_sent_replace_those_fields_and_empty_clears(api):
    api("POST", f"Contacts/{ABBOTT}", json={"Addresses": [
        {"AddressType": "STREET", "AddressLine1": "1 High Street", "AddressLine2": "Unit 4", "City": "Leeds"}]})
    body = api("POST", "Contacts", json={"Contacts": [{"ContactID": ABBOTT, "Addresses": [
        {"AddressType": "STREET", "AddressLine2": "", "City": "Bradford"}]}]})
    street = _by_type(body["Contacts"][0]["Addresses"], "AddressType")["STREET"]
    assert (street["AddressLine1"], street["AddressLine2"], street["City"]) == ("1 High Street", "", "Bradford")
    assert api("POST", f"Contacts/{ABBOTT}", json={"EmailAddress": "x@abbott.co.uk"})["Contacts"][0][
        "Addresses"] == body["Contacts"][0]["Addresses"]  # not sent: kept


def test_new_contact_gets_every_type_and_untyped_entries_take_xeros_default(api):
    body = api("PUT", "Contacts", json={"Name": "Typed Ltd", "Addresses": [{"AddressLine1": "PO Box 9"}],
                                        "Phones": [{"PhoneNumber": "020 7946 0000"},
                                                   {"PhoneType": "office", "PhoneNumber": "020 7946 0001"}]})
    c = body["Contacts"][0]
    addresses = _by_type(c["Addresses"], "AddressType")
    assert set(addresses) == {"STREET", "POBOX"} and addresses["POBOX"]["AddressLine1"] == "PO Box 9"
    phones = _by_type(c["Phones"], "PhoneType")
    assert set(phones) == {"DEFAULT", "DDI", "FAX", "MOBILE", "OFFICE"}
    assert (phones["DEFAULT"]["PhoneNumber"], phones["OFFICE"]["PhoneNumber"]) == ("020 7946 0000", "020 7946 0001")


@pytest.mark.parametrize("data,kind", [
    ({"Addresses": [{"AddressType": "HOME"}]}, "PostDataInvalidException"),
    ({"Phones": ["0113 496 0000"]}, "PostDataInvalidException"),
    ({"Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": {"n": 1}}]}, "PostDataInvalidException"),
    ({"Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "1" * 51}]}, "ValidationException"),
    ({"Addresses": [{"AddressType": "STREET", "PostalCode": "X" * 51}]}, "ValidationException"),
])
def test_bad_addresses_and_phones(api, data, kind):
    before = api("GET", f"Contacts/{ABBOTT}")["Contacts"][0]
    body = api("POST", f"Contacts/{ABBOTT}", json=data, expect=400)
    assert body["Type"] == kind
    assert api("GET", f"Contacts/{ABBOTT}")["Contacts"][0] == before
