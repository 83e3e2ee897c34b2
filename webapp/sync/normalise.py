"""How client and contact details are compared when matching (DESIGN.md §4), as plain functions.

Each returns a key: two values are "the same" for matching exactly when their keys are equal, and None when
there is nothing to compare (empty or blank). The `explain_*` helpers say, for two raw values with equal
keys, which parts of the normalisation made them equal, for the sentence stored with every decision.

- Names: case-folded; accents folded (Unicode NFKD, combining marks dropped: "Café" = "Cafe"); "&" read
  as "and"; punctuation read as a space; spaces collapsed; "limited" read as "ltd"; "public limited
  company" as "plc". Nothing else: "St" is NOT "Street", "Co" is not "Company" (those are suggestions for a
  person, see `suggestion_tokens`, never links).
- Company numbers: upper case, spaces removed, all-digit numbers left-padded to 8 ("9876543" = "09876543").
- VAT numbers: upper case, spaces removed, the "GB" prefix optional.
- Emails: surrounding spaces removed, case-folded. Client codes and ContactNumbers: likewise.
- Postcodes (suggestions only): upper case, spaces removed.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable

# -- names ------------------------------------------------------------------------------------------------
# The steps of name normalisation, in the order they are applied; `normalise_name(skip=...)` leaves steps out
# so `explain_name_match` can tell which of them two matching names needed.
CASE = "case"
ACCENTS = "accents"
AMPERSAND = "ampersand"
PUNCTUATION = "punctuation"
LTD = "ltd"
PLC = "plc"
NAME_STEPS: tuple[str, ...] = (CASE, ACCENTS, AMPERSAND, PUNCTUATION, LTD, PLC)
NAME_STEP_LABELS: dict[str, str] = {
    CASE: "case",
    ACCENTS: "accents",
    AMPERSAND: "&/and",
    PUNCTUATION: "punctuation and spacing",
    LTD: "Ltd/Limited",
    PLC: "PLC/Public Limited Company",
}

_NON_WORD = re.compile(r"[\W_]+")
_AMPERSAND = re.compile(r"\s*&\s*")
_SPACES = re.compile(r"\s+")
# Words whose case is canonical even when the case step is skipped (so "LTD" vs "Ltd" alone is not "case").
_SUFFIX_WORDS = frozenset({"ltd", "limited", "plc", "public", "company"})


def fold_accents(text: str) -> str:
    """Unicode compatibility decomposition (NFKD) with combining marks dropped: "Café" -> "Cafe"."""
    if text.isascii():
        return text
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def normalise_name(name: str | None, *, skip: Collection[str] = ()) -> str:
    """The key a name is matched on ("" for no name). `skip` leaves out steps of NAME_STEPS (explanations)."""
    if not name:
        return ""
    if not skip:  # the fast path every client and contact takes: the same steps, each only when it can apply
        text = (name if name.isascii() else fold_accents(name)).casefold()
        if "&" in text:
            text = _AMPERSAND.sub(" and ", text)
        tokens = _NON_WORD.sub(" ", text).split()
        if "limited" in text:
            tokens = ["ltd" if t == "limited" else t for t in tokens]
        if "public" in text:
            tokens = _plc(tokens)
        return " ".join(tokens)
    text = name.strip()
    if ACCENTS not in skip:
        text = fold_accents(text)
    if CASE not in skip:
        text = text.casefold()
    if AMPERSAND not in skip:
        text = _AMPERSAND.sub(" and ", text)
    tokens = _NON_WORD.sub(" ", text).split() if PUNCTUATION not in skip else text.split(" ")
    if CASE in skip:
        tokens = [t.casefold() if t.casefold() in _SUFFIX_WORDS else t for t in tokens]
    if LTD not in skip:
        tokens = ["ltd" if t == "limited" else t for t in tokens]
    if PLC not in skip:
        tokens = _plc(tokens)
    return " ".join(tokens)


def _plc(tokens: list[str]) -> list[str]:
    """"public ltd company" (or "public limited company") -> "plc"."""
    if "public" not in tokens:
        return tokens
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if (tokens[i] == "public" and i + 2 < len(tokens) and tokens[i + 1] in ("ltd", "limited")
                and tokens[i + 2] == "company"):
            out.append("plc")
            i += 3
        else:
            out.append(tokens[i])
            i += 1
    return out


def explain_name_match(a: str, b: str) -> list[str]:
    """For two names with the same key: the labels of the steps that made them equal ([] when identical).

    A step "mattered" when leaving it out makes the names differ. Steps that could not matter are not tried
    (no "&" in either name, no accents, ...), so explaining a match costs a few normalisations at most.
    """
    a, b = a.strip(), b.strip()
    if a == b:
        return []
    relevant = [CASE, PUNCTUATION]
    if not (a.isascii() and b.isascii()):
        relevant.append(ACCENTS)
    if "&" in a or "&" in b:
        relevant.append(AMPERSAND)
    folded = (a + " " + b).casefold()
    if "limited" in folded:
        relevant.append(LTD)
    if "public" in folded or "plc" in folded:
        relevant.append(PLC)
    mattered = [step for step in NAME_STEPS if step in relevant
                and normalise_name(a, skip=(step,)) != normalise_name(b, skip=(step,))]
    # Two steps can each remove the same difference ("Smith&Co" vs "Smith & Co"); call that spacing.
    return [NAME_STEP_LABELS[step] for step in mattered] or [NAME_STEP_LABELS[PUNCTUATION]]


# -- identifiers ----------------------------------------------------------------------------------------------
def _compact(value: str | None) -> str:
    return "".join(value.split()).upper() if value else ""


def normalise_company_number(value: str | None) -> str | None:
    """Upper case, spaces removed, all-digit numbers left-padded to 8: "9876543" -> "09876543"."""
    text = _compact(value)
    if not text:
        return None
    if text.isascii() and text.isdigit():
        return text.zfill(8)
    return text


def normalise_vat_number(value: str | None) -> str | None:
    """Upper case, spaces removed, without the optional "GB" prefix: "GB 123 4567 89" -> "123456789"."""
    text = _compact(value)
    if text.startswith("GB") and len(text) > 2:
        text = text[2:]
    return text or None


def normalise_email(value: str | None) -> str | None:
    """Surrounding spaces removed, case-folded: " Jo@Example.co.uk " -> "jo@example.co.uk"."""
    text = value.strip().casefold() if value else ""
    return text or None


def normalise_code(value: str | None) -> str | None:
    """A client code or a Xero ContactNumber, compared without surrounding spaces or case."""
    text = value.strip().casefold() if value else ""
    return text or None


def normalise_postcode(value: str | None) -> str | None:
    """Upper case, spaces removed: "ls1 4dt" -> "LS14DT"."""
    return _compact(value) or None


def _differences(a: str, b: str, checks: Iterable[tuple[str, bool]]) -> str:
    """"(a = b, ignoring x and y)" for the checks that hold, or "" when a and b are written the same."""
    if a.strip() == b.strip():
        return ""
    ignored = [label for label, holds in checks if holds]
    suffix = f", {_join(ignored)}" if ignored else ""
    return f" ({a.strip()} = {b.strip()}{suffix})"


def explain_company_number(a: str, b: str) -> str:
    """For two company numbers with the same key: " (9876543 = 09876543, padded to 8 digits)" or ""."""
    ca, cb = _compact(a), _compact(b)
    return _differences(a, b, [
        ("spaces ignored", _SPACES.sub("", a.strip()) != a.strip() or _SPACES.sub("", b.strip()) != b.strip()),
        ("case ignored", _SPACES.sub("", a) != ca or _SPACES.sub("", b) != cb),
        ("padded to 8 digits", len(ca) != len(cb)),
    ])


def explain_vat_number(a: str, b: str) -> str:
    """For two VAT numbers with the same key: " (GB123456789 = 123456789, GB prefix optional)" or ""."""
    ca, cb = _compact(a), _compact(b)
    return _differences(a, b, [
        ("spaces ignored", _SPACES.sub("", a.strip()) != a.strip() or _SPACES.sub("", b.strip()) != b.strip()),
        ("case ignored", _SPACES.sub("", a) != ca or _SPACES.sub("", b) != cb),
        ("GB prefix optional", ca.startswith("GB") != cb.startswith("GB")),
    ])


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# -- suggestions (hints for a person, never links) -----------------------------------------------------------
# Abbreviations read as the full word for suggestions only: "York St Pharmacy" is suggested for
# "York Street Pharmacy", but never linked to it.
ABBREVIATIONS: dict[str, str] = {
    "st": "street", "rd": "road", "ave": "avenue", "ln": "lane", "sq": "square", "cres": "crescent",
    "co": "company", "bros": "brothers", "intl": "international", "assoc": "association",
    "mgmt": "management", "svcs": "services", "dept": "department", "ctr": "centre", "center": "centre",
}
# Words that say nothing about which business a name is (never used alone to find a suggestion).
STOP_WORDS = frozenset({"ltd", "plc", "llp", "lp", "and", "the", "of", "company", "uk", "group", "t", "a"})
# Mailboxes anyone can have: a shared domain there says nothing about being the same business.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "outlook.co.uk", "hotmail.com", "hotmail.co.uk", "live.com",
    "live.co.uk", "msn.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "icloud.com", "me.com", "mac.com",
    "aol.com", "aol.co.uk", "btinternet.com", "btopenworld.com", "sky.com", "talktalk.net", "virginmedia.com",
    "ntlworld.com", "blueyonder.co.uk", "tiscali.co.uk", "protonmail.com", "proton.me", "gmx.com", "gmx.co.uk",
    "mail.com", "zoho.com", "yandex.com", "fastmail.com",
    "example.com", "example.org", "example.net", "example.co.uk",
})


def suggestion_tokens(name: str | None) -> list[str]:
    """The words of a normalised name with common abbreviations spelled out (St -> street): suggestions only."""
    return [ABBREVIATIONS.get(t, t) for t in normalise_name(name).split()]


def email_domain(value: str | None) -> str | None:
    """The domain of an email address, or None for no address or a free-mail domain (gmail.com, ...)."""
    email = normalise_email(value)
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].strip(".")
    return None if not domain or domain in FREE_MAIL_DOMAINS else domain
