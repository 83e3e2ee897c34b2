"""Bulk inserts (webapp/services/bulk_insert.py): ids in the order of the rows, the models' defaults and types."""
from datetime import date
from decimal import Decimal

from tests.factories import make_client, make_invoice
from webapp.extensions import db
from webapp.models import Invoice, InvoiceLine
from webapp.services.bulk_insert import insert_rows, insert_rows_returning_ids


def invoice_row(client, number):
    return {"practice_id": client.practice_id, "client_id": client.id, "number": number,
            "issue_date": date(2026, 11, 1), "due_date": date(2026, 11, 15), "period": date(2026, 11, 1)}


def test_ids_come_back_in_the_order_of_the_rows(owner):
    client = make_client(owner.practice_id, "Abbott Ltd", "ABB01")
    numbers = ["SKT-000005", "SKT-000002", "SKT-000009", "SKT-000001", "SKT-000007"]
    ids = insert_rows_returning_ids(Invoice, [invoice_row(client, number) for number in numbers])
    db.session.commit()
    assert ids == sorted(ids)
    assert [db.session.get(Invoice, invoice_id).number for invoice_id in ids] == numbers


def test_the_models_python_defaults_are_filled_in(owner):
    client = make_client(owner.practice_id, "Abbott Ltd", "ABB01")
    [invoice_id] = insert_rows_returning_ids(Invoice, [invoice_row(client, "SKT-000001")])
    insert_rows(InvoiceLine, [{"invoice_id": invoice_id, "description": "Books", "quantity": Decimal("1"),
                               "unit_amount": Decimal("250")}])
    db.session.commit()
    invoice = db.session.get(Invoice, invoice_id)
    assert invoice.status == "raised" and invoice.created_at.tzinfo is not None
    assert [line.position for line in invoice.lines] == [0]


def test_values_go_through_the_columns_own_types(owner):
    invoice = make_invoice(make_client(owner.practice_id, "Abbott Ltd", "ABB01"))
    ids = insert_rows_returning_ids(InvoiceLine, [
        {"invoice_id": invoice.id, "position": position, "description": f"Line {position}", "quantity": quantity,
         "unit_amount": amount, "tax_amount": tax}
        for position, (quantity, amount, tax) in enumerate([
            (Decimal("1.5"), Decimal("12.5"), None), (2, "3.333", Decimal("0.2"))])
    ])
    db.session.commit()
    db.session.expire_all()
    lines = [db.session.get(InvoiceLine, line_id) for line_id in ids]
    assert [(line.quantity, line.unit_amount, line.tax_amount) for line in lines] == [
        (Decimal("1.50"), Decimal("12.50"), None), (Decimal("2.00"), Decimal("3.33"), Decimal("0.20"))]


def test_no_rows_send_no_statement(owner, count_statements):
    with count_statements() as statements:
        insert_rows(InvoiceLine, [])
        assert insert_rows_returning_ids(InvoiceLine, []) == []
    assert statements == []
