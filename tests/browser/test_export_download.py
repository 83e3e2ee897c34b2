"""The Export menu in chromium: the Billing Plan as filtered downloads as an Excel workbook holding every matching
client, and the invoice list (once a month is approved) as CSV; screenshots of the menu open at desktop and phone
width in test-artifacts/exports/."""
import csv
import io
import os
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from webapp.extensions import db
from webapp.models import Client
from webapp.services.billing.approval import approve_plan

pytestmark = pytest.mark.browser

SHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "test-artifacts", "exports")


def test_the_filtered_plan_downloads_as_a_workbook_and_invoices_as_csv(page, live_server, sign_in, tmp_path):
    sign_in()
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server}/billing/plan?month=2026-11")
    page.get_by_label("Change type").select_option("unchanged")
    expect(page.locator("#plan-shown")).to_contain_text("matching")
    matching = int(re.search(r"of (\d+) clients?", page.locator("#plan-shown").inner_text()).group(1))

    menu = page.locator("#export-menu")
    menu.locator("summary").click()  # the menu swapped in with the filter carries it
    expect(menu.get_by_role("link", name="Excel (.xlsx)")).to_be_visible()
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, "plan-export-desktop.png"))
    with page.expect_download() as download_info:
        menu.get_by_role("link", name="Excel (.xlsx)").click()
    download = download_info.value
    assert download.suggested_filename == "socket-billing-plan-2026-11.xlsx"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0][0] == "Client" and len(rows) == matching + 2  # headings, the clients, the totals
    assert {row[8] for row in rows[1:-1]} == {"Same work"}

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=os.path.join(SHOTS, "plan-export-phone.png"))

    practice_id = db.session.execute(db.select(Client.practice_id)).scalars().first()
    approve_plan(practice_id, date(2026, 11, 1), None)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server}/billing/invoices")
    page.locator("#export-menu summary").click()
    page.screenshot(path=os.path.join(SHOTS, "invoices-export-desktop.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=os.path.join(SHOTS, "invoices-export-phone.png"))
    with page.expect_download() as download_info:
        page.locator("#export-menu").get_by_role("link", name="CSV (.csv)").click()
    download = download_info.value
    assert download.suggested_filename == "socket-invoices.csv"
    with open(download.path(), encoding="utf-8-sig") as file:
        rows = list(csv.reader(io.StringIO(file.read())))
    assert rows[-1][0] == f"Total ({len(rows) - 2} invoices)" and len(rows) > 2
