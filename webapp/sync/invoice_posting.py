"""Posting a practice's outstanding invoices to Xero: never lost, never twice.

Outstanding: RAISED (not sent yet), HELD (pre-flight found a problem: checked again, sent once fixed), POSTING (a
run sent it, or was about to, and did not hear back: looked up first), and FAILED (Xero refused it) only when asked
to retry. A run (`post_outstanding`):

1. takes the practice's posting lock (webapp.sync.posting_lock), so two runs never post for one practice at once;
2. checks the practice can post at all (connected; contacts and codes synced): if not, it stops, nothing changed;
3. looks up in Xero every POSTING invoice, whose last send had an unknown outcome (timeout, lost response, a
   worker killed), by the InvoiceID if known, else by the Reference it was sent with (GET /Invoices with
   `where` Reference=="..." OR ..., one call per 50): found, it is POSTED ("found after an unknown outcome"), or,
   when Xero's description of it cannot be read, it stays POSTING and is never sent again; not found, it is sent
   again below;
4. resolves each client's contact (webapp.sync.invoice_contacts) and runs pre-flight (webapp.sync.invoice_preflight):
   a problem holds that invoice (HELD, with the reason and the fix) and the rest go on; missing contacts of
   invoices that pass are created in Xero (unless the practice turned that off);
5. sends the rest in batches of up to 50 (PUT /Invoices, `summarizeErrors=false`, so Xero creates the valid ones
   and answers for each). Before a batch is sent, each of its invoices is marked POSTING with `outcome_unknown`
   and committed: whatever happens next, the next run knows to look before sending again. The Idempotency-Key
   is made from the batch's exact content (and each invoice's count of definite refusals), so a batch sent again
   unchanged — by the HTTP client's own retry or by a later run — replays Xero's first answer instead of creating
   anything. Invoices sent again after an unknown outcome go in the same batches as before, so their key matches.
6. keeps each invoice's own answer: an InvoiceID (POSTED: only Xero's confirmation makes an invoice posted),
   Xero's validation messages (FAILED, with the message), or nothing readable (stays POSTING, looked up next run).

A transient failure (Xero unavailable after the client's retries, a long rate limit) or a disconnect stops the run
with its reason: what was sent stays POSTING (looked up next time), the rest stays as it was, nothing is lost.
Runs are recorded as InvoicePostingRun rows (webapp.sync.invoice_posting_runs); this module does the work.
"""
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from webapp.extensions import db
from webapp.models import (
    BillingSettings,
    Client,
    Invoice,
    InvoicePosting,
    InvoiceStatus,
    XeroConnection,
    XeroInvoiceStatus,
)
from webapp.models.base import utcnow
from webapp.services.bulk_insert import insert_rows
from webapp.sync import invoice_contacts, invoice_preflight
from webapp.sync.contact_links import rematch_practice
from webapp.sync.invoice_contacts import ContactDecision
from webapp.sync.invoice_payload import PayloadError, build_invoice, net_total, reference_for
from webapp.sync.posting_lock import PostingLock
from webapp.xero import (
    XeroAuthError,
    XeroClient,
    XeroError,
    XeroRateLimited,
    XeroSettings,
    XeroUnavailable,
    XeroValidationError,
    parse_xero_datetime,
)
from webapp.xero.amounts import parse_xero_amount
from webapp.xero.http_errors import message_text
from webapp.xero.idempotency import content_key

log = logging.getLogger(__name__)

BATCH_SIZE = 50  # Xero's advice for batches
LOOKUP_BATCH = 50  # references per lookup call
MAX_WARNINGS = 50
OUTSTANDING = (InvoiceStatus.RAISED.value, InvoiceStatus.HELD.value, InvoiceStatus.POSTING.value)
ZERO_ID = "00000000-0000-0000-0000-000000000000"
Progress = Callable[[str], None]


class PostingStopped(Exception):
    """The run cannot go on (Xero unavailable, rate limited for long, disconnected): `message` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class InvoiceOutcome:
    """What happened to one invoice in a run, for the CLI and the run's record."""

    invoice_id: int
    number: str
    client_code: str
    message: str = ""  # Xero's number when posted; the reason when held; Xero's message when refused


