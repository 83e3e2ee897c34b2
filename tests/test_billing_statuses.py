"""Socket's own invoice statuses: one word, one meaning. "Approved" is Xero's (post as Draft or Approved); a Socket
invoice is raised, held, posting to Xero, posted to Xero or failed, and every page says so with the same chip."""
import re
from datetime import date

import pytest
import sqlalchemy as sa

from tests.factories import make_client, make_engagement, make_service
from webapp.extensions import db
from webapp.models import Invoice, InvoiceStatus
from webapp.services.billing.approval import approve_plan

NOV = date(2026, 11, 1)
BEFORE = "87d7a3305e30"
AFTER = "c11049ceb195"


def test_the_statuses_are_exactly_these():
    assert {status.name: status.value for status in InvoiceStatus} == {
        "RAISED": "raised", "HELD": "held", "POSTING": "posting", "POSTED": "posted", "FAILED": "failed"}
    assert [status.label for status in InvoiceStatus] == [
        "Raised", "Held", "Posting to Xero", "Posted to Xero", "Failed"]


@pytest.fixture
def raised(owner):
    """November approved: one invoice raised."""
    client = make_client(owner.practice_id, "Steady Ltd", "STE01")
    make_engagement(client, make_service(owner.practice_id))
    assert approve_plan(owner.practice_id, NOV, owner.id).invoice_count == 1
    return db.session.execute(db.select(Invoice)).scalar_one()


def test_approving_raises_invoices_as_raised(raised):
    assert raised.status == InvoiceStatus.RAISED.value == "raised"


@pytest.mark.parametrize("status", list(InvoiceStatus))
def test_the_invoice_page_and_list_show_the_status_chip(auth_client, raised, status):
    raised.status = status.value
    db.session.commit()
    chip = f'<span class="chip chip-invoice-{status.value}">{status.label}</span>'
    page = auth_client.get(f"/billing/invoices/{raised.id}").get_data(as_text=True)
    listing = auth_client.get("/billing/invoices").get_data(as_text=True)
    plan = auth_client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert chip in page and chip in listing and chip in plan
    for body in (page, listing):
        assert not re.search(r">\s*Approved\s*<", body), "a Socket invoice is never called Approved"


# --- the migration ------------------------------------------------------------------------------------------

def test_the_migration_renames_statuses_and_adds_the_new_settings_both_ways(scratch_database):
    from flask_migrate import downgrade, upgrade

    from webapp import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": scratch_database})
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO practices (id, name, time_zone, primary_crm, crm_import_scope, "
                                 "created_at) VALUES (1, 'P', 'Europe/London', 'socket', 'customers', "
                                 "'2026-01-01 00:00:00+00')"))
            conn.execute(sa.text("INSERT INTO billing_settings (practice_id, consolidate_recurring, "
                                 "consolidate_one_off, invoice_day, payment_terms_days, xero_post_status, updated_at) "
                                 "VALUES (1, false, false, 1, 14, 'AUTHORISED', '2026-01-01 00:00:00+00')"))
            conn.execute(sa.text("INSERT INTO clients (id, practice_id, code, name, status, created_at, updated_at) "
                                 "VALUES (1, 1, 'ABB01', 'Abbott', 'active', '2026-01-01 00:00:00+00', "
                                 "'2026-01-01 00:00:00+00')"))
            for number, status in enumerate(("approved", "draft", "posted", "failed"), start=1):
                conn.execute(sa.text(
                    "INSERT INTO invoices (id, practice_id, client_id, number, issue_date, due_date, period, status, "
                    "created_at) VALUES (:id, 1, 1, :number, '2026-11-01', '2026-11-15', '2026-11-01', :status, "
                    "'2026-11-30 00:00:00+00')"), {"id": number, "number": f"SKT-{number:06d}", "status": status})
        upgrade(revision=AFTER)
        with db.engine.begin() as conn:
            statuses = conn.execute(sa.text("SELECT status FROM invoices ORDER BY id")).scalars().all()
            assert statuses == ["raised", "raised", "posted", "failed"]
            # The column's default is "raised"; practices create missing contacts; clients use the practice's dates.
            conn.execute(sa.text("INSERT INTO invoices (id, practice_id, client_id, number, issue_date, due_date, "
                                 "period, created_at) VALUES (5, 1, 1, 'SKT-000005', '2026-12-01', '2026-12-15', "
                                 "'2026-12-01', '2026-12-01 00:00:00+00')"))
            assert conn.execute(sa.text("SELECT status FROM invoices WHERE id = 5")).scalar() == "raised"
            assert conn.execute(sa.text("SELECT create_missing_contacts FROM billing_settings")).scalar() in (True, 1)
            assert conn.execute(sa.text("SELECT invoice_day, payment_terms_days FROM clients")).one() == (None, None)
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE clients SET invoice_day = 29"))
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE clients SET payment_terms_days = 121"))
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE invoices SET status = 'held' WHERE id = 2"))
            conn.execute(sa.text("UPDATE invoices SET status = 'posting' WHERE id = 5"))
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            statuses = conn.execute(sa.text("SELECT status FROM invoices ORDER BY id")).scalars().all()
            assert statuses == ["approved", "approved", "posted", "failed", "approved"]
            columns = {table: {c["name"] for c in sa.inspect(conn).get_columns(table)}
                       for table in ("billing_settings", "clients")}
            assert "create_missing_contacts" not in columns["billing_settings"]
            assert not {"invoice_day", "payment_terms_days"} & columns["clients"]
        db.session.remove()
        db.engine.dispose()
