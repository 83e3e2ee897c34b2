"""Helpers for tests that run the demo practice against the sandbox's demo organisation over real HTTP."""
from datetime import timedelta

import requests

from jobs.sync_reference import run_reference_sync
from tests.factories import make_connection
from webapp.extensions import db
from webapp.models import Practice, SyncRun
from webapp.services.demo_seed import DEMO_PRACTICE_NAME
from xero_sandbox.constants import DEMO_TENANT_ID


def connect_demo_practice(sandbox) -> int:
    """Connect the (already seeded) demo practice to the demo organisation: Xero's consent, then the stored
    tokens and connection. Returns the practice's id."""
    practice_id = db.session.execute(db.select(Practice.id).filter_by(name=DEMO_PRACTICE_NAME)).scalar_one()
    tokens = sandbox.connect(tenants=(DEMO_TENANT_ID,))
    [listing] = requests.get(f"{sandbox.url}/connections", timeout=10,
                             headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    make_connection(practice_id, access=tokens["access_token"], refresh=tokens["refresh_token"],
                    expires_in=timedelta(minutes=20), tenant_id=DEMO_TENANT_ID, connection_id=listing["id"],
                    tenant_name=listing["tenantName"])
    return practice_id


def run_sync(practice_id: int, trigger: str) -> SyncRun:
    """Run one sync job to the end (it must succeed) and return its SyncRun as stored."""
    run = SyncRun(practice_id=practice_id, trigger=trigger, status="queued", counts={})
    db.session.add(run)
    db.session.commit()
    assert run_reference_sync(run.id) == "succeeded"
    db.session.expire_all()
    return db.session.get_one(SyncRun, run.id)


def sandbox_contact_numbers(sandbox) -> dict[str, str]:
    """ContactID -> ContactNumber of every demo contact, as the sandbox holds them now."""
    token = sandbox.connect(tenants=(DEMO_TENANT_ID,))["access_token"]
    contacts = sandbox.api("GET", "Contacts", token, params={"includeArchived": "true"}).json()["Contacts"]
    return {c["ContactID"]: c.get("ContactNumber", "") for c in contacts}
