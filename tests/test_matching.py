"""Matching clients to Xero contacts (webapp.sync.matching): DESIGN.md §4 rule by rule, the demo's every row,
and properties of cases the demo does not have (input order, unrelated contacts, linear cost)."""
from __future__ import annotations

import csv
import filecmp
import os
import random
from dataclasses import replace

import pytest

import webapp.sync.matching as matching
from webapp.sync.matching import (
    ClientRecord,
    ContactIndex,
    ContactRecord,
    MatchDecision,
    Outcome,
    Rule,
    build_index,
    match_clients,
)

DATA = os.path.join(os.path.dirname(__file__), "data")
SHARED_DEMO = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "demo")
LINKED, REVIEW, UNMATCHED = Outcome.LINKED, Outcome.NEEDS_REVIEW, Outcome.UNMATCHED


def client(code: str, name: str | None = None, **fields) -> ClientRecord:
    return ClientRecord(id=code, code=code, name=name if name is not None else f"Nobody Called {code}", **fields)


def contact(contact_id: str, name: str | None = None, **fields) -> ContactRecord:
    return ContactRecord(contact_id=contact_id, name=name if name is not None else f"Contact {contact_id}",
                         **fields)


def decide(clients: list[ClientRecord], contacts: list[ContactRecord]) -> dict[str, MatchDecision]:
    return {d.client_code: d for d in match_clients(clients, contacts)}


def one(c: ClientRecord, contacts: list[ContactRecord]) -> MatchDecision:
    [decision] = match_clients([c], contacts)
    return decision


def summary(d: MatchDecision) -> tuple:
    return d.outcome, d.contact_id, d.rule, d.candidate_ids


