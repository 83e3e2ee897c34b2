"""Invoices with Xero on the Billing Plan and the invoice page: posting queued by approval, each invoice's state
(posted with Xero's number, held with the fix, refused with Retry), "Post outstanding invoices", the live summary
that stops polling and reloads the plan when the run ends, and who may post."""
from datetime import date

import pytest
from rq import Queue

from tests.factories import make_client, make_connection, make_engagement, make_invoice, make_service, make_user
from tests.helpers import HTMX, approve_form, login
from webapp.extensions import db
from webapp.models import Invoice, InvoicePosting, InvoicePostingRun, Role
from webapp.redis_conn import get_redis

NOVEMBER = date(2026, 11, 1)
XERO_ID = "6f0c5e0a-1d2b-4c3d-8e9f-0a1b2c3d4e5f"


@pytest.fixture
def queue(app):
    queue = Queue(app.config["RQ_QUEUE"], connection=get_redis(app.config["REDIS_URL"]))
    queue.empty()
    yield queue
    queue.empty()


def runs(practice_id) -> list[InvoicePostingRun]:
    db.session.expire_all()
    return db.session.execute(db.select(InvoicePostingRun).filter_by(practice_id=practice_id)
                              .order_by(InvoicePostingRun.id)).scalars().all()


def approve_november(auth_client, practice_id):
    client = make_client(practice_id, "Abbott & Sons Ltd", code="ABB01")
    make_engagement(client, make_service(practice_id))
    return auth_client.post("/billing/plan/approve", data=approve_form(practice_id, "2026-11"), headers=HTMX)


def test_approving_queues_the_months_invoices_for_xero(auth_client, owner, queue):
    make_connection(owner.practice_id)
    answer = approve_november(auth_client, owner.practice_id)
    assert answer.status_code == 200
    assert "Posting them to Xero now." in answer.get_data(as_text=True)
    [run] = runs(owner.practice_id)
    assert (run.trigger, run.period, run.status) == ("approval", NOVEMBER, "queued")
    assert [job.func_name for job in queue.jobs] == ["jobs.post_invoices.run_posting"]
    body = answer.get_data(as_text=True)
    assert 'id="xero-posting"' in body and 'hx-trigger="every 2s"' in body  # live while the run is going


def test_approving_without_xero_raises_the_invoices_and_says_they_wait(auth_client, owner, queue):
    answer = approve_november(auth_client, owner.practice_id)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "They are not posted to Xero yet: Connect to Xero" in body
    assert runs(owner.practice_id) == [] and queue.count == 0


def posted(invoice: Invoice, **fields) -> InvoicePosting:
    invoice.status = fields.pop("status", "posted")
    row = InvoicePosting(invoice_id=invoice.id, practice_id=invoice.practice_id, **fields)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def month(owner):
    """An approved November: one invoice posted, one held (the client needs review), one refused by Xero."""
    practice_id = owner.practice_id
    make_connection(practice_id)
    client = make_client(practice_id, "Abbott & Sons Ltd", code="ABB01")
    make_engagement(client, make_service(practice_id))
    from webapp.services.billing.approval import approve_plan

    run = approve_plan(practice_id, NOVEMBER, owner.id).run
    [first] = db.session.execute(db.select(Invoice).filter_by(practice_id=practice_id)).scalars()
    posted(first, xero_invoice_id=XERO_ID, xero_number="INV-0042", xero_status="AUTHORISED")
    held = make_invoice(make_client(practice_id, "Bramble Ltd", code="BRA01"), number="SKT-000901",
                        period=NOVEMBER, billing_run_id=run.id)
    posted(held, status="held", held_reason="Bramble Ltd needs review: two Xero contacts could be it. Link the "
                                            "client to its contact, then post again.")
    refused = make_invoice(make_client(practice_id, "Cobble Ltd", code="COB01"), number="SKT-000902",
                           period=NOVEMBER, billing_run_id=run.id)
    posted(refused, status="failed", last_error="Account code '215' has been archived, or has been deleted.")
    return {"posted": first, "held": held, "refused": refused}


def test_the_approved_plan_shows_each_invoice_with_xero(auth_client, month):
    body = auth_client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert 'data-count="posted">1 posted' in body and 'data-count="held">1 held' in body
    assert 'data-count="failed">1 refused by Xero' in body
    assert f'href="https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={XERO_ID}"' in body
    assert ">INV-0042<" in body and "Approved in Xero" in body
    assert "Bramble Ltd needs review" in body and f'href="/clients/{month["held"].client_id}#client-xero"' in body
    assert "has been archived" in body
    assert f'action="/billing/invoices/{month["refused"].id}/retry"' in body
    assert f'action="/billing/invoices/{month["posted"].id}/retry"' not in body  # posted: nothing to retry
    assert "Post outstanding invoices" in body  # the held one is checked again


