"""Suggestions for unmatched clients (webapp.sync.match_suggestions): ranked hints, never links."""
import pytest

import webapp.sync.match_suggestions as match_suggestions
from webapp.sync.match_suggestions import SuggestionIndex, build_suggestion_index, suggest
from webapp.sync.matching import ClientRecord, ContactRecord, build_index, match_clients


def client(name: str, **fields) -> ClientRecord:
    return ClientRecord(id=1, code="C1", name=name, **fields)


def ids(suggestions) -> list[str]:
    return [s.contact_id for s in suggestions]


def test_st_for_street_is_a_suggestion_not_a_link():
    contacts = [ContactRecord("york", "York St Pharmacy"), ContactRecord("other", "Leeds Pharmacy Supplies")]
    c = client("York Street Pharmacy")
    assert match_clients([c], contacts)[0].outcome.value == "unmatched"
    [first, *_] = suggest(c, SuggestionIndex(contacts))
    assert first.contact_id == "york"
    assert first.reasons == ("similar name 'York St Pharmacy' (St read as Street)",)


def test_a_misspelt_name_is_suggested():
    contacts = [ContactRecord("g", "Greenwood Plumbing & Heating"), ContactRecord("x", "Blackwood Bakery")]
    suggestions = suggest(client("Greenwod Plumbng & Heatting"), SuggestionIndex(contacts))
    assert ids(suggestions) == ["g"]
    assert "% alike" in suggestions[0].reasons[0]


def test_same_email_domain_but_not_free_mail():
    contacts = [ContactRecord("i", "I. Lane", email="accounts@ivylane.co.uk"),
                ContactRecord("g", "Someone", email="ivy@gmail.com"), ContactRecord("h", "Other", email="x@gmail.com")]
    index = SuggestionIndex(contacts)
    assert [(s.contact_id, s.reasons) for s in suggest(client("Ivy Lane Bakery", email="hello@ivylane.co.uk"), index)] \
        == [("i", ("same email domain ivylane.co.uk",))]
    assert suggest(client("Nothing Alike", email="ivy@gmail.com"), index) == []


def test_same_postcode():
    contacts = [ContactRecord("p", "Riverside Vets", postcode="LS1 4DT"), ContactRecord("q", "Far Away",
                                                                                        postcode="EH1 1AA")]
    [only] = suggest(client("Unrelated Name", postcode="ls14dt"), SuggestionIndex(contacts))
    assert only.contact_id == "p" and only.reasons == ("same postcode LS14DT",)


def test_ranked_by_evidence_then_xero_order():
    contacts = [
        ContactRecord("domain-only", "Zeta", email="a@acme-widgets.co.uk"),
        ContactRecord("name-only", "Acme Widgets Trading"),
        ContactRecord("name-and-domain", "Acme Widget Trading", email="b@acme-widgets.co.uk"),
        ContactRecord("postcode-only", "Omega", postcode="W1U 6AG"),
        ContactRecord("postcode-only-2", "Sigma", postcode="W1U6AG"),
    ]
    c = client("Acme Widgets Trading Ltd", email="hello@acme-widgets.co.uk", postcode="W1U 6AG")
    suggestions = suggest(c, SuggestionIndex(contacts))
    assert ids(suggestions) == ["name-and-domain", "name-only", "domain-only", "postcode-only", "postcode-only-2"]
    assert [s.score for s in suggestions] == sorted((s.score for s in suggestions), reverse=True)
    assert ids(suggest(c, SuggestionIndex(contacts), limit=2)) == ["name-and-domain", "name-only"]
    assert ids(suggest(c, SuggestionIndex(contacts), limit=2, exclude={"name-and-domain"})) == [
        "name-only", "domain-only"]


def test_only_active_contacts_and_merges_lead_to_the_survivor():
    contacts = [ContactRecord("arch", "Kingfisher Hotels", status="ARCHIVED"),
                ContactRecord("gdpr", "Kingfisher Hotel Group", status="GDPRREQUEST"),
                ContactRecord("old", "Kingfisher Hotels Ltd", status="ARCHIVED", merged_to_contact_id="new"),
                ContactRecord("new", "KH Leisure")]
    [only] = suggest(client("Kingfisher Hotel"), SuggestionIndex(build_index(contacts)))
    assert only.contact_id == "new" and only.name == "KH Leisure"
    assert "merged into 'KH Leisure'" in only.reasons[0]


def test_words_most_contacts_share_find_nothing_on_their_own():
    contacts = [ContactRecord(f"s{i}", f"{word} Services Ltd")
                for i, word in enumerate(f"W{n:03d}" for n in range(120))]
    index = build_suggestion_index(contacts)
    assert index.common_cap < 120
    assert suggest(client("Unique Services"), index) == []


def test_a_client_is_only_ever_compared_with_a_bounded_number_of_contacts(monkeypatch):
    compared = []

    class Counting(match_suggestions.difflib.SequenceMatcher):
        def set_seq1(self, a):
            compared.append(a)
            super().set_seq1(a)

    monkeypatch.setattr(match_suggestions.difflib, "SequenceMatcher", Counting)
    contacts = [ContactRecord(f"c{i}", f"Acme {i} Widgets") for i in range(2000)]
    contacts += [ContactRecord(f"w{i}", f"Widgets Acme {i}") for i in range(40)]
    suggestions = suggest(client("Acme 7 Widgets"), SuggestionIndex(contacts))
    assert ids(suggestions)[0] == "c7"
    assert 0 < len([a for a in compared if a is not None]) <= match_suggestions.MAX_SCORED


@pytest.mark.parametrize("limit", [0, 1, 5])
def test_limit(limit):
    contacts = [ContactRecord(f"c{i}", "x", email=f"{i}@shared-domain.co.uk") for i in range(10)]
    assert len(suggest(client("y", email="me@shared-domain.co.uk"), SuggestionIndex(contacts), limit=limit)) == limit