# -- the demo ----------------------------------------------------------------------------------------------------
def _rows(name: str) -> list[dict[str, str]]:
    with open(os.path.join(DATA, name), newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def demo_clients() -> list[ClientRecord]:
    return [ClientRecord(id=r["code"], code=r["code"], name=r["name"], email=r["email"] or None,
                         company_number=r["company_number"] or None, vat_number=r["vat_number"] or None,
                         postcode=r["postcode"] or None, linked_contact_id=r["linked_contact_id"] or None,
                         link_is_manual=bool(r["linked_contact_id"]))  # "a link a person made earlier"
            for r in _rows("practice_clients.csv")]


def demo_contacts() -> list[ContactRecord]:
    return [ContactRecord(contact_id=r["ContactID"], name=r["Name"], email=r["EmailAddress"] or None,
                          contact_number=r["ContactNumber"] or None, company_number=r["CompanyNumber"] or None,
                          tax_number=r["TaxNumber"] or None, status=r["ContactStatus"],
                          merged_to_contact_id=r["MergedToContactID"] or None,
                          is_customer=r["IsCustomer"] == "true", is_supplier=r["IsSupplier"] == "true")
            for r in _rows("xero_contacts.csv")]


EXPECTED = {r["client_code"]: r for r in _rows("expected_matches.csv")}


@pytest.mark.skipif(not os.path.isdir(SHARED_DEMO), reason="the shared demo folder is not beside the repository")
@pytest.mark.parametrize("name", ["practice_clients.csv", "xero_contacts.csv", "expected_matches.csv"])
def test_test_data_is_a_copy_of_the_shared_demo(name):
    assert filecmp.cmp(os.path.join(DATA, name), os.path.join(SHARED_DEMO, name), shallow=False)


@pytest.fixture(scope="module")
def demo_decisions() -> dict[str, MatchDecision]:
    return decide(demo_clients(), demo_contacts())


def test_demo_has_one_decision_per_client_in_order():
    decisions = match_clients(demo_clients(), demo_contacts())
    assert [d.client_code for d in decisions] == [c.code for c in demo_clients()] == list(EXPECTED)


@pytest.mark.parametrize("code", list(EXPECTED))
def test_demo_row(code, demo_decisions):
    expected = EXPECTED[code]
    d = demo_decisions[code]
    assert (d.outcome.value, d.contact_id or "", d.rule.value if d.rule else "", ";".join(d.candidate_ids)) == (
        expected["outcome"], expected["contact_id"], expected["rule"], expected["candidate_ids"]), d.reason
    assert d.reason


def test_demo_stamps_the_code_on_new_automatic_links_only(demo_decisions):
    stamped = {code for code, d in demo_decisions.items() if d.stamp_contact_number}
    new_automatic = {code for code, d in demo_decisions.items()
                     if d.outcome is LINKED and d.rule not in (Rule.STORED, Rule.CONTACT_NUMBER)}
    assert stamped == new_automatic
    assert {"FAIR01", "OAK1", "QUA01", "SMI01", "KIN01", "MEA01"}.isdisjoint(stamped)


@pytest.mark.parametrize(("code", "words"), [
    ("BAK01", ["Ltd/Limited"]), ("CAR01", ["&/and"]), ("HAR01", ["accents"]), ("VAL01", ["PLC"]),
    ("XYL01", ["punctuation"]), ("DUN01", ["company number 09876543", "padded to 8"]),
    ("ELM01", ["VAT number 123456789", "spaces"]), ("ZEN01", ["GB prefix optional"]), ("ABB01", ["exact name"]),
    ("LAK01", ["merged into 'Lakeside Motor Group Ltd'"]), ("KIN01", ["archived"]),
    ("PEN01", ["company numbers differ", "01234567", "07654321"]), ("SMI01", ["SMI02"]), ("SMI02", ["SMI01"]),
    ("QUA01", ["manual link"]), ("FAIR01", ["ContactNumber FAIR01"]), ("IVY01", ["2 contacts", "email"]),
])
def test_demo_reasons_say_what_mattered(code, words, demo_decisions):
    for word in words:
        assert word in demo_decisions[code].reason


# -- each rule ------------------------------------------------------------------------------------------------------
def test_contact_number_equal_to_the_client_code_links_ignoring_case_and_spaces():
    d = one(client("ABC01"), [contact("x"), contact("c1", contact_number=" abc01 ")])
    assert summary(d) == (LINKED, "c1", Rule.CONTACT_NUMBER, ())
    assert "case ignored" in d.reason
    assert not d.stamp_contact_number  # the code is already there


def test_company_number_links_padded_spaced_or_lower_case():
    for ours, theirs in [("9876543", "09876543"), ("0987 6543", "09876543"), ("oc301122", "OC301122"),
                         ("SC 123456", "sc123456")]:
        d = one(client("A", company_number=ours), [contact("c1", company_number=theirs)])
        assert summary(d) == (LINKED, "c1", Rule.COMPANY_NUMBER, ()), (ours, theirs)


def test_company_numbers_that_are_not_all_digits_are_not_padded():
    assert one(client("A", company_number="SC12345"), [contact("c1", company_number="SC012345")]).outcome \
        is UNMATCHED


def test_vat_number_links_with_or_without_gb_and_spaces():
    for ours, theirs in [("GB123456789", "123456789"), ("123 456 789", "GB 123 4567 89"),
                         ("gb123456789", "GB123456789")]:
        d = one(client("A", vat_number=ours), [contact("c1", tax_number=theirs)])
        assert summary(d) == (LINKED, "c1", Rule.VAT_NUMBER, ()), (ours, theirs)


@pytest.mark.parametrize(("ours", "theirs", "explained"), [
    ("Baker Street Dental Limited", "Baker Street Dental Ltd", "Ltd/Limited"),
    ("Smith and Jones", "Smith & Jones", "&/and"),
    ("Smith&Jones", "Smith and Jones", "&/and"),
    ("Xylo Design Studio", "Xylo  Design-Studio", "punctuation"),
    ("O'Brien Joinery", "O Brien Joinery", "punctuation"),
    ("Harbour View Cafe", "Harbour View Café", "accents"),
    ("Zoë Ångström Design", "ZOE ANGSTROM DESIGN", "accents"),
    ("ACME TRADING", "Acme Trading", "case"),
    ("Vale Garden Centre PLC", "Vale Garden Centre Public Limited Company", "PLC"),
    ("Vale Garden Centre plc", "Vale Garden Centre public ltd company", "PLC"),
])
def test_name_normalisation_links(ours, theirs, explained):
    d = one(client("A", ours), [contact("c1", theirs)])
    assert summary(d) == (LINKED, "c1", Rule.NAME, ())
    assert explained in d.reason


@pytest.mark.parametrize(("ours", "theirs"), [
    ("York Street Pharmacy", "York St Pharmacy"),  # St is NOT Street: a suggestion, not a link
    ("Smith & Co", "Smith & Company"),
    ("Acme Ltd", "Acme"),
    ("Acme Ltd", "Acme LLP"),
    ("Acme PLC", "Acme Public Company"),
    ("Greenwood Plumbing", "J Greenwood"),
])
def test_names_that_differ_in_more_than_the_rules_do_not_link(ours, theirs):
    assert one(client("A", ours), [contact("c1", theirs)]).outcome is UNMATCHED


def test_email_links_case_insensitively():
    d = one(client("A", email=" Jo@Example.CO.UK"), [contact("c1", email="jo@example.co.uk ")])
    assert summary(d) == (LINKED, "c1", Rule.EMAIL, ())


def test_email_is_unique_among_active_contacts_only():
    contacts = [contact("old", email="jo@x.co.uk", status="ARCHIVED"), contact("new", email="jo@x.co.uk")]
    assert summary(one(client("A", email="jo@x.co.uk"), contacts)) == (LINKED, "new", Rule.EMAIL, ())
    two_active = [contact("c1", email="jo@x.co.uk"), contact("c2", email="JO@x.co.uk")]
    assert summary(one(client("A", email="jo@x.co.uk"), two_active)) == (REVIEW, None, Rule.EMAIL, ("c1", "c2"))
    only_archived = [contact("old", email="jo@x.co.uk", status="ARCHIVED")]
    assert summary(one(client("A", email="jo@x.co.uk"), only_archived)) == (REVIEW, None, Rule.EMAIL, ("old",))


def test_nothing_found_is_unmatched_with_what_was_tried():
    d = one(client("A", "Meadow Farm", email="m@x.co.uk", company_number="123"), [contact("c1", "Other")])
    assert summary(d) == (UNMATCHED, None, None, ())
    assert "company number" in d.reason and "email" in d.reason
    assert not d.stamp_contact_number and not d.new_link


def test_empty_values_never_match_each_other():
    contacts = [contact("c1", "", email="", company_number=" ", tax_number="", contact_number="")]
    assert one(ClientRecord(id=1, code="", name="", email="", company_number="", vat_number=" "),
               contacts).outcome is UNMATCHED


# -- precedence: first hit wins ------------------------------------------------------------------------------------
STEPS = [
    (Rule.CONTACT_NUMBER, contact("by-code", "Code Co", contact_number="ACME01")),
    (Rule.COMPANY_NUMBER, contact("by-company", "Company Co", company_number="01234567")),
    (Rule.VAT_NUMBER, contact("by-vat", "Vat Co", tax_number="GB999999973")),
    (Rule.NAME, contact("by-name", "Acme Widgets Ltd")),
    (Rule.EMAIL, contact("by-email", "Email Co", email="accounts@acme.co.uk")),
]
ACME = client("ACME01", "Acme Widgets Limited", email="accounts@acme.co.uk", company_number="1234567",
              vat_number="999 9999 73")


@pytest.mark.parametrize("first", range(len(STEPS)))
def test_each_rule_outranks_the_ones_after_it(first):
    contacts = [c for _, c in STEPS[first:]]
    random.Random(first).shuffle(contacts)
    d = one(ACME, contacts)
    rule, expected = STEPS[first]
    assert summary(d) == (LINKED, expected.contact_id, rule, ())


def test_a_hit_decides_even_when_it_is_not_a_link():
    # The name finds an archived contact: needs review, even though the email would find an active one.
    contacts = [contact("old", "Acme Widgets Ltd", status="ARCHIVED"), contact("mail", email="accounts@acme.co.uk")]
    assert summary(one(replace(ACME, company_number=None, vat_number=None), contacts)) == (
        REVIEW, None, Rule.NAME, ("old",))
    # A tie on company numbers is not resolved by the (unique) name.
    tie = [contact("c1", company_number="01234567"), contact("c2", company_number="1234567"),
           contact("by-name", "Acme Widgets Ltd")]
    assert summary(one(ACME, tie)) == (REVIEW, None, Rule.COMPANY_NUMBER, ("c1", "c2"))


# -- ties -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("fields", "contact_fields", "rule"), [
    ({}, {"contact_number": "A"}, Rule.CONTACT_NUMBER),
    ({"company_number": "1"}, {"company_number": "00000001"}, Rule.COMPANY_NUMBER),
    ({"vat_number": "GB1"}, {"tax_number": "1"}, Rule.VAT_NUMBER),
    ({"email": "a@b.c"}, {"email": "A@B.C"}, Rule.EMAIL),
])
def test_two_candidates_at_one_step_need_review_listed_in_xero_order(fields, contact_fields, rule):
    contacts = [contact("z-second", **contact_fields), contact("other"), contact("a-third", **contact_fields)]
    d = one(client("A", **fields), contacts)
    assert summary(d) == (REVIEW, None, rule, ("z-second", "a-third"))
    assert not d.stamp_contact_number


