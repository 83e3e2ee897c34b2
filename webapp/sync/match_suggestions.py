"""Suggestions for a client matching left unmatched (DESIGN.md §4): ranked hints for a person, never links.

Three kinds of evidence, each found through an index (never by comparing the client with every contact):
  - a similar name: contacts sharing a distinctive word with the client's name (normalised as for
    matching, with abbreviations spelled out: "York St Pharmacy" ~ "York Street Pharmacy"), or, for a word
    no contact has (perhaps misspelt), letter-trigrams of it; then ranked by how alike the two names are
    (difflib ratio) -- only a bounded handful (MAX_SCORED) of candidates is ever compared;
  - the same email domain, ignoring free-mail domains (gmail.com, outlook.com, hotmail.co.uk, ...);
  - the same postcode.
Words, trigrams, domains and postcodes shared by more than `common_cap` contacts say little about which
business a client is ("services", "london.gov.uk", a serviced office's postcode) and are not used to find
candidates. Only ACTIVE contacts are suggested; a merged contact's name leads to the contact it was merged
into. The score is the name likeness (0-1, counted from NAME_THRESHOLD) plus a fixed amount for each other
kind of evidence; ties keep Xero's order.
"""
from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from webapp.sync.matching import ClientRecord, ContactIndex, ContactRecord, build_index
from webapp.sync.normalise import (
    ABBREVIATIONS,
    STOP_WORDS,
    email_domain,
    normalise_name,
    normalise_postcode,
    suggestion_tokens,
)

NAME_THRESHOLD = 0.6  # names less alike than this are not suggested on their name
DOMAIN_WEIGHT = 0.5
POSTCODE_WEIGHT = 0.3
MAX_SCORED = 30  # name candidates scored with difflib per client


@dataclass(frozen=True, slots=True)
class Suggestion:
    contact_id: str
    name: str
    score: float
    reasons: tuple[str, ...]  # "similar name 'York St Pharmacy' (St read as Street)", "same postcode LS1 4DT"


def _trigrams(token: str) -> set[str]:
    padded = f" {token} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


class SuggestionIndex:
    """Active contacts indexed by name words, name trigrams, email domain and postcode."""

    def __init__(self, contacts: Iterable[ContactRecord] | ContactIndex, *, common_cap: int | None = None):
        index = contacts if isinstance(contacts, ContactIndex) else build_index(contacts)
        self.contacts: list[ContactRecord] = []  # where each entry leads (merges followed)
        self.found_as: list[ContactRecord] = []  # the contact whose details were indexed
        self.names: list[str] = []
        self.by_id = index.by_id
        self.position = index.position
        self.common_cap = common_cap if common_cap is not None else max(50, 2 * int(len(index) ** 0.5))
        self.by_word: dict[str, list[int]] = {}
        self.by_trigram: dict[str, list[int]] = {}
        self.by_domain: dict[str, list[int]] = {}
        self.by_postcode: dict[str, list[int]] = {}
        for contact in index.contacts:
            resolution = index.resolve(contact.contact_id)
            if not resolution.linkable:
                continue
            entry = len(self.contacts)
            self.contacts.append(resolution.contact)
            self.found_as.append(contact)
            tokens = suggestion_tokens(contact.name)
            self.names.append(" ".join(tokens))
            grams: set[str] = set()
            for token in set(tokens) - STOP_WORDS:
                self.by_word.setdefault(token, []).append(entry)
                if len(token) >= 4:
                    grams |= _trigrams(token)
            for gram in grams:
                self.by_trigram.setdefault(gram, []).append(entry)
            domain = email_domain(contact.email)
            if domain:
                self.by_domain.setdefault(domain, []).append(entry)
            postcode = normalise_postcode(contact.postcode)
            if postcode:
                self.by_postcode.setdefault(postcode, []).append(entry)

    def postings(self, table: dict[str, list[int]], key: str | None) -> list[int]:
        entries = table.get(key, []) if key else []
        return entries if len(entries) <= self.common_cap else []


def build_suggestion_index(contacts: Iterable[ContactRecord] | ContactIndex) -> SuggestionIndex:
    return SuggestionIndex(contacts)


