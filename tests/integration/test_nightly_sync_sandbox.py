"""The whole nightly sync for the demo practice against the sandbox's demo organisation: an approved month's
invoices posted by the run's posting step, a payment made in Xero read back by the next run and by a webhook, and a
quiet night's run costing at most 5 Xero calls (reference data, one Contacts call, one Invoices call)."""
from datetime import UTC, date, datetime

import pytest

from tests.demo_sandbox import connect_demo_practice, run_sync
from tests.live_servers import sandbox_for
from webapp.extensions import db
from webapp.models import BillingSettings, Invoice, InvoicePosting, InvoiceStatus, User
from webapp.services.billing.approval import Outcome, approve_plan
from webapp.services.billing.dates import InvoiceDating
from webapp.services.demo_seed import DEMO_EMAIL, seed_demo

pytest.importorskip("xero_sandbox.testing", reason="the Xero sandbox is not available")
from xero_sandbox.constants import DEMO_TENANT_ID

pytestmark = pytest.mark.integration
PERIOD = date(2026, 11, 1)


@pytest.fixture
def sandbox(app):
    with sandbox_for(app, "http://127.0.0.1:9") as sandbox:
        yield sandbox


def approved_demo_month(sandbox) -> int:
    """The demo practice connected and synced, with default codes, posting as Approved (payments need it), and its
    November approved but not posted; its id."""
    seed_demo(today=date(2026, 11, 15))
    practice_id = connect_demo_practice(sandbox)
    run_sync(practice_id, "connect")
    settings = db.session.get(BillingSettings, practice_id)
    settings.recurring_account_code, settings.one_off_account_code = "200", "260"
    settings.xero_post_status = "AUTHORISED"
    db.session.commit()
    user_id = db.session.execute(db.select(User.id).filter_by(email=DEMO_EMAIL)).scalar_one()
    approved = approve_plan(practice_id, PERIOD, user_id, now=datetime(2026, 11, 15, 12, tzinfo=UTC),
                            dating=InvoiceDating.INVOICE_DAY)
    assert approved.outcome is Outcome.APPROVED
    return practice_id


def steps(run) -> dict[str, str]:
    return {step["name"]: step["outcome"] for step in run.counts["steps"]}


def test_the_nightly_run_posts_the_approved_month_and_reads_payments_back(app, app_ctx, sandbox):
    practice_id = approved_demo_month(sandbox)

    night = run_sync(practice_id, "nightly")
    assert steps(night)["posting"] == "done", night.counts["steps"]
    invoices = db.session.execute(db.select(Invoice).filter_by(practice_id=practice_id)).scalars().all()
    posted = [i for i in invoices if i.status == InvoiceStatus.POSTED.value]
    held = [i for i in invoices if i.status == InvoiceStatus.HELD.value]
    assert posted and len(posted) + len(held) == len(invoices)  # held: clients that need a person to decide
    assert night.counts["posting_posted"] == len(posted) and night.counts["posting_held"] == len(held)
    in_xero = [i for i in sandbox.invoices(DEMO_TENANT_ID) if i["Type"] == "ACCREC"]
    assert len(in_xero) == len(posted)

    paid = posted[0]
    sandbox.pay_invoice(paid.xero_invoice_id)
    read_back = run_sync(practice_id, "nightly")
    assert steps(read_back)["invoice_status"] == "done" and read_back.counts["invoices_updated"] >= 1
    db.session.expire_all()
    posting = db.session.execute(db.select(InvoicePosting).filter_by(invoice_id=paid.id)).scalar_one()
    assert posting.xero_status == "PAID"
    assert len([i for i in sandbox.invoices(DEMO_TENANT_ID) if i["Type"] == "ACCREC"]) == len(posted)  # none twice

    quiet = run_sync(practice_id, "nightly")
    assert set(steps(quiet).values()) == {"done"}
    # accounts, branding themes, tax rates, one Contacts call, one Invoices call; held invoices need a person
    # and are not sent again, so posting costs nothing.
    assert quiet.xero_calls <= 5, (quiet.xero_calls, quiet.counts)


def test_an_invoice_named_by_a_webhook_is_read_back(app, app_ctx, sandbox):
    from webapp.redis_conn import get_redis
    from webapp.services.xero_webhooks import pending_key
    from webapp.sync.webhook_refresh import refresh_from_webhooks

    practice_id = approved_demo_month(sandbox)
    run_sync(practice_id, "nightly")
    paid = db.session.execute(db.select(Invoice).filter_by(practice_id=practice_id, status="posted")
                              .order_by(Invoice.id)).scalars().first()
    sandbox.pay_invoice(paid.xero_invoice_id, amount="1.00")

    get_redis(app.config["REDIS_URL"]).sadd(pending_key(practice_id, "invoices"), paid.xero_invoice_id)
    result = refresh_from_webhooks(practice_id, app.config)
    assert result.invoices == 1 and result.calls == 1
    db.session.expire_all()
    posting = db.session.execute(db.select(InvoicePosting).filter_by(invoice_id=paid.id)).scalar_one()
    assert str(posting.amount_paid) == "1.00" and posting.xero_status == "AUTHORISED"  # part paid
