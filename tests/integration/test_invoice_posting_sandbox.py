"""Posting the demo practice's month to the sandbox's demo organisation over real HTTP, with Xero's limits on:
the expected contacts, codes, lines and themes; and with the sandbox's faults (a 429 storm, 5xx, answers lost
after Xero committed, a worker killed mid-batch) each run ends with exactly one Xero invoice per Socket invoice
and none missing. Then status back from Xero: paid, voided and edited invoices."""
import csv
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from unittest import mock

import pytest

from tests.demo_sandbox import connect_demo_practice, run_sync
from tests.helpers import require_postgresql
from tests.live_servers import sandbox_for
from webapp.extensions import db
from webapp.models import (
    BillingSettings,
    Client,
    Invoice,
    InvoicePosting,
    InvoiceStatus,
    Service,
    User,
    XeroConnection,
)
from webapp.services.billing.approval import Outcome, approve_plan
from webapp.services.billing.dates import InvoiceDating
from webapp.services.demo_seed import DEMO_EMAIL, seed_demo
from webapp.sync import invoice_posting
from webapp.sync.invoice_payload import reference_for
from webapp.sync.invoice_posting import post_outstanding
from webapp.sync.invoice_status import read_invoice_statuses
from webapp.xero import XeroClient, XeroSettings

pytest.importorskip("xero_sandbox.testing", reason="the Xero sandbox is not available")
from xero_sandbox.constants import DEMO_TENANT_ID, SOCKET_THEME_ID, STANDARD_THEME_ID

pytestmark = pytest.mark.integration
DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PERIOD = date(2026, 11, 1)
REVIEW = {"IVY01", "JON01", "KIN01", "PEN01", "SMI01", "SMI02"}  # needs review: held, never a new contact
UNMATCHED = {"MEA01", "NOR01", "YOR01", "MAR01"}  # no candidate: contact created in Xero, then invoiced


@pytest.fixture
def sandbox(app):
    with sandbox_for(app, "http://127.0.0.1:9") as sandbox:
        yield sandbox


def expected_contacts() -> dict[str, str]:
    with open(os.path.join(DATA, "expected_matches.csv"), newline="", encoding="utf-8") as handle:
        return {row["client_code"]: row["contact_id"] for row in csv.DictReader(handle) if row["outcome"] == "linked"}


def approved_demo_month(sandbox) -> int:
    """The demo practice connected, synced and its November approved with codes and themes set; its id."""
    seed_demo(today=date(2026, 11, 15))
    practice_id = connect_demo_practice(sandbox)
    run_sync(practice_id, "connect")
    settings = db.session.get(BillingSettings, practice_id)
    settings.recurring_account_code, settings.one_off_account_code = "200", "260"
    db.session.execute(db.update(Service).filter_by(practice_id=practice_id, name="Payroll (up to 10 employees)")
                       .values(account_code="220"))
    db.session.execute(db.update(Client).filter_by(practice_id=practice_id, code="BAK01")
                       .values(branding_theme_id=SOCKET_THEME_ID))
    db.session.execute(db.update(Client).filter_by(practice_id=practice_id, code="ABB01")
                       .values(consolidate_recurring=True))
    db.session.commit()
    user_id = db.session.execute(db.select(User.id).filter_by(email=DEMO_EMAIL)).scalar_one()
    result = approve_plan(practice_id, PERIOD, user_id, now=datetime(2026, 11, 15, 12, tzinfo=UTC),
                          dating=InvoiceDating.INVOICE_DAY)
    assert result.outcome is Outcome.APPROVED and result.invoice_count > 30
    return practice_id


def socket_invoices(practice_id: int) -> dict[str, Invoice]:
    db.session.expire_all()
    return {invoice.client.code: invoice for invoice in db.session.execute(
        db.select(Invoice).filter_by(practice_id=practice_id)).scalars()}


