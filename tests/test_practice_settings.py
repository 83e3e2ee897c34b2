"""Practice Settings > Practice: name, time zone and primary CRM."""
from tests.factories import make_user
from tests.helpers import HTMX, fresh, login
from webapp.models import Practice, Role

VALID = {"name": "Hartley & Webb LLP", "time_zone": "Europe/Dublin", "primary_crm": "xero"}


def practice_of(user) -> Practice:
    return fresh(Practice, user.practice_id)


def test_the_tab_shows_the_practice_with_london_first(auth_client):
    body = auth_client.get("/settings/practice").get_data(as_text=True)
    assert 'value="Acme Accountants"' in body
    assert body.index('value="Europe/London"') < body.index('value="Africa/Abidjan"')
    assert 'aria-current="page">Practice<' in body


def test_owner_saves_inline_and_times_follow_the_new_zone(auth_client, owner):
    response = auth_client.post("/settings/practice", data=VALID, headers=HTMX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Saved" in body and "<html" not in body and "HX-Request" in response.headers["Vary"]
    practice = practice_of(owner)
    assert (practice.name, practice.time_zone, practice.primary_crm) == ("Hartley & Webb LLP", "Europe/Dublin", "xero")
    assert "times shown in Europe/Dublin" in auth_client.get("/settings/practice").get_data(as_text=True)


def test_bad_input_is_refused_beside_the_field_and_nothing_saved(auth_client, owner):
    response = auth_client.post("/settings/practice", data={"name": "", "time_zone": "Mars/Olympus",
                                                            "primary_crm": "hubspot"}, headers=HTMX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Enter the practice&#39;s name." in body
    assert "Choose a time zone from the list." in body
    assert "Choose Socket or Xero as the primary CRM." in body
    practice = practice_of(owner)
    assert (practice.name, practice.time_zone, practice.primary_crm) == ("Acme Accountants", "Europe/London", "socket")


def test_staff_see_the_details_read_only_and_cannot_change_them(client, owner):
    staff = make_user(owner.practice_id, Role.STAFF)
    login(client, staff)
    page = client.get("/settings/practice").get_data(as_text=True)
    assert "<fieldset disabled>" in page and "Only the practice's owner or an admin" in page
    assert client.post("/settings/practice", data=VALID).status_code == 403
    assert practice_of(owner).name == "Acme Accountants"


def test_admin_may_change_them(client, owner):
    admin = make_user(owner.practice_id, Role.ADMIN)
    login(client, admin)
    assert client.post("/settings/practice", data=VALID).status_code == 200
    assert practice_of(owner).time_zone == "Europe/Dublin"
