"""Storing matching's decisions and a person's links, and what the UI reads to review them (no Xero involved)."""
import uuid
from datetime import date

import pytest

from tests.factories import make_client, make_contact_pull, make_xero_contact
from tests.helpers import require_postgresql
from webapp.extensions import db
from webapp.models import Client, ClientContactLink, Practice
from webapp.services.clients import create_client, update_client
from webapp.sync import contact_links, contact_review
from webapp.sync.contact_links import ContactLinkError, link_client, rematch_practice, unlink_client


def decisions(practice_id) -> dict[str, tuple]:
    """code -> (outcome, contact name or None, rule, candidate names, is_manual), as stored now."""
    db.session.expire_all()
    names = {c.contact_id: c.name for c in contact_review.contact_records(practice_id)}
    rows = db.session.execute(db.select(Client.code, ClientContactLink).join(
        ClientContactLink, ClientContactLink.client_id == Client.id).filter(Client.practice_id == practice_id)).all()
    return {code: (link.outcome, names.get(link.contact_id), link.rule, [names[c] for c in link.candidate_ids],
                   link.is_manual) for code, link in rows}


@pytest.fixture
def practice(owner):
    """Clients and mirrored contacts of one practice whose contacts were pulled once."""
    pid = owner.practice_id
    make_contact_pull(pid)
    for name, fields in (("Abbott & Sons Ltd", {}), ("Baker Street Dental Ltd", {}),
                         ("Jones Family Trust", {}), ("JONES FAMILY TRUST.", {}),
                         ("Kingfisher Hotels Ltd", {"status": "ARCHIVED"}), ("Smith & Co", {}),
                         ("York St Pharmacy", {"postcode": "YO1 7HH"}), ("Quayside Lettings Ltd", {})):
        make_xero_contact(pid, name, **fields)
    for code, name in (("ABB01", "Abbott and Sons Limited"), ("BAK01", "Baker Street Dental Limited"),
                       ("JON01", "Jones Family Trust"), ("KIN01", "Kingfisher Hotels Ltd"), ("MEA01", "Meadow Farm"),
                       ("SMI01", "Smith & Co"), ("SMI02", "Smith and Co")):
        make_client(pid, name, code=code)
    return owner


def contact_id(practice_id, name) -> str:
    return next(c.contact_id for c in contact_review.contact_records(practice_id) if c.name == name)


def client_id(practice_id, code) -> int:
    return db.session.execute(db.select(Client.id).filter_by(practice_id=practice_id, code=code)).scalar_one()


def test_every_decision_is_stored_with_its_rule_reason_and_candidates(practice):
    pid = practice.practice_id
    counts = rematch_practice(pid)
    assert counts == {"clients_linked": 2, "clients_needs_review": 4, "clients_unmatched": 1,
                      "clients_no_contact": 0, "links_changed": 7}
    assert decisions(pid) == {
        "ABB01": ("linked", "Abbott & Sons Ltd", "name", [], False),
        "BAK01": ("linked", "Baker Street Dental Ltd", "name", [], False),
        "JON01": ("needs_review", None, "name", ["Jones Family Trust", "JONES FAMILY TRUST."], False),
        "KIN01": ("needs_review", None, "name", ["Kingfisher Hotels Ltd"], False),
        "MEA01": ("unmatched", None, None, [], False),
        "SMI01": ("needs_review", None, "name", ["Smith & Co"], False),
        "SMI02": ("needs_review", None, "name", ["Smith & Co"], False),
    }
    abbott = contact_links.link_for(pid, client_id(pid, "ABB01"))
    assert abbott.reason.startswith("Linked to 'Abbott & Sons Ltd' by name") and abbott.decided_by_id is None


def test_a_quiet_rematch_changes_no_row_and_a_kept_link_keeps_its_rule(practice):
    pid = practice.practice_id
    rematch_practice(pid)
    before = decisions(pid)
    stamps = {link.client_id: link.decided_at for link in db.session.execute(db.select(ClientContactLink)).scalars()}
    assert rematch_practice(pid)["links_changed"] == 0
    assert decisions(pid) == before  # ABB01 is still "name", not "stored"
    assert {link.client_id: link.decided_at
            for link in db.session.execute(db.select(ClientContactLink)).scalars()} == stamps


