"""Xero as the primary CRM: the sync step that makes clients of mirrored contacts and archives the clients of contacts
Xero archived (webapp.sync.crm_import), on mirrored contacts; then once through the whole sync run with Xero mocked."""
import json
import re

import pytest

from jobs.sync_reference import run_reference_sync
from tests.factories import make_client, make_contact_pull, make_xero_contact
from tests.helpers import fresh
from tests.xero.helpers import mock_reference, xero_contact
from webapp.extensions import db
from webapp.models import Client, ClientContactLink, Practice, SyncRun, XeroContact
from webapp.services.clients import normalise_client_code
from webapp.sync import crm_import
from webapp.sync.contact_links import link_client, rematch_practice
from webapp.sync.crm_import import CodeMaker, code_prefix, import_from_xero

IMPORTED = "Imported from Xero (primary CRM)"


@pytest.fixture
def pid(owner):
    """A practice with Xero as its primary CRM (scope: customers, the default), its contacts pulled once."""
    set_practice(owner.practice_id, primary_crm="xero")
    make_contact_pull(owner.practice_id)
    return owner.practice_id


def set_practice(practice_id, **fields):
    practice = db.session.get_one(Practice, practice_id)
    for name, value in fields.items():
        setattr(practice, name, value)
    db.session.commit()


def contact(practice_id, name, customer=True, **fields) -> XeroContact:
    """A mirrored contact, a customer unless told otherwise."""
    return make_xero_contact(practice_id, name, is_customer=customer, is_supplier=not customer, **fields)


def sync_step(practice_id) -> crm_import.ImportResult:
    """What the sync run does once contacts are pulled: match, then import."""
    rematch_practice(practice_id)
    return import_from_xero(practice_id)


def clients(practice_id) -> dict[str, tuple]:
    """code -> (name, status, linked contact's name, outcome, rule, is_manual), as stored now."""
    db.session.expire_all()
    names = dict(db.session.execute(db.select(XeroContact.contact_id, XeroContact.name)
                                    .filter_by(practice_id=practice_id)).all())
    rows = db.session.execute(db.select(Client, ClientContactLink).outerjoin(
        ClientContactLink, ClientContactLink.client_id == Client.id).filter(Client.practice_id == practice_id))
    return {client.code: (client.name, client.status, names.get(link.contact_id) if link else None,
                          link.outcome if link else None, link.rule if link else None,
                          link.is_manual if link else None) for client, link in rows}


def imported(practice_id) -> dict[str, tuple]:
    """Only the clients made from Xero contacts: code -> (name, linked contact's name, rule)."""
    db.session.expire_all()
    rows = db.session.execute(db.select(Client.code, Client.name, ClientContactLink).join(
        ClientContactLink, ClientContactLink.client_id == Client.id).filter(
        Client.practice_id == practice_id, ClientContactLink.reason.startswith(IMPORTED)))
    names = dict(db.session.execute(db.select(XeroContact.contact_id, XeroContact.name)
                                    .filter_by(practice_id=practice_id)).all())
    return {code: (name, names[link.contact_id], link.rule) for code, name, link in rows}


def client_by_code(practice_id, code) -> Client:
    db.session.expire_all()
    return db.session.execute(db.select(Client).filter_by(practice_id=practice_id, code=code)).scalar_one()


def link_of(client) -> ClientContactLink:
    return db.session.execute(db.select(ClientContactLink).filter_by(client_id=client.id)).scalar_one()


