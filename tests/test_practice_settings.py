"""Practice Settings > Practice: name, time zone, primary CRM and which Xero contacts become clients."""
import re
from datetime import time

import pytest
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
    offered = re.findall(r'<option value="([^"]+)">', body.partition('<datalist id="time-zone-list">')[2])
    assert offered[:6] == ["Europe/London", "Europe/Dublin", "Europe/Isle_of_Man", "Europe/Jersey",
                           "Europe/Guernsey", "Europe/Gibraltar"]
    assert offered.index("Europe/London") < offered.index("Africa/Abidjan")
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
    assert "Choose a time zone from the list, such as Europe/London" in body
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


# --- the time-zone picker: searchable, common zones first, no old aliases ------------------------------------------

def test_the_time_zone_is_searched_from_a_list_without_old_aliases(auth_client):
    body = auth_client.get("/settings/practice").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="time_zone"[^>]*list="time-zone-list"', body)
    assert '<option value="Europe/Jersey">Jersey</option>' in body
    for alias in ("GB", "Europe/Belfast", "US/Eastern", "Etc/GMT+1"):
        assert f'value="{alias}"' not in body, alias


@pytest.mark.parametrize("zone", ["GB", "Europe/Belfast", "US/Eastern", "Etc/GMT+1", "Mars/Olympus"])
def test_a_zone_not_offered_is_refused_beside_the_field(auth_client, owner, zone):
    response = auth_client.post("/settings/practice", data={**VALID, "time_zone": zone},
                                headers={**HTMX, "HX-Source": "input#time_zone"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'id="time_zone-control"' in body and "<form" not in body
    control = re.search(r'<input[^>]*id="time_zone"[^>]*>', body).group(0)
    assert 'aria-invalid="true"' in control and 'aria-describedby="time_zone-error time_zone-hint"' in control
    assert '<small id="time_zone-error" class="field-error">Choose a time zone from the list' in body
    assert f'value="{zone}"' in body  # what was typed stays, to correct
    assert practice_of(owner).time_zone == "Europe/London"


def test_a_zone_typed_loosely_is_stored_as_the_list_spells_it(auth_client, owner):
    response = auth_client.post("/settings/practice", data={**VALID, "time_zone": "europe/isle of man"},
                                headers={**HTMX, "HX-Source": "input#time_zone"})
    assert response.status_code == 200 and 'value="Europe/Isle_of_Man"' in response.get_data(as_text=True)
    assert practice_of(owner).time_zone == "Europe/Isle_of_Man"


def test_a_practice_on_an_old_zone_name_keeps_it_and_is_told_the_current_name(auth_client, owner):
    practice = practice_of(owner)
    practice.time_zone = "Europe/Belfast"
    db.session.commit()
    body = auth_client.get("/settings/practice").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="time_zone"[^>]*value="Europe/Belfast"', body)
    assert "“Europe/Belfast” is an old name for Europe/London. It keeps working" in body
    kept = auth_client.post("/settings/practice", data={**VALID, "time_zone": "Europe/Belfast"})
    assert kept.status_code == 200 and practice_of(owner).time_zone == "Europe/Belfast"
    moved = auth_client.post("/settings/practice", data={**VALID, "time_zone": "Europe/London"},
                             headers={**HTMX, "HX-Source": "input#time_zone"})
    assert moved.status_code == 200 and practice_of(owner).time_zone == "Europe/London"
    back = auth_client.post("/settings/practice", data={**VALID, "time_zone": "Europe/Belfast"},
                            headers={**HTMX, "HX-Source": "input#time_zone"})
    assert back.status_code == 422 and practice_of(owner).time_zone == "Europe/London"  # no longer its own


# --- every control saves itself when it changes, as Billing Settings' do --------------------------------------------

# The whole form as the browser posts it with one control changed: (HX-Source, the changed value, stored as).
INLINE = {
    "name": ("input#name", "Hartley & Webb LLP", "Hartley & Webb LLP"),
    "time_zone": ("input#time_zone", "Europe/Jersey", "Europe/Jersey"),
    "nightly_sync_at": ("select#nightly_sync_at", "23:00", time(23, 0)),
    "primary_crm": ("input#primary_crm-1", "xero", "xero"),
    "crm_import_scope": ("input#crm_import_scope-1", "all", "all"),
}
STORED = {"name": "Acme Accountants", "time_zone": "Europe/London", "nightly_sync_at": time(2, 0),
          "primary_crm": "socket", "crm_import_scope": "customers"}
AS_POSTED = {"name": "Acme Accountants", "time_zone": "Europe/London", "nightly_sync_at": "02:00",
             "primary_crm": "socket", "crm_import_scope": "customers"}


def details(owner) -> dict:
    practice = practice_of(owner)
    return {name: getattr(practice, name) for name in STORED}


@pytest.mark.parametrize("name", list(INLINE))
def test_each_control_saves_only_itself_and_comes_back_alone_with_saved(auth_client, owner, name):
    source, value, stored = INLINE[name]
    others_bad = {"name": "", "time_zone": "Mars/Olympus", "nightly_sync_at": "12:00", "primary_crm": "hubspot",
                  "crm_import_scope": "everything"}
    response = auth_client.post("/settings/practice", data={**others_bad, name: value},
                                headers={**HTMX, "HX-Source": source})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_data(as_text=True)
    assert re.findall(r'id="([a-z_]+)-control"', body) == [name] and "<form" not in body
    assert '<small class="saved" role="status">Saved</small>' in body
    assert f'hx-target="#{name}-control"' in body and 'hx-trigger="change"' in body
    assert details(owner) == {**STORED, name: stored}  # the bad values elsewhere were neither saved nor refused


@pytest.mark.parametrize("name, bad, message", [
    ("name", "", "Enter the practice&#39;s name."),
    ("name", "x" * 201, "Practice name must be 200 characters or fewer."),
    ("time_zone", "", "Choose a time zone."),
    ("nightly_sync_at", "12:00", "Choose when the nightly sync starts: between 20:00 and 06:00."),
    ("primary_crm", "hubspot", "Choose Socket or Xero as the primary CRM."),
    ("crm_import_scope", "everything", "Choose which Xero contacts become clients"),
])
def test_a_control_refused_shows_its_error_beside_it_and_saves_nothing(auth_client, owner, name, bad, message):
    response = auth_client.post("/settings/practice", data={**AS_POSTED, name: bad},
                                headers={**HTMX, "HX-Source": INLINE[name][0]})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f'id="{name}-control"' in body and "Saved" not in body
    assert f'id="{name}-error" class="field-error">{message}' in body
    if name in ("primary_crm", "crm_import_scope"):  # radios: the fieldset is described, each radio invalid
        assert re.search(rf'<fieldset id="{name}-control" aria-describedby="{name}-error', body)
        assert re.search(r'<input[^>]*aria-invalid="true"', body)
    else:
        control = re.search(rf'<(input|select)[^>]*id="{name}"[^>]*>', body).group(0)
        assert 'aria-invalid="true"' in control and f'aria-describedby="{name}-error' in control
    assert details(owner) == STORED


@pytest.mark.parametrize("name", ["nightly_sync_at", "crm_import_scope"])
def test_a_control_saved_without_its_value_says_so(auth_client, owner, name):
    data = {key: value for key, value in AS_POSTED.items() if key != name}
    response = auth_client.post("/settings/practice", data=data, headers={**HTMX, "HX-Source": INLINE[name][0]})
    assert response.status_code == 422 and f'id="{name}-error"' in response.get_data(as_text=True)
    assert details(owner) == STORED


def test_without_javascript_the_save_button_posts_the_whole_form(auth_client, owner):
    page = auth_client.get("/settings/practice").get_data(as_text=True)
    assert "<noscript><button type=\"submit\">Save</button></noscript>" in page
    assert 'hx-post="/settings/practice"' in page and '<form id="practice-form" method="post"' in page
    saved = auth_client.post("/settings/practice",
                             data={**AS_POSTED, "name": "Hartley LLP", "nightly_sync_at": "01:00"})
    assert saved.status_code == 200 and "<html" in saved.get_data(as_text=True)
    assert '<p class="saved" role="status">Saved</p>' in saved.get_data(as_text=True)
    assert details(owner) == {**STORED, "name": "Hartley LLP", "nightly_sync_at": time(1, 0)}
    refused = auth_client.post("/settings/practice", data={**AS_POSTED, "name": "", "time_zone": "GB"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "There is a problem" in body
    assert 'id="name-error"' in body and 'id="time_zone-error"' in body
    assert practice_of(owner).name == "Hartley LLP"


def test_staff_controls_do_not_save_on_change(client, owner):
    login(client, make_user(owner.practice_id, Role.STAFF))
    page = client.get("/settings/practice").get_data(as_text=True)
    content = page[page.index("<main"):page.index("</main>")]  # the layout's own <noscript> stylesheet aside
    assert "hx-post" not in content and "<noscript>" not in content
    assert client.post("/settings/practice", data=AS_POSTED,
                       headers={**HTMX, "HX-Source": "input#name"}).status_code == 403
