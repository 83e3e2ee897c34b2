"""Errors: a page for a browser, an alert in place for htmx, never a 500 for odd input."""
import pytest

from tests.factories import make_user
from tests.helpers import fresh, login
from webapp.extensions import db
from webapp.models import BillingSettings, PricingMenu, Role

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/settings/billing?tab=1"}


def test_a_huge_id_is_a_404_not_a_database_error(auth_client):
    response = auth_client.get("/clients/99999999999999999999")
    assert response.status_code == 404
    assert auth_client.post("/pricing/services/2147483648/delete").status_code == 404


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("client_id", ["2147483648", "9999999999", "99999999999999999999"])
def test_an_id_too_large_for_a_row_is_a_404_whatever_else_the_path_takes(auth_client, client_id, method):
    """/clients/<id>/engagements takes a GET (the list) and a POST (a new engagement): an id no row can have is
    a 404 for both, not a 405 (Werkzeug checks a rule's methods before its converter's range)."""
    response = auth_client.open(f"/clients/{client_id}/engagements", method=method)
    assert response.status_code == 404


@pytest.mark.parametrize("method, path, data", [
    ("POST", "/login", {"email": "a\x00b", "password": "x"}),
    ("GET", "/clients/?q=a%00b", None),
])
def test_a_nul_byte_in_input_is_refused_with_a_clear_400(client, owner, method, path, data):
    login(client, owner)
    response = client.open(path, method=method, data=data)
    assert response.status_code == 400
    assert "could not read that request" in response.get_data(as_text=True)


def test_htmx_errors_land_in_the_alert_region_not_in_the_target(client, owner):
    staff = make_user(owner.practice_id, Role.STAFF)
    login(client, staff)
    response = client.post("/settings/billing", data={"invoice_day": "3"}, headers=HTMX)
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "<html" not in body and "Only the practice&#39;s owner or an admin" in body
    assert response.headers["HX-Retarget"] == "#htmx-alerts"
    assert response.headers["HX-Reswap"] == "innerHTML"
    assert "HX-Request" in response.headers["Vary"]
    assert fresh(BillingSettings, owner.practice_id).invoice_day == 1


def test_a_browser_gets_the_error_page(client, owner):
    login(client, make_user(owner.practice_id, Role.STAFF))
    response = client.post("/settings/billing", data={"invoice_day": "3"})
    assert response.status_code == 403
    assert "<html" in response.get_data(as_text=True) and "HX-Retarget" not in response.headers
    assert fresh(BillingSettings, owner.practice_id).invoice_day == 1


def test_a_stale_csrf_token_on_an_htmx_request_shows_an_alert(auth_client, owner):
    response = auth_client.post("/settings/billing", data={"invoice_day": "3"},
                                headers={**HTMX, "X-CSRFToken": "stale"})
    assert response.status_code == 400
    assert "session expired" in response.get_data(as_text=True)
    assert response.headers["HX-Retarget"] == "#htmx-alerts"
    assert fresh(BillingSettings, owner.practice_id).invoice_day == 1


def test_a_signed_out_htmx_request_sends_the_whole_page_to_sign_in(client):
    response = client.get("/settings/integrations/xero/sync-status", headers=HTMX)
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/settings/billing?tab%3D1"
    assert response.get_data(as_text=True) == ""


def test_a_signed_out_browser_request_is_redirected_to_sign_in_and_back(client, owner):
    response = client.get("/clients/?q=abb")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/clients/?q%3Dabb"
    follow = client.post(response.headers["Location"], data={"email": owner.email, "password": "correct horse battery"})
    assert follow.headers["Location"] == "/clients/?q=abb"


# --- a request body over MAX_CONTENT_LENGTH ----------------------------------------------------------------------

def test_the_body_limit_is_a_setting_of_1_mb_by_default(app):
    from webapp.config import Config

    assert Config.MAX_CONTENT_LENGTH == 1024 * 1024 and app.config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_a_body_over_the_limit_is_a_clear_413_page(auth_client, owner):
    response = auth_client.post("/pricing/menus", data={"name": "x" * (1024 * 1024)})
    body = response.get_data(as_text=True)
    assert response.status_code == 413 and "<html" in body and "HX-Retarget" not in response.headers
    assert "That was more than Socket accepts in one request (1 MB), so nothing was saved." in body
    assert fresh_count(PricingMenu) == 0


def test_a_body_over_the_limit_from_htmx_is_the_alert_in_place(auth_client, owner):
    response = auth_client.post("/pricing/menus", data={"name": "x" * (2 * 1024 * 1024)}, headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 413 and "<html" not in body
    assert 'class="flash flash-error" role="alert">That was more than Socket accepts in one request (1 MB)' in body
    assert response.headers["HX-Retarget"] == "#htmx-alerts" and response.headers["HX-Reswap"] == "innerHTML"
    assert "HX-Request" in response.headers["Vary"]
    assert fresh_count(PricingMenu) == 0


def test_a_body_over_the_limit_is_refused_signed_out_too(client, owner):
    response = client.post("/login", data={"email": owner.email, "password": "p" * (1024 * 1024 + 1)})
    assert response.status_code == 413 and "more than Socket accepts" in response.get_data(as_text=True)


def test_a_large_body_under_the_limit_is_read_as_a_form(auth_client, owner):
    """Only the body limit applies to an ordinary (urlencoded) form: 700 kB is read, and refused as too long."""
    response = auth_client.post("/pricing/menus", data={"name": "x" * (700 * 1024)}, headers=HTMX)
    assert response.status_code == 422 and "Menu name must be 200 characters or fewer." in response.get_data(
        as_text=True)


def test_the_limit_is_named_in_the_unit_it_was_set_in(app):
    from webapp.errors import too_large_message

    for limit, shown in ((2 * 1024 * 1024, "(2 MB)"), (512 * 1024, "(512 kB)"), (1_000_000, "(1,000,000 bytes)")):
        with app.test_request_context():
            app.config["MAX_CONTENT_LENGTH"], before = limit, app.config["MAX_CONTENT_LENGTH"]
            try:
                assert shown in too_large_message()
            finally:
                app.config["MAX_CONTENT_LENGTH"] = before


def fresh_count(model) -> int:
    db.session.expire_all()
    return db.session.execute(db.select(db.func.count(model.id))).scalar_one()