def suggest(client: ClientRecord, index: SuggestionIndex, limit: int = 5, *,
            exclude: Collection[str] = ()) -> list[Suggestion]:
    """Up to `limit` contacts a person might link `client` to, best first, each with its reasons.

    `exclude` lists contact ids not to suggest (for example contacts already linked to other clients).
    """
    tokens = suggestion_tokens(client.name)
    name = " ".join(tokens)
    words = set(tokens) - STOP_WORDS
    weights: dict[int, float] = {}
    unknown: list[str] = []
    for word in words:
        if word not in index.by_word:
            unknown.append(word)  # no contact has it: perhaps misspelt, so look it up by trigrams
        for entry in index.postings(index.by_word, word):
            weights[entry] = weights.get(entry, 0.0) + 2.0
    grams: set[str] = set()
    for word in unknown:
        if len(word) >= 4:
            grams |= _trigrams(word)
    for gram in grams:
        for entry in index.postings(index.by_trigram, gram):
            weights[entry] = weights.get(entry, 0.0) + 1.0 / len(grams)
    scored = sorted(weights, key=lambda e: (-weights[e], e))[:MAX_SCORED]

    best_name: dict[str, tuple[float, str]] = {}
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(name)  # difflib caches what it learns about the second sequence: the client's name
    for entry in scored:
        matcher.set_seq1(index.names[entry])
        if matcher.real_quick_ratio() < NAME_THRESHOLD or matcher.quick_ratio() < NAME_THRESHOLD:
            continue  # upper bounds of ratio(), much cheaper
        ratio = matcher.ratio()
        contact_id = index.contacts[entry].contact_id
        if ratio >= NAME_THRESHOLD and ratio > best_name.get(contact_id, (0.0, ""))[0]:
            best_name[contact_id] = (ratio, _name_reason(client.name, tokens, index, entry, ratio))
    domain = email_domain(client.email)
    same_domain = {index.contacts[e].contact_id for e in index.postings(index.by_domain, domain)}
    postcode = normalise_postcode(client.postcode)
    same_postcode = {index.contacts[e].contact_id for e in index.postings(index.by_postcode, postcode)}

    suggestions = []
    for contact_id in (best_name.keys() | same_domain | same_postcode) - set(exclude):
        score, reasons = 0.0, []
        if contact_id in best_name:
            score, reason = best_name[contact_id]
            reasons.append(reason)
        if contact_id in same_domain:
            score += DOMAIN_WEIGHT
            reasons.append(f"same email domain {domain}")
        if contact_id in same_postcode:
            score += POSTCODE_WEIGHT
            reasons.append(f"same postcode {(client.postcode or '').strip().upper()}")
        contact = index.by_id[contact_id]
        suggestions.append(Suggestion(contact_id=contact_id, name=contact.name, score=round(score, 3),
                                      reasons=tuple(reasons)))
    suggestions.sort(key=lambda s: (-s.score, index.position[s.contact_id]))
    return suggestions[:max(limit, 0)]


def _name_reason(client_name: str, tokens: list[str], index: SuggestionIndex, entry: int, ratio: float) -> str:
    found = index.found_as[entry]
    text = f"similar name '{found.name.strip()}'"
    if index.names[entry] == " ".join(tokens):
        spelled = [f"{a} read as {b}" for a, b in _abbreviations(client_name, found.name)]
        text += f" ({', '.join(spelled)})" if spelled else " (same name once normalised)"
    else:
        text += f" ({round(ratio * 100)}% alike)"
    if found.contact_id != index.contacts[entry].contact_id:
        text += f", merged into '{index.contacts[entry].name.strip()}'"
    return text


def _abbreviations(a: str, b: str) -> list[tuple[str, str]]:
    """The abbreviations that made two names' suggestion words equal: [("St", "Street")]."""
    out: list[tuple[str, str]] = []
    for x, y in zip(normalise_name(a).split(), normalise_name(b).split(), strict=False):
        if x != y:
            short, full = (x, y) if ABBREVIATIONS.get(x) == y else (y, x)
            pair = (short.capitalize(), full.capitalize())
            if pair not in out:
                out.append(pair)
    return out
