"""The Xero Invoice built from a Socket invoice: a pure function (no database, no HTTP)."""
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from webapp.sync.invoice_payload import (
    PayloadError,
    PayloadLine,
    build_invoice,
    json_number,
    net_total,
    reference_for,
    two_places,
)

CONTACT = "f7488d45-ec18-5ff2-9156-b307b4f5f2a9"
THEME = "3761ef2b-6a43-4f6d-9f39-1a1b2c3d4e5f"


@dataclass
class Invoice:
    number: str = "SKT-000123"
    period: date = date(2026, 11, 1)
    issue_date: date = date(2026, 11, 1)
    due_date: date = date(2026, 11, 15)


def line(description="Monthly Bookkeeping — November 2026", quantity="1.00", unit="250.00", code="200",
         tax="OUTPUT2") -> PayloadLine:
    return PayloadLine(description, Decimal(quantity), Decimal(unit), code, tax)


def test_an_itemised_invoice_in_xeros_shape():
    lines = [line(), line("Payroll (up to 10 employees) — November 2026", unit="120.00", code="220"),
             line("Company Formation — November 2026", unit="150.00", code="260", tax=None)]
    payload = build_invoice(Invoice(), lines, CONTACT, "AUTHORISED", THEME)
    assert payload == {
        "Type": "ACCREC",
        "Contact": {"ContactID": CONTACT},
        "Date": "2026-11-01",
        "DueDate": "2026-11-15",
        "LineAmountTypes": "Exclusive",
        "Reference": "November 2026 · SKT-000123",
        "Status": "AUTHORISED",
        "BrandingThemeID": THEME,
        "LineItems": [
            {"Description": "Monthly Bookkeeping — November 2026", "Quantity": 1.0, "UnitAmount": 250.0,
             "AccountCode": "200", "TaxType": "OUTPUT2"},
            {"Description": "Payroll (up to 10 employees) — November 2026", "Quantity": 1.0, "UnitAmount": 120.0,
             "AccountCode": "220", "TaxType": "OUTPUT2"},
            # No tax type stored: none sent, and Xero uses the account's default.
            {"Description": "Company Formation — November 2026", "Quantity": 1.0, "UnitAmount": 150.0,
             "AccountCode": "260"},
        ],
    }
    assert "InvoiceNumber" not in payload  # Xero numbers it from the organisation's settings


def test_a_consolidated_invoice_keeps_one_line_per_code_as_stored():
    lines = [line("Professional services for November 2026: Monthly Bookkeeping, VAT Returns", unit="550.00"),
             line("Professional services for November 2026: Payroll (up to 10 employees)", unit="120.00",
                  code="220")]
    items = build_invoice(Invoice(), lines, CONTACT, "DRAFT")["LineItems"]
    assert [(i["Description"], i["UnitAmount"], i["AccountCode"]) for i in items] == [
        ("Professional services for November 2026: Monthly Bookkeeping, VAT Returns", 550.0, "200"),
        ("Professional services for November 2026: Payroll (up to 10 employees)", 120.0, "220")]


def test_no_theme_no_currency_unless_given_and_draft_status():
    payload = build_invoice(Invoice(), [line()], CONTACT, "DRAFT")
    assert payload["Status"] == "DRAFT" and "BrandingThemeID" not in payload and "CurrencyCode" not in payload
    assert build_invoice(Invoice(), [line()], CONTACT, "DRAFT", currency_code="GBP")["CurrencyCode"] == "GBP"


def test_the_reference_carries_the_period_and_socket_number():
    assert reference_for(date(2027, 1, 1), "SKT-000001") == "January 2027 · SKT-000001"
    assert build_invoice(Invoice(number="SKT-1000000", period=date(2026, 12, 1)), [line()], CONTACT,
                         "DRAFT")["Reference"] == "December 2026 · SKT-1000000"


@pytest.mark.parametrize("amount, text", [
    (Decimal("0.1") + Decimal("0.2"), "0.3"),  # the classic: never 0.30000000000000004
    (Decimal("1234567.89"), "1234567.89"),
    (Decimal("9999999999.99"), "9999999999.99"),  # Money's largest
    (Decimal("0.01"), "0.01"),
    (Decimal("100"), "100.0"),
    (Decimal("19.99") * 3, "59.97"),
    (Decimal("-12.34"), "-12.34"),
])
def test_amounts_are_sent_as_exactly_their_decimal(amount, text):
    number = json_number(amount)
    assert json.dumps(number) == text
    assert Decimal(json.dumps(number)) == amount


def test_every_amount_in_the_json_text_is_the_decimal_it_came_from():
    lines = [line(unit="0.10"), line(unit="0.20"), line(unit="1234567.89", quantity="3.00"),
             line(unit="33.33", quantity="0.50")]
    text = json.dumps(build_invoice(Invoice(), lines, CONTACT, "DRAFT"))
    parsed = json.loads(text, parse_float=Decimal)
    assert [(i["Quantity"], i["UnitAmount"]) for i in parsed["LineItems"]] == [
        (Decimal("1.0"), Decimal("0.1")), (Decimal("1.0"), Decimal("0.2")),
        (Decimal("3.0"), Decimal("1234567.89")), (Decimal("0.5"), Decimal("33.33"))]
    assert net_total(lines) == Decimal("3703720.64")  # 0.10 + 0.20 + 3703703.67 + 16.67 (half up, per line)


@pytest.mark.parametrize("bad", [Decimal("1.005"), Decimal("NaN"), Decimal("Infinity"), "abc", None])
def test_an_amount_with_more_than_two_places_or_not_a_number_is_refused(bad):
    with pytest.raises(PayloadError):
        two_places(bad)


def test_an_amount_too_long_to_send_exactly_is_refused():
    with pytest.raises(PayloadError, match="too many digits"):
        json_number(Decimal("12345678901234.56"))


@pytest.mark.parametrize("kwargs, message", [
    ({"status": "APPROVED"}, "not DRAFT or AUTHORISED"),
    ({"contact_id": ""}, "no Xero contact"),
    ({"lines": []}, "no lines"),
    ({"lines": [line(description="  ")]}, "no description"),
])
def test_what_cannot_be_built_says_why(kwargs, message):
    arguments = {"lines": [line()], "contact_id": CONTACT, "status": "DRAFT", **kwargs}
    with pytest.raises(PayloadError, match=message):
        build_invoice(Invoice(), arguments["lines"], arguments["contact_id"], arguments["status"])


def test_the_payload_validates_against_xeros_spec():
    """The request body is an `Invoices` document as the OpenAPI spec defines it."""
    jsonschema = pytest.importorskip("jsonschema")
    yaml = pytest.importorskip("yaml")
    import os

    path = os.path.join(os.environ.get("XERO_OPENAPI_DIR", "/work/shared/xero-openapi"), "xero_accounting.yaml")
    if not os.path.exists(path):
        pytest.skip("Xero's OpenAPI spec is not available")
    with open(path, encoding="utf-8") as handle:
        spec = yaml.safe_load(handle)
    schemas = spec["components"]["schemas"]

    def resolve(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return {"$ref": node["$ref"].replace("#/components/schemas/", "#/definitions/")}
            return {k: resolve(v) for k, v in node.items() if k not in ("example", "x-is-msdate", "x-is-money")}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    schema = {"definitions": resolve(schemas), "$ref": "#/definitions/Invoices"}
    body = {"Invoices": [build_invoice(Invoice(), [line(), line(tax=None, code="260")], CONTACT, "AUTHORISED",
                                       THEME)]}
    jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())