def assert_exactly_one_each(sandbox, practice_id: int) -> None:
    """Every Socket invoice not held is posted, once: one Xero invoice per Reference, none Socket did not send."""
    invoices = socket_invoices(practice_id)
    in_xero = [i for i in sandbox.invoices() if i["Type"] == "ACCREC"]
    references = [i["Reference"] for i in in_xero]
    assert len(references) == len(set(references)), "an invoice was sent twice"
    expected = {reference_for(i.period, i.number) for code, i in invoices.items() if code not in REVIEW}
    assert set(references) == expected, "an invoice is missing in Xero (or one is there Socket never sent)"
    by_reference = {i["Reference"]: i for i in in_xero}
    for code, invoice in invoices.items():
        if code in REVIEW:
            assert invoice.status == InvoiceStatus.HELD.value, code
            continue
        assert invoice.status == InvoiceStatus.POSTED.value, code
        assert invoice.xero_invoice_id == by_reference[reference_for(invoice.period, invoice.number)]["InvoiceID"]


def post(app, practice_id, **kwargs):
    return post_outstanding(practice_id, app.config, **kwargs)


def quick_retries(connection, settings):
    """Socket's Xero client with its retry back-off cut to 50 ms a wait (the faults, not the waits, are tested)."""
    return XeroClient.for_connection(connection, settings, sleep=lambda seconds: time.sleep(min(seconds, 0.05)))


def test_the_demo_month_posts_with_the_expected_contacts_codes_lines_and_themes(app, app_ctx, sandbox):
    practice_id = approved_demo_month(sandbox)
    calls_before = sandbox.state()["calls_per_org"][DEMO_TENANT_ID]
    result = post(app, practice_id)
    assert result.stopped is None and result.contacts_created == len(UNMATCHED)
    invoices = socket_invoices(practice_id)
    assert {o.client_code for o in result.held} == REVIEW & set(invoices)
    assert len(result.posted) == len(invoices) - len(result.held) and result.outstanding == len(result.held)
    # One contacts call, one invoices call (under 50 invoices): nothing wasted.
    assert result.calls == 2 and sandbox.state()["calls_per_org"][DEMO_TENANT_ID] - calls_before == 2
    assert_exactly_one_each(sandbox, practice_id)

    contacts = expected_contacts()
    in_xero = {i["Reference"]: i for i in sandbox.invoices()}
    new_contacts = {c["ContactNumber"]: c["ContactID"] for c in sandbox.api(
        "GET", "Contacts", sandbox.connect()["access_token"]).json()["Contacts"] if c.get("ContactNumber")}
    for code, invoice in invoices.items():
        if code in REVIEW:
            continue
        sent = in_xero[reference_for(invoice.period, invoice.number)]
        want_contact = contacts.get(code) or new_contacts[code]
        assert sent["Contact"]["ContactID"] == want_contact, code
        assert (sent["Type"], sent["Status"], sent["LineAmountTypes"]) == ("ACCREC", "DRAFT", "Exclusive")
        assert sent["DateString"].startswith("2026-11-01") and sent["DueDateString"].startswith("2026-11-15")
        assert sent["BrandingThemeID"] == (SOCKET_THEME_ID if code == "BAK01" else STANDARD_THEME_ID), code
        assert [(item["Description"], Decimal(str(item["UnitAmount"])), item["AccountCode"])
                for item in sent["LineItems"]] == [(line.description, line.unit_amount, line.account_code)
                                                   for line in invoice.lines], code
        for line in invoice.lines:
            service = line.description.split(" — ")[0]
            if service.startswith("Payroll"):
                assert line.account_code == "220"
            elif service in ("Company Formation", "Business Advisory Meeting"):
                assert line.account_code == "260"
        assert Decimal(str(sent["SubTotal"])) == invoice.total
        posting = db.session.execute(db.select(InvoicePosting).filter_by(invoice_id=invoice.id)).scalar_one()
        assert (posting.xero_number, posting.xero_status) == (sent["InvoiceNumber"], "DRAFT")
        assert posting.total == Decimal(str(sent["Total"]))
    abb = invoices["ABB01"]
    assert abb.lines[0].description.startswith("Professional services for November 2026")  # consolidated

    again = post(app, practice_id)  # held ones are checked again; nothing else goes
    assert again.calls == 0 and len(again.held) == len(result.held)


def held_count(practice_id) -> int:
    """How many of the month's invoices are to clients needing review (held)."""
    return len(REVIEW & set(socket_invoices(practice_id)))