def test_names_that_normalise_alike_are_a_tie():
    d = one(client("J", "Jones Family Trust"), [contact("c1", "Jones Family Trust"),
                                                 contact("c2", "JONES FAMILY TRUST.")])
    assert summary(d) == (REVIEW, None, Rule.NAME, ("c1", "c2"))


def test_an_archived_and_an_active_contact_with_one_name_are_a_tie():
    # DESIGN: "normalised name, unique" (unlike email, not only among active contacts).
    contacts = [contact("old", "Acme Ltd", status="ARCHIVED"), contact("new", "Acme Limited")]
    assert summary(one(client("A", "Acme Ltd"), contacts)) == (REVIEW, None, Rule.NAME, ("old", "new"))


# -- archived, GDPR -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status", ["ARCHIVED", "GDPRREQUEST", "archived"])
@pytest.mark.parametrize(("fields", "contact_fields", "rule"), [
    ({}, {"contact_number": "A"}, Rule.CONTACT_NUMBER),
    ({"company_number": "12345678"}, {"company_number": "12345678"}, Rule.COMPANY_NUMBER),
    ({"vat_number": "123"}, {"tax_number": "123"}, Rule.VAT_NUMBER),
    ({"name": "Kingfisher Hotels"}, {"name": "Kingfisher Hotels"}, Rule.NAME),
    ({"email": "k@h.co.uk"}, {"email": "k@h.co.uk"}, Rule.EMAIL),
])
def test_archived_and_gdpr_contacts_are_never_linked_silently(status, fields, contact_fields, rule):
    c = replace(client("A"), **fields)
    d = one(c, [contact("gone", **contact_fields, status=status)])
    assert summary(d) == (REVIEW, None, rule, ("gone",))
    assert ("GDPR" if status == "GDPRREQUEST" else "archived") in d.reason


