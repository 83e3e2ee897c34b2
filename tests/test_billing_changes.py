"""Changes in a client's agreed work (webapp/services/billing/changes.py): pure functions, no database."""
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from webapp.models import BillingMethod
from webapp.services.billing.changes import (
    Change,
    DueService,
    agreed_work,
    cadence_notes,
    compare_work,
)

NOV, DEC = date(2026, 11, 1), date(2026, 12, 1)
NAMES = {1: "Bookkeeping", 2: "Payroll", 3: "VAT Returns"}


def agreement(service_id, price, start, end=None):
    return SimpleNamespace(service_id=service_id, price=Decimal(price), start_date=start, end_date=end)


def test_work_starting_mid_month_is_agreed_that_month():
    assert agreed_work([agreement(1, "250.00", date(2026, 11, 15))], NOV) == {1: Decimal("250.00")}
    assert agreed_work([agreement(1, "250.00", date(2026, 12, 2))], NOV) == {}


def test_work_ending_mid_month_is_agreed_that_month_but_not_the_next():
    work = [agreement(1, "250.00", date(2026, 1, 1), date(2026, 11, 15))]
    assert agreed_work(work, NOV) == {1: Decimal("250.00")}
    assert agreed_work(work, DEC) == {}


def test_a_replacement_engagement_mid_month_takes_over_its_service():
    work = [agreement(1, "250.00", date(2026, 1, 1), date(2026, 11, 14)),
            agreement(1, "275.00", date(2026, 11, 15))]
    assert agreed_work(work, NOV) == {1: Decimal("275.00")}
    assert agreed_work(work, date(2026, 10, 1)) == {1: Decimal("250.00")}


def test_two_engagements_in_force_for_one_service_add_up():
    work = [agreement(1, "100.00", date(2026, 1, 1)), agreement(1, "50.00", date(2026, 6, 1))]
    assert agreed_work(work, NOV) == {1: Decimal("150.00")}


def compare(before, after, billed_now=True):
    """(change, details) for two months of agreed work given as {service id: price}."""
    work = compare_work({k: Decimal(v) for k, v in before.items()}, {k: Decimal(v) for k, v in after.items()},
                        NAMES, billed_now)
    return work.change, work.details


def test_each_change_in_agreed_work():
    assert compare({}, {1: "250"})[0] is Change.NEW
    assert compare({1: "250"}, {}, billed_now=False)[0] is Change.ENDED
    assert compare({1: "250"}, {1: "250", 2: "120"}) == (Change.EXPANDED, ("Payroll added",))
    assert compare({1: "250", 2: "120"}, {1: "250"}) == (Change.CONTRACTED, ("Payroll ended",))
    assert compare({1: "250"}, {1: "275"}) == (Change.REPRICED, ("Bookkeeping re-priced £250.00 → £275.00",))
    assert compare({1: "250", 3: "300"}, {1: "250", 3: "300"}) == (Change.UNCHANGED, ())


def test_a_swap_reads_service_added_and_lists_every_difference():
    assert compare({1: "250", 2: "120"}, {1: "260", 3: "300"}) == (
        Change.EXPANDED, ("VAT Returns added", "Payroll ended", "Bookkeeping re-priced £250.00 → £260.00"))


def test_a_final_bill_after_all_work_ended_is_service_ended_not_all_work_ended():
    assert compare({1: "250"}, {}, billed_now=True)[0] is Change.CONTRACTED


def test_header_counts_read_as_phrases():
    assert Change.NEW.count_label(1) == "1 new client" and Change.NEW.count_label(6) == "6 new clients"
    assert Change.EXPANDED.count_label(7) == "7 with work added"
    assert Change.UNCHANGED.count_label(39) == "39 with the same work"
    assert Change.ENDED.count_label(1) == "1 with all work ended"


def test_labels_speak_of_agreed_work_not_the_amount():
    assert [c.label for c in Change] == [
        "New client", "Work added", "Work reduced", "Re-priced", "Same work", "Work ended"]
    assert "unchanged" not in Change.UNCHANGED.label.lower()


def test_cadence_notes_explain_amounts_that_moved_without_a_change():
    vat = DueService(3, "VAT Returns", BillingMethod.QUARTERLY_ADVANCE)
    ct = DueService(4, "Corporation Tax", BillingMethod.ANNUAL_ADVANCE)
    accounts = DueService(5, "Annual Accounts", BillingMethod.ANNUAL_COMPLETION)
    books = DueService(1, "Bookkeeping", BillingMethod.MONTHLY)
    assert cadence_notes([books, vat, ct, accounts], []) == (
        "VAT Returns due this quarter", "Corporation Tax due this year", "Annual Accounts completed")
    assert cadence_notes([books], [books, vat, accounts]) == (
        "VAT Returns not due this month", "Annual Accounts billed last month on completion")
    assert cadence_notes([vat, vat], [vat]) == ("VAT Returns due this quarter",)


def test_catch_up_gets_no_cadence_note():
    late_vat = DueService(3, "VAT Returns", BillingMethod.QUARTERLY_ADVANCE, catch_up=True)
    assert cadence_notes([late_vat], []) == ()
