"""Invoices: numbering, totals and VAT, validation, status rules, batches, listing, idempotency."""
from __future__ import annotations

import datetime as dt

import pytest

from xero_sandbox import SECOND_TENANT_ID, SOCKET_THEME_ID, STANDARD_THEME_ID

ABBOTT = "f7488d45-ec18-5ff2-9156-b307b4f5f2a9"
KINGFISHER = "690cd19b-a676-5164-af6f-7c0b616f6195"  # archived


def inv(lines=None, **extra):
    doc = {"Type": "ACCREC", "Contact": {"ContactID": ABBOTT}, "Date": "2026-11-01", "DueDate": "2026-11-30",
           "LineItems": lines if lines is not None else
           [{"Description": "Monthly bookkeeping", "Quantity": 1, "UnitAmount": 250, "AccountCode": "200"}]}
    doc.update(extra)
    return doc


def put(api, *invoices, expect=200, **kw):
    return api("PUT", "Invoices", json={"Invoices": list(invoices)}, expect=expect, **kw)


def errors_of(element):
    return [e["Message"] for e in element["ValidationErrors"]]


def test_create_draft_with_xero_fields_and_numbering(api):
    a = put(api, inv())["Invoices"][0]
    assert (a["Type"], a["Status"], a["InvoiceNumber"], a["LineAmountTypes"]) == ("ACCREC", "DRAFT", "INV-0001",
                                                                                  "Exclusive")
    assert a["Date"] == "/Date(1793491200000+0000)/" and a["DateString"] == "2026-11-01T00:00:00"
    assert a["DueDateString"] == "2026-11-30T00:00:00"
    assert a["Contact"]["ContactID"] == ABBOTT and a["Contact"]["Name"] == "Abbott & Sons Ltd"
    assert a["BrandingThemeID"] == STANDARD_THEME_ID and a["CurrencyCode"] == "GBP"
    line = a["LineItems"][0]
    assert (line["AccountCode"], line["TaxType"], line["LineAmount"], line["TaxAmount"]) == ("200", "OUTPUT2",
                                                                                         250.0, 50.0)
    assert (a["SubTotal"], a["TotalTax"], a["Total"], a["AmountDue"]) == (250.0, 50.0, 300.0, 300.0)
    b = put(api, inv(Reference="Q4"))["Invoices"][0]
    assert b["InvoiceNumber"] == "INV-0002" and b["Reference"] == "Q4"


def test_numbers_are_per_organisation(sb, validate):
    token = sb.connect(tenants=[SECOND_TENANT_ID])["access_token"]
    contact = validate(sb.api("GET", "Contacts", token, tenant_id=SECOND_TENANT_ID), 200)["Contacts"][0]
    body = validate(sb.api("PUT", "Invoices", token, tenant_id=SECOND_TENANT_ID, json=inv(
        Contact={"ContactID": contact["ContactID"]})), 200)
    assert body["Invoices"][0]["InvoiceNumber"] == "INV-0001"


@pytest.mark.parametrize("amount_types,lines,expected", [
    # without unitdp=4 Xero rounds the unit amount to 2 places first: 3 x 33.34
    ("Exclusive", [{"Quantity": 3, "UnitAmount": "33.335", "AccountCode": "200"}], (100.02, 20.0, 120.02)),
    ("Inclusive", [{"Quantity": 1, "UnitAmount": 120, "AccountCode": "200"}], (100.0, 20.0, 120.0)),
    ("NoTax", [{"Quantity": 2, "UnitAmount": 50, "AccountCode": "200"}], (100.0, 0.0, 100.0)),
    ("Exclusive", [{"Quantity": 1, "UnitAmount": 100, "AccountCode": "200", "TaxType": "RROUTPUT"}],
     (100.0, 5.0, 105.0)),
    ("Exclusive", [{"Quantity": 1, "UnitAmount": 200, "AccountCode": "210", "DiscountRate": 10}],
     (180.0, 36.0, 216.0)),
    ("Exclusive", [{"Quantity": 1, "UnitAmount": 80, "AccountCode": "270"},
                   {"Quantity": 1, "UnitAmount": 20, "AccountCode": "230"}], (100.0, 0.0, 100.0)),
])
def test_totals_and_vat(api, amount_types, lines, expected):
    for line in lines:
        line["Description"] = "Work"
    body = put(api, inv(lines, LineAmountTypes=amount_types))["Invoices"][0]
    assert (body["SubTotal"], body["TotalTax"], body["Total"]) == expected


