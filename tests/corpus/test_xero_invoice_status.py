"""Bad GET /Invoices answers through webapp.sync.invoice_status (read_invoice_statuses, the sync's read-back, and
refresh_invoices, a webhook's), the real client with Xero mocked.

Each example is a new practice with three invoices Socket posted; Xero answers valid invoices for some of them
(shaped as the spec's Invoice), mutated ones (huge amounts, odd numbers, NUL, garbage dates, wrong types),
duplicated ids, other organisations' invoices, garbage, or a broken answer. Properties: only Socket's own XeroError
comes out; a good invoice's status and amounts are stored; a posting keeps its InvoiceID and Socket's invoice stays
posted whatever Xero says; a stored value changes only to one an invoice with that id gave; a failed read changes
nothing."""
import json
import uuid
from decimal import Decimal

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st

from tests.corpus.xero_bodies import ODD_TEXT, RolledBack, dates, mutated, page
from tests.factories import batched, make_client, make_connection, make_invoice
from tests.hypothesis_corpus import examples
from webapp.extensions import db
from webapp.models import Invoice, InvoicePosting, XeroInvoiceStatus
from webapp.sync.invoice_status import read_invoice_statuses, refresh_invoices
from webapp.xero import XeroClient, XeroError

STATUSES = [s.value for s in XeroInvoiceStatus]
CONTACT_ID = "6d4e0d8e-3f43-4a5d-9d6b-0c8f3c4b2a10"
COLUMNS = ("xero_invoice_id", "xero_number", "xero_status", "total", "amount_due", "amount_paid", "xero_updated_at",
           "edited_in_xero")


def xero_invoice(invoice_id: str, status: str = "AUTHORISED", due: float = 300.0) -> dict:
    """An Invoice as the spec (and the sandbox) shape it."""
    return {"Type": "ACCREC", "InvoiceID": invoice_id, "InvoiceNumber": "INV-0001", "Reference": "SKT-000900",
            "Contact": {"ContactID": CONTACT_ID, "Name": "Abbott & Sons Ltd"}, "DateString": "2026-10-01T00:00:00",
            "Date": "/Date(1790812800000+0000)/", "DueDate": "/Date(1792022400000+0000)/", "Status": status,
            "LineAmountTypes": "Exclusive",
            "LineItems": [{"Description": "Monthly Bookkeeping — October 2026", "Quantity": 1.0, "UnitAmount": 250.0,
                           "AccountCode": "200", "TaxType": "OUTPUT2", "TaxAmount": 50.0, "LineAmount": 250.0,
                           "LineItemID": str(uuid.uuid5(uuid.NAMESPACE_URL, invoice_id))}],
            "SubTotal": 250.0, "TotalTax": 50.0, "Total": 300.0, "AmountDue": due, "AmountPaid": 300.0 - due,
            "AmountCredited": 0.0, "UpdatedDateUTC": "/Date(1795000000000+0000)/", "CurrencyCode": "GBP",
            "HasAttachments": False, "IsDiscounted": False, "HasErrors": False}


SENT = {"tenant_id": "t", "contact_id": CONTACT_ID, "sub_total": "250.00", "status": "AUTHORISED",
        "lines": [{"description": "Monthly Bookkeeping — October 2026", "quantity": "1.00", "unit_amount": "250.00",
                   "account_code": "200", "tax_type": "OUTPUT2"}]}
IDS = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"posted/{n}")) for n in range(3)]


@st.composite
def answers(draw):
    good = []
    for invoice_id in IDS:
        if draw(st.booleans()):
            good.append(xero_invoice(invoice_id, draw(st.sampled_from(STATUSES)),
                                     draw(st.sampled_from([0.0, 150.5, 300.0]))))
    broken = []
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        target = draw(st.sampled_from(["posted", "other", "garbage", "odd", "duplicate"]))
        invoice_id = draw(st.sampled_from(IDS)) if target in ("posted", "odd") else str(draw(st.uuids()))
        if target == "garbage":
            broken.append(draw(st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.none()))))
        elif target == "odd":  # a valid invoice but for one field
            field = draw(st.sampled_from(["InvoiceNumber", "Total", "AmountDue", "AmountPaid", "UpdatedDateUTC",
                                          "InvoiceID", "Status", "SubTotal"]))
            value = draw(st.one_of(st.sampled_from(ODD_TEXT), dates, st.sampled_from(
                [1e30, 1e10, 9999999999.995, -1e12, "1e400", "NaN", "Infinity", 1e-30, "12,50", True])))
            broken.append(dict(xero_invoice(invoice_id), **{field: value}))
        elif target == "duplicate" and good:
            broken.append(draw(mutated(dict(good[0]), keep=("InvoiceID",))))
        else:
            broken.append(draw(mutated(xero_invoice(invoice_id), keep=("InvoiceID",) * draw(st.booleans()))))
    items = draw(st.permutations(good + broken))
    return good, items, draw(page("Invoices", items))