# -- merged contacts --------------------------------------------------------------------------------------------------
def test_a_merged_contact_is_replaced_by_the_one_it_was_merged_into():
    contacts = [contact("old", "Lakeside Motors Ltd", status="ARCHIVED", merged_to_contact_id="new"),
                contact("new", "Lakeside Motor Group Ltd")]
    d = one(client("L", "Lakeside Motors Limited"), contacts)
    assert summary(d) == (LINKED, "new", Rule.NAME, ())
    assert d.stamp_contact_number and d.new_link
    assert "merged into 'Lakeside Motor Group Ltd'" in d.reason


def test_merges_are_followed_along_a_chain():
    contacts = [contact("a", "Alpha", status="ARCHIVED", merged_to_contact_id="b"),
                contact("b", "Beta", status="ARCHIVED", merged_to_contact_id="c"),
                contact("c", "Gamma", contact_number="KEEP")]
    d = one(client("X", "Alpha"), contacts)
    assert summary(d) == (LINKED, "c", Rule.NAME, ())
    assert "2 merges" in d.reason
    assert not d.stamp_contact_number  # Gamma's ContactNumber is taken


def test_a_long_merge_chain_is_followed_without_recursion():
    chain = [contact(f"c{i}", f"Name {i}", status="ARCHIVED", merged_to_contact_id=f"c{i + 1}") for i in range(5000)]
    chain.append(contact("c5000", "The End"))
    random.Random(3).shuffle(chain)
    decisions = decide([client("A", "Name 0"), client("B", "Name 2500")], chain)
    assert decisions["A"].outcome is REVIEW and decisions["A"].candidate_ids == ("c5000",)  # two claim it
    assert "B" in decisions["A"].reason


def test_a_merge_cycle_needs_review_instead_of_looping():
    contacts = [contact("a", "Alpha", status="ARCHIVED", merged_to_contact_id="b"),
                contact("b", "Beta", status="ARCHIVED", merged_to_contact_id="a"),
                contact("in", "Into The Loop", status="ARCHIVED", merged_to_contact_id="a"),
                contact("self", "Self Merged", merged_to_contact_id="self")]
    assert summary(one(client("X", "Alpha"), contacts)) == (REVIEW, None, Rule.NAME, ("a",))
    assert "loop" in one(client("X", "Alpha"), contacts).reason
    assert summary(one(client("X", "Into The Loop"), contacts)) == (REVIEW, None, Rule.NAME, ("in",))
    # MergedToContactID pointing at itself is no merge at all.
    assert summary(one(client("X", "Self Merged"), contacts)) == (LINKED, "self", Rule.NAME, ())


