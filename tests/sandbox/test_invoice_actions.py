"""A person acting on invoices inside Xero (admin endpoints and `run_sandbox` helpers): pay, void, edit, list.
Each change bumps UpdatedDateUTC, queues an INVOICE UPDATE event and reads back valid against the spec."""
from __future__ import annotations

import datetime as dt

import pytest
import requests

from xero_sandbox import SECOND_TENANT_ID
from xero_sandbox.testing import run_sandbox

from .conftest import FakeClock

ABBOTT = "f7488d45-ec18-5ff2-9156-b307b4f5f2a9"


@pytest.fixture(scope="module")
def clocked():
    """A sandbox on a fake clock, so every change has a later UpdatedDateUTC than the one before."""
    clock = FakeClock()
    with run_sandbox({"SANDBOX_LIMITS": "relaxed", "clock": clock}) as sb:
        sb.clock = clock
        yield sb
        assert sb.sandbox.unexpected_errors == 0


@pytest.fixture
def sb(clocked):
    clocked.reset()
    return clocked


LINES = [{"Description": "Bookkeeping", "Quantity": 1, "UnitAmount": 250, "AccountCode": "200"},
         {"Description": "Payroll", "Quantity": 2, "UnitAmount": 25, "AccountCode": "220"}]


def _invoice(api, status="AUTHORISED", lines=None, **extra):
    doc = {"Type": "ACCREC", "Contact": {"ContactID": ABBOTT}, "Date": "2026-11-01", "DueDate": "2026-11-30",
           "Status": status, "Reference": "Nov bookkeeping", "LineItems": lines or LINES, **extra}
    return api("PUT", "Invoices", json={"Invoices": [doc]})["Invoices"][0]


def _events(sb) -> list[tuple[str, str, str]]:
    rows = sb.sandbox.store.query("SELECT category, event_type, resource_id FROM webhook_events WHERE delivered=0"
                                  " ORDER BY seq")
    return [(r["category"], r["event_type"], r["resource_id"]) for r in rows]


def _read(api, invoice_id) -> dict:
    return api("GET", f"Invoices/{invoice_id}")["Invoices"][0]


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()


def test_part_then_full_payment(sb, api):
    made = _invoice(api)  # 300 + 60 VAT
    assert made["Total"] == 360.0
    since = sb.state()["now_ms"] + 1000
    sb.clock.advance(60)
    part = sb.pay_invoice(made["InvoiceID"], "100.00", date="2026-11-10", reference="BACS 1")
    got = _read(api, made["InvoiceID"])
    assert got == part
    assert (got["Status"], got["AmountPaid"], got["AmountDue"], got["Total"]) == ("AUTHORISED", 100.0, 260.0, 360.0)
    (payment,) = got["Payments"]
    assert (payment["Amount"], payment["Reference"]) == (100.0, "BACS 1")
    assert payment["Date"] == "/Date(1794268800000+0000)/"  # 2026-11-10
    assert "FullyPaidOnDate" not in got
    assert got["UpdatedDateUTC"] != made["UpdatedDateUTC"]
    changed = api("GET", "Invoices", headers={"If-Modified-Since": _iso(since)})["Invoices"]
    assert [i["InvoiceID"] for i in changed] == [made["InvoiceID"]]
    sb.clock.advance(60)
    paid = sb.pay_invoice(made["InvoiceID"])  # the rest, dated today
    got = _read(api, made["InvoiceID"])
    assert got == paid
    assert (got["Status"], got["AmountPaid"], got["AmountDue"]) == ("PAID", 360.0, 0.0)
    assert [p["Amount"] for p in got["Payments"]] == [100.0, 260.0]
    assert got["FullyPaidOnDate"] == got["Payments"][1]["Date"]
    assert api("GET", "Invoices", params={"Statuses": "PAID"})["Invoices"][0]["InvoiceID"] == made["InvoiceID"]
    assert _events(sb)[-2:] == [("INVOICE", "UPDATE", made["InvoiceID"])] * 2


@pytest.mark.parametrize("status,amount,message", [
    ("DRAFT", None, "only an AUTHORISED invoice can be paid"),
    ("AUTHORISED", "360.01", "at most the 360.00 due"),
    ("AUTHORISED", "0", "more than 0"),
    ("AUTHORISED", "lots", "amount must be a number"),
])
def test_payments_a_person_could_not_make(sb, api, status, amount, message):
    made = _invoice(api, status=status)
    events = _events(sb)
    r = sb.http.post(f"{sb.url}/_sandbox/invoices/{made['InvoiceID']}/pay", json={"amount": amount})
    assert r.status_code == 400 and message in r.json()["error"]
    assert _read(api, made["InvoiceID"]) == made and _events(sb) == events


def test_void(sb, api):
    made = _invoice(api)
    sb.clock.advance(60)
    voided = sb.void_invoice(made["InvoiceID"])
    got = _read(api, made["InvoiceID"])
    assert got == voided
    assert (got["Status"], got["AmountDue"], got["Total"]) == ("VOIDED", 0.0, 360.0)
    assert got["UpdatedDateUTC"] != made["UpdatedDateUTC"]
    assert _events(sb)[-1] == ("INVOICE", "UPDATE", made["InvoiceID"])
    with pytest.raises(requests.HTTPError):
        sb.void_invoice(made["InvoiceID"])