def test_unitdp_4_keeps_four_places(api):
    lines = [{"Description": "Work", "Quantity": 3, "UnitAmount": "33.335", "AccountCode": "200"}]
    body = put(api, inv(lines), params={"unitdp": 4})["Invoices"][0]
    assert body["LineItems"][0]["UnitAmount"] == 33.335 and (body["SubTotal"], body["Total"]) == (100.01, 120.01)


def test_tax_type_defaults_from_the_account(api):
    lines = [{"Description": "Interest", "UnitAmount": 10, "AccountCode": "270"},
             {"Description": "Training", "UnitAmount": 10, "AccountCode": "230"}]
    got = [line["TaxType"] for line in put(api, inv(lines))["Invoices"][0]["LineItems"]]
    assert got == ["NONE", "EXEMPTOUTPUT"]


def test_branding_theme_kept_or_rejected(api):
    assert put(api, inv(BrandingThemeID=SOCKET_THEME_ID))["Invoices"][0]["BrandingThemeID"] == SOCKET_THEME_ID
    body = put(api, inv(BrandingThemeID="00000000-0000-0000-0000-000000000001"), expect=400)
    assert "branding theme" in errors_of(body["Elements"][0])[0]


@pytest.mark.parametrize("change,message", [
    ({"Contact": None}, "A Contact must be specified for this type of transaction"),
    ({"Contact": {"ContactID": "00000000-0000-0000-0000-0000000000ab"}},
     "The contact with the specified ContactID could not be found"),
    ({"Contact": {"ContactID": KINGFISHER}},
     "The contact 'Kingfisher Hotels Ltd' is archived and cannot be used on this transaction."),
    ({"code": "999"}, "Account code '999' is not a valid code for this document."),
    ({"code": "215"},
     "Account code '215' has been archived, or deleted. Each line item must reference a valid account."),
    ({"code": "225"},
     "Account code '225' has been archived, or deleted. Each line item must reference a valid account."),
    ({"code": "400"}, "Account code '400' is not a valid code for this document."),
    ({"code": "090"}, "Account code '090' is not a valid code for this document."),
    ({"tax": "INPUT2"}, "The TaxType code 'INPUT2' does not exist or cannot be used for this type of transaction."),
    ({"tax": "GST15"}, "The TaxType code 'GST15' does not exist or cannot be used for this type of transaction."),
    ({"description": ""}, "The description field is mandatory for each line item."),
    ({"Status": "AUTHORISED", "DueDate": None}, "Due Date must be specified."),
    ({"Status": "AUTHORISED", "code": None}, "Account code must be specified for each line item."),
    ({"CurrencyCode": "USD"}, "The currency code USD is not enabled for this organisation."),
    ({"LineAmount": 99}, "The line total 99.00 does not match the expected line total 250.00"),
])
def test_validation_messages(api, change, message):
    change = dict(change)
    line = {"Description": change.pop("description", "Work"), "Quantity": 1, "UnitAmount": 250,
            "AccountCode": change.pop("code", "200")}
    if line["AccountCode"] is None:
        del line["AccountCode"]
    if "tax" in change:
        line["TaxType"] = change.pop("tax")
    if "LineAmount" in change:
        line["LineAmount"] = change.pop("LineAmount")
    doc = inv([line])
    for k, v in change.items():
        if v is None:
            doc.pop(k, None)
        else:
            doc[k] = v
    body = put(api, doc, expect=400)
    assert body["Type"] == "ValidationException"
    assert message in errors_of(body["Elements"][0])
    assert api("GET", "Invoices")["Invoices"] == []


