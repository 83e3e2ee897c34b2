"""`flask --app wsgi match-csv CLIENTS.csv CONTACTS.csv`: the matching dry run for support and onboarding.

Reads a practice's client list and a Xero contacts export in the column layout of the demo files
(DESIGN.md's `demo/practice_clients.csv` and `demo/xero_contacts.csv`), runs the matching the sync runs
(webapp.sync.matching.match_clients) and prints one CSV row per client, in the client file's order, in the
layout of `demo/expected_matches.csv`:

    client_code,outcome,contact_id,rule,candidate_ids,note

`candidate_ids` are `;`-separated; `note` is the decision's sentence. Nothing is stored and nothing is sent
to Xero. A file that cannot be used (a missing column, a row with the wrong number of fields, an empty code
or ContactID, an unknown ContactStatus, a repeated code or ContactID, bad CSV quoting, not UTF-8) stops
the run with a message naming the file and line, and a non-zero exit status.

Columns. Clients: code, name, email, company_number, vat_number and linked_contact_id are required (the
matching reads them; values may be empty except code and name); postcode is used for --suggest;
link_is_manual (true/false) is optional: without it a linked_contact_id is a link a person made, as in
the demo. Contacts: ContactID, Name, EmailAddress, ContactNumber, CompanyNumber, TaxNumber, ContactStatus
and MergedToContactID are required; IsCustomer, IsSupplier and PostalCode are optional. Other columns
(phone, address, AccountNumber, ...) are ignored.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import TypeVar

import click

from webapp.sync.match_suggestions import SuggestionIndex, suggest
from webapp.sync.matching import (
    CONTACT_STATUSES,
    ClientRecord,
    ContactRecord,
    MatchDecision,
    Outcome,
    build_index,
    match_clients,
)

CLIENT_COLUMNS = ("code", "name", "email", "company_number", "vat_number", "linked_contact_id")
CLIENT_OPTIONAL = ("postcode", "link_is_manual")
CONTACT_COLUMNS = ("ContactID", "Name", "EmailAddress", "ContactNumber", "CompanyNumber", "TaxNumber",
                   "ContactStatus", "MergedToContactID")
CONTACT_OPTIONAL = ("IsCustomer", "IsSupplier", "PostalCode")
OUTPUT_COLUMNS = ("client_code", "outcome", "contact_id", "rule", "candidate_ids", "note")

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}
Record = TypeVar("Record")


class CsvProblem(click.ClickException):
    """A file that cannot be used: printed as "Error: <file>: line <n>: <what>", exit status 1."""

    def __init__(self, path: str, message: str, line: int | None = None):
        super().__init__(f"{path}: line {line}: {message}" if line is not None else f"{path}: {message}")


def _text(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise CsvProblem(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvProblem(path, "not UTF-8 text", data[:exc.start].count(b"\n") + 1) from None


def _rows(path: str, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row by column) for each non-blank data row, after checking the header and field counts."""
    reader = csv.reader(io.StringIO(_text(path), newline=""), strict=True)
    line = 1
    try:
        try:
            header = [column.strip() for column in next(reader)]
        except StopIteration:
            raise CsvProblem(path, "the file is empty: expected a header line with the columns "
                                   + ", ".join(required)) from None
        repeated = sorted({c for c in header if c and header.count(c) > 1})
        if repeated:
            raise CsvProblem(path, f"column {', '.join(repeated)} appears more than once in the header", 1)
        missing = [column for column in required if column not in header]
        if missing:
            plural = "s" if len(missing) > 1 else ""
            raise CsvProblem(path, f"missing column{plural} {', '.join(missing)} in the header "
                                   f"(found: {', '.join(header)})", 1)
        line = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                if len(row) != len(header):
                    raise CsvProblem(path, f"{len(row)} fields where the header has {len(header)}", line)
                yield line, dict(zip(header, row, strict=True))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise CsvProblem(path, f"not valid CSV ({exc})", line) from None


def _flag(path: str, line: int, column: str, value: str) -> bool:
    text = value.strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CsvProblem(path, f"{column} is {value!r}, expected true or false", line)


def _read(path: str, required: tuple[str, ...], key: str, label: str,
          make: Callable[[int, dict[str, str]], Record]) -> list[Record]:
    records: list[Record] = []
    first_seen: dict[str, int] = {}
    for line, row in _rows(path, required):
        value = row[key].strip()
        if not value:
            raise CsvProblem(path, f"{label} is empty", line)
        if value in first_seen:
            raise CsvProblem(path, f"{label} {value} repeats line {first_seen[value]}", line)
        first_seen[value] = line
        records.append(make(line, row))
    return records