# -- what becomes a client -------------------------------------------------------------------------------------------
def test_active_customers_become_clients_linked_from_the_start_with_their_details(pid):
    thames = contact(pid, "Thames Valley Cycles", email="Accounts@TVCycles.co.uk", phone="01865 555123",
                     address_line="12 Cowley Road", city="Oxford", postcode="OX4 1HP", company_number="1234567",
                     tax_number="GB 123 4567 89")
    contact(pid, "British Gas Business", customer=False)  # a supplier
    contact(pid, "Old Customer Ltd", status="ARCHIVED")
    contact(pid, "Gone Customer Ltd", status="GDPRREQUEST")
    result = sync_step(pid)
    assert result.counts() == {"clients_imported": 1, "clients_archived_from_xero": 0} and result.warnings == []
    assert clients(pid) == {"THA01": ("Thames Valley Cycles", "active", "Thames Valley Cycles", "linked", "stored",
                                      False)}
    client = client_by_code(pid, "THA01")
    assert (client.email, client.phone, client.address_line, client.city, client.postcode, client.company_number,
            client.vat_number) == ("Accounts@tvcycles.co.uk", "01865 555123", "12 Cowley Road", "Oxford", "OX4 1HP",
                                   "01234567", "GB123456789")
    link = link_of(client)
    assert (link.contact_id, link.candidate_ids, link.decided_by_id) == (thames.contact_id, [], None)
    assert link.reason == (f"{IMPORTED}: made from the contact 'Thames Valley Cycles'; its code THA01 was made from "
                           "its name.")


def test_with_all_contacts_in_scope_suppliers_become_clients_too(pid):
    set_practice(pid, crm_import_scope="all")
    contact(pid, "Thames Valley Cycles")
    contact(pid, "British Gas Business", customer=False)
    make_xero_contact(pid, "Neither Ltd")  # neither customer nor supplier (yet)
    contact(pid, "Old Supplier Ltd", customer=False, status="ARCHIVED")
    assert sync_step(pid).imported == 3
    assert imported(pid) == {"BRI01": ("British Gas Business", "British Gas Business", "stored"),
                             "NEI01": ("Neither Ltd", "Neither Ltd", "stored"),
                             "THA01": ("Thames Valley Cycles", "Thames Valley Cycles", "stored")}


def test_a_contact_new_in_xero_becomes_a_client_at_the_next_sync_and_a_quiet_sync_imports_nothing(pid):
    contact(pid, "Thames Valley Cycles")
    assert sync_step(pid).imported == 1
    before = clients(pid)
    links = {link.id: (link.decided_at, link.reason) for link in db.session.execute(
        db.select(ClientContactLink)).scalars()}
    assert sync_step(pid).counts() == {"clients_imported": 0, "clients_archived_from_xero": 0}
    assert rematch_practice(pid)["links_changed"] == 0  # matching keeps the imported link as it was made
    assert clients(pid) == before
    assert {link.id: (link.decided_at, link.reason) for link in db.session.execute(
        db.select(ClientContactLink)).scalars()} == links

    contact(pid, "Willow Court Residents Association")
    assert sync_step(pid).imported == 1
    assert sorted(imported(pid)) == ["THA01", "WIL01"]
    assert sync_step(pid).imported == 0


def test_contacts_that_match_existing_clients_make_no_duplicates(pid, owner):
    contact(pid, "Abbott & Sons Ltd")
    contact(pid, "Fairweather Consultancy", contact_number="FAIR01")
    quayside = contact(pid, "QL Property Management")
    contact(pid, "Lakeside Motors Ltd")  # linked to a client a person archived
    make_client(pid, "Abbott and Sons Limited", code="ABB01")  # by name
    make_client(pid, "Fairweather Consultancy Services", code="FAIR01")  # by ContactNumber
    quay = make_client(pid, "Quayside Lettings Ltd", code="QUA01")
    lakeside = make_client(pid, "Lakeside Motors Ltd", code="LAK01")
    make_client(pid, "Meadow Farm", code="MEA01")  # no contact: stays unmatched, imports nothing
    rematch_practice(pid)
    link_client(pid, quay.id, quayside.contact_id, owner.id)
    lakeside.status = "archived"
    db.session.commit()

    result = sync_step(pid)
    assert result.imported == 0 and result.archived == 0
    assert clients(pid) == {
        "ABB01": ("Abbott and Sons Limited", "active", "Abbott & Sons Ltd", "linked", "name", False),
        "FAIR01": ("Fairweather Consultancy Services", "active", "Fairweather Consultancy", "linked",
                   "contact_number", False),
        "QUA01": ("Quayside Lettings Ltd", "active", "QL Property Management", "linked", "stored", True),
        "LAK01": ("Lakeside Motors Ltd", "archived", "Lakeside Motors Ltd", "linked", "name", False),
        "MEA01": ("Meadow Farm", "active", None, "unmatched", None, False),
    }