def test_merged_into_a_contact_that_is_missing_or_archived_needs_review():
    missing = [contact("a", "Alpha", status="ARCHIVED", merged_to_contact_id="not-here")]
    d = one(client("X", "Alpha"), missing)
    assert summary(d) == (REVIEW, None, Rule.NAME, ("a",))
    assert "not-here" in d.reason
    archived = [contact("a", "Alpha", status="ARCHIVED", merged_to_contact_id="b"),
                contact("b", "Beta", status="ARCHIVED")]
    assert summary(one(client("X", "Alpha"), archived)) == (REVIEW, None, Rule.NAME, ("b",))


def test_candidates_merged_into_one_contact_count_once():
    contacts = [contact("a", "Acme", email="a@acme.co.uk", status="ARCHIVED", merged_to_contact_id="c"),
                contact("b", "Acme Ltd", email="a@acme.co.uk", status="ARCHIVED", merged_to_contact_id="c"),
                contact("c", "Acme Holdings")]
    assert summary(one(client("X", "Other", email="a@acme.co.uk"), contacts)) == (LINKED, "c", Rule.EMAIL, ())
    # ...and a merged hit plus its survivor hit directly is one candidate too.
    contacts = [contact("a", "Acme", status="ARCHIVED", merged_to_contact_id="c"), contact("c", "ACME")]
    assert summary(one(client("X", "Acme"), contacts)) == (LINKED, "c", Rule.NAME, ())


# -- conflicting company or VAT numbers ------------------------------------------------------------------------------
@pytest.mark.parametrize(("ours", "theirs", "outcome"), [
    ({"company_number": "01234567"}, {"company_number": "07654321"}, REVIEW),
    ({"vat_number": "GB111111111"}, {"tax_number": "222222222"}, REVIEW),
    ({"company_number": "01234567", "vat_number": "1"}, {"company_number": "07654321", "tax_number": "2"}, REVIEW),
    ({"company_number": "01234567"}, {}, LINKED),  # only one side carries one
    ({}, {"company_number": "01234567"}, LINKED),
    ({"company_number": "01234567"}, {"tax_number": "222222222"}, LINKED),  # different kinds of number
])
@pytest.mark.parametrize("by", [Rule.NAME, Rule.EMAIL])
def test_a_name_or_email_hit_with_conflicting_numbers_needs_review(ours, theirs, outcome, by):
    c = replace(client("P", "Penrose & Daughters" if by is Rule.NAME else "Someone Else", email="p@penrose.co.uk"),
                **ours)
    d = one(c, [contact("c1", "Penrose and Daughters", email="p@penrose.co.uk" if by is Rule.EMAIL else None,
                        **theirs)])
    assert (d.outcome, d.rule) == (outcome, by), d.reason
    if outcome is REVIEW:
        assert d.candidate_ids == ("c1",) and "differ" in d.reason and not d.stamp_contact_number


def test_identifier_hits_are_not_blocked_by_differing_names_or_other_numbers():
    contacts = [contact("c1", "Dunmore Group", company_number="09876543", tax_number="555")]
    d = one(client("D", "Dunmore Holdings", company_number="9876543", vat_number="444"), contacts)
    assert summary(d) == (LINKED, "c1", Rule.COMPANY_NUMBER, ())


# -- stored and manual links ------------------------------------------------------------------------------------------
def test_a_manual_link_is_kept_even_when_another_rule_picks_another_contact():
    contacts = [contact("mine", "QL Property Management"), contact("code", contact_number="QUA01"),
                contact("name", "Quayside Lettings")]
    c = client("QUA01", "Quayside Lettings", linked_contact_id="mine", link_is_manual=True)
    d = one(c, contacts)
    assert summary(d) == (LINKED, "mine", Rule.STORED, ())
    assert not d.new_link and not d.stamp_contact_number
    assert "manual" in d.reason


def test_an_automatic_stored_link_is_kept_and_not_rewritten():
    d = one(client("A", "Acme", linked_contact_id="c1"), [contact("c1", "Acme Holdings"), contact("c2", "Acme")])
    assert summary(d) == (LINKED, "c1", Rule.STORED, ())
    assert not d.new_link and not d.stamp_contact_number


@pytest.mark.parametrize("manual", [True, False])
@pytest.mark.parametrize("status", ["ARCHIVED", "GDPRREQUEST"])
def test_a_stored_link_to_an_archived_contact_needs_review_and_is_not_replaced(manual, status):
    contacts = [contact("mine", "Acme", status=status), contact("other", "Acme Trading")]
    d = one(client("A", "Acme Trading", linked_contact_id="mine", link_is_manual=manual), contacts)
    assert summary(d) == (REVIEW, None, Rule.STORED, ("mine",))
    assert not d.new_link