@dataclass
class PostingResult:
    """What a run did. `stopped`: why it ended early (None: it went through every invoice in scope);
    `busy`: another run held the practice's lock, so this one did nothing."""

    posted: list[InvoiceOutcome] = field(default_factory=list)
    found: list[InvoiceOutcome] = field(default_factory=list)  # posted: found in Xero after an unknown outcome
    held: list[InvoiceOutcome] = field(default_factory=list)
    failed: list[InvoiceOutcome] = field(default_factory=list)
    unknown: list[InvoiceOutcome] = field(default_factory=list)  # sent; Xero's answer for it was unreadable
    outstanding: int = 0  # invoices in scope not posted when the run ended
    contacts_created: int = 0
    calls: int = 0
    warnings: list[str] = field(default_factory=list)
    stopped: str | None = None
    busy: bool = False

    def counts(self) -> dict[str, Any]:
        """For InvoicePostingRun.counts."""
        warnings = self.warnings if len(self.warnings) <= MAX_WARNINGS else \
            self.warnings[:MAX_WARNINGS] + [f"... and {len(self.warnings) - MAX_WARNINGS} more."]
        return {"posted": len(self.posted), "found_after_unknown": len(self.found), "held": len(self.held),
                "failed": len(self.failed), "unknown": len(self.unknown), "outstanding": self.outstanding,
                "contacts_created": self.contacts_created, "calls": self.calls, "warnings": warnings}


@dataclass
class _Candidate:
    invoice: Invoice
    posting: InvoicePosting
    payload: dict[str, Any] | None = None
    changed_lines: dict[int, tuple[str, str | None]] = field(default_factory=dict)

    def outcome(self, message: str = "") -> InvoiceOutcome:
        return InvoiceOutcome(self.invoice.id, self.invoice.number, self.invoice.client.code, message)


@dataclass(frozen=True)
class _Created:
    invoice_id: str
    number: str | None
    status: str | None
    total: Decimal | None
    amount_due: Decimal | None
    amount_paid: Decimal | None
    updated_at: Any


class _Unreadable(ValueError):
    pass


# -- keys ---------------------------------------------------------------------------------------------------------
def request_body_text(body: dict) -> str:
    """The JSON text of `body` exactly as the HTTP client sends it (requests' json=)."""
    return json.dumps(body, allow_nan=False)


def idempotency_key(tenant_id: str, body: dict, refusals: Sequence[int] = ()) -> str:
    """The Idempotency-Key of a batch: the same for the same organisation, the same body (byte for byte) and the
    same refusal counts; 80 characters (Xero allows 128). Each invoice's Reference is in the body, so the key is
    tied to the invoices it carries."""
    return content_key("socket-invoices-", tenant_id, request_body_text(body), list(refusals))


def _same_reference(a: str | None, b: str | None) -> bool:
    return (a or "").strip().casefold() == (b or "").strip().casefold()


# -- reading Xero's answers ---------------------------------------------------------------------------------------
def _money(element: dict, key: str) -> Decimal | None:
    try:
        return parse_xero_amount(element.get(key))
    except ValueError as problem:
        raise _Unreadable(f"its {key} {problem}") from None


def read_created(element: Any) -> _Created:
    """An invoice Xero says it holds, checked; raises _Unreadable saying what is wrong."""
    if not isinstance(element, dict):
        raise _Unreadable("it is not an invoice object")
    invoice_id = element.get("InvoiceID")
    try:
        invoice_id = str(uuid.UUID(invoice_id)) if isinstance(invoice_id, str) else None
    except ValueError:
        invoice_id = None
    if invoice_id is None or invoice_id == ZERO_ID:
        raise _Unreadable("it has no InvoiceID")
    number = element.get("InvoiceNumber")
    if number is not None and not isinstance(number, str):
        raise _Unreadable(f"its InvoiceNumber {number!r:.80} is not text")
    if number is not None and (len(number) > 255 or "\x00" in number):
        number = None  # text Socket cannot store: the invoice is known by its InvoiceID
    status = element.get("Status")
    if status is not None and (not isinstance(status, str) or status not in {s.value for s in XeroInvoiceStatus}):
        raise _Unreadable(f"its Status {status!r:.80} is not one Socket knows")
    updated = element.get("UpdatedDateUTC")
    try:
        updated_at = parse_xero_datetime(updated) if isinstance(updated, str) else None
    except ValueError:
        updated_at = None
    return _Created(invoice_id, number or None, status, _money(element, "Total"), _money(element, "AmountDue"),
                    _money(element, "AmountPaid"), updated_at)


