"""Helpers shared by test modules that are not fixtures and create nothing: signing in, headers, reading back."""
import pytest
from werkzeug.routing import IntegerConverter

from tests.factories import PASSWORD
from webapp.extensions import db
from webapp.models import Invoice
from webapp.redis_conn import get_redis
from webapp.services.billing.plan import build_plan, parse_period

HTMX = {"HX-Request": "true"}  # what htmx sends with every request it makes


def login(client, user) -> None:
    """Sign `user` in on the test client (made by tests.factories, so its password is PASSWORD)."""
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def fresh(model, object_id):
    """The row as stored now, not as this session last saw it."""
    db.session.expire_all()
    return db.session.get(model, object_id)


def invoices_of(practice_id):
    """The practice's invoices as stored now, by number."""
    db.session.expire_all()
    return db.session.execute(
        db.select(Invoice).filter_by(practice_id=practice_id).order_by(Invoice.number)).scalars().all()


def approve_form(practice_id, month="2026-11", invoice_date="today"):
    """What the plan page's approve form posts: the month, the fingerprint of the plan shown, and the date chosen
    for invoices whose invoice day has passed (the form's default, today; ignored when it does not ask)."""
    return {"month": month, "fingerprint": build_plan(practice_id, parse_period(month)).fingerprint,
            "invoice_date": invoice_date}


def plan_descriptions(practice_id, period, code):
    """The invoice line descriptions the plan for `period` shows for the client with `code` ([] if none)."""
    rows = {row.client.code: row for row in build_plan(practice_id, period).rows}
    return [line.description for line in rows[code].preview.lines] if code in rows else []


def route_methods(rule) -> list[str]:
    """The methods a URL rule answers, less the ones Werkzeug adds to every rule."""
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def route_path(rule, ids: dict[str, int]) -> str:
    """The rule's path with each <int:...> argument taken from `ids` (by name) and any other filled with "name"."""
    values = {name: ids[name] if isinstance(converter, IntegerConverter) else "name"
              for name, converter in rule._converters.items()}
    return rule.build(values, append_unknown=False)[1]


def forget_redis_keys(app, pattern: str = "*") -> None:
    """Delete the test run's Redis keys matching `pattern` under its REDIS_KEY_PREFIX (pacing, locks, throttles)."""
    store = get_redis(app.config["REDIS_URL"])
    keys = list(store.scan_iter(match=app.config["REDIS_KEY_PREFIX"] + pattern))
    if keys:
        store.delete(*keys)


def run_queued_jobs(app):
    """Run what the web process queued, as the RQ worker would (in this thread, to the end of the queue)."""
    from rq import SimpleWorker

    from webapp.queue import get_queue

    queue = get_queue(app.config)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def require_postgresql(why: str) -> None:
    """Skip the calling test (inside an app context) on another database: `why` says what only PostgreSQL has."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip(f"PostgreSQL only: {why}")
