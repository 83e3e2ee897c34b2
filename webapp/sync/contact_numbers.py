"""Writing a client's code to its contact's empty ContactNumber in Xero, so the next match is certain (DESIGN §4).

Which contacts: those of automatic `linked` decisions (of active clients with a code) whose mirrored ContactNumber
is empty, each linked by one client only. That is every new automatic link, and any whose writing failed before,
so a sync that stopped part way catches up at the next one. A person's links are left as they are.

How: POST /Contacts with up to 50 contacts (`{"ContactID", "ContactNumber"}` each), `summarizeErrors=false` so each
contact succeeds or fails on its own, and an Idempotency-Key made from the batch's content, so a retried POST is
safe. What Xero accepted is stored in the mirror (with its new UpdatedDateUTC, so the next pull sees nothing
changed); what it refused is a warning in the run, and the rest carries on.
"""
from dataclasses import dataclass, field
from typing import Any

from webapp.extensions import db
from webapp.models import Client, ClientContactLink, ClientStatus, LinkOutcome, XeroContact
from webapp.xero import XeroClient, XeroValidationError, parse_xero_datetime
from webapp.xero.http_errors import message_text
from webapp.xero.idempotency import content_key

BATCH_SIZE = 50  # Xero's advice for batches


@dataclass
class StampResult:
    stamped: int = 0
    failed: int = 0
    calls: int = 0
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"contact_numbers_written": self.stamped, "contact_numbers_failed": self.failed,
                "contact_numbers_calls": self.calls}


def contacts_to_stamp(practice_id: int) -> list[tuple[str, str, str]]:
    """(contact_id, client code, contact name) for each contact to write, by client code."""
    link, contact = ClientContactLink, XeroContact
    rows = db.session.execute(
        db.select(contact.contact_id, Client.code, contact.name).select_from(link)
        .join(Client, Client.id == link.client_id)
        .join(contact, db.and_(contact.practice_id == link.practice_id, contact.contact_id == link.contact_id))
        .filter(link.practice_id == practice_id, link.outcome == LinkOutcome.LINKED.value, link.is_manual.is_(False),
                Client.status == ClientStatus.ACTIVE.value, Client.code != "", contact.status == "ACTIVE",
                db.or_(contact.contact_number.is_(None), contact.contact_number == ""))
        .order_by(Client.code, contact.contact_id)).all()
    claims: dict[str, int] = {}
    for row in rows:
        claims[row.contact_id] = claims.get(row.contact_id, 0) + 1
    return [(row.contact_id, row.code, row.name) for row in rows if claims[row.contact_id] == 1]


def idempotency_key(tenant_id: str, body: dict) -> str:
    """The same batch for the same organisation always gets the same key (87 characters; Xero allows 128)."""
    return content_key("socket-contact-numbers-", tenant_id, body)


def _messages(element: dict) -> list[str]:
    errors = element.get("ValidationErrors")
    return [message_text(e.get("Message")) for e in (errors if isinstance(errors, list) else [])
            if isinstance(e, dict) and message_text(e.get("Message"))] or ["refused"]


def _contact_number(element: dict, code: str) -> str:
    """The ContactNumber Xero answered when it is text Socket can store (at most 50 characters, no NUL), else the
    code Socket sent: Xero accepted that."""
    number = element.get("ContactNumber")
    return number if isinstance(number, str) and number and len(number) <= 50 and "\x00" not in number else code


def _refused(element: dict) -> bool:
    return element.get("StatusAttributeString") == "ERROR" or bool(element.get("ValidationErrors")) \
        or element.get("HasValidationErrors") is True


def _store_answer(practice_id: int, batch: list[tuple[str, str, str]], answer: Any, result: StampResult) -> None:
    elements = answer.get("Contacts") if isinstance(answer, dict) else None
    if not isinstance(elements, list):
        result.failed += len(batch)
        result.warnings.append(f"Xero's answer to writing {len(batch)} client codes had no Contacts list; "
                               "they will be written at the next sync.")
        return
    by_id = {str(e.get("ContactID", "")).lower(): e for e in elements if isinstance(e, dict)}
    rows = {row.contact_id: row for row in db.session.execute(db.select(XeroContact).filter(
        XeroContact.practice_id == practice_id, XeroContact.contact_id.in_([cid for cid, _, _ in batch]))).scalars()}
    for position, (contact_id, code, name) in enumerate(batch):
        element = by_id.get(contact_id, elements[position] if position < len(elements) else None)
        if not isinstance(element, dict) or _refused(element):
            result.failed += 1
            why = "; ".join(m.rstrip(".") for m in _messages(element)) if isinstance(element, dict) \
                else "Xero did not answer for it"
            result.warnings.append(f"Could not write client code {code} to the ContactNumber of '{name}' in Xero: "
                                   f"{why}.")
            continue
        row = rows[contact_id]
        row.contact_number = _contact_number(element, code)
        try:
            row.updated_date_utc = parse_xero_datetime(element.get("UpdatedDateUTC")) or row.updated_date_utc
        except (TypeError, ValueError):
            pass  # the next pull reads it again
        result.stamped += 1


def stamp_contact_numbers(practice_id: int, tenant_id: str, client: XeroClient) -> StampResult:
    """Write client codes to empty ContactNumbers in batches of 50; commits after each batch.

    A batch Xero refuses as a whole (400) is recorded as warnings; other Xero errors (unreachable after retries,
    reconnect needed) are raised, and what was not written is written at the next sync.
    """
    result = StampResult()
    calls_before = client.calls
    pending = contacts_to_stamp(practice_id)
    for start in range(0, len(pending), BATCH_SIZE):
        batch = pending[start:start + BATCH_SIZE]
        body = {"Contacts": [{"ContactID": contact_id, "ContactNumber": code} for contact_id, code, _ in batch]}
        try:
            answer = client.post("Contacts", json=body, params={"summarizeErrors": "false"},
                                 headers={"Idempotency-Key": idempotency_key(tenant_id, body)})
        except XeroValidationError as exc:
            result.failed += len(batch)
            result.warnings.append(f"Xero refused writing {len(batch)} client codes to ContactNumbers: "
                                   f"{'; '.join(exc.messages) or exc.message}")
            continue
        finally:
            result.calls = client.calls - calls_before
        _store_answer(practice_id, batch, answer, result)
        db.session.commit()
    return result