def element_messages(element: dict) -> list[str]:
    """Xero's validation messages for one element of a batch answer."""
    errors = element.get("ValidationErrors")
    if not isinstance(errors, list):
        return []
    return [message_text(e.get("Message")) for e in errors if isinstance(e, dict) and message_text(e.get("Message"))]


def _refused(element: dict) -> bool:
    return element.get("StatusAttributeString") == "ERROR" or element.get("HasErrors") is True \
        or bool(element_messages(element))


# -- recording ----------------------------------------------------------------------------------------------------
def _record_posted(candidate: _Candidate, created: _Created, found: bool = False) -> None:
    invoice, posting = candidate.invoice, candidate.posting
    invoice.status = InvoiceStatus.POSTED.value
    invoice.xero_invoice_id = created.invoice_id
    posting.xero_invoice_id, posting.xero_number, posting.xero_status = created.invoice_id, created.number, \
        created.status
    posting.total, posting.amount_due, posting.amount_paid = created.total, created.amount_due, created.amount_paid
    posting.xero_updated_at = created.updated_at
    posting.outcome_unknown, posting.last_error, posting.held_reason = False, None, None
    posting.posted_at = utcnow()
    posting.found_after_unknown = found


def _record_refused(candidate: _Candidate, messages: list[str]) -> None:
    candidate.invoice.status = InvoiceStatus.FAILED.value
    posting = candidate.posting
    posting.outcome_unknown = False
    posting.refusals += 1
    posting.last_error = "Xero refused it: " + ("; ".join(m.rstrip(".") for m in messages) or "no reason given") + "."


def _record_unknown(candidate: _Candidate, why: str) -> None:
    candidate.invoice.status = InvoiceStatus.POSTING.value
    candidate.posting.outcome_unknown = True
    candidate.posting.last_error = why


def _record_held(candidate: _Candidate, reason: str) -> None:
    candidate.invoice.status = InvoiceStatus.HELD.value
    candidate.posting.held_reason = reason
    candidate.posting.outcome_unknown = False


# -- the run's parts ----------------------------------------------------------------------------------------------
@dataclass
class _Run:
    practice_id: int
    tenant_id: str
    api: XeroClient
    result: PostingResult
    progress: Progress
    lock: PostingLock | None = None

    def calls(self) -> None:
        self.result.calls = self.api.calls


def _stop_message(exc: XeroError, waiting: int) -> str:
    left = f" {waiting} invoice{'s' if waiting != 1 else ''} will be posted by the next run." if waiting else ""
    if isinstance(exc, XeroAuthError):
        return ("Xero refused Socket's connection (the organisation may have disconnected Socket), so posting "
                f"stopped: reconnect in Practice Settings > Integrations.{left}")
    if isinstance(exc, XeroRateLimited):
        return f"Xero's {exc.problem} limit was reached, so posting stopped for now.{left}"
    if isinstance(exc, XeroUnavailable):
        return f"Xero could not be reached or kept failing ({exc.message}), so posting stopped.{left}"
    return f"Xero answered with an error ({exc.message}), so posting stopped.{left}"


def _get_invoices(api: XeroClient, params: dict) -> list:
    """Every page of GET /Invoices for `params`; XeroUnavailable when an answer has no Invoices list."""
    found: list = []
    page = 1
    while True:
        body = api.get("Invoices", params={**params, "page": page})
        items = body.get("Invoices") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise XeroUnavailable("Xero's answer had no Invoices list")
        found.extend(items)
        page_count = (body.get("pagination") or {}).get("pageCount") if isinstance(body.get("pagination"), dict) \
            else None
        if len(items) < 100 or (isinstance(page_count, int) and page >= page_count):
            return found
        page += 1


