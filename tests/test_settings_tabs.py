"""Practice Settings as a whole: it opens on Integrations, every tab tells staff who can change it, and the
Integrations tab's actions (Xero's Connect button, Sync now first, Disconnect quiet)."""
import re

import pytest

from tests.factories import make_connection, make_user
from tests.helpers import login
from webapp.models import Role

TABS = ["/settings/integrations", "/settings/billing", "/settings/practice"]
READ_ONLY = "Only the practice's owner or an admin can change these."


def test_practice_settings_opens_on_integrations(auth_client):
    response = auth_client.get("/settings/")
    assert response.status_code == 302 and response.headers["Location"] == "/settings/integrations"
    body = auth_client.get("/settings/", follow_redirects=True).get_data(as_text=True)
    assert 'aria-current="page">Integrations<' in body


def test_the_tabs_list_integrations_first(auth_client):
    body = auth_client.get("/settings/billing").get_data(as_text=True)
    tabs = re.findall(r'<a href="(/settings/[a-z]+)"', body.partition('class="tabs"')[2].partition("</nav>")[0])
    assert tabs == TABS


@pytest.mark.parametrize("url", TABS)
def test_every_tab_tells_staff_who_can_change_it(client, owner, url):
    make_connection(practice_id=owner.practice_id)
    login(client, make_user(owner.practice_id, Role.STAFF))
    body = client.get(url).get_data(as_text=True)
    assert f'<p class="read-only-note" id="settings-read-only">{READ_ONLY}</p>' in body


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
@pytest.mark.parametrize("url", TABS)
def test_owners_and_admins_are_not_told_it(client, owner, url, role):
    login(client, owner if role == Role.OWNER else make_user(owner.practice_id, Role.ADMIN))
    assert READ_ONLY not in client.get(url).get_data(as_text=True)


def test_the_connect_button_is_xeros(auth_client):
    body = auth_client.get("/settings/integrations").get_data(as_text=True)
    button = re.search(r'<button type="submit" id="xero-connect" class="xero-connect">(.*?)</button>', body, re.S)
    assert button, body
    assert '<svg class="xero-logo"' in button.group(1) and 'aria-hidden="true"' in button.group(1)
    assert re.sub(r"<svg.*?</svg>|<[^>]+>|\s+", " ", button.group(1), flags=re.S).strip() == "Connect to Xero"
    assert "Connect with Xero" not in body
    assert "<img" not in button.group(1)  # drawn in the page: no request to Xero or anyone else


def test_a_connection_needing_reconnecting_offers_xeros_button_to_reconnect(auth_client, owner):
    make_connection(practice_id=owner.practice_id, status="needs_reconnect")
    body = auth_client.get("/settings/integrations").get_data(as_text=True)
    assert re.search(r'id="xero-connect" class="xero-connect">.*?<span>Reconnect to Xero</span>', body, re.S)


def test_sync_now_is_the_primary_action_and_disconnect_is_quiet(auth_client, owner):
    make_connection(practice_id=owner.practice_id)
    body = auth_client.get("/settings/integrations").get_data(as_text=True)
    sync = re.search(r'<button type="submit" id="xero-sync-now"[^>]*>Sync now</button>', body)
    assert sync and "class=" not in sync.group(0)  # Pico's primary button
    assert '<summary class="secondary outline danger">Disconnect from Xero</summary>' in body
    assert 'role="button"' not in body.partition('id="xero-disconnect"')[2].partition("</details>")[0]
    assert body.index('id="xero-sync-now"') < body.index('id="xero-disconnect"')
