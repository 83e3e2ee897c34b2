"""The Billing Plan's Change Type filter, search, sort and pager in chromium: htmx swaps the plan in place and the
address bar follows, so a filtered view can be reloaded or shared."""
import os
import re

import pytest
from playwright.sync_api import expect

from webapp.services.billing import plan_page

pytestmark = pytest.mark.browser

SHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "test-artifacts", "plan")


def rows(page):
    return page.locator("#plan-clients .plan-row")


def test_filter_search_sort_and_pages_swap_the_plan_in_place(page, live_server, sign_in, monkeypatch):
    monkeypatch.setattr(plan_page, "PER_PAGE", 10)
    sign_in()
    page.goto(f"{live_server}/billing/plan?month=2026-11")
    total = int(re.search(r"of (\d+) clients", page.locator("#plan-shown").inner_text()).group(1))
    assert total > 10, "the demo practice fills more than one page of 10"
    expect(rows(page)).to_have_count(10)

    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"month=2026-11&page=2$"))
    expect(page.locator("#plan-shown")).to_contain_text(f"Showing 11–20 of {total}")

    page.get_by_label("Change type").select_option("unchanged")
    expect(page).to_have_url(re.compile(r"change=unchanged"))
    expect(page.locator("#plan-shown")).to_contain_text("matching")
    changes = rows(page).evaluate_all("rows => rows.map(row => row.dataset.change)")
    assert changes and set(changes) == {"unchanged"}

    page.get_by_label("Change type").select_option("")
    expect(page).not_to_have_url(re.compile(r"change=unchanged"))
    expect(rows(page)).to_have_count(10)
    code = rows(page).nth(3).get_attribute("data-client-code")
    page.get_by_label("Search").fill(code)
    expect(rows(page)).to_have_count(1)
    expect(rows(page).first).to_have_attribute("data-client-code", code)
    expect(page).to_have_url(re.compile(rf"q={code}"))

    page.get_by_label("Search").fill("")
    expect(rows(page)).to_have_count(10)
    page.get_by_label("Sort").select_option("amount")
    expect(page).to_have_url(re.compile(r"sort=amount"))
    amounts = [float(text.replace("£", "").replace(",", ""))
               for text in rows(page).locator("td.num:nth-child(4)").all_inner_texts()]
    assert amounts == sorted(amounts, reverse=True)

    page.reload()  # the address bar holds the view
    expect(page.get_by_label("Sort")).to_have_value("amount")
    os.makedirs(SHOTS, exist_ok=True)
    page.locator("#plan-filter").scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(SHOTS, "plan-filtered-desktop.png"), full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#plan-filter").scroll_into_view_if_needed()
    page.screenshot(path=os.path.join(SHOTS, "plan-filtered-phone.png"), full_page=False)