def where_references(references: Iterable[str]) -> str:
    """Xero's `where` for ACCREC invoices with any of these References (no reference may contain a quote)."""
    terms = []
    for reference in references:
        if '"' in reference or "\\" in reference:
            raise ValueError(f"a Reference Socket cannot look up: {reference!r}")
        terms.append(f'Reference=="{reference}"')
    return f'Type=="ACCREC" AND ({" OR ".join(terms)})'


def _pick(matches: list[dict], reference: str, warnings: list[str]) -> dict:
    live = [m for m in matches if m.get("Status") not in ("DELETED", "VOIDED")] or matches
    if len(live) > 1:
        warnings.append(f"Xero holds {len(live)} invoices with the Reference '{reference}'; Socket recorded the "
                        "first. Check Xero for a duplicate.")
    return live[0]


def recover_unknown(run: _Run, candidates: list[_Candidate]) -> list[_Candidate]:
    """Look up POSTING invoices in Xero; record those found as posted. Returns those not found (to send again)."""
    if not candidates:
        return []
    run.progress(f"Checking Xero for {len(candidates)} invoices whose last send was not answered")
    not_found = []
    by_id = [c for c in candidates if c.posting.xero_invoice_id]
    by_reference = [c for c in candidates if not c.posting.xero_invoice_id]
    answers: list[tuple[_Candidate, list[dict]]] = []
    try:
        for start in range(0, len(by_id), LOOKUP_BATCH):
            chunk = by_id[start:start + LOOKUP_BATCH]
            items = _get_invoices(run.api, {"IDs": ",".join(c.posting.xero_invoice_id or "" for c in chunk)})
            by_xero = {str(i.get("InvoiceID", "")).lower(): i for i in items if isinstance(i, dict)}
            answers += [(c, [by_xero[c.posting.xero_invoice_id or ""]] if c.posting.xero_invoice_id in by_xero
                         else []) for c in chunk]
        for start in range(0, len(by_reference), LOOKUP_BATCH):
            chunk = by_reference[start:start + LOOKUP_BATCH]
            references = [c.posting.sent_reference or reference_for(c.invoice.period, c.invoice.number)
                          for c in chunk]
            items = _get_invoices(run.api, {"where": where_references(references)})
            for candidate, reference in zip(chunk, references, strict=True):
                answers.append((candidate, [i for i in items if isinstance(i, dict) and i.get("Type", "ACCREC")
                                            == "ACCREC" and _same_reference(i.get("Reference"), reference)]))
    finally:
        run.calls()
    for candidate, matches in answers:
        if not matches:
            candidate.posting.outcome_unknown = False  # now known: Xero does not have it
            not_found.append(candidate)
            continue
        reference = candidate.posting.sent_reference or ""
        try:
            created = read_created(_pick(matches, reference, run.result.warnings))
        except _Unreadable as problem:
            _record_unknown(candidate, f"Xero holds an invoice with its Reference, but it could not be read "
                                       f"({problem}); Socket will look again at the next run.")
            run.result.unknown.append(candidate.outcome(str(problem)))
            continue
        _record_posted(candidate, created, found=True)
        run.result.found.append(candidate.outcome(created.number or created.invoice_id))
    db.session.commit()
    return not_found


def _create_contacts(run: _Run, ready: list[tuple[_Candidate, ContactDecision]]) -> dict[int, ContactDecision]:
    """Create the contacts of the clients whose invoices passed pre-flight but have none yet."""
    to_create: dict[int, Client] = {}
    numbers: dict[int, str] = {}
    for candidate, decision in ready:
        if decision.create and candidate.invoice.client_id not in to_create:
            to_create[candidate.invoice.client_id] = candidate.invoice.client
            numbers[candidate.invoice.client_id] = candidate.invoice.number
    if not to_create:
        return {}
    run.progress(f"Creating {len(to_create)} contacts in Xero")
    try:
        created = invoice_contacts.create_contacts(run.practice_id, run.tenant_id, run.api,
                                                   list(to_create.values()), numbers)
    finally:
        run.calls()
    run.result.contacts_created += created.created
    run.result.warnings += created.warnings
    return created.decisions


