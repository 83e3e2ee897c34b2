"""The Billing Plan page at scale: the summary counts every client, one page of 50 rows, the Change Type filter,
search and sort, all from the stored plan in a fixed number of statements."""
import re
from datetime import date
from decimal import Decimal

import pytest

from tests.factories import LONG_AGO, make_client, make_engagement, make_service
from tests.helpers import HTMX, login
from webapp.extensions import db
from webapp.models import BillingMethod, Client, Engagement
from webapp.services.billing.changes import Change
from webapp.services.billing.plan_page import PER_PAGE, PlanQuery, plan_page

NOV = date(2026, 11, 1)
TODAY = date(2026, 11, 20)


def codes(html: str) -> list[str]:
    return re.findall(r'class="plan-row" data-client-code="([^"]+)"', html)


@pytest.fixture
def big_book(owner):
    """120 clients: 100 on monthly bookkeeping (one re-priced up, prices rising with the number), 15 new this
    month, 5 whose work ended last month."""
    pid = owner.practice_id
    books = make_service(pid, "Monthly Bookkeeping", BillingMethod.MONTHLY, "100.00")
    people = ([(f"Client {n:03d} Ltd", f"C{n:03d}", Decimal(100 + n), LONG_AGO, None) for n in range(100)]
              + [(f"Newco {n:02d} Ltd", f"N{n:02d}", books.price, date(2026, 11, 5), None) for n in range(15)]
              + [(f"Leaver {n} Ltd", f"L{n}", books.price, LONG_AGO, date(2026, 10, 31)) for n in range(5)])
    for name, code, price, start, end in people:  # one flush: 120 commits would take seconds
        client = Client(practice_id=pid, name=name, code=code)
        client.engagements.append(Engagement(practice_id=pid, service_id=books.id, price=price, start_date=start,
                                             end_date=end))
        db.session.add(client)
    db.session.commit()
    return pid


def test_the_first_page_shows_50_rows_and_the_summary_counts_every_client(client, owner, big_book):
    login(client, owner)
    html = client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert len(codes(html)) == PER_PAGE
    assert "Showing 1–50 of 120 clients" in html
    assert '<span class="chip chip-change-new" data-change="new">15 new clients</span>' in html
    assert "100 with the same work" in html and "5 with all work ended" in html
    assert 'rel="next"' in html and 'rel="prev"' not in html
    # It raises 115 invoices, counted over every page, not this one.
    assert "115 invoices" in html


def test_the_last_page_holds_the_rest_billed_first_then_ended(client, owner, big_book):
    login(client, owner)
    html = client.get("/billing/plan?month=2026-11&page=3").get_data(as_text=True)
    assert codes(html) == [f"N{n:02d}" for n in range(15)] + [f"L{n}" for n in range(5)]
    assert "Showing 101–120 of 120" in html and 'rel="prev"' in html and 'rel="next"' not in html


def test_the_change_type_filter_and_search_narrow_the_rows_in_the_database(client, owner, big_book):
    login(client, owner)
    html = client.get("/billing/plan?month=2026-11&change=new").get_data(as_text=True)
    assert codes(html) == [f"N{n:02d}" for n in range(15)]
    assert "Showing 1–15 of 15 clients matching" in html
    html = client.get("/billing/plan?month=2026-11&q=client 04").get_data(as_text=True)
    assert codes(html) == [f"C{n:03d}" for n in range(40, 50)]
    html = client.get("/billing/plan?month=2026-11&q=n0").get_data(as_text=True)  # codes too, any case
    assert codes(html) == [f"N{n:02d}" for n in range(10)]
    # The totals stay the month's: a filter narrows the rows, not what approving raises.
    assert "115 invoices" in html


def test_search_wildcards_are_literal(client, owner, big_book):
    login(client, owner)
    make_engagement(make_client(owner.practice_id, "100% Ltd", "PCT01"), make_service(owner.practice_id, "Payroll"))
    html = client.get("/billing/plan?month=2026-11&q=%25").get_data(as_text=True)
    assert codes(html) == ["PCT01"]
    assert codes(client.get("/billing/plan?month=2026-11&q=_").get_data(as_text=True)) == []