def test_contacts_a_client_under_review_might_be_are_not_made_clients(pid):
    contact(pid, "Jones Family Trust")
    contact(pid, "JONES FAMILY TRUST.")
    contact(pid, "Smith & Co")
    contact(pid, "Penrose and Daughters", company_number="07654321")
    make_client(pid, "Jones Family Trust", code="JON01")  # two candidates
    make_client(pid, "Smith & Co", code="SMI01")  # two clients claim one contact
    make_client(pid, "Smith and Co", code="SMI02")
    make_client(pid, "Penrose & Daughters", code="PEN01", company_number="01234567")  # company numbers differ
    jones_archived = make_client(pid, "Jones Family Trust.", code="JON02")
    result = sync_step(pid)
    assert result.imported == 0
    assert {code: row[3] for code, row in clients(pid).items()} == {
        "JON01": "needs_review", "JON02": "needs_review", "SMI01": "needs_review", "SMI02": "needs_review",
        "PEN01": "needs_review"}
    # A client archived while under review still holds its candidates back: a new client would duplicate it.
    jones_archived.status = "archived"
    make_client(pid, "Someone Else", code="SOM01")
    db.session.commit()
    assert sync_step(pid).imported == 0


# -- client codes ---------------------------------------------------------------------------------------------------
def test_the_contact_number_is_the_code_unless_another_client_has_it(pid):
    make_client(pid, "Former Client Ltd", code="ABB01", status="archived")  # not matched, but its code is taken
    contact(pid, "Carter & Price LLP", contact_number=" cp-100 ")
    contact(pid, "Dunmore Group", contact_number="abb01")  # another client's code, in another case
    contact(pid, "Elm Tree Nurseries", contact_number="CP-100")  # the same number as Carter & Price's
    contact(pid, "Foxglove Interiors", contact_number="X" * 33)  # too long for a client code
    contact(pid, "Granite Stoneworks Ltd", contact_number="GRA\u200b1")  # an invisible character
    assert sync_step(pid).imported == 5
    assert imported(pid) == {
        "CP-100": ("Carter & Price LLP", "Carter & Price LLP", "contact_number"),
        "DUN01": ("Dunmore Group", "Dunmore Group", "stored"),
        "ELM01": ("Elm Tree Nurseries", "Elm Tree Nurseries", "stored"),
        "FOX01": ("Foxglove Interiors", "Foxglove Interiors", "stored"),
        "GRA01": ("Granite Stoneworks Ltd", "Granite Stoneworks Ltd", "stored"),
    }
    assert link_of(client_by_code(pid, "CP-100")).reason == (
        f"{IMPORTED}: made from the contact 'Carter & Price LLP'; its code CP-100 is the contact's ContactNumber.")
    assert link_of(client_by_code(pid, "DUN01")).reason == (
        f"{IMPORTED}: made from the contact 'Dunmore Group'; its code DUN01 was made from its name (the ContactNumber "
        "ABB01 is another client's code).")
    assert link_of(client_by_code(pid, "FOX01")).reason.endswith("(the ContactNumber cannot be a client code).")
    # At the next sync the imported clients keep their links: none is matched elsewhere by its ContactNumber.
    assert sync_step(pid).imported == 0
    assert all(row[3] == "linked" for row in clients(pid).values() if row[1] == "active")