def _snapshot(tenant_id: str, payload: dict, lines) -> dict[str, Any]:
    """What Socket sent (and to which organisation), to tell later whether the invoice was edited in Xero."""
    return {"tenant_id": tenant_id, "contact_id": payload["Contact"]["ContactID"], "date": payload["Date"],
            "due_date": payload["DueDate"],
            "status": payload["Status"], "branding_theme_id": payload.get("BrandingThemeID"),
            "sub_total": str(net_total(lines)),
            "lines": [{"description": item["Description"], "quantity": str(line.quantity.quantize(Decimal("0.01"))),
                       "unit_amount": str(line.unit_amount.quantize(Decimal("0.01"))),
                       "account_code": item.get("AccountCode"), "tax_type": item.get("TaxType")}
                      for item, line in zip(payload["LineItems"], lines, strict=True)]}


def _apply_line_changes(candidate: _Candidate) -> None:
    """Lines whose code pre-flight worked out again keep what is sent, so Socket shows what Xero has."""
    if not candidate.changed_lines:
        return
    for line in candidate.invoice.lines:
        if line.id in candidate.changed_lines:
            code, tax_type = candidate.changed_lines[line.id]
            if line.tax_type != tax_type:
                line.tax_amount = None  # VAT at another rate: Xero works it out (its Total is recorded)
            line.account_code, line.tax_type = code, tax_type


def _batches(candidates: list[_Candidate]) -> list[list[_Candidate]]:
    """Batches of up to 50: invoices sent again after an unknown outcome with the batch they went in before (so an
    unchanged batch has its old key, and Xero replays its answer), then the rest in order."""
    again: dict[str, list[_Candidate]] = {}
    fresh: list[_Candidate] = []
    for candidate in candidates:
        key = candidate.posting.idempotency_key
        if candidate.invoice.status == InvoiceStatus.POSTING.value and key:
            again.setdefault(key, []).append(candidate)
        else:
            fresh.append(candidate)
    batches = []
    for group in [*again.values(), fresh]:
        batches += [group[start:start + BATCH_SIZE] for start in range(0, len(group), BATCH_SIZE)]
    return batches


def _store_answer(run: _Run, batch: list[_Candidate], answer: Any) -> None:
    elements = answer.get("Invoices") if isinstance(answer, dict) else None
    if not isinstance(elements, list):
        why = ("Xero's answer had no Invoices list, so Socket cannot tell whether it was created; it will look for it "
               "in Xero before sending it again.")
        for candidate in batch:
            _record_unknown(candidate, why)
            run.result.unknown.append(candidate.outcome(why))
        run.result.warnings.append(f"Xero's answer to posting {len(batch)} invoices had no Invoices list; they will "
                                   "be looked up in Xero at the next run.")
        return
    by_reference: dict[str, list[dict]] = {}
    for item in elements:
        if isinstance(item, dict) and isinstance(item.get("Reference"), str):
            by_reference.setdefault(item["Reference"].strip().casefold(), []).append(item)
    for position, candidate in enumerate(batch):
        reference = (candidate.posting.sent_reference or "").strip().casefold()
        element: Any = None
        if by_reference.get(reference):
            element = by_reference[reference].pop(0)
        elif len(elements) == len(batch) and isinstance(elements[position], dict) \
                and "Reference" not in elements[position]:
            element = elements[position]
        if isinstance(element, dict) and _refused(element):
            messages = element_messages(element)
            _record_refused(candidate, messages)
            run.result.failed.append(candidate.outcome("; ".join(messages)))
            continue
        try:
            created = read_created(element)
        except _Unreadable as problem:
            why = (f"Xero's answer for it could not be read ({problem}); Socket will look for it in Xero before "
                   "sending it again.")
            _record_unknown(candidate, why)
            run.result.unknown.append(candidate.outcome(why))
            continue
        _record_posted(candidate, created)
        run.result.posted.append(candidate.outcome(created.number or created.invoice_id))


