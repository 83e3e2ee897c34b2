"""What must hold after every fault run, whatever failed: checked against the sandbox's own records.

check_invariants returns a Check: its `problems` (empty when all holds) and the counts the long form reports.
Call inside an app context.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field

from tests.fault_practice import FaultPractice
from webapp.extensions import db
from webapp.models import Client, ClientContactLink, ClientStatus, Invoice, InvoicePosting, LinkOutcome, XeroConnection
from webapp.sync.invoice_payload import reference_for


@dataclass
class Check:
    problems: list[str] = field(default_factory=list)
    duplicates: int = 0  # Socket invoices (or Socket-made Xero invoices) found more than once in Xero
    lost: int = 0  # approved invoices not in Xero after the final clean run (only counted when `final`)
    posted: int = 0
    needs_reconnect: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def _socket_invoices(practice_id: int) -> list[tuple[Invoice, str]]:
    rows = db.session.execute(
        db.select(Invoice, InvoicePosting.sent_reference).outerjoin(InvoicePosting, InvoicePosting.invoice_id ==
                                                                    Invoice.id)
        .filter(Invoice.practice_id == practice_id).order_by(Invoice.id)).all()
    return [(invoice, (sent or reference_for(invoice.period, invoice.number)).strip().casefold())
            for invoice, sent in rows]


def _check_invoices(check: Check, sb, practice: FaultPractice, final: bool) -> None:
    in_xero = collections.defaultdict(list)
    for doc in sb.invoices(tenant_id=practice.tenant_id):
        if doc.get("Type") == "ACCREC":
            in_xero[(doc.get("Reference") or "").strip().casefold()].append(doc)
    ours = _socket_invoices(practice.practice_id)
    if len(ours) != practice.invoices:
        check.problems.append(f"{len(ours)} invoices in Socket, {practice.invoices} approved")
    references = {reference for _, reference in ours}
    for reference, docs in in_xero.items():
        if len(docs) > 1:
            check.duplicates += 1
            check.problems.append(f"{len(docs)} Xero invoices with Reference {reference!r}")
        if reference not in references:
            check.problems.append(f"Xero invoice {reference!r} is none of Socket's")
    for invoice, reference in ours:
        docs = in_xero.get(reference, [])
        if invoice.status == "posted":
            check.posted += 1
            if len(docs) != 1:
                check.problems.append(f"invoice {invoice.number} is posted but in Xero {len(docs)} times")
            elif docs[0]["InvoiceID"].lower() != (invoice.xero_invoice_id or "").lower():
                check.problems.append(f"invoice {invoice.number} records another InvoiceID than Xero's")
        elif final:
            check.lost += 1
            check.problems.append(f"invoice {invoice.number} is {invoice.status} after the clean run "
                                  f"({len(docs)} in Xero)")


def _check_links(check: Check, practice: FaultPractice) -> None:
    links = db.session.execute(
        db.select(ClientContactLink.client_id, ClientContactLink.contact_id, ClientContactLink.is_manual)
        .join(Client, Client.id == ClientContactLink.client_id)
        .filter(ClientContactLink.practice_id == practice.practice_id,
                ClientContactLink.outcome == LinkOutcome.LINKED.value,
                Client.status == ClientStatus.ACTIVE.value)).all()
    per_client = collections.Counter(link.client_id for link in links)
    per_contact = collections.Counter(link.contact_id for link in links)
    check.problems += [f"client {c} linked {n} times" for c, n in per_client.items() if n > 1]
    check.problems += [f"contact {c} linked to {n} active clients" for c, n in per_contact.items() if n > 1]
    now = {link.client_id: (link.contact_id, link.is_manual) for link in links}
    for client_id, contact_id in practice.manual_links.items():
        if now.get(client_id) != (contact_id, True):
            check.problems.append(f"client {client_id}'s link by a person changed: {now.get(client_id)}")


def _check_connection(check: Check, practice: FaultPractice, revoked: bool) -> None:
    connection = db.session.execute(
        db.select(XeroConnection).filter_by(practice_id=practice.practice_id)).scalar_one()
    check.needs_reconnect = connection.status == "needs_reconnect"
    if revoked and not (check.needs_reconnect and connection.last_error):
        check.problems.append(f"revoked in Xero, but the connection is {connection.status} "
                              f"({connection.last_error!r})")
    if not revoked and connection.status != "connected":
        check.problems.append(f"not revoked, but the connection is {connection.status} ({connection.last_error!r})")


def check_invariants(sb, practice: FaultPractice, *, final: bool = False, revoked: bool = False) -> Check:
    """Every invoice Socket marked posted is in Xero exactly once (by Reference, with the InvoiceID Socket holds);
    no Xero ACCREC invoice of Socket's is there twice and none is a stranger; with `final` (after a clean run with
    no faults) every approved invoice is posted; no client is linked to two contacts nor a contact to two active
    clients; the links a person made are unchanged; the connection is connected, or needs reconnecting with a
    reason exactly when `revoked` (the user really revoked it in Xero)."""
    db.session.expire_all()
    check = Check()
    _check_invoices(check, sb, practice, final)
    _check_links(check, practice)
    _check_connection(check, practice, revoked)
    return check