def test_a_manual_link_survives_automatic_matching(practice):
    pid = practice.practice_id
    rematch_practice(pid)
    link = link_client(pid, client_id(pid, "ABB01"), contact_id(pid, "Quayside Lettings Ltd").upper(), practice.id)
    assert (link.is_manual, link.rule, link.decided_by_id) == (True, "stored", practice.id)
    assert link.reason == "Linked to 'Quayside Lettings Ltd' by Test User."
    rematch_practice(pid)
    assert decisions(pid)["ABB01"] == ("linked", "Quayside Lettings Ltd", "stored", [], True)


def test_no_contact_survives_automatic_matching(practice):
    pid = practice.practice_id
    rematch_practice(pid)
    unlink_client(pid, client_id(pid, "ABB01"), practice.id)
    counts = rematch_practice(pid)
    assert decisions(pid)["ABB01"] == ("unmatched", None, None, [], True)
    assert counts["clients_no_contact"] == 1 and counts["clients_linked"] == 1
    assert contact_links.link_for(pid, client_id(pid, "ABB01")).reason == "Test User said this client has no " \
                                                                          "Xero contact."


def test_forgetting_a_persons_decision_lets_matching_decide_again(practice):
    pid = practice.practice_id
    unlink_client(pid, client_id(pid, "ABB01"), practice.id)
    link = contact_links.clear_manual_decision(pid, client_id(pid, "ABB01"))
    assert (link.outcome, link.rule, link.is_manual) == ("linked", "name", False)


def test_needs_review_keeps_the_stored_link(practice):
    pid = practice.practice_id
    rematch_practice(pid)
    abbott = contact_id(pid, "Abbott & Sons Ltd")
    db.session.execute(db.update(contact_links.XeroContact).filter_by(contact_id=abbott).values(status="ARCHIVED"))
    db.session.commit()
    rematch_practice(pid)
    link = contact_links.link_for(pid, client_id(pid, "ABB01"))
    assert (link.outcome, link.contact_id, link.rule, link.candidate_ids) == ("needs_review", abbott, "stored",
                                                                              [abbott])
    assert "archived" in link.reason and "left as it is" in link.reason


def test_creating_or_editing_a_client_rematches_it(practice):
    pid = practice.practice_id
    rematch_practice(pid)
    client = create_client(pid, {"name": "Quayside Lettings", "code": "qua01"})
    assert decisions(pid)["QUA01"] == ("unmatched", None, None, [], False)
    update_client(client, {"name": "Quayside Lettings Ltd"})
    assert decisions(pid)["QUA01"] == ("linked", "Quayside Lettings Ltd", "name", [], False)


def test_nothing_is_matched_before_contacts_were_ever_pulled(owner):
    client = create_client(owner.practice_id, {"name": "Abbott", "code": "ABB01"})
    assert contact_links.rematch_client(owner.practice_id, client.id) is None
    assert rematch_practice(owner.practice_id) == {}
    summary = contact_review.unmatched_summary(owner.practice_id)
    assert (summary.synced, summary.unmatched, summary.rows) == (False, 0, [])


def test_linking_refuses_what_cannot_be_linked(practice, other_owner):
    pid = practice.practice_id
    abb = client_id(pid, "ABB01")
    with pytest.raises(ContactLinkError, match="archived in Xero"):
        link_client(pid, abb, contact_id(pid, "Kingfisher Hotels Ltd"), practice.id)
    with pytest.raises(ContactLinkError, match="not among the Xero contacts"):
        link_client(pid, abb, str(uuid.uuid4()), practice.id)
    theirs = make_xero_contact(other_owner.practice_id, "Rival's Contact")
    with pytest.raises(ContactLinkError, match="not among the Xero contacts"):
        link_client(pid, abb, theirs.contact_id, practice.id)
    their_client = make_client(other_owner.practice_id, "Rival Client")
    with pytest.raises(ContactLinkError, match="client does not exist"):
        link_client(pid, their_client.id, contact_id(pid, "Abbott & Sons Ltd"), practice.id)
    with pytest.raises(ContactLinkError, match="user does not belong"):
        unlink_client(pid, abb, other_owner.id)
    assert db.session.execute(db.select(ClientContactLink)).first() is None