def _refused_batch(run: _Run, batch: list[_Candidate], exc: XeroValidationError) -> None:
    """Xero refused the whole request (400): nothing of it was created. Invoices it named are FAILED with their
    messages; when it named none, every invoice of the batch is FAILED with its message (a person retries)."""
    named = {element.index: element.messages for element in exc.elements if 0 <= element.index < len(batch)}
    general = exc.messages or [exc.message.removeprefix("Xero refused the data: ")]
    for position, candidate in enumerate(batch):
        if not named:
            _record_refused(candidate, general)
            run.result.failed.append(candidate.outcome(exc.message))
        elif position in named:
            _record_refused(candidate, named[position])
            run.result.failed.append(candidate.outcome("; ".join(named[position])))
        else:
            candidate.invoice.status = InvoiceStatus.RAISED.value  # not created; sent again by the next run
            candidate.posting.outcome_unknown = False
            candidate.posting.refusals += 1  # a new key next time: this batch's answer is not its answer
            candidate.posting.last_error = ("Xero refused the batch it was sent in because of another invoice; it "
                                            "will be sent again by the next run.")


def send_batch(run: _Run, batch: list[_Candidate]) -> None:
    """Mark the batch POSTING (committed), send it, and record each invoice's answer (committed). Raises
    PostingStopped when Xero could not be heard (the batch stays POSTING: looked up next time)."""
    body = {"Invoices": [candidate.payload for candidate in batch]}
    key = idempotency_key(run.tenant_id, body, [candidate.posting.refusals for candidate in batch])
    now = utcnow()
    for candidate in batch:
        posting, payload = candidate.posting, candidate.payload or {}
        candidate.invoice.status = InvoiceStatus.POSTING.value
        posting.outcome_unknown = True
        posting.attempts += 1
        posting.last_attempt_at = now
        posting.idempotency_key = key
        posting.sent_reference = payload.get("Reference")
        posting.held_reason = None
        posting.last_error = None
        _apply_line_changes(candidate)
    db.session.commit()  # from here on, whatever happens, the next run looks before it sends again
    try:
        answer = run.api.put("Invoices", json=body, params={"summarizeErrors": "false"},
                             headers={"Idempotency-Key": key})
    except XeroValidationError as exc:
        _refused_batch(run, batch, exc)
        db.session.commit()
        return
    except XeroError as exc:
        for candidate in batch:
            _record_unknown(candidate, f"Sent to Xero, but no answer was received ({exc.message}); Socket will look "
                                       "for it in Xero before sending it again.")
        db.session.commit()
        raise
    finally:
        run.calls()
    _store_answer(run, batch, answer)
    db.session.commit()


# -- choosing what to post ----------------------------------------------------------------------------------------
def outstanding_invoices(practice_id: int, period: date | None = None, invoice_ids: Sequence[int] | None = None,
                         retry_failed: bool = False) -> list[Invoice]:
    """The practice's invoices a run would take, oldest first: RAISED, HELD, POSTING, and FAILED when retrying
    (or named in `invoice_ids`)."""
    statuses = list(OUTSTANDING)
    if retry_failed or invoice_ids:
        statuses.append(InvoiceStatus.FAILED.value)
    query = db.select(Invoice).filter(Invoice.practice_id == practice_id, Invoice.status.in_(statuses))
    if period is not None:
        query = query.filter(Invoice.period == period)
    if invoice_ids is not None:
        query = query.filter(Invoice.id.in_(list(invoice_ids)))
    return list(db.session.execute(query.order_by(Invoice.id)).scalars())


def postings_for(practice_id: int, invoices: Sequence[Invoice]) -> dict[int, InvoicePosting]:
    """Each invoice's posting row, made (not committed) for invoices that have none yet: in one INSERT and read
    back in one SELECT, where adding 2,000 objects to the session cost a second of the unit of work's flush."""
    ids = [invoice.id for invoice in invoices]
    if not ids:
        return {}
    found = {posting.invoice_id: posting for posting in db.session.execute(
        db.select(InvoicePosting).filter(InvoicePosting.invoice_id.in_(ids))).scalars()}
    missing = [invoice_id for invoice_id in ids if invoice_id not in found]
    if missing:
        # The other columns take the model's defaults: nothing sent, no attempts or refusals, no edits.
        insert_rows(InvoicePosting, [{"invoice_id": invoice_id, "practice_id": practice_id} for invoice_id in missing])
        found.update((posting.invoice_id, posting) for posting in db.session.execute(
            db.select(InvoicePosting).filter(InvoicePosting.invoice_id.in_(missing))).scalars())
    return found


