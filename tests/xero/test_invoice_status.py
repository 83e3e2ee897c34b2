"""Reading posted invoices back from Xero (mocked): status and amounts stored, edits in Xero flagged (never
overwritten), unknown invoices ignored, If-Modified-Since from the last complete read."""
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import TENANT_ID
from tests.xero.posting_helpers import FakeXero, invoice_state, linked_client, make_invoice, ready_practice
from webapp.extensions import db
from webapp.models import Invoice, XeroInvoiceState
from webapp.sync.invoice_posting import post_outstanding
from webapp.sync.invoice_status import differences, next_read_from, read_invoice_statuses
from webapp.xero import XeroClient, XeroUnavailable


@pytest.fixture
def api(settings, connection, fake_time):
    return XeroClient.for_connection(connection, settings, sleep=fake_time.sleep, clock=fake_time.clock)


@pytest.fixture
def posted(app, connection, mocked, settings, api):
    """Two invoices posted through the fake Xero; returns (practice id, fake, [invoice ids])."""
    practice_id = connection.practice_id
    ready_practice(practice_id)
    xero = FakeXero(mocked, settings)
    ids = []
    for n in (1, 2):
        client, _ = linked_client(practice_id, f"C00{n}")
        ids.append(make_invoice(practice_id, client, f"SKT-00000{n}", lines=[
            ("Monthly Bookkeeping — November 2026", "250.00", "200", "OUTPUT2"),
            ("Payroll — November 2026", "120.00", "200", None)]).id)
    post_outstanding(practice_id, app.config, client_factory=lambda c, s: api)
    mocked.remove("GET", f"{settings.accounting_url}/Invoices")
    return practice_id, xero, ids


def answer_with(mocked, settings, invoices, calls):
    def reply(request):
        calls.append(request)
        return 200, {}, json.dumps({"Invoices": invoices})

    mocked.add_callback("GET", f"{settings.accounting_url}/Invoices", callback=reply)


def test_status_and_amounts_are_stored_and_unknown_invoices_ignored(app, posted, mocked, settings, api):
    practice_id, xero, ids = posted
    paid = {**xero.invoices[0], "Status": "PAID", "AmountDue": 0.0, "AmountPaid": 444.0,
            "UpdatedDateUTC": "/Date(1795100000000+0000)/"}
    part = {**xero.invoices[1], "Status": "AUTHORISED", "AmountDue": 244.0, "AmountPaid": 200.0}
    stranger = {"Type": "ACCREC", "InvoiceID": "9b0f9d7c-0000-4000-8000-000000000001", "Status": "DRAFT"}
    calls = []
    answer_with(mocked, settings, [paid, part, stranger, "junk"], calls)
    result = read_invoice_statuses(practice_id, TENANT_ID, api, now=lambda: datetime(2026, 12, 1, 2, tzinfo=UTC))
    assert (result.updated, result.ignored, result.skipped, result.edited, result.full) == (2, 1, 1, 0, True)
    query = parse_qs(urlsplit(calls[0].url).query)
    assert query == {"where": ['Type=="ACCREC"'], "page": ["1"], "pageSize": ["1000"]}
    assert "If-Modified-Since" not in calls[0].headers
    _, first = invoice_state(ids[0])
    assert (first.xero_status, str(first.amount_due), str(first.amount_paid)) == ("PAID", "0.00", "444.00")
    assert first.xero_updated_at == datetime(2026, 11, 19, 14, 53, 20, tzinfo=UTC)
    _, second = invoice_state(ids[1])
    assert (second.xero_status, str(second.amount_paid), second.edited_in_xero) == ("AUTHORISED", "200.00", False)
    assert invoice_state(ids[0])[0] == "posted"  # Socket's own status stays "posted"

    read_invoice_statuses(practice_id, TENANT_ID, api, now=lambda: datetime(2026, 12, 2, 2, tzinfo=UTC))
    # Xero's answer gave no time: the last read's start on Socket's clock, less a minute
    assert calls[1].headers["If-Modified-Since"] == "2026-12-01T01:59:00"
    state = db.session.get(XeroInvoiceState, practice_id)
    assert state.status_read_from == datetime(2026, 12, 2, 1, 59, tzinfo=UTC) and state.tenant_id == TENANT_ID


