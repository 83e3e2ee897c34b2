"""Spreadsheet downloads: a table of rows as CSV (UTF-8 with a BOM) or as an Excel workbook (.xlsx).

Pure: takes a Table (columns and an iterable of rows; billing.export_rows reads them from the database) and
returns the file, reading the rows once, so they may be streamed. Both end with a totals row: each summed money
column's total (left blank when a row's value is unknown, as the page shows "—"), and how many rows there were.

Text a spreadsheet would run as a formula (OWASP's "CSV injection": a cell starting with = + - @, a tab or a
line break) is made inert: in CSV with a leading apostrophe; in the workbook it is a text cell (never a formula)
with Excel's quote prefix, so it shows as typed and stays text when someone edits it.
"""
import csv
import enum
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

Value = str | Decimal | date | int | None

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = "\ufeff"  # so Excel reads the file as UTF-8 (a £ or an accent otherwise comes out garbled)
MONEY_FORMAT = '"£"#,##0.00'
DATE_FORMAT = "d mmm yyyy"
CSV_ROWS_PER_CHUNK = 200
# First characters that make a spreadsheet read a cell as a formula (OWASP), and their full-width forms, which
# some spreadsheet locales read the same way.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
SHEET_NAME_FORBIDDEN = str.maketrans({character: " " for character in "[]:*?/\\"})


class Kind(enum.Enum):
    TEXT = "text"
    MONEY = "money"
    DATE = "date"


@dataclass(frozen=True)
class Column:
    heading: str
    kind: Kind = Kind.TEXT
    width: int = 12  # characters, in the workbook
    summed: bool = False  # the totals row carries its total


@dataclass(frozen=True)
class Table:
    """What a download holds: its sheet's name, columns, rows (each a sequence in column order, read once) and
    what one row is called in the totals row ("client": "Total (38 clients)")."""

    title: str
    columns: tuple[Column, ...]
    rows: Iterable[Sequence[Value]]
    noun: str


class Totals:
    """The summed columns' totals and the row count, added up as the rows go by."""

    def __init__(self, columns: Sequence[Column]):
        self.columns = columns
        self.count = 0
        self.sums: list[Decimal | None] = [Decimal("0.00") if column.summed else None for column in columns]
        self.unknown = [False] * len(columns)

    def add(self, row: Sequence[Value]) -> Sequence[Value]:
        self.count += 1
        for index, column in enumerate(self.columns):
            if not column.summed:
                continue
            value = row[index]
            if isinstance(value, Decimal):
                self.sums[index] = (self.sums[index] or Decimal("0.00")) + value
            else:
                self.unknown[index] = True
        return row

    def row(self, noun: str) -> list[Value]:
        """The totals row: "Total (N nouns)" in the first column, each summed column's total (None if unknown)."""
        values: list[Value] = [None] * len(self.columns)
        for index, column in enumerate(self.columns):
            if column.summed and not self.unknown[index]:
                values[index] = self.sums[index]
        values[0] = f"Total ({self.count} {noun}{'' if self.count == 1 else 's'})"
        return values


def inert(text: str) -> str:
    """`text` as a CSV field no spreadsheet runs as a formula: a leading apostrophe when it starts like one."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_value(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"  # a plain decimal: no £, no thousands separator
    if isinstance(value, date):
        return value.isoformat()  # read as a date by every spreadsheet, whatever its locale
    if isinstance(value, int):
        return str(value)
    return inert(value)


def csv_chunks(table: Table) -> Iterator[bytes]:
    """The table as CSV, UTF-8 with a byte-order mark, a few hundred rows per chunk (a caller may stream them)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow([inert(column.heading) for column in table.columns])
    totals = Totals(table.columns)
    for count, row in enumerate(table.rows, start=1):
        writer.writerow([_csv_value(value) for value in totals.add(row)])
        if count % CSV_ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    writer.writerow([_csv_value(value) for value in totals.row(table.noun)])
    yield buffer.getvalue().encode("utf-8")


def sheet_name(title: str) -> str:
    """`title` as Excel accepts a sheet's name: 31 characters at most, none of []:*?/\\."""
    return title.translate(SHEET_NAME_FORBIDDEN).strip()[:31] or "Sheet"


class _Styles:
    """The workbook's few cell styles, made once (a style object per cell would bloat the file)."""

    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="EEF2F6")
    header_border = Border(bottom=Side(style="thin", color="9AA5B1"))
    totals_border = Border(top=Side(style="thin", color="1F2933"))
    right = Alignment(horizontal="right")


def _cell(sheet: Any, column: Column, value: Value, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet)
    if isinstance(value, str):
        cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.data_type = "s"  # openpyxl would store "=..." as a formula
        cell.quotePrefix = value.startswith(FORMULA_STARTS)
    else:
        cell.value = value
        if column.kind is Kind.MONEY:
            cell.number_format = MONEY_FORMAT
        elif column.kind is Kind.DATE:
            cell.number_format = DATE_FORMAT
    if bold:
        cell.font = _Styles.bold
        cell.border = _Styles.totals_border
    return cell


def _header_cell(sheet: Any, column: Column) -> WriteOnlyCell:
    cell = _cell(sheet, Column(column.heading), column.heading)
    cell.font = _Styles.bold
    cell.fill = _Styles.header_fill
    cell.border = _Styles.header_border
    if column.kind is Kind.MONEY:
        cell.alignment = _Styles.right
    return cell


def xlsx_bytes(table: Table) -> bytes:
    """The table as an Excel workbook: one sheet, a bold frozen header row with a filter, amounts as numbers in
    pounds, dates as dates, and a bold totals row holding the totals as values (a reader that cannot calculate
    formulas still sees them). Written in openpyxl's write-only mode, so memory stays flat with the row count."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name(table.title))
    sheet.freeze_panes = "A2"
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.print_options.gridLines = False
    sheet.page_setup.orientation = "landscape"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_setup.fitToHeight = 0  # as many pages tall as it takes, one page wide
    sheet.append([_header_cell(sheet, column) for column in table.columns])
    totals = Totals(table.columns)
    for row in table.rows:
        totals.add(row)
        sheet.append([_cell(sheet, column, value) for column, value in zip(table.columns, row, strict=True)])
    last_row = totals.count + 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{last_row}"
    sheet.append([_cell(sheet, column, value, bold=True)
                  for column, value in zip(table.columns, totals.row(table.noun), strict=True)])
    workbook.properties.title = table.title
    workbook.properties.creator = "Socket"
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