def _prepare(run: _Run, candidates: list[_Candidate], settings: BillingSettings | None) -> list[_Candidate]:
    """Contacts and pre-flight; holds what fails (committed). Returns the candidates to send, payloads built."""
    clients = {c.invoice.client_id: c.invoice.client for c in candidates}
    if invoice_contacts.undecided_clients(run.practice_id, clients):
        run.progress("Matching clients to Xero contacts")
        rematch_practice(run.practice_id)  # from the mirror: no call to Xero
    create_missing = settings.create_missing_contacts if settings is not None else True
    decisions = invoice_contacts.resolve_contacts(run.practice_id, list(clients.values()), create_missing)
    reference = invoice_preflight.load_reference(run.practice_id, settings)
    sources = invoice_preflight.line_sources([(line.id, line.service_id) for c in candidates
                                              for line in c.invoice.lines])
    run.progress(f"Checking {len(candidates)} invoices before posting")
    checked: list[tuple[_Candidate, invoice_preflight.Preflight]] = []
    for candidate in candidates:
        check = invoice_preflight.check_invoice(candidate.invoice, candidate.invoice.lines,
                                                decisions.get(candidate.invoice.client_id), reference, sources,
                                                client_theme_id=candidate.invoice.client.branding_theme_id)
        if check.ok:
            checked.append((candidate, check))
        else:
            _record_held(candidate, check.held_reason or "")
            run.result.held.append(candidate.outcome(check.held_reason or ""))
    db.session.commit()
    created = _create_contacts(run, [(c, decisions[c.invoice.client_id]) for c, _ in checked])
    decisions.update(created)
    status = settings.xero_post_status if settings is not None else "DRAFT"
    ready = []
    for candidate, check in checked:
        decision = decisions[candidate.invoice.client_id]
        if not decision.ready:
            _record_held(candidate, decision.held_reason or "")
            run.result.held.append(candidate.outcome(decision.held_reason or ""))
            continue
        try:
            candidate.payload = build_invoice(candidate.invoice, check.lines, decision.contact_id or "", status,
                                              check.theme_id)
        except PayloadError as problem:
            _record_held(candidate, f"Socket could not put this invoice into Xero's form ({problem}).")
            run.result.held.append(candidate.outcome(str(problem)))
            continue
        candidate.changed_lines = check.changed_lines
        candidate.posting.sent = _snapshot(run.tenant_id, candidate.payload, check.lines)
        ready.append(candidate)
    db.session.commit()
    return ready


def _count_outstanding(practice_id: int, invoice_ids: Sequence[int]) -> int:
    if not invoice_ids:
        return 0
    return db.session.execute(db.select(db.func.count(Invoice.id)).filter(
        Invoice.practice_id == practice_id, Invoice.id.in_(list(invoice_ids)),
        Invoice.status != InvoiceStatus.POSTED.value)).scalar_one()


