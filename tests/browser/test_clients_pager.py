"""The Clients list's pager in chromium: a window of page links that htmx follows in place."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_pager_moves_through_the_list_in_place(page, live_server, sign_in, app, monkeypatch):
    monkeypatch.setitem(app.config, "CLIENTS_PER_PAGE", 1)
    sign_in()
    page.goto(f"{live_server}/clients/")
    pager = page.get_by_role("navigation", name="Pages")
    total = int(re.search(r"(\d+) clients", page.locator("#client-table").inner_text()).group(1))
    assert total > 9, "the demo practice has enough clients for gaps in the pager"
    expect(pager.locator("li")).to_have_count(6)  # 1, 2, 3, …, last, Next
    first_name = page.locator("#client-table tbody td").nth(1).inner_text()

    pager.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"/clients/\?page=2$"))
    expect(pager.locator('[aria-current="page"]')).to_have_text("2")
    expect(page.locator("#client-table tbody")).not_to_contain_text(first_name)

    pager.get_by_role("link", name=str(total), exact=True).click()
    expect(page).to_have_url(re.compile(rf"/clients/\?page={total}$"))
    expect(pager.get_by_role("link", name="Next →")).to_have_count(0)
    expect(pager.get_by_role("link", name="← Previous")).to_be_visible()