def test_made_up_codes_are_unique_in_the_practice_and_valid_client_codes(pid):
    for code in ("ABB01", "ABB02"):
        make_client(pid, f"Existing {code}", code=code)
    make_client(pid, "Archived Abbey", code="ABB04", status="archived")
    contact(pid, "Numbered Elsewhere", contact_number="ABB03", customer=False)  # reserved: not made again
    names = ["Abbey Road Ltd", "Abbot Ltd", "ABBA Fans", "Ab", "北京贸易", "Café Rouge", "& Co", "3D Prints Ltd",
             "O'Brien-Smith", "Zoë"]
    for name in names:
        contact(pid, name)
    assert sync_step(pid).imported == len(names)
    codes = {name: code for code, (name, _, _) in imported(pid).items()}
    assert codes == {"ABBA Fans": "ABB05", "Abbey Road Ltd": "ABB06", "Abbot Ltd": "ABB07", "Ab": "ABX01",
                     "北京贸易": "XXX01", "Café Rouge": "CAF01", "& Co": "AND01", "3D Prints Ltd": "DPR01",
                     "O'Brien-Smith": "OBR01", "Zoë": "ZOE01"}
    all_codes = [code for code in db.session.execute(db.select(Client.code).filter_by(practice_id=pid)).scalars()]
    assert len({code.upper() for code in all_codes}) == len(all_codes)
    for code in codes.values():  # what the client form stores: normalised, at most 32 characters
        assert normalise_client_code(code) == code and len(code) <= 32 and re.fullmatch(r"[A-Z]{3}[0-9]{2,}", code)


def test_the_counter_goes_past_99():
    maker = CodeMaker({f"ZED{n:02d}" for n in range(1, 100)})
    assert [maker.make("Zed Ltd"), maker.make("zed two")] == ["ZED100", "ZED101"]
    assert code_prefix("") == "XXX" and code_prefix("Ltd") == "LTD"


# -- archiving ------------------------------------------------------------------------------------------------------
def test_a_contact_archived_in_xero_archives_its_client_and_a_merged_one_moves_the_link(pid, owner):
    for name in ("Kingfisher Hotels Ltd", "Upton Dental Care", "Lakeside Motors Ltd", "QL Property Management"):
        contact(pid, name)
    contact(pid, "Lakeside Motor Group Ltd", customer=False)  # not imported (customers only)
    make_client(pid, "Kingfisher Hotels Ltd", code="KIN01")
    make_client(pid, "Upton Dental Care", code="UPT01")
    make_client(pid, "Lakeside Motors Ltd", code="LAK01")
    quay = make_client(pid, "Quayside Lettings", code="QUA01")
    rematch_practice(pid)
    link_client(pid, quay.id, _contact_id(pid, "QL Property Management"), owner.id)
    assert sync_step(pid).counts() == {"clients_imported": 0, "clients_archived_from_xero": 0}
    group = _contact_id(pid, "Lakeside Motor Group Ltd")

    _set_contact(pid, "Kingfisher Hotels Ltd", status="ARCHIVED")
    _set_contact(pid, "Upton Dental Care", status="GDPRREQUEST")
    _set_contact(pid, "QL Property Management", status="ARCHIVED")  # a person's link: Xero says the client is gone
    _set_contact(pid, "Lakeside Motors Ltd", status="ARCHIVED", merged_to_contact_id=group)
    result = sync_step(pid)
    assert result.counts() == {"clients_imported": 0, "clients_archived_from_xero": 3}
    states = clients(pid)
    assert {code: row[1] for code, row in states.items()} == {
        "KIN01": "archived", "UPT01": "archived", "QUA01": "archived", "LAK01": "active"}
    assert states["LAK01"][2:4] == ("Lakeside Motor Group Ltd", "linked")  # followed the merge
    assert sync_step(pid).counts() == {"clients_imported": 0, "clients_archived_from_xero": 0}


def _contact_id(practice_id, name) -> str:
    return db.session.execute(db.select(XeroContact.contact_id).filter_by(practice_id=practice_id, name=name)
                              ).scalar_one()


def _set_contact(practice_id, name, **fields):
    row = db.session.execute(db.select(XeroContact).filter_by(practice_id=practice_id, name=name)).scalar_one()
    for key, value in fields.items():
        setattr(row, key, value)
    db.session.commit()