def _post(run: _Run, invoices: list[Invoice], retry_failed: bool, named: bool,
          settings: BillingSettings | None) -> None:
    postings = postings_for(run.practice_id, invoices)
    db.session.commit()
    candidates = [_Candidate(invoice, postings[invoice.id]) for invoice in invoices]
    unknown = [c for c in candidates if c.invoice.status == InvoiceStatus.POSTING.value]
    elsewhere = [c for c in unknown if (c.posting.sent or {}).get("tenant_id") not in (None, run.tenant_id)]
    for candidate in elsewhere:
        # Sent to the organisation the practice was connected to before, and not confirmed: it may be there.
        # Posting it here could make a second invoice, so it waits for a person (Retry posts it here).
        candidate.invoice.status = InvoiceStatus.FAILED.value
        candidate.posting.outcome_unknown = False
        candidate.posting.last_error = (
            "It was sent to another Xero organisation (the one Socket was connected to before) and its answer was "
            "not received, so it may be there: check that organisation for it. Retry posts it to this one.")
        run.result.failed.append(candidate.outcome(candidate.posting.last_error))
    db.session.commit()
    unknown = [c for c in unknown if c not in elsewhere]
    try:
        not_found = recover_unknown(run, unknown)
    except XeroError as exc:
        db.session.rollback()
        raise PostingStopped(_stop_message(exc, len(candidates))) from None
    # A POSTING invoice is sent again only when Xero was asked and does not have it; one Xero has (even if its
    # answer could not be read) is never sent again.
    settled = (InvoiceStatus.POSTED.value, InvoiceStatus.POSTING.value)
    to_check = [c for c in candidates if c.invoice.status not in settled
                and (c.invoice.status != InvoiceStatus.FAILED.value or retry_failed or named)] + not_found
    to_check.sort(key=lambda c: c.invoice.id)
    if not to_check:
        return
    try:
        ready = _prepare(run, to_check, settings)
    except XeroError as exc:
        db.session.rollback()
        raise PostingStopped(_stop_message(exc, len(to_check))) from None
    batches = _batches(ready)
    sent = 0
    for batch in batches:
        run.progress(f"Posting invoices to Xero: {sent} of {len(ready)} sent")
        try:
            send_batch(run, batch)
        except XeroError as exc:
            raise PostingStopped(_stop_message(exc, len(ready) - sent)) from None
        sent += len(batch)
        if run.lock is not None:
            run.lock.renew()


def post_outstanding(practice_id: int, config: Mapping, *, period: date | None = None,
                     invoice_ids: Sequence[int] | None = None, retry_failed: bool = False,
                     client_factory: Callable[..., XeroClient] | None = None, progress: Progress | None = None,
                     lock_wait: float = 0.0) -> PostingResult:
    """Post the practice's outstanding invoices (optionally only `period`'s, or only `invoice_ids`; FAILED ones only
    with `retry_failed` or when named) — see the module's docstring. Commits as it goes; returns what it did.

    Never raises for Xero's failures (the result's `stopped` says why it ended early); `busy` when another run held
    the practice's lock for `lock_wait` seconds. Anything unexpected is raised, with what was sent already
    recorded as POSTING (looked up by the next run).
    """
    result = PostingResult()
    report = progress or (lambda message: None)
    lock = PostingLock(practice_id, wait=lock_wait)
    if not lock.acquire():
        result.busy = True
        result.stopped = "Another posting run for this practice is under way; it posts these invoices too."
        return result
    session = db.session()
    expire_on_commit = session.expire_on_commit
    # The run commits after every step of every batch; expiring what it loaded at each commit made it read each
    # invoice, its client, lines and postings back one at a time (35 statements an invoice, bench/RESULTS.md).
    # Holding the practice's posting lock, this run is the only writer of these invoices and postings, so what it
    # has loaded stays true; a rollback still expires everything.
    session.expire_on_commit = False
    try:
        invoices = outstanding_invoices(practice_id, period, invoice_ids, retry_failed)
        scope = [invoice.id for invoice in invoices]
        if not invoices:
            return result
        connection = db.session.execute(db.select(XeroConnection).filter_by(
            practice_id=practice_id)).scalar_one_or_none()
        problem = invoice_preflight.practice_problem(practice_id, connection)
        if problem or connection is None or not connection.tenant_id:
            result.stopped = problem or "Xero is not connected."
            result.outstanding = len(scope)
            return result
        settings = db.session.get(BillingSettings, practice_id)
        api = (client_factory or XeroClient.for_connection)(connection, XeroSettings.from_config(config))
        run = _Run(practice_id, connection.tenant_id, api, result, report, lock)
        try:
            _post(run, invoices, retry_failed, invoice_ids is not None, settings)
        except PostingStopped as stop:
            result.stopped = stop.message
        finally:
            result.calls = api.calls
        result.outstanding = _count_outstanding(practice_id, scope)
        return result
    finally:
        session.expire_on_commit = expire_on_commit
        lock.release()