def test_linking_a_contact_another_client_has_is_refused_until_that_link_goes(practice):
    pid = practice.practice_id
    rematch_practice(pid)
    abbott = contact_id(pid, "Abbott & Sons Ltd")  # ABB01's, linked by name
    before = decisions(pid)
    with pytest.raises(ContactLinkError, match="already linked to ABB01 Abbott and Sons Limited.*unlink ABB01 first"):
        link_client(pid, client_id(pid, "MEA01"), abbott, practice.id)
    assert decisions(pid) == before
    link_client(pid, client_id(pid, "ABB01"), abbott, practice.id)  # the client that has it may confirm it
    unlink_client(pid, client_id(pid, "ABB01"), practice.id)
    link_client(pid, client_id(pid, "MEA01"), abbott, practice.id)
    assert decisions(pid)["MEA01"][:2] == ("linked", "Abbott & Sons Ltd")
    # Two clients claiming one contact are both in review with no stored link: a person picks one.
    link_client(pid, client_id(pid, "SMI01"), contact_id(pid, "Smith & Co"), practice.id)
    with pytest.raises(ContactLinkError, match="already linked to SMI01"):
        link_client(pid, client_id(pid, "SMI02"), contact_id(pid, "Smith & Co"), practice.id)


def test_an_archived_clients_link_does_not_hold_its_contact(practice):
    pid = practice.practice_id
    rematch_practice(pid)
    archived = db.session.get(Client, client_id(pid, "ABB01"))
    archived.status = "archived"
    db.session.commit()
    link_client(pid, client_id(pid, "MEA01"), contact_id(pid, "Abbott & Sons Ltd"), practice.id)
    assert decisions(pid)["MEA01"][:2] == ("linked", "Abbott & Sons Ltd")


def test_the_unmatched_summary_counts_and_lists_what_to_review(practice):
    pid = practice.practice_id
    rematch_practice(pid)
    unlink_client(pid, client_id(pid, "MEA01"), practice.id)
    make_client(pid, "Newcomer Ltd", code="NEW01")  # made after the last matching: not matched yet
    summary = contact_review.unmatched_summary(pid)
    assert (summary.synced, summary.unmatched, summary.needs_review, summary.no_contact) == (True, 1, 4, 1)
    rows = {row.client_code: row for row in summary.rows}
    assert sorted(rows) == ["JON01", "KIN01", "NEW01", "SMI01", "SMI02"]
    assert [c.name for c in rows["JON01"].candidates] == ["Jones Family Trust", "JONES FAMILY TRUST."]
    assert rows["KIN01"].candidates[0].status == "ARCHIVED"
    assert rows["NEW01"].outcome == "unmatched" and rows["NEW01"].reason.startswith("Not matched yet")


def test_search_is_case_insensitive_on_name_email_and_number_and_scoped(practice, other_owner):
    pid = practice.practice_id
    make_xero_contact(pid, "Harbour View Café", email="Hello@HarbourView.co.uk", contact_number="HAR-100%")
    make_xero_contact(other_owner.practice_id, "Harbour Lights")
    search = contact_review.search_contacts
    assert [c.name for c in search(pid, "HARBOUR")] == ["Harbour View Café"]
    assert [c.name for c in search(pid, "harbourview.co")] == ["Harbour View Café"]
    assert [c.name for c in search(pid, "har-100%")] == ["Harbour View Café"]
    assert search(pid, "100_") == []  # % and _ are literal
    assert [c.name for c in search(pid, "  jones ")] == ["Jones Family Trust", "JONES FAMILY TRUST."]
    assert search(pid, "Kingfisher") == [] and [c.status for c in search(pid, "Kingfisher",
                                                                         include_archived=True)] == ["ARCHIVED"]
    assert len(search(pid, "e", limit=2)) == 2
    for term, message in (("", "Type part of"), ("   ", "Type part of"), ("x" * 101, "at most 100 characters")):
        with pytest.raises(ContactLinkError, match=message):
            search(pid, term)
    assert search(pid, "x" * 100) == []