def test_status_transitions(api):
    draft = put(api, inv())["Invoices"][0]
    iid = draft["InvoiceID"]
    auth = api("POST", f"Invoices/{iid}", json={"Status": "AUTHORISED"})["Invoices"][0]
    assert auth["Status"] == "AUTHORISED" and auth["InvoiceNumber"] == draft["InvoiceNumber"]
    body = api("POST", f"Invoices/{iid}", json={"Status": "DELETED"}, expect=400)
    assert errors_of(body["Elements"][0]) == [
        "Invoice not of valid status for modification: an AUTHORISED invoice can be VOIDED, not DELETED."]
    body = api("POST", f"Invoices/{iid}", json={"Status": "DRAFT"}, expect=400)
    assert errors_of(body["Elements"][0])[0].startswith("Invoice not of valid status for modification")
    voided = api("POST", "Invoices", json={"InvoiceID": iid, "Status": "VOIDED"})["Invoices"][0]
    assert voided["Status"] == "VOIDED" and voided["AmountDue"] == 0
    body = api("POST", f"Invoices/{iid}", json={"Reference": "too late"}, expect=400)
    assert "VOIDED" in errors_of(body["Elements"][0])[0]
    other = put(api, inv())["Invoices"][0]
    assert api("POST", f"Invoices/{other['InvoiceID']}", json={"Status": "DELETED"})["Invoices"][0]["Status"] == \
        "DELETED"
    assert put(api, inv(Status="VOIDED"), expect=400)["Elements"][0]["ValidationErrors"]


def test_update_replaces_lines_and_keeps_line_ids(api):
    first = put(api, inv())["Invoices"][0]
    line_id = first["LineItems"][0]["LineItemID"]
    body = api("POST", f"Invoices/{first['InvoiceID']}", json={"LineItems": [
        {"LineItemID": line_id, "Description": "Bookkeeping (revised)", "UnitAmount": 300, "AccountCode": "200"},
        {"Description": "Payroll", "UnitAmount": 50, "AccountCode": "220"}]})
    updated = body["Invoices"][0]
    assert [line["Description"] for line in updated["LineItems"]] == ["Bookkeeping (revised)", "Payroll"]
    assert updated["LineItems"][0]["LineItemID"] == line_id and updated["Total"] == 420.0


def test_batch_summarize_errors_false_creates_valid_ones(api):
    body = put(api, inv(), inv(Contact={"ContactID": KINGFISHER}), inv(Reference="ok too"),
               params={"summarizeErrors": "false"})
    a, bad, c = body["Invoices"]
    assert a["StatusAttributeString"] == "OK" and a["InvoiceNumber"] == "INV-0001"
    assert bad["StatusAttributeString"] == "ERROR" and bad["HasErrors"] is True and "InvoiceNumber" not in bad
    assert "archived" in errors_of(bad)[0]
    assert c["InvoiceNumber"] == "INV-0002"
    assert len(api("GET", "Invoices")["Invoices"]) == 2


def test_batch_with_error_creates_nothing_and_burns_no_numbers(api):
    body = put(api, inv(), inv(LineItems=[{"Description": "x", "UnitAmount": 1, "AccountCode": "215"}]), expect=400)
    ok, bad = body["Elements"]
    assert ok["ValidationErrors"] == [] and ok["InvoiceID"] == "00000000-0000-0000-0000-000000000000"
    assert bad["ValidationErrors"]
    assert put(api, inv())["Invoices"][0]["InvoiceNumber"] == "INV-0001"


def test_invoice_numbers_must_be_unique(api):
    put(api, inv(InvoiceNumber="SKT-100"))
    body = put(api, inv(InvoiceNumber="SKT-100"), expect=400)
    assert errors_of(body["Elements"][0]) == ["Invoice # must be unique."]


