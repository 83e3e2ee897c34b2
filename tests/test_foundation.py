"""App-wide behaviour: the demo seed, time zones, money formatting, the htmx switch, page access."""
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from flask import Flask

from webapp.extensions import db
from webapp.htmx import is_htmx_request
from webapp.models import Client, Engagement, PricingMenu, Service, User
from webapp.services.demo_seed import DEMO_EMAIL, seed_demo
from webapp.template_helpers import format_local_datetime, format_money

PAGES = ["/billing/plan", "/clients/", "/pricing/", "/settings/billing", "/settings/integrations", "/settings/practice",
         "/billing/invoices"]


def test_demo_seed_is_idempotent_and_covers_every_billing_method(app_ctx):
    first = seed_demo(today=date(2026, 11, 24))
    counts = (db.session.query(Client).count(), db.session.query(Service).count(),
              db.session.query(Engagement).count(), db.session.query(PricingMenu).count())
    second = seed_demo(today=date(2026, 11, 24))
    assert first == second
    assert counts == (db.session.query(Client).count(), db.session.query(Service).count(),
                      db.session.query(Engagement).count(), db.session.query(PricingMenu).count())
    assert counts[0] == 39 and counts[3] == 2
    methods = {service.billing_method for service in db.session.query(Service)}
    assert methods == {"monthly", "quarterly_advance", "quarterly_completion", "annual_advance",
                       "annual_completion", "once"}
    assert db.session.query(PricingMenu).filter_by(is_active=True).count() == 1
    assert db.session.query(User).filter_by(email=DEMO_EMAIL).one().role == "owner"
    clients = {c.code: c for c in db.session.query(Client)}
    assert clients["DUN01"].company_number == "9876543"
    assert clients["ZEN01"].vat_number == "GB987654321"
    assert {c.name for c in clients.values()} >= {"Baker Street Dental Limited", "Abbott & Sons Ltd"}


def test_money_is_formatted_from_decimal_pence_exact():
    assert format_money(Decimal("1234.5")) == "£1,234.50"
    assert format_money(Decimal("-0.10")) == "-£0.10"
    assert format_money(None) == ""


@pytest.mark.parametrize("stored, shown", [
    (datetime(2026, 7, 1, 1, 30, tzinfo=UTC), "1 Jul 2026, 02:30 BST"),
    (datetime(2026, 12, 1, 1, 30, tzinfo=UTC), "1 Dec 2026, 01:30 GMT"),
])
def test_times_are_stored_utc_and_shown_in_the_practice_time_zone(stored, shown):
    assert format_local_datetime(stored, "Europe/London") == shown


@pytest.mark.parametrize("headers, expected", [
    ({}, False),
    ({"HX-Request": "true"}, True),
    ({"HX-Request": "true", "HX-Boosted": "true"}, False),
])
def test_one_function_decides_what_an_htmx_request_is(headers, expected):
    app = Flask(__name__)
    with app.test_request_context(headers=headers):
        assert is_htmx_request() is expected


@pytest.mark.parametrize("path", PAGES)
def test_every_page_redirects_anonymous_users_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_for_a_signed_in_user(auth_client, path):
    response = auth_client.get(path)
    assert response.status_code == 200
    assert "<html" in response.get_data(as_text=True)


def test_unknown_page_is_a_friendly_404(auth_client):
    response = auth_client.get("/no-such-page")
    assert response.status_code == 404
    assert "does not exist" in response.get_data(as_text=True)