def _pounds(value) -> Decimal | None:
    """What an amount Xero gave reads as (None for garbage): the test's own reading, independent of Socket's."""
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except ArithmeticError:
        return None


def _postings(practice_id: int) -> dict[int, tuple]:
    db.session.expire_all()
    return {p.invoice_id: tuple(getattr(p, column) for column in COLUMNS) for p in db.session.execute(
        db.select(InvoicePosting).filter_by(practice_id=practice_id)).scalars()}


def _practice_with_posted_invoices():
    with batched():
        connection = make_connection(tenant_id=str(uuid.uuid4()))
        client = make_client(connection.practice_id, "Abbott & Sons Ltd")
        for n, invoice_id in enumerate(IDS):
            invoice = make_invoice(client, number=f"SKT-00090{n}", status="posted", xero_invoice_id=invoice_id)
            db.session.add(InvoicePosting(
                invoice_id=invoice.id, practice_id=connection.practice_id, xero_invoice_id=invoice_id,
                xero_number=f"INV-000{n}", xero_status="AUTHORISED", total=Decimal("300.00"),
                amount_due=Decimal("300.00"), amount_paid=Decimal("0.00"), sent=SENT, attempts=1, refusals=0,
                outcome_unknown=False, edited_in_xero=False, xero_edits=[], found_after_unknown=False))
    return connection


@pytest.mark.parametrize("entry", ["read back", "webhook refresh"])
@examples(30)
@given(answer=answers())
def test_a_bad_invoices_answer_never_unposts_or_corrupts_a_posted_invoice(app_ctx, settings, fake_time, entry,
                                                                           answer):
    good, items, reply = answer
    connection = _practice_with_posted_invoices()
    practice_id = connection.practice_id
    before = _postings(practice_id)
    client = XeroClient.for_connection(connection, settings, sleep=fake_time.sleep, clock=fake_time.clock)
    with RolledBack(), responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.add_callback("GET", f"{settings.accounting_url}/Invoices",
                            callback=lambda request: reply.as_callback_result())
        try:
            if entry == "read back":
                read_invoice_statuses(practice_id, connection.tenant_id, client)
            else:
                refresh_invoices(practice_id, IDS, client)
        except XeroError as error:
            assert error.message and "Traceback" not in error.message
            assert _postings(practice_id) == before
            return
    after = _postings(practice_id)
    assert {row[0] for row in after.values()} == set(IDS)  # every posting keeps its InvoiceID
    assert {i.status for i in db.session.execute(db.select(Invoice).filter_by(practice_id=practice_id)).scalars()} \
        == {"posted"}
    answered = json.loads(reply.body)["Invoices"]
    by_id: dict[str, list] = {}
    for item in answered:
        if isinstance(item, dict) and isinstance(item.get("InvoiceID"), str):
            by_id.setdefault(item["InvoiceID"].lower(), []).append(item)
    for invoice_key, values in after.items():
        old = before[invoice_key]
        given_here = by_id.get(values[0], [])
        assert values[2] in STATUSES
        if values[2] != old[2]:
            assert values[2] in [i.get("Status") for i in given_here]  # a list: a Status may be drawn unhashable
        for column in (3, 4, 5):  # Total, AmountDue, AmountPaid
            if values[column] != old[column]:
                key = ("Total", "AmountDue", "AmountPaid")[column - 3]
                assert values[column] in {_pounds(i.get(key)) for i in given_here}
    for item in good:
        if len(by_id[item["InvoiceID"]]) == 1:
            values = next(v for v in after.values() if v[0] == item["InvoiceID"])
            assert (values[2], values[4]) == (item["Status"], _pounds(item["AmountDue"]))
