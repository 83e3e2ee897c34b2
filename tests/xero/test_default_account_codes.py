"""Default account codes for recurring and one-off sales: ACTIVE revenue codes only, saved inline."""
import pytest

from tests.factories import make_account, make_connection
from tests.helpers import HTMX
from webapp.extensions import db
from webapp.models import BillingSettings

URL = "/settings/integrations/account-codes"


@pytest.fixture
def synced(owner):
    """A connected practice whose sync brought two active revenue accounts, an archived one and an expense."""
    make_connection(practice_id=owner.practice_id)
    make_account(owner.practice_id, "200", "Sales")
    make_account(owner.practice_id, "260", "Other Revenue", type="OTHERINCOME")
    make_account(owner.practice_id, "210", "Old Sales", type="SALES", status="ARCHIVED")
    make_account(owner.practice_id, "400", "Advertising", type="EXPENSE", account_class="EXPENSE")
    return owner.practice_id


def stored(practice_id):
    db.session.expire_all()
    settings = db.session.get(BillingSettings, practice_id)
    return settings.recurring_account_code, settings.one_off_account_code


def test_both_selects_list_active_revenue_codes(auth_client, synced):
    page = auth_client.get("/settings/integrations").get_data(as_text=True)
    assert 'name="recurring_account_code"' in page and 'name="one_off_account_code"' in page
    assert "Recurring sales" in page and "One-off sales" in page
    assert '<option value="200" >200 — Sales</option>' in page
    assert "260 — Other Revenue" in page
    assert "Old Sales" not in page and "Advertising" not in page


def test_choosing_a_code_saves_it_in_place(auth_client, synced):
    response = auth_client.post(URL, data={"recurring_account_code": "260"}, headers=HTMX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Saved" in body and "<html" not in body
    assert '<option value="260" selected>' in body
    assert stored(synced) == ("260", None)
    auth_client.post(URL, data={"one_off_account_code": "200"}, headers=HTMX)
    assert stored(synced) == ("260", "200")


def test_a_code_not_in_the_synced_list_is_refused_beside_the_select(auth_client, synced):
    auth_client.post(URL, data={"recurring_account_code": "200"}, headers=HTMX)
    for code in ("999", "210", "400"):
        response = auth_client.post(URL, data={"recurring_account_code": code}, headers=HTMX)
        assert response.status_code == 422
        body = response.get_data(as_text=True)
        assert f"Account code {code} is not an active sales account" in body
        assert 'aria-invalid="true"' in body and f'<option value="{code}" selected>' in body
    assert stored(synced) == ("200", None)


def test_without_htmx_a_refused_code_re_renders_the_page_with_the_error_beside_the_select(auth_client, synced):
    response = auth_client.post(URL, data={"one_off_account_code": "999"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "<html" in body.lower() and "Default account codes" in body
    block = body[body.index('id="one_off_account_code-field"'):]
    block = block[:block.index('id="recurring_account_code-field"') if 'id="recurring_account_code-field"' in block
                  else len(block)]
    assert 'id="one_off_account_code-error"' in block
    assert "Account code 999 is not an active sales account" in block
    assert '<option value="999" selected>' in block  # the user's choice is kept
    assert body.count("is not an active sales account") == 1  # beside the select, not (also) a flash
    assert stored(synced) == (None, None)


def test_the_account_codes_fragment_url_gives_a_normal_get_the_whole_page(auth_client, synced):
    page = auth_client.get("/settings/integrations/xero/account-codes")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True).lower()
    assert "HX-Request" in page.headers.get("Vary", "")
    fragment = auth_client.get("/settings/integrations/xero/account-codes", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment.lower() and 'id="xero-account-codes"' in fragment


def test_a_stored_code_archived_in_xero_shows_how_to_fix_it(auth_client, synced):
    settings = db.session.get(BillingSettings, synced)
    settings.one_off_account_code = "210"
    db.session.commit()
    page = auth_client.get("/settings/integrations").get_data(as_text=True)
    assert "was archived in Xero" in page and "Choose another code here" in page
    assert "210 — Old Sales (not available)" in page


def test_clearing_a_default_is_allowed(auth_client, synced):
    auth_client.post(URL, data={"recurring_account_code": "200"}, headers=HTMX)
    assert auth_client.post(URL, data={"recurring_account_code": ""}, headers=HTMX).status_code == 200
    assert stored(synced) == (None, None)


def test_an_unknown_field_is_a_bad_request(auth_client, synced):
    assert auth_client.post(URL, data={"something": "200"}, headers=HTMX).status_code == 400
    assert stored(synced) == (None, None)


def test_other_practices_codes_are_not_offered(auth_client, synced, other_owner):
    make_account(other_owner.practice_id, "201", "Rival Sales")
    assert "Rival Sales" not in auth_client.get("/settings/integrations").get_data(as_text=True)
    assert auth_client.post(URL, data={"recurring_account_code": "201"}, headers=HTMX).status_code == 422
    assert stored(synced) == (None, None)


def test_a_default_not_chosen_yet_is_pointed_out_until_it_is(auth_client, synced):
    page = auth_client.get("/settings/integrations").get_data(as_text=True)
    assert page.count("Not chosen yet: invoice lines need an account code") == 2
    auth_client.post(URL, data={"recurring_account_code": "200"}, headers=HTMX)
    page = auth_client.get("/settings/integrations").get_data(as_text=True)
    assert page.count("Not chosen yet: invoice lines need an account code") == 1
