"""`flask sync-practice` against the sandbox's demo organisation over real HTTP: the demo practice synced in the
foreground, each step's counts printed, the run in its history as "Support"; a second run straight after is quiet."""
import csv
import os
from collections import Counter
from datetime import date

import pytest

from tests.demo_sandbox import connect_demo_practice
from tests.live_servers import sandbox_for
from webapp.extensions import db
from webapp.models import SyncRun
from webapp.services.demo_seed import seed_demo
from webapp.sync_cli import sync_practice_command

pytest.importorskip("xero_sandbox.testing", reason="the Xero sandbox is not available")

pytestmark = pytest.mark.integration
EXPECTED = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "expected_matches.csv")


@pytest.fixture
def sandbox(app):
    with sandbox_for(app, "http://127.0.0.1:9") as sandbox:  # no browser here: the callback is never used
        yield sandbox


def test_the_demo_practice_synced_from_the_command_line(app, app_ctx, sandbox):
    seed_demo(today=date(2026, 11, 15))
    practice_id = connect_demo_practice(sandbox)
    with open(EXPECTED, newline="", encoding="utf-8") as handle:
        outcomes = Counter(row["outcome"] for row in csv.DictReader(handle))

    first = app.test_cli_runner().invoke(sync_practice_command, [str(practice_id)])
    assert first.exit_code == 0, first.output + first.stderr
    contacts = next(line for line in first.stdout.splitlines() if line.startswith("Contacts and matching: ok"))
    assert (f"Clients: {outcomes['linked']} linked, {outcomes['needs_review']} need review, "
            f"{outcomes['unmatched']} unmatched") in contacts
    second = app.test_cli_runner().invoke(sync_practice_command, [str(practice_id)])
    assert second.exit_code == 0, second.output + second.stderr
    assert "Contacts pulled: 0 new, 0 changed" in second.stdout

    db.session.expire_all()
    runs = db.session.execute(db.select(SyncRun).filter_by(practice_id=practice_id).order_by(SyncRun.id)).scalars()
    assert [(run.trigger, run.status) for run in runs] == [("support", "succeeded"), ("support", "succeeded")]