def _ms(moment: datetime) -> str:
    return f"/Date({int(moment.timestamp() * 1000)})/"


@pytest.mark.parametrize("socket_clock, asked_from", [
    (datetime(2026, 12, 1, 2, 10, tzinfo=UTC), "2026-12-01T01:59:55"),  # Socket's clock ahead: Xero's time, less 5 s
    (datetime(2026, 12, 1, 2, 0, 2, tzinfo=UTC), "2026-12-01T01:59:55"),  # the same clocks: a few seconds' overlap
    (datetime(2026, 12, 1, 1, 50, tzinfo=UTC), "2026-12-01T01:50:00"),  # Socket's behind: never later than its start
])
def test_the_next_read_asks_from_xeros_own_time_less_a_few_seconds(app, posted, mocked, settings, api, socket_clock,
                                                                    asked_from):
    """After a night that posted 2,000 invoices, a minute's overlap on Socket's clock re-read a page of them."""
    practice_id, xero, ids = posted
    calls = []

    def reply(request):
        calls.append(request)
        return 200, {}, json.dumps({"DateTimeUTC": _ms(datetime(2026, 12, 1, 2, 0, tzinfo=UTC)),
                                    "Invoices": [xero.invoices[0]]})

    mocked.add_callback("GET", f"{settings.accounting_url}/Invoices", callback=reply)
    read_invoice_statuses(practice_id, TENANT_ID, api, now=lambda: socket_clock)
    read_invoice_statuses(practice_id, TENANT_ID, api, now=lambda: socket_clock)
    assert calls[1].headers["If-Modified-Since"] == asked_from


@pytest.mark.parametrize("answered", ["yesterday", "/Date(-62135596800000)/", 1795100000000, None, ""])
def test_a_time_from_xero_socket_cannot_use_means_a_minute_less_than_its_own_start(answered):
    started = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert next_read_from(started, {"DateTimeUTC": answered, "Invoices": []}) == started - timedelta(minutes=1)
    assert next_read_from(started, "not an envelope") == started - timedelta(minutes=1)


@pytest.mark.parametrize("odd", [{"Total": 1e30}, {"AmountDue": "1e400"}, {"AmountPaid": 1e10}, {"Total": "NaN"},
                                 {"InvoiceNumber": "INV-" + "9" * 300}, {"InvoiceNumber": "INV\x00-1"}])
def test_values_socket_cannot_store_are_left_as_they_were_and_the_rest_is_read(app, posted, mocked, settings, api,
                                                                               odd):
    practice_id, xero, ids = posted
    _, before = invoice_state(ids[0])
    answer_with(mocked, settings, [{**xero.invoices[0], "Status": "PAID", **odd},
                                   {"Type": "ACCREC", "InvoiceID": "bad\x00id", "Status": "PAID"}], [])
    result = read_invoice_statuses(practice_id, TENANT_ID, api)
    assert (result.updated, result.skipped) == (1, 1)
    _, after = invoice_state(ids[0])
    assert after.xero_status == "PAID"
    assert (after.xero_number, after.total, after.amount_due, after.amount_paid) == (
        before.xero_number, before.total, before.amount_due, before.amount_paid)


def test_an_invoice_edited_in_xero_is_flagged_and_socket_changes_nothing(app, posted, mocked, settings, api):
    practice_id, xero, ids = posted
    edited = dict(xero.invoices[0])
    edited["LineItems"] = [dict(edited["LineItems"][0], UnitAmount=300.0), edited["LineItems"][1]]
    edited["SubTotal"] = 420.0
    answer_with(mocked, settings, [edited], [])
    result = read_invoice_statuses(practice_id, TENANT_ID, api)
    assert result.edited == 1
    _, posting = invoice_state(ids[0])
    assert posting.edited_in_xero
    assert posting.xero_edits == ["Its total before VAT is £420.00 in Xero; Socket sent £370.00.",
                                  "Line 1 changed in Xero."]
    invoice = db.session.get(Invoice, ids[0])
    assert [str(line.unit_amount) for line in invoice.lines] == ["250.00", "120.00"]  # never overwritten


