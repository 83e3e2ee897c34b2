"""Fault runs, the bounded form (issue 14): a practice's nightly sync-and-post run in a worker process of its own
while the sandbox injects a 429 storm, 5xx, latency or lost responses, while the token expires or is revoked
mid-run, while the worker is SIGKILLed at a random point and a new one started, and while two workers refresh the
same token at once; after each, the invariants of tests/fault_invariants.py (exactly once in Xero, nothing lost
after a clean run, links sound and a person's unchanged, the connection usable unless really revoked).

The long form is bench/fault_runs.py (--runs 50) on the same harness (tests/fault_harness.py)."""
import pytest

from tests.fault_harness import fault_run
from tests.fault_worker import stop_workers
from tests.helpers import require_postgresql
from tests.live_servers import XERO_KEYS

pytest.importorskip("xero_sandbox.testing", reason="the Xero sandbox is not available")
from xero_sandbox.testing import run_sandbox

pytestmark = pytest.mark.integration

# (kind, seed): each kind once; the seed picks the fault's size and the point in the run where it lands.
# Lost responses twice: an invoice batch's answer (seed 4) and a token refresh's (seed 6); the worker killed twice:
# at the 4th call (contact details) and the 6th (posting).
RUNS = [("429", 2), ("5xx", 2), ("latency", 3), ("lost_response", 4), ("lost_response", 6), ("expired", 5),
        ("revoked", 6), ("kill", 7), ("kill", 10), ("two_workers", 9), ("kill_posting", 1), ("kill_posting", 2)]


@pytest.fixture(scope="module")
def sandbox(app):
    """One sandbox (limits relaxed: the 429s are injected) for the module; each run has an organisation of its
    own in it."""
    saved = {key: app.config[key] for key in XERO_KEYS}
    with run_sandbox({"SANDBOX_LIMITS": "relaxed"}) as sb:
        app.config.update(XERO_CLIENT_ID=sb.client_id, XERO_CLIENT_SECRET=sb.client_secret,
                          XERO_REDIRECT_URI=sb.redirect_uri, XERO_LOGIN_URL=sb.url, XERO_IDENTITY_URL=sb.url,
                          XERO_API_URL=sb.url)
        try:
            yield sb
        finally:
            stop_workers()
            app.config.update(saved)


@pytest.mark.parametrize("kind,seed", RUNS, ids=[f"{kind}-{seed}" for kind, seed in RUNS])
def test_a_fault_run_keeps_every_invoice_exactly_once(app, app_ctx, sandbox, kind, seed):
    if kind in ("kill", "kill_posting"):
        require_postgresql("a killed worker's run is seen as lost through advisory locks (webapp.sync.run_presence)")
    result = fault_run(app, sandbox, kind, seed, clients=20)
    assert result.ok, (result.runs, result.problems)
    assert result.fired or kind in ("expired", "revoked", "kill", "two_workers", "kill_posting"), result  # it landed
    assert result.duplicates == 0 and result.lost == 0
    if kind in ("kill", "kill_posting"):
        assert result.kills == 1, result.runs
    if kind == "revoked":
        assert result.needs_reconnect, result.runs
    assert result.runs[-1] == "clean: succeeded", result.runs


def test_the_invariants_catch_a_duplicate_a_lost_invoice_a_changed_link_and_a_needless_reconnect(app, app_ctx,
                                                                                                  sandbox):
    import random

    from tests.fault_harness import nightly_run
    from tests.fault_invariants import check_invariants
    from tests.fault_practice import make_fault_practice
    from webapp.extensions import db
    from webapp.models import ClientContactLink, Invoice, XeroConnection

    practice = make_fault_practice(sandbox, random.Random(1), clients=12, contacts=20)
    outcome, _ = nightly_run(app, sandbox, practice)
    assert outcome.status == "succeeded" and check_invariants(sandbox, practice, final=True).ok

    first = sandbox.invoices(practice.tenant_id)[0]
    token = sandbox.connect(tenants=(practice.tenant_id,))["access_token"]
    copy = {"Type": "ACCREC", "Contact": {"ContactID": first["Contact"]["ContactID"]}, "Reference": first["Reference"],
            "Date": "2026-12-01", "DueDate": "2026-12-31",
            "LineItems": [{"Description": "Again", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200"}]}
    assert sandbox.api("PUT", "Invoices", token, tenant_id=practice.tenant_id, json={"Invoices": [copy]}).ok
    invoice = db.session.execute(db.select(Invoice).filter_by(practice_id=practice.practice_id)
                                 .order_by(Invoice.id.desc()).limit(1)).scalar_one()
    invoice.status = "raised"
    client_id = next(iter(practice.manual_links))
    link = db.session.execute(db.select(ClientContactLink).filter_by(client_id=client_id)).scalar_one()
    link.contact_id = "00000000-0000-4000-8000-000000000001"  # as if a run had relinked a person's link
    db.session.execute(db.update(XeroConnection).filter_by(practice_id=practice.practice_id)
                       .values(status="needs_reconnect", last_error="Xero needs reconnecting."))
    db.session.commit()

    check = check_invariants(sandbox, practice, final=True)
    assert check.duplicates == 1 and check.lost == 1, check.problems
    assert any("link by a person changed" in problem for problem in check.problems), check.problems
    assert any("not revoked, but the connection is needs_reconnect" in problem for problem in check.problems)