def test_contact_by_name_reuses_or_creates(api):
    a = put(api, inv(Contact={"Name": "abbott & sons ltd"}))["Invoices"][0]
    assert a["Contact"]["ContactID"] == ABBOTT
    b = put(api, inv(Contact={"Name": "Brand New Client Ltd"}))["Invoices"][0]
    created = api("GET", f"Contacts/{b['Contact']['ContactID']}")["Contacts"][0]
    assert created["Name"] == "Brand New Client Ltd" and created["IsCustomer"] is True


def test_listing_filters_and_line_items(sb, api):
    before = sb.state()["now_ms"]
    a = put(api, inv())["Invoices"][0]
    b = put(api, inv(Status="AUTHORISED", Contact={"ContactID": "8a4adf89-68ef-5759-9480-b21b2a619d94"}))[
        "Invoices"][0]
    plain = api("GET", "Invoices")["Invoices"]
    assert [i["InvoiceNumber"] for i in plain] == ["INV-0001", "INV-0002"] and "LineItems" not in plain[0]
    paged = api("GET", "Invoices", params={"page": 1})
    assert paged["pagination"]["itemCount"] == 2 and paged["Invoices"][0]["LineItems"]
    assert [i["InvoiceID"] for i in api("GET", "Invoices", params={"Statuses": "AUTHORISED"})["Invoices"]] == \
        [b["InvoiceID"]]
    assert api("GET", "Invoices", params={"IDs": a["InvoiceID"]})["Invoices"][0]["LineItems"]
    assert [i["InvoiceID"] for i in api("GET", "Invoices", params={"InvoiceNumbers": "INV-0002"})["Invoices"]] == \
        [b["InvoiceID"]]
    assert [i["InvoiceID"] for i in api("GET", "Invoices", params={"ContactIDs": ABBOTT})["Invoices"]] == \
        [a["InvoiceID"]]
    assert [i["InvoiceID"] for i in api("GET", "Invoices", params={"where": 'Status=="DRAFT"'})["Invoices"]] == \
        [a["InvoiceID"]]
    assert [i["InvoiceID"] for i in api("GET", "Invoices", params={
        "where": f'Contact.ContactID==Guid("{ABBOTT}")'})["Invoices"]] == [a["InvoiceID"]]
    since = dt.datetime.fromtimestamp(before / 1000, dt.UTC).isoformat()
    assert len(api("GET", "Invoices", headers={"If-Modified-Since": since})["Invoices"]) == 2
    assert api("GET", "Invoices", headers={"If-Modified-Since": "2099-01-01T00:00:00"})["Invoices"] == []
    assert api("GET", "Invoices/INV-0002")["Invoices"][0]["InvoiceID"] == b["InvoiceID"]
    assert api("GET", f"Invoices/{a['InvoiceID']}")["Invoices"][0]["LineItems"][0]["AccountCode"] == "200"


def test_idempotency_key_replays_and_refuses_a_different_body(api):
    key = {"Idempotency-Key": "k-1"}
    r1, first = api("PUT", "Invoices", json={"Invoices": [inv()]}, headers=key, raw=True)
    r2, again = api("PUT", "Invoices", json={"Invoices": [inv()]}, headers=key, raw=True)
    assert again == first and len(api("GET", "Invoices")["Invoices"]) == 1
    body = api("PUT", "Invoices", json={"Invoices": [inv(Reference="changed")]}, headers=key, expect=400)
    assert errors_of(body["Elements"][0]) == ["The Idempotency-Key has already been used for a different request."]
    body = api("PUT", "Invoices", json={"Invoices": [inv()]}, headers={"Idempotency-Key": "x" * 129}, expect=400)
    assert errors_of(body["Elements"][0]) == ["The Idempotency-Key header must be between 1 and 128 characters."]
    assert len(api("GET", "Invoices")["Invoices"]) == 1
    # a validation failure is replayed too, without re-validating
    bad = {"Invoices": [inv(Contact={"ContactID": KINGFISHER})]}
    e1 = api("PUT", "Invoices", json=bad, headers={"Idempotency-Key": "k-2"}, expect=400)
    assert api("PUT", "Invoices", json=bad, headers={"Idempotency-Key": "k-2"}, expect=400) == e1