def test_a_draft_or_paid_invoice_cannot_be_voided(sb, api):
    draft = _invoice(api, status="DRAFT")
    r = sb.http.post(f"{sb.url}/_sandbox/invoices/{draft['InvoiceID']}/void")
    assert r.status_code == 400 and "only an AUTHORISED invoice" in r.json()["error"]
    part_paid = _invoice(api)
    sb.pay_invoice(part_paid["InvoiceID"], "10")
    r = sb.http.post(f"{sb.url}/_sandbox/invoices/{part_paid['InvoiceID']}/void")
    assert r.status_code == 400 and "payments" in r.json()["error"]


def test_edit_a_line_and_the_reference(sb, api):
    made = _invoice(api)
    sb.clock.advance(60)
    edited = sb.edit_invoice(made["InvoiceID"], line=1, unit_amount="30.00", description="Payroll (4 weeks)")
    got = _read(api, made["InvoiceID"])
    assert got == edited
    assert got["Status"] == "AUTHORISED" and got["InvoiceNumber"] == made["InvoiceNumber"]
    line = got["LineItems"][1]
    assert (line["Description"], line["UnitAmount"], line["LineAmount"], line["TaxAmount"]) == (
        "Payroll (4 weeks)", 30.0, 60.0, 12.0)
    assert line["LineItemID"] == made["LineItems"][1]["LineItemID"]
    assert got["LineItems"][0] == made["LineItems"][0]
    assert (got["SubTotal"], got["TotalTax"], got["Total"], got["AmountDue"]) == (310.0, 62.0, 372.0, 372.0)
    assert got["UpdatedDateUTC"] != made["UpdatedDateUTC"]
    sb.clock.advance(60)
    again = sb.edit_invoice(made["InvoiceID"], quantity=3, reference="Nov bookkeeping (revised)")
    assert again["LineItems"][0]["LineAmount"] == 750.0 and again["Reference"] == "Nov bookkeeping (revised)"
    assert again["UpdatedDateUTC"] != got["UpdatedDateUTC"]
    assert _read(api, made["InvoiceID"]) == again
    assert _events(sb)[-2:] == [("INVOICE", "UPDATE", made["InvoiceID"])] * 2


def test_inclusive_invoice_edit_keeps_its_vat_maths(sb, api):
    made = _invoice(api, LineAmountTypes="Inclusive",
                    lines=[{"Description": "Bookkeeping", "UnitAmount": 120, "AccountCode": "200"}])
    got = sb.edit_invoice(made["InvoiceID"], unit_amount="240")
    assert (got["SubTotal"], got["TotalTax"], got["Total"]) == (200.0, 40.0, 240.0)
    assert got == _read(api, made["InvoiceID"])


@pytest.mark.parametrize("body,message", [
    ({"line": 5, "unit_amount": "1"}, "line must be an index from 0 to 1"),
    ({"unit_amount": "abc"}, "unit_amount must be a number"),
    ({"quantity": "1e40"}, "quantity must be a number"),
    ({"colour": "red"}, "unknown fields ['colour']"),
])
def test_edits_that_are_refused(sb, api, body, message):
    made = _invoice(api)
    r = sb.http.post(f"{sb.url}/_sandbox/invoices/{made['InvoiceID']}/edit", json=body)
    assert r.status_code == 400 and message in r.json()["error"]
    assert _read(api, made["InvoiceID"]) == made


def test_an_invoice_with_a_payment_cannot_be_edited_here_or_through_the_api(sb, api):
    made = _invoice(api)
    sb.pay_invoice(made["InvoiceID"], "50")
    r = sb.http.post(f"{sb.url}/_sandbox/invoices/{made['InvoiceID']}/edit", json={"unit_amount": "1"})
    assert r.status_code == 400 and "payment" in r.json()["error"]
    message = "This document cannot be edited as it has a payment or credit note allocated to it."
    for change in ({"LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200"}]},
                   {"Status": "VOIDED"}, {"LineAmountTypes": "Inclusive"}):
        body = api("POST", f"Invoices/{made['InvoiceID']}", json=change, expect=400)
        assert message in [m["Message"] for m in body["Elements"][0]["ValidationErrors"]]
    kept = api("POST", f"Invoices/{made['InvoiceID']}", json={"Reference": "still editable"})["Invoices"][0]
    assert (kept["Reference"], kept["AmountPaid"], kept["AmountDue"]) == ("still editable", 50.0, 310.0)


def test_list_a_tenants_invoices(sb, api):
    assert sb.invoices() == []
    a = _invoice(api, status="DRAFT")
    b = _invoice(api)
    listed = sb.invoices(sb.DEMO_TENANT_ID)
    assert [i["InvoiceID"] for i in listed] == [a["InvoiceID"], b["InvoiceID"]]
    assert listed[0] == _read(api, a["InvoiceID"]) and listed[0]["LineItems"]
    assert sb.invoices(SECOND_TENANT_ID) == []


def test_unknown_invoice(sb):
    for action in ("pay", "void", "edit"):
        r = sb.http.post(f"{sb.url}/_sandbox/invoices/00000000-0000-0000-0000-000000000000/{action}", json={})
        assert r.status_code == 404 and r.json() == {"error": "no such invoice"}