def test_a_stored_link_to_a_contact_not_in_the_list_needs_review():
    d = one(client("A", "Acme", linked_contact_id="gone", link_is_manual=True), [contact("c2", "Acme")])
    assert summary(d) == (REVIEW, None, Rule.STORED, ("gone",))
    assert "gone" in d.reason


@pytest.mark.parametrize("manual", [True, False])
def test_a_stored_link_follows_a_merge(manual):
    contacts = [contact("old", "Acme", status="ARCHIVED", merged_to_contact_id="new"), contact("new", "Acme Group")]
    d = one(client("A", "Something Else", linked_contact_id="old", link_is_manual=manual), contacts)
    assert summary(d) == (LINKED, "new", Rule.STORED, ())
    assert d.new_link  # the link must be moved to the surviving contact
    assert d.stamp_contact_number is (not manual)  # only automatic links stamp the code


def test_a_held_link_keeps_its_contact_and_a_new_claim_on_it_needs_review():
    contacts = [contact("c1", "Smith & Co")]
    decisions = decide([client("SMI01", "Someone", linked_contact_id="c1", link_is_manual=True),
                        client("SMI02", "Smith and Co")], contacts)
    assert summary(decisions["SMI01"]) == (LINKED, "c1", Rule.STORED, ())
    assert summary(decisions["SMI02"]) == (REVIEW, None, Rule.NAME, ("c1",))
    assert "already linked to client SMI01" in decisions["SMI02"].reason


def test_two_manual_links_to_one_contact_both_stay():
    contacts = [contact("c1", "Group Billing")]
    decisions = decide([client("A", linked_contact_id="c1", link_is_manual=True),
                        client("B", linked_contact_id="c1", link_is_manual=True)], contacts)
    assert [d.outcome for d in decisions.values()] == [LINKED, LINKED]


def test_stored_links_moved_by_a_merge_onto_one_contact_need_review_unless_manual():
    contacts = [contact("x", "X", status="ARCHIVED", merged_to_contact_id="z"),
                contact("y", "Y", status="ARCHIVED", merged_to_contact_id="z"), contact("z", "Z")]
    auto = decide([client("A", linked_contact_id="x"), client("B", linked_contact_id="y")], contacts)
    assert [summary(d) for d in auto.values()] == [(REVIEW, None, Rule.STORED, ("z",))] * 2
    mixed = decide([client("A", linked_contact_id="x", link_is_manual=True), client("B", linked_contact_id="y")],
                   contacts)
    assert summary(mixed["A"]) == (LINKED, "z", Rule.STORED, ())
    assert summary(mixed["B"]) == (REVIEW, None, Rule.STORED, ("z",))


# -- two clients claiming one contact ---------------------------------------------------------------------------------
def test_two_clients_claiming_one_contact_both_need_review_with_it_as_candidate():
    contacts = [contact("c1", "Smith & Co", email="s@smith.co.uk", contact_number="SMI01"), contact("c2", "Other")]
    decisions = decide([client("SMI01", "Unrelated"), client("SMI02", "Smith and Co"),
                        client("SMI03", "Another", email="S@smith.co.uk"), client("OTH01", "Other")], contacts)
    assert summary(decisions["SMI01"]) == (REVIEW, None, Rule.CONTACT_NUMBER, ("c1",))
    assert summary(decisions["SMI02"]) == (REVIEW, None, Rule.NAME, ("c1",))
    assert summary(decisions["SMI03"]) == (REVIEW, None, Rule.EMAIL, ("c1",))
    assert "SMI02 and SMI03" in decisions["SMI01"].reason
    assert summary(decisions["OTH01"]) == (LINKED, "c2", Rule.NAME, ())
    assert not any(d.stamp_contact_number for code, d in decisions.items() if code != "OTH01")


def test_many_clients_claiming_one_contact_all_need_review_and_the_sentence_stays_short():
    clients = [client(f"S{i:03d}", "Smith & Co" if i % 2 else "Smith and Co") for i in range(200)]
    decisions = match_clients(clients, [contact("c1", "Smith & Co")])
    assert {summary(d) for d in decisions} == {(REVIEW, None, Rule.NAME, ("c1",))}
    assert "S001, S002, S003, S004, S005 and 194 more" in decisions[0].reason
    assert len(decisions[-1].reason) < 300