def test_with_socket_as_the_primary_crm_nothing_is_imported_or_archived(pid):
    set_practice(pid, primary_crm="socket", crm_import_scope="all")
    contact(pid, "Thames Valley Cycles")
    contact(pid, "British Gas Business", customer=False)
    contact(pid, "Kingfisher Hotels Ltd")
    make_client(pid, "Kingfisher Hotels Ltd", code="KIN01")
    assert sync_step(pid).counts() == {"clients_imported": 0, "clients_archived_from_xero": 0}
    _set_contact(pid, "Kingfisher Hotels Ltd", status="ARCHIVED")
    result = sync_step(pid)
    assert result.counts() == {"clients_imported": 0, "clients_archived_from_xero": 0} and result.warnings == []
    assert clients(pid) == {"KIN01": ("Kingfisher Hotels Ltd", "active", "Kingfisher Hotels Ltd", "needs_review",
                                      "stored", False)}


def test_nothing_happens_for_a_practice_whose_contacts_were_never_pulled(owner):
    set_practice(owner.practice_id, primary_crm="xero")
    contact(owner.practice_id, "Thames Valley Cycles")
    assert import_from_xero(owner.practice_id).counts() == {"clients_imported": 0, "clients_archived_from_xero": 0}
    assert clients(owner.practice_id) == {}


# -- bad data -------------------------------------------------------------------------------------------------------
def test_contacts_that_cannot_be_clients_are_skipped_with_a_warning_and_the_rest_imported(pid):
    contact(pid, "", contact_id="00000000-0000-0000-0000-000000000001")
    contact(pid, "L" * 201, contact_id="00000000-0000-0000-0000-000000000002")
    contact(pid, "Tab\tLtd", contact_id="00000000-0000-0000-0000-000000000003")
    contact(pid, "Odd Details Ltd", contact_id="00000000-0000-0000-0000-000000000004", email="not an email",
            postcode="P" * 17, company_number="N/A", tax_number="FR 123", city="Bath", phone="0" * 60)
    contact(pid, "Thames Valley Cycles")
    result = sync_step(pid)
    assert result.imported == 2
    assert sorted(imported(pid)) == ["ODD01", "THA01"]
    odd = client_by_code(pid, "ODD01")
    assert (odd.email, odd.postcode, odd.company_number, odd.vat_number, odd.city, odd.phone) == (
        None, None, None, None, "Bath", None)
    odd = "Client ODD01 was made from the Xero contact 'Odd Details Ltd' (00000000-0000-0000-0000-000000000004) " \
          "without its"
    assert result.warnings == [  # in Xero's order, by name
        "The Xero contact (00000000-0000-0000-0000-000000000001) was not made a client: it has no name.",
        f"The Xero contact '{'L' * 60}…' (00000000-0000-0000-0000-000000000002) was not made a client: its name is "
        "longer than 200 characters, Socket's limit for a client's name.",
        f"{odd} email 'not an email', which Socket does not accept (An email address must have an @-sign).",
        f"{odd} phone number '{'0' * 40}…', longer than 50 characters.",
        f"{odd} postcode '{'P' * 17}', longer than 16 characters.",
        f"{odd} company number 'N/A', which Socket does not accept (A company number is 8 characters: 8 digits "
        "(e.g. 01234567) or 2 letters and 6 digits (e.g. SC123456)).",
        f"{odd} VAT number 'FR 123', which Socket does not accept (A UK VAT number is 9 digits, or 12 for a branch "
        "(the 9 and a 3-digit branch number); GB in front is optional, e.g. GB 123 4567 89 or GB 123 4567 89 001).",
        "The Xero contact 'Tab\tLtd' (00000000-0000-0000-0000-000000000003) was not made a client: its name has a "
        "control character in it.",
    ]
    # The skipped contacts are reported again at the next sync (until fixed in Xero); nothing is imported twice.
    again = sync_step(pid)
    assert again.imported == 0 and len(again.warnings) == 3


