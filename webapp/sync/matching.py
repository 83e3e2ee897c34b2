"""Matching Socket clients to Xero contacts (DESIGN.md §4): plain records in, plain decisions out.

No database, no Flask: the sync (and `flask match-csv`, the dry run for support) turn their rows into
`ClientRecord`s and `ContactRecord`s, call `match_clients`, and store or print the `MatchDecision`s.

Precedence, first hit wins:
  1. `stored`          the client's stored link (manual links are never changed by automatic matching);
  2. `contact_number`  a Xero ContactNumber equal to the client's code;
  3. `company_number`  then `vat_number` (CompanyNumber, TaxNumber);
  4. `name`            normalised name (see webapp.sync.normalise);
  5. `email`           case-insensitive, unique among ACTIVE contacts.
A step "hits" when at least one contact carries the client's key; the step then decides, and later steps
are not tried, whatever the outcome. Around every step:
  - Merged contacts are followed first: a candidate with MergedToContactID is replaced by the contact it was
    merged into, along the whole chain (A -> B -> C). Candidates that lead to the same contact count once. A
    chain that loops, or that leads to a contact not in the list, cannot be followed: needs review.
  - An ARCHIVED or GDPRREQUEST contact is never linked silently: needs review, with it as the candidate.
  - Two or more candidates at one step: needs review, with all of them. For email only ACTIVE contacts count
    towards "unique" (DESIGN's words), so one active contact sharing an address with archived ones is still
    linked; for the other steps every contact counts, so an archived and an active contact with one name
    are two candidates (the archived one may be the real client: a person chooses).
  - A name or email hit where both sides carry a company number, or both a VAT number, and they differ:
    needs review (a different legal entity with a similar name).
  - Two clients claiming one contact: needs review for each client involved, with the contact as candidate.
    A link already held is kept (a manual link, or a stored link still pointing at the same contact): only
    the new claims go to review, and their sentence names the client holding the contact. Several links
    held to one contact all stay (people made them). An automatic stored link moved by a merge onto a
    contact is a new claim.

Stored links (where DESIGN.md is silent, what a practice would expect):
  - A stored link (manual or automatic) to an ACTIVE contact is kept: `linked`, rule `stored`, even if another
    rule would now pick a different contact.
  - A stored link to a contact that was merged is moved to the contact it was merged into (rule `stored`,
    `new_link` True so the link is rewritten). Xero merged the two records; invoicing the archived one would
    be refused. A manual link stays manual: it is the same business, and nothing else is re-decided.
  - A stored link to a contact that is now ARCHIVED or GDPRREQUEST (not merged), or that is missing from the
    contacts given (deleted in Xero, or not synced): needs review, rule `stored`, the linked contact as the
    only candidate. Automatic rules are not tried instead: re-linking such a client elsewhere without a
    person is exactly the silent change the rules forbid. The stored link itself is not removed: a
    `needs_review` decision never deletes a link (the applier only writes links of `linked` decisions whose
    `new_link` is True).

On a new automatic link (`new_link` and not manual), `stamp_contact_number` says to write the client's code
to the contact's ContactNumber, which must be empty, so the next match is certain (rule `contact_number`).

Candidates are listed in the order the contacts were given (Xero's listing order). Suppliers are contacts
like any other (a client can also sell to the practice), so IsCustomer/IsSupplier do not affect matching.

Cost: `build_index` makes one dict per key (linear in contacts), each client is resolved with a few dict
look-ups, and merge chains are followed once per contact (memoised); the claims pass groups decisions by
contact (and a sentence names at most five other clients). No pair of client and contact is ever compared
outside an index bucket. bench/matching.py measures it.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from webapp.sync.normalise import (
    explain_company_number,
    explain_name_match,
    explain_vat_number,
    normalise_code,
    normalise_company_number,
    normalise_email,
    normalise_name,
    normalise_vat_number,
)


class Outcome(str, enum.Enum):
    LINKED = "linked"
    NEEDS_REVIEW = "needs_review"
    UNMATCHED = "unmatched"


class Rule(str, enum.Enum):
    STORED = "stored"
    CONTACT_NUMBER = "contact_number"
    COMPANY_NUMBER = "company_number"
    VAT_NUMBER = "vat_number"
    NAME = "name"
    EMAIL = "email"


ACTIVE = "ACTIVE"
ARCHIVED = "ARCHIVED"
GDPR_REQUEST = "GDPRREQUEST"
CONTACT_STATUSES = (ACTIVE, ARCHIVED, GDPR_REQUEST)


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """A Socket client, as matching sees it. `linked_contact_id` is the stored link, if any."""

    id: int | str
    code: str
    name: str
    email: str | None = None
    company_number: str | None = None
    vat_number: str | None = None
    postcode: str | None = None
    linked_contact_id: str | None = None
    link_is_manual: bool = False


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """A Xero contact, as matching sees it (Xero's field names in the comments)."""

    contact_id: str  # ContactID
    name: str  # Name
    email: str | None = None  # EmailAddress
    contact_number: str | None = None  # ContactNumber
    company_number: str | None = None  # CompanyNumber
    tax_number: str | None = None  # TaxNumber (the VAT number in a UK organisation)
    status: str = ACTIVE  # ContactStatus: ACTIVE, ARCHIVED or GDPRREQUEST
    merged_to_contact_id: str | None = None  # MergedToContactID
    postcode: str | None = None  # PostalCode of the STREET address (else POBOX), suggestions only
    is_customer: bool = False  # IsCustomer
    is_supplier: bool = False  # IsSupplier

    @property
    def is_active(self) -> bool:
        return self.status.upper() == ACTIVE

    @classmethod
    def from_xero(cls, contact: Mapping[str, Any]) -> ContactRecord:
        """From a Contact of Xero's Accounting API (GET /Contacts)."""
        addresses = {a.get("AddressType"): a for a in contact.get("Addresses") or () if a.get("PostalCode")}
        address = addresses.get("STREET") or addresses.get("POBOX") or {}
        return cls(
            contact_id=contact["ContactID"], name=contact.get("Name") or "", email=contact.get("EmailAddress"),
            contact_number=contact.get("ContactNumber"), company_number=contact.get("CompanyNumber"),
            tax_number=contact.get("TaxNumber"), status=(contact.get("ContactStatus") or ACTIVE).upper(),
            merged_to_contact_id=contact.get("MergedToContactID") or None, postcode=address.get("PostalCode"),
            is_customer=bool(contact.get("IsCustomer")), is_supplier=bool(contact.get("IsSupplier")))


@dataclass(frozen=True, slots=True)
class MatchDecision:
    """What matching decided for one client, with the rule and a sentence a person understands.

    linked        `contact_id` is the contact; `new_link` when the stored link must be written (created, or
                  moved along a merge); `stamp_contact_number` when the client's code should be written to
                  the contact's empty ContactNumber (new automatic links only).
    needs_review  `candidate_ids` are the contacts a person should choose from; `contact_id` is None. Any
                  stored link is left as it is.
    unmatched     nothing found; suggestions (webapp.sync.match_suggestions) may help a person.
    """

    client_id: int | str
    client_code: str
    outcome: Outcome
    rule: Rule | None
    contact_id: str | None
    candidate_ids: tuple[str, ...]
    reason: str
    new_link: bool = False
    stamp_contact_number: bool = False


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a contact found by a rule leads once merges are followed.

    `contact` is the contact to link (the hit itself when it was not merged); `merges` counts the merges
    followed; `problem` is "cycle" or "missing" when the chain cannot be followed (then `contact` is the
    last contact reached, and `missing_id` the id it was merged into for "missing").
    """

    hit: ContactRecord
    contact: ContactRecord
    merges: int = 0
    problem: str | None = None
    missing_id: str | None = None

    @property
    def linkable(self) -> bool:
        return self.problem is None and self.contact.is_active


@dataclass(frozen=True, slots=True)
class _Tail:
    final_id: str
    merges: int
    problem: str | None = None
    missing_id: str | None = None


class ContactIndex:
    """Contacts indexed by every key matching uses. Build once (`build_index`), look up per client."""

    def __init__(self, contacts: Iterable[ContactRecord]):
        self.contacts: list[ContactRecord] = []
        self.by_id: dict[str, ContactRecord] = {}
        self.position: dict[str, int] = {}
        self.by_contact_number: dict[str, list[str]] = {}
        self.by_company_number: dict[str, list[str]] = {}
        self.by_vat_number: dict[str, list[str]] = {}
        self.by_name: dict[str, list[str]] = {}
        self.by_email: dict[str, list[str]] = {}
        self._tails: dict[str, _Tail] = {}
        for contact in contacts:
            cid = contact.contact_id
            if cid in self.by_id:
                raise ValueError(f"ContactID {cid} appears twice")
            self.position[cid] = len(self.contacts)
            self.contacts.append(contact)
            self.by_id[cid] = contact
            for table, key in ((self.by_contact_number, normalise_code(contact.contact_number)),
                               (self.by_company_number, normalise_company_number(contact.company_number)),
                               (self.by_vat_number, normalise_vat_number(contact.tax_number)),
                               (self.by_name, normalise_name(contact.name) or None),
                               (self.by_email, normalise_email(contact.email))):
                if key is not None:
                    table.setdefault(key, []).append(cid)

    def __len__(self) -> int:
        return len(self.contacts)

    def resolve(self, contact_id: str) -> Resolution:
        """Follow MergedToContactID from `contact_id` (which must be in the index) to the contact to use."""
        tail = self._tail(contact_id)
        return Resolution(hit=self.by_id[contact_id], contact=self.by_id[tail.final_id], merges=tail.merges,
                          problem=tail.problem, missing_id=tail.missing_id)

    def _tail(self, contact_id: str) -> _Tail:
        """Memoised: each contact's chain is walked once, so resolving is linear overall (loops guarded)."""
        path: list[str] = []
        on_path: set[str] = set()
        current = contact_id
        while current not in self._tails and current not in on_path:
            path.append(current)
            on_path.add(current)
            target = self.by_id[current].merged_to_contact_id
            if not target or target == current:
                self._tails[current] = _Tail(final_id=current, merges=0)
            elif target not in self.by_id:
                self._tails[current] = _Tail(final_id=current, merges=0, problem="missing", missing_id=target)
            else:
                current = target
                continue
            break
        if current not in self._tails:  # back on the path: a loop, and nothing leading into it can be followed
            for cid in path:
                self._tails[cid] = _Tail(final_id=cid, merges=0, problem="cycle")
            return self._tails[contact_id]
        end = self._tails[current]
        stop = path.index(current) if current in on_path else len(path)
        for j in range(stop):
            cid = path[j]
            self._tails[cid] = (_Tail(final_id=cid, merges=0, problem="cycle") if end.problem == "cycle"
                                else replace(end, merges=end.merges + stop - j))
        return self._tails[contact_id]


def build_index(contacts: Iterable[ContactRecord]) -> ContactIndex:
    return ContactIndex(contacts)


# -- one client ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Draft:
    decision: MatchDecision
    held: bool = False  # a link already held: kept when another client claims the same contact
    found: str = ""  # "'Smith & Co' by name, ignoring &/and (...)": for the claims sentence


class _Matcher:
    def __init__(self, index: ContactIndex):
        self.index = index

    def match(self, client: ClientRecord) -> _Draft:
        """The first rule, in precedence order, whose key some contact carries decides."""
        if client.linked_contact_id:
            return self._stored(client, client.linked_contact_id)
        index = self.index
        code = normalise_code(client.code)
        if code is not None and code in index.by_contact_number:
            return self._decide(client, Rule.CONTACT_NUMBER, index.by_contact_number[code])
        company = normalise_company_number(client.company_number)
        if company is not None and company in index.by_company_number:
            return self._decide(client, Rule.COMPANY_NUMBER, index.by_company_number[company])
        vat = normalise_vat_number(client.vat_number)
        if vat is not None and vat in index.by_vat_number:
            return self._decide(client, Rule.VAT_NUMBER, index.by_vat_number[vat])
        name = normalise_name(client.name)
        if name and name in index.by_name:
            return self._decide(client, Rule.NAME, index.by_name[name])
        email = normalise_email(client.email)
        if email is not None and email in index.by_email:
            return self._decide(client, Rule.EMAIL, index.by_email[email])
        return _Draft(_decision(client, Outcome.UNMATCHED, None, None, (), _unmatched_reason(client)))

    def _decide(self, client: ClientRecord, rule: Rule, ids: list[str]) -> _Draft:
        found: dict[str, Resolution] = {}
        for cid in ids:  # merges first: candidates leading to one contact count once
            resolution = self.index.resolve(cid)
            found.setdefault(resolution.contact.contact_id, resolution)
        pool = list(found.values())
        if rule is Rule.EMAIL:  # "unique among active contacts"
            pool = [r for r in pool if r.linkable] or pool
        if len(pool) > 1:
            names = ", ".join(_quote(r.contact.name) for r in pool)
            return _Draft(_decision(client, Outcome.NEEDS_REVIEW, rule, None,
                                    tuple(r.contact.contact_id for r in pool),
                                    f"Needs review: {len(pool)} contacts {_TIE_WHAT[rule](client)}: {names}."))
        only = pool[0]
        contact = only.contact
        found_text = f"{_quote(contact.name)} by {_EVIDENCE[rule](client, only.hit)}{_merge_note(only)}"
        if not only.linkable:
            return _Draft(_decision(client, Outcome.NEEDS_REVIEW, rule, None, (contact.contact_id,),
                                    f"Needs review: found {found_text}, but {_unlinkable(only)}."))
        if rule in (Rule.NAME, Rule.EMAIL):
            conflict = _conflict(client, contact)
            if conflict:
                return _Draft(_decision(client, Outcome.NEEDS_REVIEW, rule, None, (contact.contact_id,),
                                        f"Needs review: found {found_text}, but {conflict}: it may be a "
                                        "different legal entity."))
        stamp = bool(client.code.strip()) and not (contact.contact_number or "").strip()
        return _Draft(_decision(client, Outcome.LINKED, rule, contact.contact_id, (), f"Linked to {found_text}.",
                                new_link=True, stamp=stamp), found=found_text)

    def _stored(self, client: ClientRecord, stored_id: str) -> _Draft:
        kind = "manual link" if client.link_is_manual else "stored link"
        if stored_id not in self.index.by_id:
            return _Draft(_decision(client, Outcome.NEEDS_REVIEW, Rule.STORED, None, (stored_id,),
                                    f"Needs review: the {kind} is to contact {stored_id}, which is not among "
                                    "Xero's contacts (deleted in Xero, or not synced). The link is left as it is."))
        resolution = self.index.resolve(stored_id)
        contact = resolution.contact
        if not resolution.linkable:
            return _Draft(_decision(client, Outcome.NEEDS_REVIEW, Rule.STORED, None, (contact.contact_id,),
                                    f"Needs review: the {kind} is to {_quote(contact.name)}"
                                    f"{_merge_note(resolution)}, but {_unlinkable(resolution)}. "
                                    "The link is left as it is."))
        moved = contact.contact_id != stored_id
        found_text = f"{_quote(contact.name)} by the {kind}{_merge_note(resolution)}"
        if moved:
            reason = f"Linked to {found_text}."
        elif client.link_is_manual:
            reason = f"Linked to {found_text}, kept: automatic matching never changes a manual link."
        else:
            reason = f"Linked to {found_text}."
        # Following a merge rewrites the link; only an automatic one stamps the code on the new contact.
        stamp = moved and not client.link_is_manual and bool(client.code.strip()) \
            and not (contact.contact_number or "").strip()
        return _Draft(_decision(client, Outcome.LINKED, Rule.STORED, contact.contact_id, (), reason,
                                new_link=moved, stamp=stamp),
                      held=client.link_is_manual or not moved, found=found_text)


# What a rule found, for the sentence: "company number 09876543 (9876543 = 09876543, padded to 8 digits)".
_EVIDENCE: dict[Rule, Callable[[ClientRecord, ContactRecord], str]] = {
    Rule.CONTACT_NUMBER: lambda cl, co: _contact_number_evidence(cl.code, co.contact_number or ""),
    Rule.COMPANY_NUMBER: lambda cl, co: f"company number {normalise_company_number(cl.company_number)}"
    + explain_company_number(cl.company_number or "", co.company_number or ""),
    Rule.VAT_NUMBER: lambda cl, co: f"VAT number {normalise_vat_number(cl.vat_number)}"
    + explain_vat_number(cl.vat_number or "", co.tax_number or ""),
    Rule.NAME: lambda cl, co: _name_evidence(cl.name, co.name),
    Rule.EMAIL: lambda cl, co: f"email {normalise_email(cl.email)}, unique among active contacts",
}
_TIE_WHAT: dict[Rule, Callable[[ClientRecord], str]] = {
    Rule.CONTACT_NUMBER: lambda c: f"have the ContactNumber {c.code.strip()}",
    Rule.COMPANY_NUMBER: lambda c: f"have the company number {normalise_company_number(c.company_number)}",
    Rule.VAT_NUMBER: lambda c: f"have the VAT number {normalise_vat_number(c.vat_number)}",
    Rule.NAME: lambda c: f"have this name once normalised ({_quote(normalise_name(c.name))})",
    Rule.EMAIL: lambda c: f"have the email {normalise_email(c.email)}",
}


def _decision(client: ClientRecord, outcome: Outcome, rule: Rule | None, contact_id: str | None,
              candidates: tuple[str, ...], reason: str, *, new_link: bool = False,
              stamp: bool = False) -> MatchDecision:
    return MatchDecision(client_id=client.id, client_code=client.code, outcome=outcome, rule=rule,
                         contact_id=contact_id, candidate_ids=candidates, reason=reason, new_link=new_link,
                         stamp_contact_number=stamp and new_link)


def _quote(name: str) -> str:
    return f"'{name}'"


def _contact_number_evidence(code: str, contact_number: str) -> str:
    case = "" if contact_number.strip() == code.strip() else ", case ignored"
    return f"ContactNumber {contact_number.strip()}, the client's code{case}"


def _name_evidence(client_name: str, contact_name: str) -> str:
    ignored = explain_name_match(client_name, contact_name)
    if not ignored:
        return "exact name"
    return f"name, ignoring {_join(ignored)} ({_quote(client_name.strip())} = {_quote(contact_name.strip())})"


def _merge_note(resolution: Resolution) -> str:
    hit = _quote(resolution.hit.name)
    if resolution.problem == "cycle":
        return f" (found as {hit}, whose MergedToContactID chain loops)"
    if resolution.problem == "missing":
        return f" (found as {hit}, merged into contact {resolution.missing_id}, which is not among the contacts)"
    if resolution.merges == 0:
        return ""
    via = "" if resolution.merges == 1 else f" through {resolution.merges} merges"
    return f" (found as {hit}, merged into {_quote(resolution.contact.name)}{via}: MergedToContactID followed)"


def _unlinkable(resolution: Resolution) -> str:
    if resolution.problem == "cycle":
        return "its merges loop back on themselves, so the contact to use is unknown"
    if resolution.problem == "missing":
        return "the contact it was merged into is not among Xero's contacts"
    status = resolution.contact.status.upper()
    if status == GDPR_REQUEST:
        return "it has a GDPR erasure request in Xero, and such a contact is never linked silently"
    if status == ARCHIVED:
        return "it is archived in Xero, and an archived contact is never linked silently"
    return f"its status in Xero is {status or 'empty'}, not ACTIVE, so it is never linked silently"


def _conflict(client: ClientRecord, contact: ContactRecord) -> str | None:
    ours, theirs = normalise_company_number(client.company_number), normalise_company_number(contact.company_number)
    if ours and theirs and ours != theirs:
        return f"the company numbers differ (client {ours}, contact {theirs})"
    ours, theirs = normalise_vat_number(client.vat_number), normalise_vat_number(contact.tax_number)
    if ours and theirs and ours != theirs:
        return f"the VAT numbers differ (client {ours}, contact {theirs})"
    return None


def _unmatched_reason(client: ClientRecord) -> str:
    tried = ["code"]
    if normalise_company_number(client.company_number):
        tried.append("company number")
    if normalise_vat_number(client.vat_number):
        tried.append("VAT number")
    if normalise_name(client.name):
        tried.append("name")
    if normalise_email(client.email):
        tried.append("email")
    return f"No Xero contact matches this client's {_join(tried, 'or')}."


# -- all clients ---------------------------------------------------------------------------------------------------
def match_clients(clients: Iterable[ClientRecord],
                  contacts: Iterable[ContactRecord] | ContactIndex) -> list[MatchDecision]:
    """One decision per client, in the clients' order. Linear in clients + contacts.

    `contacts` may be a `ContactIndex` already built (to reuse it, e.g. for suggestions).
    """
    index = contacts if isinstance(contacts, ContactIndex) else build_index(contacts)
    matcher = _Matcher(index)
    drafts: list[_Draft] = []
    seen: set[int | str] = set()
    for client in clients:
        if client.id in seen:
            raise ValueError(f"client id {client.id!r} appears twice")
        seen.add(client.id)
        drafts.append(matcher.match(client))
    return _settle_claims(drafts)


def _settle_claims(drafts: Sequence[_Draft]) -> list[MatchDecision]:
    """Two or more clients linked to one contact: the new claims go to review; links already held stay."""
    first: dict[str, int] = {}
    claims: dict[str, list[int]] = {}  # only contacts claimed more than once
    for i, draft in enumerate(drafts):
        contact_id = draft.decision.contact_id
        if draft.decision.outcome is Outcome.LINKED and contact_id is not None:
            j = first.setdefault(contact_id, i)
            if j != i:
                claims.setdefault(contact_id, [j]).append(i)
    decisions = [draft.decision for draft in drafts]
    for contact_id, claimants in claims.items():
        codes = [drafts[i].decision.client_code for i in claimants]
        holders = [code for i, code in zip(claimants, codes, strict=True) if drafts[i].held]
        for position, i in enumerate(claimants):
            draft = drafts[i]
            if draft.held:
                continue
            if holders:
                why = f"it is already linked to client {_listed(holders, len(holders))}"
            else:  # name a few of the others (linear however many clients claim the contact)
                others = [codes[p] for p in range(min(len(codes), _LISTED + 1)) if p != position][:_LISTED]
                count = len(codes) - 1
                why = f"client {_listed(others, count)} also {'claims' if count == 1 else 'claim'} it"
            decisions[i] = replace(
                draft.decision, outcome=Outcome.NEEDS_REVIEW, contact_id=None, candidate_ids=(contact_id,),
                new_link=False, stamp_contact_number=False,
                reason=f"Needs review: found {draft.found}, but {why}; two clients claiming one contact "
                       "are never linked silently.")
    return decisions


_LISTED = 5  # client codes named in a sentence


def _listed(codes: list[str], count: int) -> str:
    """"A1", "A1 and B2", or "A1, B2, C3, D4, E5 and 3 more" when `count` exceeds the codes named."""
    codes = codes[:_LISTED]
    return _join(codes) if count <= len(codes) else f"{', '.join(codes)} and {count - len(codes)} more"


def _join(items: list[str], last: str = "and") -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last} " + items[-1]