def test_a_review_is_not_a_claim():
    contacts = [contact("c1", "Acme"), contact("c2", "ACME."), contact("c3", "Solo", email="x@y.z")]
    decisions = decide([client("A", "Acme"), client("B", "Solo")], contacts)
    assert decisions["A"].outcome is REVIEW
    assert summary(decisions["B"]) == (LINKED, "c3", Rule.NAME, ())


# -- writing the code to ContactNumber --------------------------------------------------------------------------------
@pytest.mark.parametrize(("contact_number", "stamped"), [(None, True), ("", True), ("  ", True), ("OTHER9", False)])
def test_the_code_is_stamped_only_on_an_empty_contact_number(contact_number, stamped):
    d = one(client("A", "Acme"), [contact("c1", "Acme", contact_number=contact_number)])
    assert d.outcome is LINKED and d.new_link
    assert d.stamp_contact_number is stamped


def test_no_stamp_without_a_code():
    d = one(ClientRecord(id=7, code=" ", name="Acme"), [contact("c1", "Acme")])
    assert d.outcome is LINKED and not d.stamp_contact_number


# -- records, inputs -------------------------------------------------------------------------------------------------
def test_contact_record_from_xero():
    record = ContactRecord.from_xero({
        "ContactID": "id-1", "Name": "Acme", "EmailAddress": "a@acme.co.uk", "ContactNumber": "A1",
        "CompanyNumber": "123", "TaxNumber": "GB1", "ContactStatus": "ARCHIVED", "MergedToContactID": "id-2",
        "IsCustomer": True, "Addresses": [{"AddressType": "POBOX", "PostalCode": "PO1 1AA"},
                                          {"AddressType": "STREET", "PostalCode": "LS1 4DT"}]})
    assert record == ContactRecord(contact_id="id-1", name="Acme", email="a@acme.co.uk", contact_number="A1",
                                   company_number="123", tax_number="GB1", status="ARCHIVED",
                                   merged_to_contact_id="id-2", postcode="LS1 4DT", is_customer=True)
    assert ContactRecord.from_xero({"ContactID": "x", "Name": "N"}).status == "ACTIVE"


def test_repeated_ids_are_refused():
    with pytest.raises(ValueError, match="ContactID c1"):
        build_index([contact("c1"), contact("c1")])
    with pytest.raises(ValueError, match="client id"):
        match_clients([client("A"), client("A")], [])


def test_an_index_can_be_built_once_and_reused():
    index = build_index(demo_contacts())
    assert isinstance(index, ContactIndex) and len(index) == 46
    assert match_clients(demo_clients(), index) == match_clients(demo_clients(), demo_contacts())


def test_suppliers_are_contacts_like_any_other():
    d = one(client("A", "British Gas Business"), [contact("c1", "British Gas Business", is_supplier=True)])
    assert summary(d) == (LINKED, "c1", Rule.NAME, ())


# -- properties, on worlds the demo does not have ------------------------------------------------------------------
def random_world(seed: int, size: int = 120) -> tuple[list[ClientRecord], list[ContactRecord]]:
    """Clients and contacts exercising every rule and rule-around: ties, archived, merges, conflicts, claims."""
    rng = random.Random(seed)
    clients: list[ClientRecord] = []
    contacts: list[ContactRecord] = []
    for i in range(size):
        code, name = f"C{i:04d}", f"Firm {i} {rng.choice(['Trading', 'Holdings', 'Services'])}"
        kind = rng.choice(["name", "ltd", "code", "company", "vat", "email", "tie", "archived", "merged",
                           "conflict", "claim", "stored", "none", "gdpr"])
        c = ClientRecord(id=i, code=code, name=name, email=f"acc{i}@firm{i}.co.uk",
                         company_number=f"{i:07d}" if kind in ("company", "conflict") else None,
                         vat_number=f"GB{i:09d}" if kind == "vat" else None)
        cid = f"k{i}"
        if kind == "name":
            contacts.append(ContactRecord(cid, name.upper()))
        elif kind == "ltd":
            c = replace(c, name=name + " Limited")
            contacts.append(ContactRecord(cid, name + " Ltd"))
        elif kind == "code":
            contacts.append(ContactRecord(cid, "Someone", contact_number=code.lower()))
        elif kind == "company":
            contacts.append(ContactRecord(cid, "Other", company_number=f"{i:08d}"))
        elif kind == "vat":
            contacts.append(ContactRecord(cid, "Other", tax_number=f"{i:09d}"))
        elif kind == "email":
            contacts.append(ContactRecord(cid, "Other", email=f"ACC{i}@firm{i}.co.uk"))
        elif kind == "tie":
            contacts += [ContactRecord(cid, name), ContactRecord(cid + "b", name + ".")]
        elif kind in ("archived", "gdpr"):
            contacts.append(ContactRecord(cid, name, status="ARCHIVED" if kind == "archived" else "GDPRREQUEST"))
        elif kind == "merged":
            contacts += [ContactRecord(cid, name, status="ARCHIVED", merged_to_contact_id=cid + "m"),
                         ContactRecord(cid + "m", f"Merged Survivor {i}")]
        elif kind == "conflict":
            c = replace(c, company_number=f"9{i:07d}")
            contacts.append(ContactRecord(cid, name, company_number=f"8{i:07d}"))
        elif kind == "claim":
            contacts.append(ContactRecord(cid, name))
            clients.append(ClientRecord(id=f"twin{i}", code=f"T{i:04d}", name=name + "."))
        elif kind == "stored":
            contacts.append(ContactRecord(cid, "Picked By Hand"))
            c = replace(c, linked_contact_id=cid, link_is_manual=rng.random() < 0.5)
        clients.append(c)
    return clients, contacts