def test_differences_in_plain_english():
    sent = {"contact_id": "c-1", "sub_total": "370.00", "lines": [
        {"description": "A", "quantity": "1.00", "unit_amount": "250.00", "account_code": "200", "tax_type": "OUTPUT2"},
        {"description": "B", "quantity": "1.00", "unit_amount": "120.00", "account_code": "200", "tax_type": None}]}
    same = {"Contact": {"ContactID": "C-1"}, "SubTotal": 370.0, "LineItems": [
        {"Description": "A", "Quantity": 1.0, "UnitAmount": 250.0, "AccountCode": "200", "TaxType": "OUTPUT2"},
        {"Description": "B", "Quantity": 1.0, "UnitAmount": 120.0, "AccountCode": "200", "TaxType": "OUTPUT2"}]}
    assert differences(sent, same) == []  # a tax type Xero filled in is not an edit
    assert differences(sent, {**same, "Contact": {"ContactID": "c-2"}}) == [
        "It is invoiced to another contact in Xero."]
    assert differences(sent, {**same, "LineItems": same["LineItems"][:1]}) == [
        "It has 1 lines in Xero; Socket sent 2."]
    assert differences(sent, {k: v for k, v in same.items() if k != "LineItems"}) == []  # no lines: none compared
    assert differences(None, same) == []


def test_a_page_holds_a_thousand_invoices(app, posted, mocked, settings, api):
    """A month of 2,000 invoices is read back in 2 calls, not Xero's default 20 pages of 100."""
    practice_id, xero, ids = posted
    listed = [{"Type": "ACCREC", "InvoiceID": f"9b0f9d7c-0000-4000-8000-{n:012d}", "Status": "DRAFT"}
              for n in range(1000)] + [xero.invoices[0]]
    calls = []

    def reply(request):  # pages as Xero cuts them: pageSize when given (at most 1,000), else 100
        calls.append(request)
        query = parse_qs(urlsplit(request.url).query)
        page, size = int(query["page"][0]), min(int(query.get("pageSize", ["100"])[0]), 1000)
        return 200, {}, json.dumps({"Invoices": listed[(page - 1) * size:page * size]})

    mocked.add_callback("GET", f"{settings.accounting_url}/Invoices", callback=reply)
    result = read_invoice_statuses(practice_id, TENANT_ID, api)
    assert (result.calls, result.ignored, result.updated) == (2, 1000, 1)


def test_a_read_that_fails_part_way_keeps_its_starting_point(app, posted, mocked, settings, api):
    practice_id, xero, ids = posted
    mocked.get(f"{settings.accounting_url}/Invoices", json={"Nothing": []})
    with pytest.raises(XeroUnavailable):
        read_invoice_statuses(practice_id, TENANT_ID, api)
    state = db.session.get(XeroInvoiceState, practice_id)
    assert state is None or state.status_read_from is None


def test_nothing_posted_means_no_call(app, connection, mocked, api):
    result = read_invoice_statuses(connection.practice_id, TENANT_ID, api)
    assert result.calls == 0 and len(mocked.calls) == 0


@pytest.mark.parametrize("change", [{"Description": "Other"}, {"Quantity": 2.0}, {"AccountCode": "260"},
                                    {"TaxType": "NONE"}, {"UnitAmount": "junk"}])
def test_each_line_field_is_compared(change):
    sent = {"contact_id": "c-1", "sub_total": "250.00", "lines": [
        {"description": "A", "quantity": "1.00", "unit_amount": "250.00", "account_code": "200",
         "tax_type": "OUTPUT2"}]}
    item = {"Description": "A", "Quantity": 1.0, "UnitAmount": 250.0, "AccountCode": "200", "TaxType": "OUTPUT2"}
    assert differences(sent, {"LineItems": [{**item, **change}]}) == ["Line 1 changed in Xero."]
    assert differences(sent, {"LineItems": ["not a line"]}) == ["Line 1 changed in Xero."]


