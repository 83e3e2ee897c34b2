"""The frame every signed-in page shares (templates/layout.html): the navigation with the current section marked, the
Xero chip on every page, one region for banners, and the signed-out card (sign-in and error pages)."""
import re

import pytest

from tests.factories import make_connection, make_sync_run
from tests.helpers import HTMX
from webapp.services import sync_history

INTEGRATIONS = "/settings/integrations"
CHIP = re.compile(r'<a href="([^"]+)" id="xero-chip" class="chip chip-xero chip-xero-([a-z_]+)"\s*>([^<]+)</a>')
NAV = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)


def body_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def chip_of(body: str) -> tuple[str, str, str]:
    """(link, state, words) of the page's one Xero chip."""
    chips = CHIP.findall(body)
    assert len(chips) == 1, chips
    return chips[0]


# -- the Xero chip ---------------------------------------------------------------------------------------------------
def test_the_chip_says_xero_is_not_connected_when_the_practice_never_connected(auth_client):
    assert chip_of(body_of(auth_client.get("/billing/plan"))) == (INTEGRATIONS, "not_connected", "Xero not connected")


def test_the_chip_says_xero_is_connected(auth_client, owner):
    make_connection(practice_id=owner.practice_id)
    assert chip_of(body_of(auth_client.get("/clients/"))) == (INTEGRATIONS, "connected", "Xero connected")


def test_the_chip_says_a_reconnect_is_needed(auth_client, owner):
    make_connection(practice_id=owner.practice_id, status="needs_reconnect")
    body = body_of(auth_client.get("/pricing/"))
    assert chip_of(body) == (INTEGRATIONS, "needs_reconnect", "Xero: reconnect needed")
    assert 'id="xero-reconnect-banner"' in body  # the banner says what to do


def test_a_disconnected_practice_is_not_connected(auth_client, owner):
    make_connection(practice_id=owner.practice_id, status="disconnected")
    assert chip_of(body_of(auth_client.get("/billing/plan")))[1:] == ("not_connected", "Xero not connected")


def test_a_failed_nightly_sync_leaves_the_chip_connected_beside_its_banner(auth_client, owner):
    make_connection(practice_id=owner.practice_id)
    make_sync_run(owner.practice_id, "nightly", status="failed")
    body = body_of(auth_client.get("/billing/plan"))
    assert chip_of(body)[1:] == ("connected", "Xero connected") and 'id="xero-sync-failed-banner"' in body


def test_another_practices_connection_is_not_this_practices_chip(auth_client, other_owner):
    make_connection(practice_id=other_owner.practice_id)
    assert chip_of(body_of(auth_client.get("/billing/plan")))[1] == "not_connected"


def test_fragments_carry_no_chip(auth_client, owner):
    make_connection(practice_id=owner.practice_id)
    assert "xero-chip" not in body_of(auth_client.get("/clients/?q=a", headers=HTMX))


def test_xero_state_reads_the_connection_and_the_alert_together(app_ctx, owner):
    practice_id = owner.practice_id
    assert sync_history.xero_state(practice_id) == sync_history.XeroState("not_connected")
    make_connection(practice_id=practice_id)
    run = make_sync_run(practice_id, "nightly", status="failed")
    state = sync_history.xero_state(practice_id)
    assert state.connection == "connected" and state.alert is not None and state.alert.run_id == run.id


@pytest.mark.parametrize("url", ["/billing/plan", "/clients/", "/pricing/", "/billing/invoices"])
def test_the_chip_and_the_banner_share_one_statement(auth_client, owner, count_statements, url):
    make_connection(practice_id=owner.practice_id)
    make_sync_run(owner.practice_id, "nightly", status="failed")
    auth_client.get(url)  # the stored plan is built on the first visit
    with count_statements() as statements:
        body = body_of(auth_client.get(url))
    assert "xero-chip" in body and "xero-sync-failed-banner" in body
    # xero_state's statement (the connection joined to its failed nightly run) runs once for the chip and the banner
    assert sum("FROM xero_connections LEFT OUTER JOIN sync_runs" in statement for statement in statements) == 1


# -- the navigation --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "current"), [
    ("/billing/plan", "Billing Plan"),
    ("/billing/invoices", "Invoices"),
    ("/clients/", "Clients"),
    ("/clients/new", "Clients"),
    ("/pricing/", "Services &amp; Pricing"),
    ("/settings/integrations", "Practice Settings"),
    ("/settings/practice", "Practice Settings"),
])
def test_the_navigation_marks_the_current_section(auth_client, url, current):
    nav = NAV.search(body_of(auth_client.get(url))).group(1)
    assert re.findall(r'aria-current="page">([^<]+)<', nav) == [current]
    assert re.findall(r'>([^<]+)</a>', nav) == [
        "Billing Plan", "Invoices", "Clients", "Services &amp; Pricing", "Practice Settings"]


def test_the_frame_names_the_practice_and_the_user_and_opens_the_phone_menu_by_a_button(auth_client, owner):
    body = body_of(auth_client.get("/clients/"))
    assert f'<p class="practice-name">{owner.practice.name}</p>' in body
    assert '<summary id="user-menu">' in body and f"Signed in as {owner.email}" in body
    button = re.search(r'<button type="button" class="menu-toggle[^"]*"([^>]*)>Menu</button>', body).group(1)
    assert "data-toggle-nav" in button and 'aria-expanded="false"' in button
    assert 'aria-controls="app-nav-panel"' in button and 'id="app-nav-panel"' in body
    assert f"{owner.practice.name} · times shown in {owner.practice.time_zone}" in body


def test_one_region_holds_the_alerts_the_flashes_and_the_xero_banner(auth_client, owner):
    make_connection(practice_id=owner.practice_id, status="needs_reconnect")
    with auth_client.session_transaction() as session:
        session["_flashes"] = [("success", "Saved the thing.")]
    body = body_of(auth_client.get("/clients/"))
    text = body[body.index('<div class="banners">'):body.index("<h1")]
    order = [text.index(marker) for marker in ('id="htmx-alerts"', "Saved the thing.", 'id="xero-reconnect-banner"')]
    assert order == sorted(order)


# -- signed out ------------------------------------------------------------------------------------------------------
def test_the_sign_in_page_is_a_card_with_the_mark_and_no_navigation(client):
    body = body_of(client.get("/login"))
    assert 'class="signed-out"' in body and 'class="auth-card"' in body and "favicon.svg" in body
    assert "app-nav" not in body and "xero-chip" not in body and "user-menu" not in body


def test_an_error_page_names_the_error_and_says_what_happened(auth_client):
    response = auth_client.get("/clients/999999")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in body and "Error 404" in body
    assert '<p class="error-message">That page does not exist.</p>' in body
    assert 'id="xero-chip"' in body  # signed in: the frame stays around it


def test_a_signed_out_error_page_has_no_navigation(client):
    response = client.get("/static/does-not-exist.css")
    assert response.status_code == 404
    assert "app-nav" not in response.get_data(as_text=True)