def unmatched_first(app, practice_id) -> int:
    """Post the unmatched clients' invoices (creating their contacts); returns how many invoices are left to post
    (held ones aside)."""
    invoices = socket_invoices(practice_id)
    post(app, practice_id, invoice_ids=[i.id for c, i in invoices.items() if c in UNMATCHED])
    return len(invoices) - held_count(practice_id) - len(UNMATCHED & set(invoices))


def test_a_429_storm_is_ridden_out_or_stops_the_run_and_the_next_finishes(app, app_ctx, sandbox):
    practice_id = approved_demo_month(sandbox)
    sandbox.faults(status=429, count=3, retry_after=1, problem="minute")  # the contacts call waits it out
    waiting = unmatched_first(app, practice_id)
    sandbox.faults(status=429, count=10, retry_after=1, problem="minute")  # longer than the client's retries
    first = post(app, practice_id)
    assert first.stopped and "posting stopped" in first.stopped
    assert first.outstanding == waiting + held_count(practice_id)
    sandbox.clear_faults()
    second = post(app, practice_id)
    assert second.stopped is None and len(second.posted) == waiting  # looked up first: Xero had not taken them
    assert_exactly_one_each(sandbox, practice_id)  # every 429 was waited out or stopped the run: none unhandled


def test_5xx_past_the_retries_stops_the_run_and_the_next_run_finishes_it(app, app_ctx, sandbox):
    practice_id = approved_demo_month(sandbox)
    waiting = unmatched_first(app, practice_id)
    sandbox.faults(status=502, count=20)
    first = post(app, practice_id, client_factory=quick_retries)
    assert first.stopped and "posting stopped" in first.stopped
    assert first.outstanding == waiting + held_count(practice_id)
    sandbox.clear_faults()
    sandbox.faults(status=503, count=2)  # the next run's lookup rides these out
    second = post(app, practice_id)
    assert second.stopped is None and len(second.posted) == waiting and second.found == []
    assert_exactly_one_each(sandbox, practice_id)


def test_answers_lost_after_xero_committed_never_make_a_second_contact_or_invoice(app, app_ctx, sandbox):
    practice_id = approved_demo_month(sandbox)
    # The contacts batch: its answer lost twice; the client's own retries (same Idempotency-Key) get Xero's first
    # answer replayed, so each contact is created once.
    sandbox.faults(lose_response=2)
    unmatched_first(app, practice_id)
    numbers = [c.get("ContactNumber") for c in sandbox.api("GET", "Contacts", sandbox.connect()["access_token"])
               .json()["Contacts"]]
    assert all(numbers.count(code) == 1 for code in UNMATCHED)
    # The invoices batch: likewise.
    sandbox.faults(lose_response=1)
    once = post(app, practice_id)
    assert once.stopped is None and once.found == []
    assert_exactly_one_each(sandbox, practice_id)


def test_answers_lost_every_time_are_found_by_the_next_run(app, app_ctx, sandbox):
    practice_id = approved_demo_month(sandbox)
    waiting = unmatched_first(app, practice_id)
    sandbox.faults(lose_response=50)
    first = post(app, practice_id, client_factory=quick_retries)
    assert first.stopped and first.outstanding > 0
    posting = [i for i in socket_invoices(practice_id).values() if i.status == InvoiceStatus.POSTING.value]
    assert len(posting) == waiting
    sandbox.clear_faults()
    second = post(app, practice_id)
    assert len(second.found) == len(posting) and second.posted == []
    assert_exactly_one_each(sandbox, practice_id)


class Killed(BaseException):
    """The worker dies: after Xero committed the batch, before Socket stored a word of the answer."""


def test_a_worker_dying_after_the_send_and_run_again_leaves_exactly_one_each(app, app_ctx, sandbox):
    practice_id = approved_demo_month(sandbox)
    with mock.patch.object(invoice_posting, "_store_answer", side_effect=Killed()):
        with pytest.raises(Killed):
            post(app, practice_id)
    assert {i.status for c, i in socket_invoices(practice_id).items() if c not in REVIEW} == {"posting"}
    result = post(app, practice_id)
    assert len(result.found) == len(socket_invoices(practice_id)) - held_count(practice_id) and result.posted == []
    assert_exactly_one_each(sandbox, practice_id)


