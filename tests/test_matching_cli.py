"""`flask match-csv CLIENTS.csv CONTACTS.csv`: the matching dry run (webapp.matching_cli), through Flask's CLI runner.

The command touches no database, so the app here is a bare one (no migrations, no PostgreSQL).
"""
import csv
import io
import os

import pytest

from webapp import create_app
from webapp.matching_cli import OUTPUT_COLUMNS

DATA = os.path.join(os.path.dirname(__file__), "data")
CLIENTS = os.path.join(DATA, "practice_clients.csv")
CONTACTS = os.path.join(DATA, "xero_contacts.csv")
EXPECTED = os.path.join(DATA, "expected_matches.csv")
CLIENT_HEADER = "code,name,email,phone,address,city,postcode,company_number,vat_number,linked_contact_id"
CONTACT_HEADER = ("ContactID,Name,EmailAddress,ContactNumber,AccountNumber,CompanyNumber,TaxNumber,ContactStatus,"
                  "MergedToContactID,IsCustomer,IsSupplier")


@pytest.fixture(scope="module")
def cli_app():
    return create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


@pytest.fixture
def run(cli_app):
    runner = cli_app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=["match-csv", *args])

    return invoke


def parsed(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def key_columns(rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
    return [(r["client_code"], r["outcome"], r["contact_id"], r["rule"], r["candidate_ids"]) for r in rows]


def write(tmp_path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_command_is_registered(cli_app):
    assert "match-csv" in cli_app.cli.list_commands(None)


def test_the_demo_files_reproduce_expected_matches(run):
    result = run(CLIENTS, CONTACTS)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == ",".join(OUTPUT_COLUMNS)
    with open(EXPECTED, newline="", encoding="utf-8") as handle:
        expected = list(csv.DictReader(handle))
    rows = parsed(result.stdout)
    assert key_columns(rows) == key_columns(expected)
    assert all(row["note"] for row in rows)
    assert result.stderr == ""


def test_suggestions_are_added_to_unmatched_notes_only_when_asked(run):
    plain = {r["client_code"]: r for r in parsed(run(CLIENTS, CONTACTS).stdout)}
    result = run("--suggest", CLIENTS, CONTACTS)
    assert result.exit_code == 0, result.output
    hinted = {r["client_code"]: r for r in parsed(result.stdout)}
    assert key_columns(list(hinted.values())) == key_columns(list(plain.values()))
    assert "York St Pharmacy" in hinted["YOR01"]["note"] and "not links" in hinted["YOR01"]["note"]
    assert "York St Pharmacy" not in plain["YOR01"]["note"]


def test_automatic_stored_links_and_postcodes_when_the_optional_columns_are_there(run, tmp_path):
    clients = write(tmp_path, "c.csv", "code,name,email,company_number,vat_number,linked_contact_id,link_is_manual,"
                                       "postcode\nA1,Alpha,,,,old,false,\nB1,Bravo,,,,,,LS1 4DT\n")
    contacts = write(tmp_path, "x.csv", "ContactID,Name,EmailAddress,ContactNumber,CompanyNumber,TaxNumber,"
                                        "ContactStatus,MergedToContactID,PostalCode\n"
                                        "old,Alpha,,,,,archived,new,\nnew,Alpha Group,,,,,ACTIVE,,\n"
                                        "z,Zulu,,,,,ACTIVE,,ls1 4dt\n")
    result = run("--suggest", clients, contacts)
    assert result.exit_code == 0, result.output
    rows = parsed(result.stdout)
    assert key_columns(rows) == [("A1", "linked", "new", "stored", ""), ("B1", "unmatched", "", "", "")]
    assert "same postcode" in rows[1]["note"]


# -- files that cannot be used ---------------------------------------------------------------------------------------
def assert_refused(result, *words: str) -> None:
    assert result.exit_code != 0
    assert result.stdout == ""
    for word in words:
        assert word in result.stderr, result.stderr


@pytest.mark.parametrize("column", ["code", "name", "email", "company_number", "vat_number", "linked_contact_id"])
def test_a_missing_client_column_is_named(run, tmp_path, column):
    with open(CLIENTS, encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    drop = rows[0].index(column)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([r[:drop] + r[drop + 1:] for r in rows])
    result = run(write(tmp_path, "clients.csv", out.getvalue()), CONTACTS)
    assert_refused(result, "clients.csv", "line 1", f"missing column {column}")


@pytest.mark.parametrize("column", ["ContactID", "Name", "ContactStatus", "MergedToContactID", "TaxNumber"])
def test_a_missing_contact_column_is_named(run, tmp_path, column):
    header = CONTACT_HEADER.split(",")
    header.remove(column)
    result = run(CLIENTS, write(tmp_path, "contacts.csv", ",".join(header) + "\n"))
    assert_refused(result, "contacts.csv", column)


def test_optional_columns_may_be_missing(run, tmp_path):
    clients = write(tmp_path, "c.csv", "code,name,email,company_number,vat_number,linked_contact_id\nA1,Alpha,,,,\n")
    contacts = write(tmp_path, "x.csv", "ContactID,Name,EmailAddress,ContactNumber,CompanyNumber,TaxNumber,"
                                        "ContactStatus,MergedToContactID\nk1,Alpha,,,,,ACTIVE,\n")
    result = run(clients, contacts)
    assert result.exit_code == 0, result.output
    assert key_columns(parsed(result.stdout)) == [("A1", "linked", "k1", "name", "")]


@pytest.mark.parametrize(("clients_body", "words"), [
    ("ABB01,Abbott,,,,,,,,\nBAK01,Baker,,,,,,,,,extra\n", ["line 3", "11 fields", "10"]),
    ("ABB01,Abbott,,,,,,,,\n\nBAK01,Baker,,,\n", ["line 4", "5 fields"]),  # blank lines still count
    ("ABB01,Abbott,,,,,,,,\n,Nameless,,,,,,,,\n", ["line 3", "client code is empty"]),
    ("ABB01,Abbott,,,,,,,,\nABB01,Again,,,,,,,,\n", ["line 3", "ABB01", "repeats line 2"]),
    ("ABB01,,,,,,,,,\n", ["line 2", "no name"]),
    ('ABB01,"Abbott "quoted",,,,,,,,\n', ["line 2", "not valid CSV"]),
    ('ABB01,Abbott,,,,,,,,\nBAK01,"Baker\nStreet,,,,,,,,\n', ["line 3", "not valid CSV"]),
])
def test_a_malformed_client_row_names_its_line(run, tmp_path, clients_body, words):
    result = run(write(tmp_path, "clients.csv", CLIENT_HEADER + "\n" + clients_body), CONTACTS)
    assert_refused(result, "clients.csv", *words)


@pytest.mark.parametrize(("contacts_body", "words"), [
    ("k1,Alpha,,,,,,ACTIVE,,true,false\nk2,Bravo,,,,,,DELETED,,true,false\n", ["line 3", "DELETED", "ACTIVE"]),
    ("k1,Alpha,,,,,,ACTIVE,,true,false\nk1,Bravo,,,,,,ACTIVE,,true,false\n", ["line 3", "k1", "repeats line 2"]),
    (",Alpha,,,,,,ACTIVE,,true,false\n", ["line 2", "ContactID is empty"]),
    ("k1,Alpha,,,,,,ACTIVE,,maybe,false\n", ["line 2", "IsCustomer", "maybe"]),
    ("k1,Alpha,,,,,,ACTIVE,,true\n", ["line 2", "10 fields"]),
])
def test_a_malformed_contact_row_names_its_line(run, tmp_path, contacts_body, words):
    result = run(CLIENTS, write(tmp_path, "contacts.csv", CONTACT_HEADER + "\n" + contacts_body))
    assert_refused(result, "contacts.csv", *words)


def test_a_file_that_is_not_utf8_names_its_line(run, tmp_path):
    body = (CLIENT_HEADER + "\nABB01,Abbott,,,,,,,,\nCAF01,Caf\xe9 Rouge,,,,,,,,\n").encode("latin-1")
    assert_refused(run(write(tmp_path, "clients.csv", body), CONTACTS), "clients.csv", "line 3", "UTF-8")


def test_a_byte_order_mark_is_fine(run, tmp_path):
    with open(CLIENTS, "rb") as handle:
        body = b"\xef\xbb\xbf" + handle.read()
    result = run(write(tmp_path, "clients.csv", body), CONTACTS)
    assert result.exit_code == 0, result.output


def test_windows_line_endings_are_fine(run, tmp_path):
    paths = []
    for source in (CLIENTS, CONTACTS):
        with open(source, "rb") as handle:
            paths.append(write(tmp_path, os.path.basename(source), handle.read().replace(b"\n", b"\r\n")))
    result = run(*paths)
    assert result.exit_code == 0, result.output
    with open(EXPECTED, newline="", encoding="utf-8") as handle:
        assert key_columns(parsed(result.stdout)) == key_columns(list(csv.DictReader(handle)))


def test_an_empty_file(run, tmp_path):
    assert_refused(run(write(tmp_path, "clients.csv", ""), CONTACTS), "clients.csv", "empty")


def test_a_repeated_column(run, tmp_path):
    result = run(write(tmp_path, "clients.csv", CLIENT_HEADER + ",name\n"), CONTACTS)
    assert_refused(result, "line 1", "column name appears more than once")


def test_a_missing_file(run, tmp_path):
    result = run(str(tmp_path / "nowhere.csv"), CONTACTS)
    assert result.exit_code != 0
    assert "nowhere.csv" in result.stderr and "does not exist" in result.stderr


def test_a_directory_is_not_a_file(run, tmp_path):
    result = run(CLIENTS, str(tmp_path))
    assert result.exit_code != 0
    assert "is a directory" in result.stderr


def test_an_unreadable_file(run, tmp_path):
    path = write(tmp_path, "locked.csv", CLIENT_HEADER + "\n")
    os.chmod(path, 0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read any file")
        result = run(path, CONTACTS)
        assert result.exit_code != 0
        assert "locked.csv" in result.stderr
    finally:
        os.chmod(path, 0o600)


def test_a_read_error_is_reported_with_the_file(run, monkeypatch):
    import webapp.matching_cli as matching_cli

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(matching_cli, "open", refuse, raising=False)
    assert_refused(run(CLIENTS, CONTACTS), "practice_clients.csv", "cannot be read", "Permission denied")
