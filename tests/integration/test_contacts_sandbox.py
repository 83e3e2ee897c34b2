"""The demo practice synced with the sandbox's demo organisation over real HTTP: contacts pulled, every client
decided as tests/data/expected_matches.csv says, new links' codes written to Xero's ContactNumber, and a quiet
second sync that costs one Contacts call and changes no decision."""
import csv
import os
from datetime import date

import pytest

from tests.demo_sandbox import connect_demo_practice, run_sync, sandbox_contact_numbers
from tests.live_servers import sandbox_for
from webapp.extensions import db
from webapp.models import Client, ClientContactLink, XeroContact
from webapp.services.demo_seed import seed_demo

pytest.importorskip("xero_sandbox.testing", reason="the Xero sandbox is not available")
from xero_sandbox.constants import DEMO_TENANT_ID

pytestmark = pytest.mark.integration
DATA = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data")


def csv_rows(name: str) -> list[dict]:
    with open(os.path.join(DATA, name), newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def sandbox(app):
    with sandbox_for(app, "http://127.0.0.1:9") as sandbox:  # no browser here: the callback is never used
        yield sandbox


def stored_decisions(practice_id: int) -> dict[str, tuple]:
    """code -> (outcome, contact_id, rule, sorted candidate ids, reason, decided_at)."""
    db.session.expire_all()
    rows = db.session.execute(db.select(Client.code, ClientContactLink).join(
        ClientContactLink, ClientContactLink.client_id == Client.id).filter(Client.practice_id == practice_id))
    return {code: (link.outcome, link.contact_id or "", link.rule or "", sorted(link.candidate_ids), link.reason,
                   link.decided_at) for code, link in rows}


def test_the_demo_practice_is_matched_stamped_and_quiet_the_second_time(app, app_ctx, sandbox):
    seed_demo(today=date(2026, 11, 15))
    practice_id = connect_demo_practice(sandbox)
    seeded_numbers = {row["ContactID"]: row["ContactNumber"] for row in csv_rows("xero_contacts.csv")}
    expected = {row["client_code"]: row for row in csv_rows("expected_matches.csv")}

    first = run_sync(practice_id, "connect")
    decisions = stored_decisions(practice_id)
    assert sorted(decisions) == sorted(expected)
    for code, row in expected.items():
        outcome, contact_id, rule, candidates, reason, _ = decisions[code]
        # Candidates are compared as sets: Xero lists contacts by name, the CSV in its own order.
        assert (outcome, contact_id, rule, candidates) == (
            row["outcome"], row["contact_id"], row["rule"], sorted(filter(None, row["candidate_ids"].split(";")))), \
            (code, reason)

    # New automatic links to contacts with no ContactNumber got the client's code, in Xero and in the mirror.
    to_stamp = {row["contact_id"]: code for code, row in expected.items()
                if row["outcome"] == "linked" and row["rule"] != "stored" and not seeded_numbers[row["contact_id"]]}
    assert len(to_stamp) == 26  # every automatic link but FAIR01's and OAK1's (numbered already)
    in_xero = sandbox_contact_numbers(sandbox)
    assert {cid: in_xero[cid] for cid in to_stamp} == to_stamp
    assert {cid: number for cid, number in in_xero.items() if cid not in to_stamp} == {
        cid: number for cid, number in seeded_numbers.items() if cid not in to_stamp}  # nothing else written
    mirrored = dict(db.session.execute(db.select(XeroContact.contact_id, XeroContact.contact_number).filter(
        XeroContact.practice_id == practice_id, XeroContact.contact_id.in_(list(to_stamp)))).all())
    assert mirrored == to_stamp

    assert first.counts["contacts_full_pull"] is True and first.counts["contacts_new"] == len(seeded_numbers)
    assert (first.counts["contacts_calls"], first.counts["contact_numbers_calls"]) == (1, 1)
    assert first.counts["contact_numbers_written"] == len(to_stamp) and first.counts["warnings"] == []
    # Details one side lacked were filled from the other (tests/integration/test_contact_updates_sandbox.py).
    assert first.counts["contact_updates_calls"] == 1 and first.counts["contact_updates_sent"] > 0
    assert first.counts["contact_update_conflicts"] == 0
    # accounts, branding themes, tax rates, one page of contacts, one batch of details, one batch of codes
    assert first.xero_calls == 6

    # A quiet night: one Contacts call (If-Modified-Since) that returns only the contacts Socket just wrote to.
    calls_before = sandbox.state()["calls_per_org"][DEMO_TENANT_ID]
    second = run_sync(practice_id, "nightly")
    assert sandbox.state()["calls_per_org"][DEMO_TENANT_ID] - calls_before == 4
    assert second.xero_calls == 4 and second.counts["contacts_calls"] == 1
    assert second.counts["contacts_full_pull"] is False
    assert (second.counts["contacts_new"], second.counts["contacts_changed"]) == (0, 0)
    assert second.counts["contacts_unchanged"] >= len(to_stamp)  # and those whose details Socket filled
    assert (second.counts["links_changed"], second.counts["contact_numbers_calls"],
            second.counts["contact_updates_calls"]) == (0, 0, 0)
    assert stored_decisions(practice_id) == decisions