def test_suggestions_are_hints_for_one_client_and_skip_contacts_linked_elsewhere(practice):
    pid = practice.practice_id
    rematch_practice(pid)
    york = make_client(pid, "York Street Pharmacy", code="YOR01", postcode="yo1 7hh")
    [suggestion] = contact_review.suggestions_for(pid, york.id)
    assert suggestion.name == "York St Pharmacy" and "same postcode YO1 7HH" in suggestion.reasons
    abbott = make_client(pid, "Abbott & Sons", code="ABB02")
    assert "Abbott & Sons Ltd" not in [s.name for s in contact_review.suggestions_for(pid, abbott.id)]  # ABB01's
    assert decisions(pid).get("YOR01") is None  # a suggestion is never a link


def test_the_demo_seed_stores_the_manual_link_from_the_csv(app_ctx):
    from webapp.services.demo_seed import DEMO_PRACTICE_NAME, seed_demo

    seed_demo(today=date(2026, 11, 15))
    seed_demo(today=date(2026, 11, 15))  # idempotent
    pid = db.session.execute(db.select(Practice.id).filter_by(name=DEMO_PRACTICE_NAME)).scalar_one()
    [link] = db.session.execute(db.select(ClientContactLink).filter_by(practice_id=pid)).scalars()
    assert db.session.get(Client, link.client_id).code == "QUA01"
    assert (link.contact_id, link.outcome, link.rule, link.is_manual) == (
        "abed2b3f-517c-5bfc-ad07-9684b2abd053", "linked", "stored", True)
    assert link.reason == "Linked by Dana Hartley (a link made by hand)." and link.decided_by_id is not None


def test_links_are_scoped_by_practice(practice, other_owner):
    make_contact_pull(other_owner.practice_id)
    make_client(other_owner.practice_id, "Abbott & Sons Ltd", code="ABB01")
    rematch_practice(other_owner.practice_id)  # no contacts of its own: nothing links to the first practice's
    assert decisions(other_owner.practice_id) == {"ABB01": ("unmatched", None, None, [], False)}
    assert decisions(practice.practice_id) == {}


def test_a_rematch_that_changed_many_links_refreshes_the_planners_statistics(practice, count_statements,
                                                                            monkeypatch):
    """The contact updates join the links next: they are analyzed after many changed; a quiet rematch does not."""
    require_postgresql("ANALYZE")
    from webapp.sync import table_stats

    monkeypatch.setattr(table_stats, "MANY", 3)
    with count_statements() as first:
        rematch_practice(practice.practice_id)
    with count_statements() as quiet:
        rematch_practice(practice.practice_id)
    assert [s for s in first if s.startswith("ANALYZE")] == ["ANALYZE client_contact_links"]
    assert not [s for s in quiet if s.startswith("ANALYZE")]


def test_a_first_rematch_inserts_its_decisions_in_one_statement(practice, count_statements):
    """A first sync decides 2,000 clients at once: their links go in one INSERT, each with a first decision's fields."""
    with count_statements() as statements:
        rematch_practice(practice.practice_id)
    inserts = [s for s in statements if s.startswith("INSERT INTO client_contact_links")]
    assert len(inserts) == 1 and "RETURNING" not in inserts[0]
    db.session.expire_all()
    link = db.session.execute(db.select(ClientContactLink).join(Client, Client.id == ClientContactLink.client_id)
                              .filter(Client.code == "MEA01")).scalar_one()
    assert (link.outcome, link.contact_id, link.rule, link.candidate_ids, link.is_manual, link.decided_by_id) == (
        "unmatched", None, None, [], False, None)
    assert link.decided_at is not None and link.reason