def test_a_code_taken_meanwhile_is_read_again_and_the_import_goes_on(pid, monkeypatch):
    make_client(pid, "Someone Archived", code="THA01", status="archived")
    contact(pid, "Thames Valley Cycles")
    real = crm_import.codes_in_use
    calls = []

    def stale_then_real(practice_id):
        calls.append(practice_id)
        return (set(), set()) if len(calls) == 1 else real(practice_id)

    monkeypatch.setattr(crm_import, "codes_in_use", stale_then_real)
    assert sync_step(pid).imported == 1 and len(calls) == 2
    assert sorted(imported(pid)) == ["THA02"]


# -- the sync run ---------------------------------------------------------------------------------------------------
def test_the_sync_run_counts_imports_records_warnings_and_writes_made_up_codes_to_xero(settings, connection, mocked):
    pid = connection.practice_id
    set_practice(pid, primary_crm="xero")
    mock_reference(mocked, settings, contacts=[
        xero_contact("Thames Valley Cycles"), xero_contact("Fairweather Consultancy", ContactNumber="FAIR01"),
        xero_contact("HM Revenue & Customs", IsCustomer=False, IsSupplier=True),
        {"ContactID": "00000000-0000-0000-0000-0000000000aa", "ContactStatus": "ACTIVE", "IsCustomer": True}])
    posted = []

    def accept(request):
        body = json.loads(request.body)
        posted.append(body)
        return 200, {}, json.dumps({"Contacts": [{**c, "StatusAttributeString": "OK"} for c in body["Contacts"]]})

    mocked.add_callback("POST", f"{settings.accounting_url}/Contacts", callback=accept)
    run = _run(pid)
    assert (run.counts["clients_imported"], run.counts["clients_archived_from_xero"]) == (2, 0)
    assert run.counts["warnings"] == ["The Xero contact (00000000-0000-0000-0000-0000000000aa) was not made a "
                                      "client: it has no name."]
    assert sorted(imported(pid)) == ["FAIR01", "THA01"]
    # The made-up code goes to the contact's empty ContactNumber, as for any new automatic link.
    assert [c["ContactNumber"] for body in posted for c in body["Contacts"]] == ["THA01"]
    assert run.counts["contact_numbers_written"] == 1

    # The next pull returns what changed: the contact whose ContactNumber Socket wrote.
    mocked.replace("GET", f"{settings.accounting_url}/Contacts",
                   json={"Contacts": [xero_contact("Thames Valley Cycles", ContactNumber="THA01")]})
    second = _run(pid)
    assert (second.counts["clients_imported"], second.counts["clients_archived_from_xero"]) == (0, 0)
    assert len(posted) == 1


def _run(practice_id) -> SyncRun:
    run = SyncRun(practice_id=practice_id, trigger="manual", status="queued", counts={})
    db.session.add(run)
    db.session.commit()
    assert run_reference_sync(run.id) == "succeeded"
    return fresh(SyncRun, run.id)


def test_links_to_another_organisations_contacts_stop_the_import_until_a_person_relinks(pid, owner):
    """After switching organisation a person's link still names the old organisation's contact: matching cannot
    place that client in the new one, so importing its contacts would make a second client of it."""
    old = contact(pid, "Abbott & Sons Ltd")
    abbott = make_client(pid, "Abbott & Sons Ltd", code="ABB01")
    rematch_practice(pid)
    link_client(pid, abbott.id, old.contact_id, owner.id)
    db.session.delete(old)  # the new organisation's mirror does not hold the old contact
    new = contact(pid, "Abbott and Sons Limited")
    contact(pid, "Brand New Customer Ltd")
    db.session.commit()

    result = sync_step(pid)
    assert result.imported == 0
    assert any("1 client is linked to a contact this Xero organisation does not have" in w for w in result.warnings)
    assert set(clients(pid)) == {"ABB01"}

    link_client(pid, abbott.id, new.contact_id, owner.id)
    result = sync_step(pid)
    assert result.imported == 1 and set(clients(pid)) == {"ABB01", "BRA01"}
