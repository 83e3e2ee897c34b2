"""Every kind of 400 the Accounting API gives is Xero's Error body (ErrorNumber, Type, Message and, for a
ValidationException, Elements[].ValidationErrors[].Message), checked against the spec's Error schema; the
identity server's 400s keep OAuth's {"error": ...}."""
from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import jsonschema
import pytest
from werkzeug.exceptions import BadRequest

from .conftest import check_xero_400

ABBOTT = "f7488d45-ec18-5ff2-9156-b307b4f5f2a9"
KINGFISHER = "690cd19b-a676-5164-af6f-7c0b616f6195"  # archived


def inv(**extra):
    return {"Type": "ACCREC", "Contact": {"ContactID": ABBOTT}, "DueDate": "2026-11-30",
            "LineItems": [{"Description": "Bookkeeping", "Quantity": 1, "UnitAmount": 250, "AccountCode": "200"}],
            **extra}


RAW = {"Content-Type": "application/json"}
LONG_KEY = {"Idempotency-Key": "k" * 129}


def case(name, method, path, number, fragment, first=None, **kw):
    """One request that must be a 400 with ErrorNumber `number` and `fragment` among its messages; `first` is
    a request made before it (method, path, kwargs)."""
    return pytest.param(method, path, kw, number, fragment, first, id=name)


BAD_REQUESTS = [
    case("where-syntax", "GET", "Contacts", 16, "", params={"where": 'Name=="a" AND (ContactStatus'}),
    case("where-unknown-field", "GET", "Invoices", 16, "Colour", params={"where": 'Colour=="red"'}),
    case("where-unsupported-method", "GET", "Contacts", 16, "Explode", params={"where": 'Name.Explode("x")'}),
    case("where-bad-datetime", "GET", "Contacts", 16, "DateTime",
         params={"where": "UpdatedDateUTC >= DateTime(2026, 13, 1)"}),
    case("where-on-accounts", "GET", "Accounts", 16, "", params={"where": "Code =="}),
    case("order-unknown-field", "GET", "Invoices", 16, "No property or field 'Colour' exists in type 'Invoice'",
         params={"order": "Colour DESC"}),
    case("order-bad-direction", "GET", "Contacts", 16, "Name SIDEWAYS", params={"order": "Name SIDEWAYS"}),
    case("order-on-tax-rates", "GET", "TaxRates", 16, "TaxRate", params={"order": "Rate"}),
    case("invoice-ids", "GET", "Invoices", 16, "IDs", params={"IDs": "INV-0001"}),
    case("contact-ids", "GET", "Contacts", 16, "IDs", params={"IDs": "abbott"}),
    case("invoice-contact-ids", "GET", "Invoices", 16, "ContactIDs", params={"ContactIDs": f"{ABBOTT},nope"}),
    case("malformed-json", "PUT", "Invoices", 14, "JSON for post data was invalid", data="{not json",
         headers=RAW),
    case("wrong-root-type", "POST", "Contacts", 14, "Contact", data='{"Contacts": "nope"}', headers=RAW),
    case("wrong-field-type", "POST", "Contacts", 14, "Name", json={"Name": {"first": "x"}}),
    case("bad-date", "PUT", "Invoices", 14, "DateTime", json=inv(Date="someday")),
    case("bad-decimal", "PUT", "Invoices", 14, "decimal",
         json=inv(LineItems=[{"Description": "x", "UnitAmount": "lots", "AccountCode": "200"}])),
    case("bad-phone-type", "POST", "Contacts", 14, "PhoneType",
         json={"Name": "Phone Ltd", "Phones": [{"PhoneType": "PAGER"}]}),
    case("empty-body", "PUT", "Invoices", 17, "Invoice", data="", headers=RAW),
    case("empty-list", "POST", "Contacts", 17, "Contact", json={"Contacts": []}),
    case("invalid-invoice-in-batch", "PUT", "Invoices", 10, "archived",
         json={"Invoices": [inv(), inv(Contact={"ContactID": KINGFISHER})]}),
    case("invalid-invoice-summarize-true", "POST", "Invoices", 10, "Invoice # must be unique.",
         first=("PUT", "Invoices", {"json": inv(InvoiceNumber="SKT-1")}),
         params={"summarizeErrors": "true"}, json=inv(InvoiceNumber="SKT-1")),
    case("invoice-status-change", "POST", "Invoices/INV-0001", 10, "Invoice not of valid status for modification",
         first=("PUT", "Invoices", {"json": inv(Status="AUTHORISED")}), json={"Status": "DRAFT"}),
    case("invalid-contact", "POST", "Contacts", 10, "already assigned", json={"Name": "Abbott & Sons Ltd"}),
    case("contact-update", "POST", f"Contacts/{ABBOTT}", 10, "The contact name must be specified.",
         json={"Name": " "}),
    case("idempotency-key-too-long", "PUT", "Invoices", 10, "between 1 and 128 characters", json=inv(),
         headers=LONG_KEY),
    case("idempotency-key-blank", "POST", "Contacts", 10, "between 1 and 128 characters",
         json={"Name": "Blank Key Ltd"}, headers={"Idempotency-Key": ""}),
    case("idempotency-key-reused", "PUT", "Invoices", 10, "already been used for a different request",
         first=("PUT", "Invoices", {"json": inv(Reference="first"), "headers": {"Idempotency-Key": "key-1"}}),
         json=inv(Reference="second"), headers={"Idempotency-Key": "key-1"}),
    case("idempotency-key-reused-on-another-path", "POST", f"Contacts/{ABBOTT}", 10, "different request",
         first=("POST", "Contacts", {"json": {"Name": "Keyed Ltd"}, "headers": {"Idempotency-Key": "key-2"}}),
         json={"Name": "Keyed Ltd"}, headers={"Idempotency-Key": "key-2"}),
]