@pytest.mark.parametrize("doc,fragment", [
    (inv(LineItems=[{"Description": "x", "UnitAmount": "abc", "AccountCode": "200"}]), "decimal"),
    (inv(Date="not a date"), "DateTime"),
    (inv(Type="FOO"), "InvoiceType"),
    (inv(LineItems="nope"), "LineItems"),
    (inv(Contact="Abbott"), "Contact"),
])
def test_wrong_types_are_post_data_invalid(api, doc, fragment):
    body = put(api, doc, expect=400)
    assert body["Type"] == "PostDataInvalidException" and fragment in body["Message"]


def test_unknown_invoice_update_is_404(api):
    assert api("POST", "Invoices/00000000-0000-0000-0000-0000000000cd", json={"Status": "AUTHORISED"},
               expect=404) == "The resource you're looking for cannot be found"


def test_idempotency_key_in_flight_is_a_409(sb, api):
    # the first request with this key is still being processed (its row has no stored answer yet)
    with sb.sandbox.store.tx() as db:
        db.execute("INSERT INTO idempotency (client_id, tenant_id, key, fingerprint, created_ms) VALUES (?,?,?,?,?)",
                   (sb.client_id, "b4a6b0b2-2d4e-4f8a-9c1e-5d0e6f7a8b90", "busy", "x", sb.sandbox.now_ms()))
    body = api("PUT", "Invoices", json={"Invoices": [inv()]}, headers={"Idempotency-Key": "busy"}, expect=400)
    assert "different request" in errors_of(body["Elements"][0])[0]  # a different fingerprint wins over "in progress"
    fp_row = {"Idempotency-Key": "busy2"}
    with sb.sandbox.store.tx() as db:
        import hashlib
        fingerprint = hashlib.sha256(b"\n".join([b"PUT", b"/api.xro/2.0/invoices", b"",
                                                 b'{"Invoices": []}'])).hexdigest()
        db.execute("INSERT INTO idempotency (client_id, tenant_id, key, fingerprint, created_ms) VALUES (?,?,?,?,?)",
                   (sb.client_id, "b4a6b0b2-2d4e-4f8a-9c1e-5d0e6f7a8b90", "busy2", fingerprint, sb.sandbox.now_ms()))
    r, body = api("PUT", "Invoices", data='{"Invoices": []}', headers={**fp_row, "Content-Type": "application/json"},
                  expect=409, raw=True)
    assert body["Title"] == "Conflict"