def comparable(decisions: list[MatchDecision]) -> dict:
    return {d.client_id: (d.outcome, d.contact_id, d.rule, tuple(sorted(d.candidate_ids)), d.new_link,
                          d.stamp_contact_number) for d in decisions}


@pytest.mark.parametrize("seed", range(8))
def test_permuting_the_inputs_gives_the_same_decisions(seed):
    clients, contacts = random_world(seed)
    expected = comparable(match_clients(clients, contacts))
    assert {outcome for outcome, *_ in expected.values()} == {LINKED, REVIEW, UNMATCHED}
    rng = random.Random(seed + 100)
    for _ in range(5):
        rng.shuffle(clients)
        rng.shuffle(contacts)
        decisions = match_clients(clients, contacts)
        assert [d.client_id for d in decisions] == [c.id for c in clients]
        assert comparable(decisions) == expected


@pytest.mark.parametrize("seed", range(8))
def test_adding_unrelated_contacts_never_changes_a_decision(seed):
    clients, contacts = random_world(seed)
    expected = match_clients(clients, contacts)
    rng = random.Random(seed)
    unrelated = [ContactRecord(f"u{j}", f"Unrelated Concern {j}", email=f"u{j}@elsewhere.org",
                               contact_number=f"U{j}", company_number=f"SC{j:06d}", tax_number=f"XI{j:09d}",
                               status=rng.choice(["ACTIVE", "ARCHIVED", "GDPRREQUEST"]),
                               merged_to_contact_id=f"u{j + 1}" if rng.random() < 0.2 else None)
                 for j in range(300)]
    mixed = contacts + unrelated
    rng.shuffle(mixed)
    assert comparable(match_clients(clients, mixed)) == comparable(expected)


@pytest.mark.parametrize("seed", range(4))
def test_decisions_are_consistent(seed):
    clients, contacts = random_world(seed)
    by_id = {c.contact_id: c for c in contacts}
    manual = {c.id for c in clients if c.linked_contact_id and c.link_is_manual}
    linked_to: dict[str, list] = {}
    for d in match_clients(clients, contacts):
        assert d.reason.strip()
        if d.outcome is LINKED:
            assert d.contact_id and not d.candidate_ids and d.rule
            assert by_id[d.contact_id].status == "ACTIVE" and not by_id[d.contact_id].merged_to_contact_id
            linked_to.setdefault(d.contact_id, []).append(d.client_id)
        elif d.outcome is REVIEW:
            assert d.contact_id is None and d.candidate_ids and d.rule and not d.new_link
        else:
            assert d.contact_id is None and not d.candidate_ids and d.rule is None
        assert not d.stamp_contact_number or (d.new_link and d.client_id not in manual)
    assert all(len(ids) == 1 or set(ids) <= manual for ids in linked_to.values())


def test_matching_is_linear_each_name_is_normalised_a_bounded_number_of_times(monkeypatch):
    calls = 0
    real = matching.normalise_name

    def counting(name, **kwargs):
        nonlocal calls
        calls += 1
        return real(name, **kwargs)

    monkeypatch.setattr(matching, "normalise_name", counting)
    for size in (200, 800):
        calls = 0
        clients, contacts = random_world(5, size)
        match_clients(clients, contacts)
        assert calls <= len(contacts) + 3 * len(clients), (size, calls)