def test_counts_and_a_voided_invoice_is_not_compared(app, posted, mocked, settings, api):
    practice_id, xero, ids = posted
    voided = {**xero.invoices[0], "Status": "VOIDED", "SubTotal": 1.0, "UpdatedDateUTC": "garbage",
              "InvoiceNumber": "INV-0099"}
    answer_with(mocked, settings, [voided], [])
    result = read_invoice_statuses(practice_id, TENANT_ID, api)
    _, posting = invoice_state(ids[0])
    assert (posting.xero_status, posting.edited_in_xero, posting.xero_number) == ("VOIDED", False, "INV-0099")
    assert result.counts() == {"invoices_updated": 1, "invoices_edited_in_xero": 0, "invoices_ignored": 0,
                               "invoices_skipped": 0, "invoices_calls": 1, "invoices_full_read": True}


def test_another_organisation_starts_the_reading_again(app, posted, mocked, settings, api):
    practice_id, xero, ids = posted
    answer_with(mocked, settings, [], [])
    read_invoice_statuses(practice_id, TENANT_ID, api)
    assert read_invoice_statuses(practice_id, "another-tenant", api).full is True


def test_invoices_a_webhook_named_are_read_by_id(app, posted, mocked, settings, api):
    from webapp.sync.invoice_status import refresh_invoices

    practice_id, xero, ids = posted
    calls = []
    answer_with(mocked, settings, [{**xero.invoices[1], "Status": "PAID", "AmountDue": 0.0, "AmountPaid": 444.0}],
                calls)
    counts = refresh_invoices(practice_id, [xero.invoices[1]["InvoiceID"].upper(), ""], api)
    assert counts["invoices_updated"] == 1 and counts["invoices_calls"] == 1
    assert parse_qs(urlsplit(calls[0].url).query) == {"IDs": [xero.invoices[1]["InvoiceID"]]}
    assert invoice_state(ids[1])[1].xero_status == "PAID"
    assert refresh_invoices(practice_id, [], api)["invoices_calls"] == 0
    mocked.remove("GET", f"{settings.accounting_url}/Invoices")
    mocked.get(f"{settings.accounting_url}/Invoices", json={"Nope": 1})
    with pytest.raises(XeroUnavailable):
        refresh_invoices(practice_id, [xero.invoices[0]["InvoiceID"]], api)


def test_the_migration_moves_a_stored_start_a_minute_earlier_so_the_next_read_asks_from_the_same_moment(
        scratch_database):
    """Before b7d1e3f5a9c2 the read took the minute off the stored start; now the stored value is where to ask from."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from webapp import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": scratch_database})
    with app.app_context():
        upgrade(revision="a8e2f4c6b0d3")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO practices (id, name, time_zone, primary_crm, crm_import_scope, "
                                 "nightly_sync_at, created_at) VALUES (1, 'P', 'Europe/London', 'socket', "
                                 "'customers', '02:00:00', '2026-01-01 00:00:00+00')"))
            conn.execute(sa.text("INSERT INTO practices (id, name, time_zone, primary_crm, crm_import_scope, "
                                 "nightly_sync_at, created_at) VALUES (2, 'Q', 'Europe/London', 'socket', "
                                 "'customers', '02:00:00', '2026-01-01 00:00:00+00')"))
            conn.execute(sa.text("INSERT INTO xero_invoice_states (practice_id, status_read_from) "
                                 "VALUES (1, '2026-12-01 02:00:00+00'), (2, NULL)"))
        upgrade(revision="b7d1e3f5a9c2")
        assert db.session.get(XeroInvoiceState, 1).status_read_from == datetime(2026, 12, 1, 1, 59, tzinfo=UTC)
        assert db.session.get(XeroInvoiceState, 2).status_read_from is None
        db.session.remove()
        downgrade(revision="a8e2f4c6b0d3")
        assert db.session.get(XeroInvoiceState, 1).status_read_from == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
        db.session.remove()
        db.engine.dispose()