BAD_ELEMENTS = {
    "archived contact": (inv(Contact={"ContactID": KINGFISHER}),
                         ["The contact 'Kingfisher Hotels Ltd' is archived and cannot be used on this transaction."]),
    "unknown contact": (inv(Contact={"ContactID": "00000000-0000-0000-0000-0000000000ab"}),
                        ["The contact with the specified ContactID could not be found"]),
    "archived account": (inv([{"Description": "x", "UnitAmount": 1, "AccountCode": "215"}]),
                         ["Account code '215' has been archived, or deleted. Each line item must reference a valid "
                          "account."]),
    "deleted account": (inv([{"Description": "x", "UnitAmount": 1, "AccountCode": "225"}]),
                        ["Account code '225' has been archived, or deleted. Each line item must reference a valid "
                         "account."]),
    "unknown account": (inv([{"Description": "x", "UnitAmount": 1, "AccountCode": "999"}]),
                        ["Account code '999' is not a valid code for this document."]),
    "unknown tax type": (inv([{"Description": "x", "UnitAmount": 1, "AccountCode": "200", "TaxType": "GST15"}]),
                         ["The TaxType code 'GST15' does not exist or cannot be used for this type of transaction."]),
    "tax type not for the account": (
        inv([{"Description": "x", "UnitAmount": 1, "AccountCode": "200", "TaxType": "INPUT2"}]),
        ["The TaxType code 'INPUT2' does not exist or cannot be used for this type of transaction.",
         "The TaxType code 'INPUT2' cannot be used with account code '200'."]),
    "duplicate number": (inv(InvoiceNumber="SKT-7"), ["Invoice # must be unique."]),
    "unknown branding theme": (inv(BrandingThemeID="00000000-0000-0000-0000-000000000001"),
                               ["BrandingThemeID 00000000-0000-0000-0000-000000000001 is not a valid branding theme "
                                "for this organisation."]),
    "invalid line amount types": (inv(LineAmountTypes="Gross"),
                                  ["LineAmountTypes 'Gross' is not valid: use Exclusive, Inclusive or NoTax."]),
}


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_batch_of_50_reports_each_elements_own_result(sb, api, method):
    put(api, inv(InvoiceNumber="SKT-7"))  # INV numbering is not used by a given number
    bad = list(BAD_ELEMENTS.values())
    batch, expected = [], []
    for i in range(50):
        if i % 5 == 2 and bad:
            doc, messages = bad.pop(0)
            batch.append(doc)
            expected.append(messages)
        else:
            batch.append(inv(Reference=f"ok-{i}"))
            expected.append(None)
    assert not bad
    body = api(method, "Invoices", json={"Invoices": batch}, params={"summarizeErrors": "false"})
    results = body["Invoices"]
    assert len(results) == 50
    numbers = []
    for got, messages in zip(results, expected, strict=True):
        if messages is None:
            assert (got["StatusAttributeString"], got["HasErrors"]) == ("OK", False)
            assert "ValidationErrors" not in got or got["ValidationErrors"] == []
            numbers.append(got["InvoiceNumber"])
        else:
            assert (got["StatusAttributeString"], got["HasErrors"]) == ("ERROR", True)
            assert errors_of(got) == messages, got
            assert "InvoiceID" not in got
    assert numbers == [f"INV-{n:04d}" for n in range(1, 41)]
    stored = {i["Reference"] for i in api("GET", "Invoices")["Invoices"]}
    assert stored == {""} | {f"ok-{i}" for i in range(50) if i % 5 != 2}
    assert sb.state()["invoices_received"] == 41


def test_duplicate_numbers_within_one_batch(api):
    body = put(api, inv(InvoiceNumber="SKT-9"), inv(InvoiceNumber=" SKT-9 "), params={"summarizeErrors": "false"})
    first, second = body["Invoices"]
    assert (first["StatusAttributeString"], first["InvoiceNumber"]) == ("OK", "SKT-9")
    assert second["StatusAttributeString"] == "ERROR" and errors_of(second) == ["Invoice # must be unique."]
    assert len(api("GET", "Invoices")["Invoices"]) == 1


def test_invalid_line_amount_types_is_an_element_error(api):
    body = put(api, inv(LineAmountTypes="Gross"), expect=400)
    assert body["Type"] == "ValidationException" and "LineAmountTypes" not in body["Elements"][0]
    assert errors_of(body["Elements"][0]) == ["LineAmountTypes 'Gross' is not valid: use Exclusive, Inclusive or "
                                              "NoTax."]
    assert put(api, inv(LineAmountTypes="notax"))["Invoices"][0]["LineAmountTypes"] == "NoTax"


def test_numbers_come_from_the_sequence_and_skip_taken_ones(api):
    assert put(api, inv())["Invoices"][0]["InvoiceNumber"] == "INV-0001"
    put(api, inv(InvoiceNumber="INV-0002"), inv(InvoiceNumber="MANUAL-1"))
    assert put(api, inv())["Invoices"][0]["InvoiceNumber"] == "INV-0003"
    assert put(api, inv(InvoiceNumber=""))["Invoices"][0]["InvoiceNumber"] == "INV-0004"


