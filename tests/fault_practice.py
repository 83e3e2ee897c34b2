"""A small practice for a fault run: a generated organisation in the sandbox, a stored connection to it, clients
that are its contacts (some linked by a person, the rest left for matching), and an approved month.

Used by tests/fault_harness.py (the CI fault runs and bench/fault_runs.py). Call inside an app context.
"""
from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import requests
from flask import current_app

from webapp.extensions import db
from webapp.models import (
    BillingSettings,
    Client,
    ClientContactLink,
    ClientStatus,
    Engagement,
    LinkOutcome,
    Practice,
    PricingMenu,
    Service,
    User,
    XeroConnection,
)
from webapp.services.billing.approval import Outcome, approve_plan
from webapp.xero.crypto import TokenCipher

MANUAL_SHARE = 0.25  # clients a person linked before the run; the rest are matched by the sync


@dataclass
class FaultPractice:
    practice_id: int
    user_id: int
    tenant_id: str
    connection_id: str  # Xero's connection id (what sb.revoke takes)
    period: date
    manual_links: dict[int, str] = field(default_factory=dict)  # client id -> contact id, linked by a person
    invoices: int = 0


def _active_contacts(sb, tenant_id: str) -> list[dict]:
    docs = [json.loads(row["doc"]) for row in sb.sandbox.store.query(
        "SELECT doc FROM contacts WHERE tenant_id=? ORDER BY name_key", [tenant_id])]
    return [d for d in docs if d.get("ContactStatus", "ACTIVE") == "ACTIVE"]


def store_connection(sb, practice_id: int, tenant_id: str) -> str:
    """Consent in the sandbox and the tokens stored on the practice's connection (as connecting does); returns
    Xero's connection id."""
    tokens = sb.connect(tenants=(tenant_id,))
    listing = requests.get(f"{sb.url}/connections", timeout=10,
                           headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    row = next(c for c in listing if c["tenantId"] == tenant_id)
    cipher = TokenCipher(current_app.config["TOKEN_ENCRYPTION_KEY"])
    connection = db.session.execute(db.select(XeroConnection).filter_by(practice_id=practice_id)).scalar_one_or_none()
    if connection is None:
        connection = XeroConnection(practice_id=practice_id)
        db.session.add(connection)
    connection.connection_id, connection.tenant_id, connection.tenant_name = row["id"], tenant_id, row["tenantName"]
    connection.status, connection.last_error = "connected", None
    connection.access_token_encrypted = cipher.encrypt(tokens["access_token"])
    connection.refresh_token_encrypted = cipher.encrypt(tokens["refresh_token"])
    connection.access_token_expires_at = datetime.now(UTC) + timedelta(seconds=int(tokens["expires_in"]))
    db.session.commit()
    return row["id"]


def approve_month(practice: FaultPractice) -> None:
    """This month approved as a person approves it: its invoices raised, none posted."""
    approved = approve_plan(practice.practice_id, practice.period, practice.user_id)
    if approved.outcome is not Outcome.APPROVED:
        raise RuntimeError(f"approval of {practice.period} was {approved.outcome}")
    practice.invoices = approved.invoice_count


def make_fault_practice(sb, rng: random.Random, clients: int = 40, contacts: int = 60,
                        approve: bool = True) -> FaultPractice:
    """A fresh organisation of `contacts` contacts and a practice of `clients` clients, each the exact name and
    email of a distinct active contact (MANUAL_SHARE of them linked by a person), one or two monthly services
    each, connected, and (with `approve`) this month approved."""
    tag = uuid.uuid4().hex[:8]
    tenant_id = sb.generate_org(f"Fault Org {tag}", contacts)
    chosen = rng.sample(_active_contacts(sb, tenant_id), clients)
    practice = Practice(name=f"Fault practice {tag}")
    db.session.add(practice)
    db.session.flush()
    user = User(practice_id=practice.id, email=f"owner-{tag}@faults.test", name="Owner", role="owner",
                password_hash="x")
    menu = PricingMenu(practice_id=practice.id, name="Pricing", is_active=True)
    db.session.add_all([user, menu, BillingSettings(practice_id=practice.id, recurring_account_code="200",
                                                    one_off_account_code="260")])
    db.session.flush()
    services = [Service(practice_id=practice.id, pricing_menu_id=menu.id, name=name, billing_method="monthly",
                        price=Decimal(price), account_code=code, position=n)
                for n, (name, price, code) in enumerate([("Bookkeeping", "250.00", None),
                                                         ("Payroll", "120.00", "220")])]
    db.session.add_all(services)
    db.session.flush()
    manual: dict[int, str] = {}
    for n, contact in enumerate(chosen):
        client = Client(practice_id=practice.id, code=f"F{n + 1:04d}", name=contact["Name"],
                        email=contact.get("EmailAddress"), status=ClientStatus.ACTIVE.value)
        db.session.add(client)
        db.session.flush()
        for service in services[:2] if rng.random() < 0.3 else services[:1]:
            db.session.add(Engagement(practice_id=practice.id, client_id=client.id, service_id=service.id,
                                      price=service.price, start_date=date(2025, 4, 1)))
        if rng.random() < MANUAL_SHARE:
            manual[client.id] = contact["ContactID"]
            db.session.add(ClientContactLink(
                practice_id=practice.id, client_id=client.id, contact_id=contact["ContactID"],
                outcome=LinkOutcome.LINKED.value, rule="stored", reason="Linked by a person.", candidate_ids=[],
                is_manual=True, decided_by_id=user.id))
    db.session.commit()
    connection_id = store_connection(sb, practice.id, tenant_id)
    made = FaultPractice(practice.id, user.id, tenant_id, connection_id, date.today().replace(day=1), manual)
    if approve:
        approve_month(made)
    return made
