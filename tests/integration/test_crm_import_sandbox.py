"""Xero as the demo practice's primary CRM, synced with the sandbox's demo organisation over real HTTP: the active
customers no client has become linked clients (their made-up codes written to Xero's ContactNumber), a quiet second
sync imports nothing, and later a contact archived in Xero archives its client while a new one (and, with every
contact in scope, the suppliers) become clients."""
from datetime import date

import pytest

from tests.demo_sandbox import connect_demo_practice, run_sync, sandbox_contact_numbers
from tests.live_servers import sandbox_for
from webapp.extensions import db
from webapp.models import Client, ClientContactLink, Practice, XeroContact
from webapp.services.demo_seed import seed_demo

pytest.importorskip("xero_sandbox.testing", reason="the Xero sandbox is not available")
from xero_sandbox.constants import DEMO_TENANT_ID

pytestmark = pytest.mark.integration

# The demo organisation's active customers that no demo client has (tests/data/expected_matches.csv): the others are
# linked, or candidates of a client waiting for review (Ivy Lane, Jones, Penrose, Smith & Co), or archived.
CUSTOMERS = {"OAK01": "Oakridge Builders Ltd", "THA01": "Thames Valley Cycles", "WES02": "WE Services",
             "WIL01": "Willow Court Residents Association", "YOR02": "York St Pharmacy"}
SUPPLIERS = {"BRI02": "British Gas Business", "HMR01": "HM Revenue & Customs", "OFF01": "Office Stationery Direct Ltd"}


@pytest.fixture
def sandbox(app):
    with sandbox_for(app, "http://127.0.0.1:9") as sandbox:  # no browser here: the callback is never used
        yield sandbox


def set_practice(practice_id: int, **fields) -> None:
    practice = db.session.get_one(Practice, practice_id)
    for name, value in fields.items():
        setattr(practice, name, value)
    db.session.commit()


def client_codes(practice_id: int) -> set[str]:
    return set(db.session.execute(db.select(Client.code).filter_by(practice_id=practice_id)).scalars())


def new_clients(practice_id: int, seeded: set[str]) -> dict[str, tuple[str, str, str, str, str]]:
    """code -> (client name, status, linked contact's name, outcome, rule) of the clients the demo seed did not make."""
    db.session.expire_all()
    names = dict(db.session.execute(db.select(XeroContact.contact_id, XeroContact.name)
                                    .filter_by(practice_id=practice_id)).all())
    rows = db.session.execute(db.select(Client, ClientContactLink).outerjoin(
        ClientContactLink, ClientContactLink.client_id == Client.id).filter(
        Client.practice_id == practice_id, Client.code.not_in(seeded)))
    return {client.code: (client.name, client.status, names.get(link.contact_id) if link else None,
                          link.outcome if link else None, link.rule if link else None) for client, link in rows}


def test_the_demo_organisations_contacts_become_clients_with_xero_as_the_primary_crm(app, app_ctx, sandbox):
    seed_demo(today=date(2026, 11, 15))
    practice_id = connect_demo_practice(sandbox)
    set_practice(practice_id, primary_crm="xero")  # scope: customers, the default
    seeded = client_codes(practice_id)

    first = run_sync(practice_id, "connect")
    assert (first.counts["clients_imported"], first.counts["clients_archived_from_xero"]) == (5, 0)
    assert first.counts["warnings"] == []
    made = new_clients(practice_id, seeded)
    assert made == {code: (name, "active", name, "linked", "stored") for code, name in CUSTOMERS.items()}
    link = db.session.execute(db.select(ClientContactLink).join(Client, Client.id == ClientContactLink.client_id)
                              .filter(Client.practice_id == practice_id, Client.code == "WES02")).scalar_one()
    assert (link.is_manual, link.decided_by_id, link.candidate_ids) == (False, None, [])
    assert link.reason == ("Imported from Xero (primary CRM): made from the contact 'WE Services'; its code WES02 was "
                           "made from its name.")
    # Their made-up codes were written to the contacts' empty ContactNumbers, with the matched clients' codes.
    ids = dict(db.session.execute(db.select(XeroContact.name, XeroContact.contact_id)
                                  .filter_by(practice_id=practice_id)).all())
    in_xero = sandbox_contact_numbers(sandbox)
    assert {code: in_xero[ids[name]] for code, name in CUSTOMERS.items()} == {code: code for code in CUSTOMERS}
    assert first.counts["contact_numbers_written"] == 26 + 5

    # A quiet night: nothing new to import, nothing written.
    second = run_sync(practice_id, "nightly")
    assert (second.counts["clients_imported"], second.counts["clients_archived_from_xero"]) == (0, 0)
    assert (second.counts["links_changed"], second.counts["contact_numbers_calls"]) == (0, 0)
    assert new_clients(practice_id, seeded) == made

    # In Xero: Thames Valley Cycles archived, a new contact with a ContactNumber; in Socket: every contact in scope.
    sandbox.archive_contact(ids["Thames Valley Cycles"])
    token = sandbox.connect(tenants=(DEMO_TENANT_ID,))["access_token"]
    created = sandbox.api("PUT", "Contacts", token, json={"Contacts": [{"Name": "Newbury Farm Ltd",
                                                                        "ContactNumber": "NEW-7"}]})
    assert created.status_code == 200, created.text
    set_practice(practice_id, crm_import_scope="all")
    third = run_sync(practice_id, "manual")
    assert (third.counts["clients_imported"], third.counts["clients_archived_from_xero"]) == (4, 1)
    expected = {code: (name, "active", name, "linked", "stored") for code, name in {**CUSTOMERS, **SUPPLIERS}.items()}
    # Matching sent THA01 to review (its contact is archived), keeping the link; Xero being primary archived it.
    expected["THA01"] = ("Thames Valley Cycles", "archived", "Thames Valley Cycles", "needs_review", "stored")
    expected["NEW-7"] = ("Newbury Farm Ltd", "active", "Newbury Farm Ltd", "linked", "contact_number")
    assert new_clients(practice_id, seeded) == expected

    fourth = run_sync(practice_id, "nightly")
    assert (fourth.counts["clients_imported"], fourth.counts["clients_archived_from_xero"]) == (0, 0)
    assert new_clients(practice_id, seeded) == expected