# Clients invoiced this month come first whatever the order (those billed last month only have their own section).
@pytest.mark.parametrize("sort, first", [("amount", "C099"), ("difference", "N00"), ("decrease", "C000"),
                                         ("last", "C099"), ("name", "C000")])
def test_each_sort_orders_by_what_it_says(client, owner, big_book, sort, first):
    login(client, owner)
    html = client.get(f"/billing/plan?month=2026-11&sort={sort}").get_data(as_text=True)
    found = codes(html)
    assert found[0] == first
    last_page = codes(client.get(f"/billing/plan?month=2026-11&sort={sort}&page=3").get_data(as_text=True))
    assert last_page[-5:] == [f"L{n}" for n in range(5)] if sort != "last" else sorted(last_page[-5:]) == [
        f"L{n}" for n in range(5)]
    assert f'<option value="{sort}" selected>' in html


def test_the_filter_answers_htmx_with_the_fragment_and_links_keep_the_query(client, owner, big_book):
    login(client, owner)
    response = client.get("/billing/plan?month=2026-11&change=unchanged&sort=amount&page=2", headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'href="/billing/plan?month=2026-11&amp;change=unchanged&amp;sort=amount"' in html  # page 1: no page=
    assert 'href="/billing/plan?month=2026-11&amp;change=unchanged&amp;sort=amount&amp;page=1"' not in html


@pytest.mark.parametrize("query", ["change=bogus", "sort=%27%3Bdrop", "page=abc", "page=-4", "page=%EF%BC%92",
                                   "q=" + "x" * 500, "page=99"])
def test_bad_filter_values_fall_back_instead_of_failing(client, owner, big_book, query):
    login(client, owner)
    response = client.get(f"/billing/plan?month=2026-11&{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if query == "page=99":
        assert codes(html) == [f"N{n:02d}" for n in range(15)] + [f"L{n}" for n in range(5)]  # the last page
    elif query.startswith("q="):
        assert 'value="' + "x" * 100 + '"' in html
    else:
        assert codes(html)[0] == "C000"


def test_no_other_practices_clients_appear(client, owner, other_owner, big_book):
    rival = other_owner.practice_id
    login(client, owner)
    rival_client = make_client(rival, "Client 099 Rival Ltd", "C099R")
    make_engagement(rival_client, make_service(rival, "Books"))
    html = client.get("/billing/plan?month=2026-11&q=client 09").get_data(as_text=True)
    assert codes(html) == [f"C{n:03d}" for n in range(90, 100)]


def test_a_page_costs_the_same_statements_for_20_clients_or_120(owner, other_owner, big_book, count_statements):
    pid, small = owner.practice_id, other_owner.practice_id
    books = make_service(small, "Books", BillingMethod.MONTHLY, "100.00")
    for number in range(20):
        make_engagement(make_client(small, f"Small {number:02d} Ltd", f"S{number:02d}"), books)
    for practice_id in (pid, small):
        plan_page(practice_id, NOV, PlanQuery(), today=TODAY)  # builds and stores it
    with count_statements() as few:
        assert len(plan_page(small, NOV, PlanQuery(), today=TODAY).rows) == 20
    with count_statements() as many:
        assert len(plan_page(pid, NOV, PlanQuery(), today=TODAY).rows) == PER_PAGE
    with count_statements() as filtered:
        assert len(plan_page(pid, NOV, PlanQuery(change=Change.NEW), today=TODAY).rows) == 15
    assert len(few) == len(many) == len(filtered) <= 5  # counts come from the stored summary
    with count_statements() as searched:
        assert len(plan_page(pid, NOV, PlanQuery(search="Leaver"), today=TODAY).ended) == 5
    assert len(searched) == len(many) + 1  # a search counts its matches in SQL
