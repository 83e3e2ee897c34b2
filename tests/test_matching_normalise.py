"""The normalisation matching compares with (webapp.sync.normalise), DESIGN.md §4."""
import pytest

from webapp.sync.normalise import (
    email_domain,
    explain_company_number,
    explain_name_match,
    explain_vat_number,
    fold_accents,
    normalise_code,
    normalise_company_number,
    normalise_email,
    normalise_name,
    normalise_postcode,
    normalise_vat_number,
    suggestion_tokens,
)


@pytest.mark.parametrize(("raw", "key"), [
    ("Abbott & Sons Ltd", "abbott and sons ltd"),
    ("Baker Street Dental Limited", "baker street dental ltd"),
    ("BAKER STREET DENTAL LTD.", "baker street dental ltd"),
    ("Carter&Price", "carter and price"),
    ("Xylo  Design-Studio", "xylo design studio"),
    ("  J. Smith, (Builders)  ", "j smith builders"),
    ("O’Brien_Joinery", "o brien joinery"),
    ("Harbour View Café", "harbour view cafe"),
    ("Zoë Ångström", "zoe angstrom"),
    ("Straße", "strasse"),
    ("ＡＢＣ Ltd", "abc ltd"),  # full-width letters fold too (NFKD)
    ("Vale Garden Centre Public Limited Company", "vale garden centre plc"),
    ("Vale Garden Centre public ltd company", "vale garden centre plc"),
    ("Vale Garden Centre PLC", "vale garden centre plc"),
    ("Public Company Ltd", "public company ltd"),  # only the whole phrase is PLC
    ("Limited Editions Limited", "ltd editions ltd"),
    ("York St Pharmacy", "york st pharmacy"),  # St is NOT Street
    ("York Street Pharmacy", "york street pharmacy"),
    ("Smith & Co", "smith and co"),
    ("", ""),
    (None, ""),
    ("   ", ""),
    ("&", "and"),
])
def test_normalise_name(raw, key):
    assert normalise_name(raw) == key


@pytest.mark.parametrize(("a", "b"), [
    ("Smith & Co", "Smith and Co"), ("Upton Dental Care Ltd", "Upton Dental Care Limited"),
    ("Café Rouge", "CAFE ROUGE"), ("Jones Family Trust", "JONES FAMILY TRUST."), ("A-B C", "a b  c"),
])
def test_names_that_are_the_same(a, b):
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize(("a", "b"), [
    ("York Street", "York St"), ("Smith & Co", "Smith & Company"), ("Acme Ltd", "Acme"), ("Acme PLC", "Acme Ltd"),
    ("Smith and Sons", "Smith Sons"),
])
def test_names_that_are_not_the_same(a, b):
    assert normalise_name(a) != normalise_name(b)


@pytest.mark.parametrize(("a", "b", "labels"), [
    ("Abbott & Sons", "Abbott & Sons", []),
    ("Abbott & Sons ", " Abbott & Sons", []),
    ("Baker Dental Limited", "Baker Dental Ltd", ["Ltd/Limited"]),
    ("Baker Dental LIMITED", "Baker Dental Ltd", ["Ltd/Limited"]),  # a suffix's case alone is not "case"
    ("ACME", "Acme", ["case"]),
    ("Cafe", "Café", ["accents"]),
    ("CAFE", "Café", ["case", "accents"]),
    ("Smith & Co", "Smith and Co", ["&/and"]),
    ("Smith&Co", "Smith & Co", ["punctuation and spacing"]),
    ("Xylo Design Studio", "Xylo  Design-Studio", ["punctuation and spacing"]),
    ("Vale PLC", "Vale Public Limited Company", ["PLC/Public Limited Company"]),
    ("Smith & Co. Limited", "smith and co ltd", ["case", "&/and", "punctuation and spacing", "Ltd/Limited"]),
])
def test_explain_name_match_says_which_steps_mattered(a, b, labels):
    assert normalise_name(a) == normalise_name(b)
    assert explain_name_match(a, b) == labels


def test_fold_accents():
    assert fold_accents("Crème Brûlée") == "Creme Brulee"
    assert fold_accents("plain") == "plain"


@pytest.mark.parametrize(("raw", "key"), [
    ("9876543", "09876543"), ("09876543", "09876543"), (" 0987 6543 ", "09876543"), ("123", "00000123"),
    ("oc301122", "OC301122"), ("SC 123456", "SC123456"), ("SC12345", "SC12345"), ("123456789", "123456789"),
    ("", None), (None, None), ("  ", None),
])
def test_normalise_company_number(raw, key):
    assert normalise_company_number(raw) == key


@pytest.mark.parametrize(("raw", "key"), [
    ("GB123456789", "123456789"), ("GB 123 4567 89", "123456789"), ("gb123456789", "123456789"),
    ("123456789", "123456789"), ("123 456 789", "123456789"), ("XI123456789", "XI123456789"),
    ("GBGD001", "GD001"), ("", None), (None, None), (" ", None),
])
def test_normalise_vat_number(raw, key):
    assert normalise_vat_number(raw) == key


def test_explain_numbers():
    assert explain_company_number("9876543", "09876543") == " (9876543 = 09876543, padded to 8 digits)"
    assert explain_company_number("oc 301122", "OC301122") == " (oc 301122 = OC301122, spaces ignored and case ignored)"
    assert explain_company_number("09876543", "09876543") == ""
    assert explain_vat_number("GB123456789", "GB 123 4567 89") == " (GB123456789 = GB 123 4567 89, spaces ignored)"
    assert explain_vat_number("GB987654321", "987654321") == " (GB987654321 = 987654321, GB prefix optional)"


def test_normalise_email_code_and_postcode():
    assert normalise_email("  Jo@Fairweather.CO.UK ") == "jo@fairweather.co.uk"
    assert normalise_email("") is None and normalise_email(None) is None
    assert normalise_code(" fair01 ") == normalise_code("FAIR01") == "fair01"
    assert normalise_code("  ") is None
    assert normalise_postcode("ls1 4dt") == normalise_postcode("LS14DT") == "LS14DT"
    assert normalise_postcode("") is None


def test_email_domain_ignores_free_mail():
    assert email_domain("Office@AbbottAndSons.co.uk") == "abbottandsons.co.uk"
    for free in ("jo@gmail.com", "jo@outlook.com", "jo@hotmail.co.uk", "jo@btinternet.com", "jo@icloud.com"):
        assert email_domain(free) is None
    assert email_domain("not an email") is None and email_domain(None) is None


def test_suggestion_tokens_spell_out_abbreviations():
    assert suggestion_tokens("York St Pharmacy") == suggestion_tokens("York Street Pharmacy")
    assert suggestion_tokens("Smith Bros & Co") == ["smith", "brothers", "and", "company"]
