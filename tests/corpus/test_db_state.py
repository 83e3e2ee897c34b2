"""The corpus's snapshots (tests/corpus/db_state.py) see a change, put it back, and see a link across practices:
the form properties are only as good as these."""
from decimal import Decimal

from tests.corpus.db_state import (
    changed_tables,
    cross_practice_links,
    differences,
    new_rows,
    require_postgresql,
    restore,
    snapshot,
)
from tests.factories import make_client, make_engagement, make_service
from webapp.extensions import db
from webapp.models import Client, Engagement


def test_a_change_is_seen_and_put_back_and_new_ids_do_not_collide(owner):
    require_postgresql()
    practice_id, client_id = owner.practice_id, make_client(owner.practice_id).id  # a snapshot ends the session
    before = snapshot()
    db.session.get(Client, client_id).name = "Renamed Ltd"
    db.session.commit()
    after = snapshot()
    assert changed_tables(before, after) == ["billing_plan_versions", "clients"]  # the plan's cache went stale too
    assert differences(before, after)[0].startswith("clients: [{")
    restore(before, changed_tables(before, after))
    assert snapshot() == before
    restore(before)  # all of it, ids going on from the highest
    assert make_client(practice_id, "Next Ltd").id > client_id


def test_an_engagement_on_another_practices_service_is_a_cross_practice_link(owner, other_owner):
    require_postgresql()
    rival_id, theirs = other_owner.practice_id, make_service(other_owner.practice_id).id
    engagement = make_engagement(make_client(owner.practice_id), make_service(owner.practice_id)).id
    before = snapshot()
    db.session.get(Engagement, engagement).price = Decimal("1.00")
    db.session.commit()
    assert cross_practice_links(snapshot(), new_rows(before, snapshot())) == []
    db.session.get(Engagement, engagement).service_id = theirs
    db.session.commit()
    after = snapshot()
    assert cross_practice_links(after, new_rows(before, after)) == [
        f"engagements.service_id = {theirs}, a row of practice {rival_id}"]