def read_clients(path: str) -> list[ClientRecord]:
    def make(line: int, row: dict[str, str]) -> ClientRecord:
        code = row["code"].strip()
        if not row["name"].strip():
            raise CsvProblem(path, f"client {code} has no name", line)
        linked = row["linked_contact_id"].strip() or None
        manual = _flag(path, line, "link_is_manual", row["link_is_manual"]) if row.get("link_is_manual", "").strip() \
            else linked is not None
        return ClientRecord(id=code, code=code, name=row["name"], email=row["email"].strip() or None,
                            company_number=row["company_number"].strip() or None,
                            vat_number=row["vat_number"].strip() or None,
                            postcode=row.get("postcode", "").strip() or None,
                            linked_contact_id=linked, link_is_manual=manual and linked is not None)

    return _read(path, CLIENT_COLUMNS, "code", "client code", make)


def read_contacts(path: str) -> list[ContactRecord]:
    def make(line: int, row: dict[str, str]) -> ContactRecord:
        contact_id = row["ContactID"].strip()
        status = row["ContactStatus"].strip().upper()
        if status not in CONTACT_STATUSES:
            raise CsvProblem(path, f"ContactStatus of {contact_id} is {row['ContactStatus']!r}, expected "
                                   f"{', '.join(CONTACT_STATUSES[:-1])} or {CONTACT_STATUSES[-1]}", line)
        if not row["Name"].strip():
            raise CsvProblem(path, f"contact {contact_id} has no Name", line)
        return ContactRecord(
            contact_id=contact_id, name=row["Name"], email=row["EmailAddress"].strip() or None,
            contact_number=row["ContactNumber"].strip() or None,
            company_number=row["CompanyNumber"].strip() or None, tax_number=row["TaxNumber"].strip() or None,
            status=status, merged_to_contact_id=row["MergedToContactID"].strip() or None,
            postcode=row.get("PostalCode", "").strip() or None,
            is_customer=_flag(path, line, "IsCustomer", row.get("IsCustomer", "")),
            is_supplier=_flag(path, line, "IsSupplier", row.get("IsSupplier", "")))

    return _read(path, CONTACT_COLUMNS, "ContactID", "ContactID", make)


def decision_row(decision: MatchDecision, note: str | None = None) -> list[str]:
    """One output row: client_code, outcome, contact_id, rule, candidate_ids (;-separated), note."""
    return [decision.client_code, decision.outcome.value, decision.contact_id or "",
            decision.rule.value if decision.rule else "", ";".join(decision.candidate_ids),
            decision.reason if note is None else note]


def match_csv(clients_path: str, contacts_path: str, *, with_suggestions: bool = False) -> str:
    """The whole dry run: the output CSV text (header included)."""
    clients = read_clients(clients_path)
    index = build_index(read_contacts(contacts_path))
    decisions = match_clients(clients, index)
    hints = SuggestionIndex(index) if with_suggestions else None
    linked = {d.contact_id for d in decisions if d.contact_id}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OUTPUT_COLUMNS)
    for client, decision in zip(clients, decisions, strict=True):
        note = decision.reason
        if hints is not None and decision.outcome is Outcome.UNMATCHED:
            found = suggest(client, hints, exclude=linked)
            if found:
                note += " Suggestions (hints, not links): " + "; ".join(
                    f"'{s.name}' ({s.contact_id}): {', '.join(s.reasons)}" for s in found) + "."
        writer.writerow(decision_row(decision, note))
    return out.getvalue()


@click.command("match-csv")
@click.argument("clients_csv", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.argument("contacts_csv", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--suggest", "with_suggestions", is_flag=True,
              help="For unmatched clients, add suggested contacts (hints, never links) to the note.")
def match_csv_command(clients_csv: str, contacts_csv: str, with_suggestions: bool) -> None:
    """Match CLIENTS_CSV to the Xero contacts in CONTACTS_CSV and print one CSV row per client (a dry run:
    nothing is stored or sent to Xero). Columns as in the demo files; see webapp/matching_cli.py."""
    click.echo(match_csv(clients_csv, contacts_csv, with_suggestions=with_suggestions), nl=False)
