"""Practice Settings > Practice: name, time zone, primary CRM and which Xero contacts become clients."""
import re
from datetime import time

import sqlalchemy as sa

from tests.factories import make_user
from tests.helpers import HTMX, fresh, login
from webapp.extensions import db
from webapp.models import Practice, Role

VALID = {"name": "Hartley & Webb LLP", "time_zone": "Europe/Dublin", "primary_crm": "xero", "crm_import_scope": "all"}


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


# --- which Xero contacts become clients (Xero as the primary CRM) -------------------------------------------------

def test_the_tab_offers_which_xero_contacts_become_clients_customers_by_default(auth_client, owner):
    body = auth_client.get("/settings/practice").get_data(as_text=True)
    assert "Xero contacts that become clients" in body
    assert "Applies only when Xero is the primary CRM" in body
    assert re.search(r'<input[^>]*checked[^>]*value="customers"|<input[^>]*value="customers"[^>]*checked', body)
    assert 'value="all"' in body and practice_of(owner).crm_import_scope == "customers"


def test_owner_chooses_every_contact_with_xero_as_the_primary_crm(auth_client, owner):
    response = auth_client.post("/settings/practice", data=VALID, headers=HTMX)
    assert response.status_code == 200 and "Saved" in response.get_data(as_text=True)
    practice = practice_of(owner)
    assert (practice.primary_crm, practice.crm_import_scope) == ("xero", "all")
    saved = auth_client.post("/settings/practice", data={**VALID, "crm_import_scope": "customers"}, headers=HTMX)
    assert saved.status_code == 200 and practice_of(owner).crm_import_scope == "customers"


def test_with_xero_as_the_primary_crm_the_choice_is_needed(auth_client, owner):
    data = {key: value for key, value in VALID.items() if key != "crm_import_scope"}
    response = auth_client.post("/settings/practice", data=data, headers=HTMX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Choose which Xero contacts become clients: customers only, or all active contacts." in body
    assert 'id="crm_import_scope-error"' in body
    practice = practice_of(owner)
    assert (practice.name, practice.primary_crm, practice.crm_import_scope) == (
        "Acme Accountants", "socket", "customers")


def test_a_choice_that_is_not_offered_is_refused(auth_client, owner):
    for scope in ("everything", ""):
        response = auth_client.post("/settings/practice", data={**VALID, "primary_crm": "socket",
                                                                "crm_import_scope": scope}, headers=HTMX)
        assert response.status_code == 422, scope
        assert "Choose which Xero contacts become clients" in response.get_data(as_text=True)
    assert practice_of(owner).crm_import_scope == "customers"


def test_with_socket_as_the_primary_crm_a_post_without_the_choice_keeps_it(auth_client, owner):
    practice = practice_of(owner)
    practice.crm_import_scope = "all"
    db.session.commit()
    response = auth_client.post("/settings/practice", data={"name": "Acme", "time_zone": "Europe/London",
                                                            "primary_crm": "socket"}, headers=HTMX)
    assert response.status_code == 200
    assert re.search(r'<input[^>]*checked[^>]*value="all"|<input[^>]*value="all"[^>]*checked',
                     response.get_data(as_text=True))  # the stored choice, shown again
    assert (practice_of(owner).primary_crm, practice_of(owner).crm_import_scope) == ("socket", "all")


def test_staff_cannot_change_which_contacts_become_clients(client, owner):
    login(client, make_user(owner.practice_id, Role.STAFF))
    page = client.get("/settings/practice").get_data(as_text=True)
    assert "<fieldset disabled>" in page and "Xero contacts that become clients" in page
    assert client.post("/settings/practice", data=VALID).status_code == 403
    assert practice_of(owner).crm_import_scope == "customers"


def test_admin_may_change_which_contacts_become_clients(client, owner):
    login(client, make_user(owner.practice_id, Role.ADMIN))
    assert client.post("/settings/practice", data=VALID).status_code == 200
    assert practice_of(owner).crm_import_scope == "all"


def test_the_migration_gives_existing_practices_customers_only(scratch_database):
    from flask_migrate import downgrade, upgrade

    from webapp import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": scratch_database})
    with app.app_context():
        upgrade(revision="fe33e5e95911")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO practices (id, name, time_zone, primary_crm, created_at) "
                                 "VALUES (1, 'P', 'Europe/London', 'xero', '2026-01-01 00:00:00+00')"))
        upgrade(revision="87d7a3305e30")
        with db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT crm_import_scope FROM practices")).scalars().all() == ["customers"]
            column = next(c for c in sa.inspect(conn).get_columns("practices") if c["name"] == "crm_import_scope")
        assert column["nullable"] is False
        downgrade(revision="fe33e5e95911")
        with db.engine.connect() as conn:
            assert "crm_import_scope" not in {c["name"] for c in sa.inspect(conn).get_columns("practices")}
        db.session.remove()
        db.engine.dispose()


def test_the_nightly_sync_time_is_chosen_on_the_practice_tab_and_kept_when_not_posted(auth_client, owner):
    page = auth_client.get("/settings/practice").get_data(as_text=True)
    assert re.search(r'<option[^>]*selected[^>]*value="02:00"|<option[^>]*value="02:00"[^>]*selected', page)
    form = {"name": "Acme", "time_zone": "Europe/London", "primary_crm": "socket"}
    assert auth_client.post("/settings/practice", data={**form, "nightly_sync_at": "23:00"}).status_code == 200
    assert fresh(Practice, owner.practice_id).nightly_sync_at == time(23, 0)
    assert auth_client.post("/settings/practice", data=form).status_code == 200
    assert fresh(Practice, owner.practice_id).nightly_sync_at == time(23, 0)
    refused = auth_client.post("/settings/practice", data={**form, "nightly_sync_at": "14:00"})
    assert refused.status_code == 422 and "between 20:00 and 06:00" in refused.get_data(as_text=True)
    assert fresh(Practice, owner.practice_id).nightly_sync_at == time(23, 0)
