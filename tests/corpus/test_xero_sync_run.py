"""A whole sync run (webapp.sync.practice_sync.run_practice_sync, as the job calls it) with every Xero answer drawn:
each call to the Accounting API gets a valid answer for its endpoint, a mutated one, or a broken one.

Each example is a new practice with synced reference data, mirrored contacts, a linked client and an invoice it
posted. Properties: the run never raises; it ends succeeded or failed with each step's outcome and, when failed, a
reason; its counts are JSON; nothing stored is deleted; the posted invoice stays posted with its InvoiceID."""
import json
import re
import uuid
from decimal import Decimal

import responses
from hypothesis import given
from hypothesis import strategies as st

from tests.corpus.test_xero_contacts import valid_contact
from tests.corpus.test_xero_invoice_status import SENT, xero_invoice
from tests.corpus.test_xero_reference import account, tax_rate, theme
from tests.corpus.xero_bodies import BROKEN_BODIES, RolledBack, json_reply, mutated, page
from tests.factories import batched, make_connection
from tests.hypothesis_corpus import examples
from tests.xero.posting_helpers import linked_client, make_invoice, ready_practice
from webapp.extensions import db
from webapp.models import Invoice, InvoicePosting, SyncRun, XeroAccount, XeroContact
from webapp.sync.practice_sync import run_practice_sync
from webapp.xero import XeroClient

INVOICE_ID = "5b9f3c1e-8a2d-4c6b-9e7f-1a2b3c4d5e6f"
VALID = {"Accounts": lambda: [account("acc-new", "New Sales")], "BrandingThemes": lambda: [theme("t-new", "New")],
         "TaxRates": lambda: [tax_rate("OUTPUT2", "20% (VAT on Income)")],
         "Contacts": lambda: [valid_contact(str(uuid.uuid5(uuid.NAMESPACE_URL, "sync/new")), "New Client Ltd")],
         "Invoices": lambda: [xero_invoice(INVOICE_ID, "PAID", 0.0)]}


def _practice():
    with batched():
        connection = make_connection(tenant_id=str(uuid.uuid4()))
        practice_id = connection.practice_id
        ready_practice(practice_id, tenant_id=connection.tenant_id)
        client, _ = linked_client(practice_id, "ABB01")
        invoice = make_invoice(practice_id, client, "SKT-000001", status="posted")
        invoice.xero_invoice_id = INVOICE_ID
        db.session.add(InvoicePosting(
            invoice_id=invoice.id, practice_id=practice_id, xero_invoice_id=INVOICE_ID, xero_status="AUTHORISED",
            total=Decimal("300.00"), sent=SENT, attempts=1, refusals=0, outcome_unknown=False, edited_in_xero=False,
            xero_edits=[], found_after_unknown=False))
        run = SyncRun(practice_id=practice_id, trigger="manual", status="queued", counts={})
        db.session.add(run)
    return connection, invoice.id, run.id


def _count(model, practice_id: int) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(model).filter_by(
        practice_id=practice_id)).scalar_one()


@examples(15)
@given(data=st.data())
def test_a_sync_run_never_crashes_on_any_xero_answer_and_loses_nothing(app, app_ctx, settings, fake_time, data):
    connection, invoice_id, run_id = _practice()
    practice_id = connection.practice_id
    before = {model: _count(model, practice_id) for model in (XeroAccount, XeroContact)}

    def answer(request):
        name = request.url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        items = VALID[name]() if name in VALID else []
        kind = data.draw(st.sampled_from(["valid", "mutated", "broken"]), label=f"{request.method} {name}")
        if kind == "valid":
            return json_reply({name: items}).as_callback_result()
        if kind == "mutated":
            return data.draw(page(name, [data.draw(mutated(item)) for item in items])).as_callback_result()
        return data.draw(st.sampled_from(BROKEN_BODIES)).as_callback_result()

    def factory(connection, xero_settings):
        return XeroClient.for_connection(connection, xero_settings, sleep=fake_time.sleep, clock=fake_time.clock)

    with RolledBack(), responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        for method in ("GET", "PUT", "POST"):
            mocked.add_callback(method, re.compile(re.escape(settings.accounting_url) + r"/.*"), callback=answer)
        status = run_practice_sync(run_id, app.config, client_factory=factory)
    db.session.expire_all()
    run = db.session.get(SyncRun, run_id)
    assert status == run.status and status in ("succeeded", "failed")
    assert run.finished_at is not None and (run.error is not None) == (status == "failed")
    assert all(step["outcome"] in ("done", "failed", "not run") for step in run.counts["steps"])
    assert not any("Unexpected error" in (step.get("error") or "") for step in run.counts["steps"])
    json.dumps(run.counts)
    assert all(_count(model, practice_id) >= count for model, count in before.items())  # nothing deleted
    invoice = db.session.get(Invoice, invoice_id)
    assert (invoice.status, invoice.xero_invoice_id) == ("posted", INVOICE_ID)