def test_post_outstanding_queues_the_month_and_the_summary_polls_until_the_run_ends(auth_client, owner, month,
                                                                                     queue):
    answer = auth_client.post("/billing/plan/post", data={"month": "2026-11"}, headers=HTMX)
    assert answer.status_code == 200
    [run] = runs(owner.practice_id)
    assert (run.trigger, run.period, run.retry_failed) == ("manual", NOVEMBER, False)
    polling = auth_client.get("/billing/plan/posting?month=2026-11", headers=HTMX)
    assert 'hx-trigger="every 2s"' in polling.get_data(as_text=True) and "HX-Trigger" not in polling.headers

    run.status = "succeeded"
    db.session.commit()
    done = auth_client.get("/billing/plan/posting?month=2026-11", headers=HTMX)
    assert done.headers["HX-Trigger"] == "posting-finished" and "every 2s" not in done.get_data(as_text=True)
    plan = auth_client.get("/billing/plan?month=2026-11", headers=HTMX).get_data(as_text=True)
    assert 'hx-trigger="posting-finished from:body"' in plan  # the plan reloads itself on that event


def test_the_summary_of_a_month_without_invoices_is_a_404_and_a_bad_month_a_400(auth_client, owner):
    assert auth_client.get("/billing/plan/posting?month=2026-10").status_code == 404
    assert auth_client.get("/billing/plan/posting?month=nope").status_code == 400


def test_post_outstanding_without_xero_says_so_beside_the_summary(auth_client, owner, month):
    from webapp.models import XeroConnection

    db.session.execute(db.update(XeroConnection).values(status="disconnected"))
    db.session.commit()
    answer = auth_client.post("/billing/plan/post", data={"month": "2026-11"}, headers=HTMX)
    assert answer.status_code == 422
    assert "Connect to Xero (Practice Settings &gt; Integrations) to post invoices" in answer.get_data(as_text=True)
    assert runs(owner.practice_id) == []


def test_retry_queues_that_invoice_alone_and_a_posted_one_is_refused(auth_client, owner, month, queue):
    refused = month["refused"]
    answer = auth_client.post(f"/billing/invoices/{refused.id}/retry", data={"context": "plan"}, headers=HTMX)
    assert answer.status_code == 200 and 'id="billing-plan"' in answer.get_data(as_text=True)
    [run] = runs(owner.practice_id)
    assert (run.trigger, run.invoice_id, run.retry_failed) == ("retry", refused.id, True)

    again = auth_client.post(f"/billing/invoices/{month['posted'].id}/retry", data={"context": "invoice"},
                             headers=HTMX)
    assert again.status_code == 422 and "is posted to Xero already" in again.get_data(as_text=True)
    assert 'id="invoice-' in again.get_data(as_text=True)


def test_the_invoice_page_shows_its_state_and_polls_while_a_run_is_going(auth_client, owner, month):
    held = month["held"]
    page = auth_client.get(f"/billing/invoices/{held.id}").get_data(as_text=True)
    assert "Held" in page and "needs review" in page and "every 2s" not in page
    db.session.add(InvoicePostingRun(practice_id=owner.practice_id, trigger="manual", status="running",
                                     counts={}, xero_calls=0))
    db.session.commit()
    fragment = auth_client.get(f"/billing/invoices/{held.id}", headers=HTMX).get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in fragment and "<html" not in fragment


def test_another_practices_invoice_is_a_404(auth_client, other_owner):
    theirs = make_invoice(make_client(other_owner.practice_id, "Theirs Ltd", code="THE01"), status="failed")
    assert auth_client.post(f"/billing/invoices/{theirs.id}/retry").status_code == 404


def test_staff_see_where_invoices_stand_but_cannot_post_or_retry(client, owner, month):
    login(client, make_user(owner.practice_id, Role.STAFF))
    body = client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert "INV-0042" in body and "has been archived" in body
    assert "Post outstanding invoices" not in body and "/retry" not in body
    assert client.post("/billing/plan/post", data={"month": "2026-11"}, headers=HTMX).status_code == 403
    assert client.post(f"/billing/invoices/{month['refused'].id}/retry", headers=HTMX).status_code == 403
    assert runs(owner.practice_id) == []


def test_the_invoice_list_shows_xeros_number_and_what_xero_says(auth_client, month):
    posting = db.session.execute(db.select(InvoicePosting).filter_by(invoice_id=month["posted"].id)).scalar_one()
    posting.xero_status = "PAID"
    db.session.commit()
    body = auth_client.get("/billing/invoices?month=2026-11").get_data(as_text=True)
    assert ">INV-0042</a>" in body and "Paid" in body