def _messages(body: dict) -> list[str]:
    return [body["Message"]] + [m["Message"] for e in body.get("Elements", []) for m in e["ValidationErrors"]]


@pytest.mark.parametrize("method,path,kw,number,fragment,first", BAD_REQUESTS)
def test_every_accounting_400_is_xeros_error_body(sb, token, validate, method, path, kw, number, fragment,
                                                  first):
    if first:
        validate(sb.api(first[0], first[1], token, **first[2]), 200)
    r = sb.api(method, path, token, **kw)
    body = validate(r, 400)  # the spec's Error schema plus check_xero_400's stricter reading
    assert r.headers["Content-Type"].startswith("application/json")
    assert body["ErrorNumber"] == number, body
    assert any(fragment in m for m in _messages(body)), body
    assert set(body) <= {"ErrorNumber", "Type", "Message", "Elements"}


def test_a_validation_400_example_body(sb, token, validate):
    body = validate(sb.api("PUT", "Invoices", token, json=inv(), headers=LONG_KEY), 400)
    assert body == {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
                    "Elements": [{"ValidationErrors": [
                        {"Message": "The Idempotency-Key header must be between 1 and 128 characters."}]}]}
    assert sb.invoices() == []


def test_the_checker_refuses_other_400_shapes(validate):
    for body in ({"Type": None, "Title": "Bad Request", "Status": 400, "Detail": "x", "Instance": "i",
                  "Extensions": {}},
                 {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred"},
                 {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred",
                  "Elements": [{"ValidationErrors": [{"Message": 5}]}]},
                 {"ErrorNumber": 16, "Type": "ValidationException", "Message": "x"},
                 {"error": "invalid_request"}):
        with pytest.raises((AssertionError, jsonschema.ValidationError)):
            check_xero_400(body, validate.error_schema)


def test_a_request_werkzeug_cannot_read_is_post_data_invalid(sb, token):
    """A body (valid JSON as far as it goes) shorter than its Content-Length: werkzeug's 400 (ClientDisconnected)
    in Xero's shape."""
    url = urlsplit(sb.url)
    head = (f"PUT /api.xro/2.0/Invoices HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {token}\r\n"
            f"xero-tenant-id: {sb.DEMO_TENANT_ID}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n"
            "Connection: close\r\n\r\n")
    with socket.create_connection((url.hostname, url.port), timeout=10) as s:
        s.sendall(head.encode() + json.dumps({"Invoices": [inv()]}).encode())
        s.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    status_line, _, rest = raw.partition(b"\r\n")
    assert b" 400 " in status_line, raw[:300]
    body = json.loads(rest.split(b"\r\n\r\n", 1)[1])
    assert (body["ErrorNumber"], body["Type"]) == (14, "PostDataInvalidException")
    assert body["Message"].startswith("JSON request body could not be read, ")
    assert sb.invoices() == []


def test_werkzeug_400s_elsewhere_keep_their_shape(sb):
    with sb.app.test_request_context("/api.xro/2.0/Contacts", method="POST"):
        api_body = json.loads(sb.app.handle_user_exception(BadRequest("unreadable")).get_data())
    with sb.app.test_request_context("/_sandbox/orgs", method="POST"):
        admin_body = json.loads(sb.app.handle_user_exception(BadRequest("unreadable")).get_data())
    assert api_body == {"ErrorNumber": 14, "Type": "PostDataInvalidException",
                        "Message": "JSON request body could not be read, unreadable"}
    assert admin_body["error"] == "Bad Request"


def test_identity_400s_keep_oauths_shape(sb, validate):
    r = sb.http.post(f"{sb.url}/connect/token", data={"grant_type": "refresh_token", "refresh_token": "nope"},
                     auth=(sb.client_id, sb.client_secret))
    assert validate(r, 400) == {"error": "invalid_grant"}
