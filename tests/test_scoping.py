"""Every route that takes an id answers 404 for another practice's id, whatever the method.

The routes are read from the app's URL map, so a new route with an id is covered (or fails here until
its id is known below) without anyone remembering to add it.
"""
import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from werkzeug.routing import IntegerConverter

from tests.factories import make_client, make_practice, make_sync_issue, make_sync_run
from tests.helpers import login, route_methods, route_path
from webapp.extensions import db
from webapp.models import (
    Client,
    ContactSyncIssue,
    Engagement,
    EngagementCompletion,
    Invoice,
    PricingMenu,
    Service,
    SyncRun,
)
from webapp.services.billing.approval import approve_plan
from webapp.services.demo_seed import seed_demo

ID_MODELS = {
    "client_id": Client,
    "completion_id": EngagementCompletion,
    "engagement_id": Engagement,
    "invoice_id": Invoice,
    "menu_id": PricingMenu,
    "run_id": SyncRun,
    "service_id": Service,
    "sync_issue_id": ContactSyncIssue,
}


def routes_with_ids(app):
    for rule in app.url_map.iter_rules():
        int_args = [name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)]
        if int_args:
            yield rule, int_args


@pytest.fixture
def foreign_ids(app_ctx):
    """Ids of every kind of object, all belonging to the demo practice (not the signed-in user's)."""
    seed_demo(today=date(2026, 11, 24))
    practice_id = db.session.execute(db.select(Client.practice_id)).scalars().first()
    approve_plan(practice_id, date(2026, 11, 1), None)
    make_sync_issue(db.session.execute(db.select(Client).filter_by(practice_id=practice_id)).scalars().first())
    make_sync_run(practice_id, status="failed")  # its page, and the banner on every page it would show them
    return {name: db.session.execute(db.select(model.id).filter_by(practice_id=practice_id)).scalars().first()
            for name, model in ID_MODELS.items()}


def rows_of(practice_id) -> dict[str, list]:
    """Every row of the practice's that a route with an id could change, as plain values."""
    db.session.expire_all()
    return {model.__tablename__: db.session.execute(
        sa.select(model.__table__).filter_by(practice_id=practice_id).order_by(model.id)).all()
        for model in ID_MODELS.values()}


def test_every_route_with_an_id_is_known_here(app):
    unknown = {arg for _, args in routes_with_ids(app) for arg in args} - set(ID_MODELS)
    assert not unknown, f"add these ids to ID_MODELS so their routes are checked: {unknown}"


def test_another_practices_ids_are_404_on_every_route_and_method(app, client, foreign_ids):
    login(client, make_practice(name="Intruder & Co"))
    practice_id = db.session.get(Client, foreign_ids["client_id"]).practice_id
    before = rows_of(practice_id)
    checked = 0
    for rule, _ in routes_with_ids(app):
        path = route_path(rule, foreign_ids)
        for method in route_methods(rule):
            response = client.open(path, method=method, data={"name": "x", "price": "1.00"})
            assert response.status_code == 404, f"{method} {path} answered {response.status_code}"
            checked += 1
    assert checked >= 20
    assert rows_of(practice_id) == before  # and nothing of theirs changed


def test_an_own_client_with_another_practices_engagement_is_404(client, foreign_ids):
    user = make_practice(name="Mixed & Co")
    own_client = make_client(user.practice_id, "Own Client Ltd", "OWN01")
    engagement = db.session.get(Engagement, foreign_ids["engagement_id"])
    before = (engagement.price, engagement.end_date)
    login(client, user)
    base = f"/clients/{own_client.id}/engagements/{foreign_ids['engagement_id']}"
    assert client.get(f"{base}/edit").status_code == 404
    assert client.post(base, data={"price": "1.00"}).status_code == 404
    assert client.post(f"{base}/end", data={"end_date": "2026-12-31"}).status_code == 404
    db.session.refresh(engagement)
    assert (engagement.price, engagement.end_date) == before


def download_rows(response) -> list[list[str]]:
    """A CSV or Excel download's cells, as text."""
    if response.mimetype == "text/csv":
        return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    return [["" if cell.value is None else str(cell.value) for cell in row] for row in sheet.iter_rows()]


def test_the_downloads_hold_none_of_another_practices_clients_or_invoices(app, client, foreign_ids):
    """The exports take no id: whatever month or filter is asked for, they list the signed-in practice's own."""
    practice_id = db.session.get(Client, foreign_ids["client_id"]).practice_id
    theirs = set(db.session.execute(db.select(Client.name).filter_by(practice_id=practice_id)).scalars())
    theirs |= set(db.session.execute(db.select(Invoice.number).filter_by(practice_id=practice_id)).scalars())
    assert len(theirs) > 40
    login(client, make_practice(name="Intruder & Co"))
    downloads = [rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("billing.export_")]
    assert len(downloads) == 4
    for path in downloads:
        for query in ("", "?month=2026-11", "?month=2026-11&change=unchanged&q=a"):
            response = client.get(path + query)
            assert response.status_code == 200, path + query
            rows = download_rows(response)
            assert len(rows) == 2 and rows[1][0].startswith("Total (0 "), path + query  # headings and a zero total
            assert not {value for row in rows for value in row} & theirs