def test_a_worker_process_sigkilled_mid_batch_and_run_again_leaves_exactly_one_each(app, app_ctx, sandbox):
    require_postgresql("the killed worker's posting lock is an advisory lock, freed when its connection drops")
    practice_id = approved_demo_month(sandbox)
    waiting = unmatched_first(app, practice_id)
    sandbox.faults(latency_ms=4000, count=1)  # the invoices call: Xero takes its time, then commits
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
           "REDIS_KEY_PREFIX": app.config["REDIS_KEY_PREFIX"], "SECRET_KEY": "test-secret",
           "TOKEN_ENCRYPTION_KEY": app.config["TOKEN_ENCRYPTION_KEY"], "RQ_QUEUE": app.config["RQ_QUEUE"],
           **{key: app.config[key] for key in ("XERO_CLIENT_ID", "XERO_CLIENT_SECRET", "XERO_REDIRECT_URI",
                                                "XERO_LOGIN_URL", "XERO_IDENTITY_URL", "XERO_API_URL")}}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "post-invoices", str(practice_id)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the batch is marked POSTING (and so about to be sent)
            db.session.expire_all()
            sending = db.session.execute(db.select(db.func.count(Invoice.id)).filter_by(
                practice_id=practice_id, status=InvoiceStatus.POSTING.value)).scalar_one()
            if sending == waiting:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the worker never sent its batch")
        time.sleep(0.5)  # the request is with Xero now
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
    deadline = time.monotonic() + 15
    while len([i for i in sandbox.invoices() if i["Type"] == "ACCREC"]) < waiting + len(UNMATCHED):
        assert time.monotonic() < deadline, "Xero never committed the batch"
        time.sleep(0.1)
    result = post(app, practice_id)  # the killed worker's lock died with it: this run starts at once
    assert result.busy is False and len(result.found) == waiting and result.posted == []
    assert_exactly_one_each(sandbox, practice_id)


def test_status_comes_back_from_xero_paid_voided_and_edited(app, app_ctx, sandbox):
    practice_id = approved_demo_month(sandbox)
    settings = db.session.get(BillingSettings, practice_id)
    settings.xero_post_status = "AUTHORISED"
    db.session.commit()
    post(app, practice_id)
    invoices = socket_invoices(practice_id)
    ids = {code: invoices[code].xero_invoice_id for code in ("ABB01", "BAK01", "CAR01", "DUN01")}
    sandbox.pay_invoice(ids["ABB01"])
    sandbox.pay_invoice(ids["BAK01"], "10.00")
    sandbox.void_invoice(ids["CAR01"])
    sandbox.edit_invoice(ids["DUN01"], line=0, unit_amount="999.00")
    connection = db.session.execute(db.select(XeroConnection).filter_by(practice_id=practice_id)).scalar_one()
    api = XeroClient.for_connection(connection, XeroSettings.from_config(app.config))
    first = read_invoice_statuses(practice_id, DEMO_TENANT_ID, api)
    assert first.full and first.updated == len(invoices) - held_count(practice_id) and first.edited == 1

    def posting(code):
        db.session.expire_all()
        return db.session.execute(db.select(InvoicePosting).filter_by(invoice_id=invoices[code].id)).scalar_one()

    assert (posting("ABB01").xero_status, posting("ABB01").amount_due) == ("PAID", Decimal("0.00"))
    assert (posting("BAK01").xero_status, posting("BAK01").amount_paid) == ("AUTHORISED", Decimal("10.00"))
    assert posting("CAR01").xero_status == "VOIDED"
    assert posting("DUN01").edited_in_xero and "Line 1 changed in Xero." in posting("DUN01").xero_edits
    assert socket_invoices(practice_id)["DUN01"].lines[0].unit_amount != Decimal("999.00")  # never overwritten

    quiet = read_invoice_statuses(practice_id, DEMO_TENANT_ID, api)  # only what changed since (If-Modified-Since)
    assert quiet.full is False and quiet.calls == 1 and quiet.edited == 0  # DUN01 was flagged already