def test_where_reference_or_clauses_and_other_filters(sb, api):
    made = put(api, *[inv(Reference=f"SKT-{n}") for n in range(1, 6)])["Invoices"]
    ids = {i["Reference"]: i["InvoiceID"] for i in made}

    def refs(**params):
        return [i["Reference"] for i in api("GET", "Invoices", params=params)["Invoices"]]

    assert refs(where='Reference=="SKT-2"') == ["SKT-2"]
    assert refs(where='Reference=="SKT-1" OR Reference=="SKT-4" OR Reference=="nope"') == ["SKT-1", "SKT-4"]
    assert refs(where='(Reference=="SKT-1" OR Reference=="SKT-3") AND Status=="DRAFT"', page=1) == ["SKT-1", "SKT-3"]
    assert refs(where='Reference=="SKT-5" OR Reference=="SKT-3"', order="Reference") == ["SKT-3", "SKT-5"]
    assert refs(InvoiceNumbers="INV-0002,INV-0005") == ["SKT-2", "SKT-5"]
    assert refs(IDs=f"{ids['SKT-3']},{ids['SKT-1'].upper()}") == ["SKT-1", "SKT-3"]
    assert refs(ContactIDs=ABBOTT, Statuses="DRAFT,AUTHORISED") == [f"SKT-{n}" for n in range(1, 6)]
    assert refs(ContactIDs=KINGFISHER) == [] and refs(Statuses="PAID") == []
    paged = api("GET", "Invoices", params={"page": 2, "pageSize": 2})
    assert [i["Reference"] for i in paged["Invoices"]] == ["SKT-3", "SKT-4"] and paged["pagination"]["pageCount"] == 3


def test_summary_only_leaves_out_lines_and_payments(api):
    made = put(api, inv(Status="AUTHORISED"))["Invoices"][0]
    for params in ({"summaryOnly": "true"}, {"summaryOnly": "true", "page": 1},
                   {"summaryOnly": "true", "IDs": made["InvoiceID"]}):
        (got,) = api("GET", "Invoices", params=params)["Invoices"]
        assert "LineItems" not in got and "Payments" not in got
        assert (got["InvoiceID"], got["Total"], got["AmountDue"]) == (made["InvoiceID"], 300.0, 300.0)


def test_if_modified_since_sees_changes_only(sb, api):
    old = put(api, inv(Reference="old"))["Invoices"][0]
    since = dt.datetime.fromtimestamp((sb.state()["now_ms"] + 1) / 1000, dt.UTC).isoformat()
    new = put(api, inv(Reference="new"))["Invoices"][0]
    got = api("GET", "Invoices", headers={"If-Modified-Since": since})["Invoices"]
    assert [i["InvoiceID"] for i in got] == [new["InvoiceID"]]
    api("POST", f"Invoices/{old['InvoiceID']}", json={"Reference": "old, changed"})
    got = api("GET", "Invoices", headers={"If-Modified-Since": since})["Invoices"]
    assert [i["Reference"] for i in got] == ["old, changed", "new"]


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_same_idempotency_key_and_body_replays_without_creating(sb, api, method):
    key = {"Idempotency-Key": f"batch-{method}"}
    batch = {"Invoices": [inv(Reference="a"), inv(Reference="b")]}
    first = api(method, "Invoices", json=batch, headers=key, params={"summarizeErrors": "false"})
    events = sb.state()["webhook_events_pending"]
    again = api(method, "Invoices", json=batch, headers=key, params={"summarizeErrors": "false"})
    assert again == first
    assert sb.state()["invoices_received"] == 2 and sb.state()["webhook_events_pending"] == events
    body = api(method, "Invoices", json=batch, headers=key, expect=400)  # the query differs
    assert "different request" in errors_of(body["Elements"][0])[0]


def test_lost_response_on_an_invoice_post_was_committed(sb, token, validate):
    import requests
    sb.faults(lose_response=1)
    with pytest.raises(requests.ConnectionError):
        sb.api("POST", "Invoices", token, json={"Invoices": [inv(Reference="lost")]},
               headers={"Idempotency-Key": "post-1"})
    (stored,) = sb.invoices()
    assert (stored["Reference"], stored["InvoiceNumber"]) == ("lost", "INV-0001")
    body = validate(sb.api("POST", "Invoices", token, json={"Invoices": [inv(Reference="lost")]},
                           headers={"Idempotency-Key": "post-1"}), 200)
    assert body["Invoices"][0]["InvoiceID"] == stored["InvoiceID"] and len(sb.invoices()) == 1
