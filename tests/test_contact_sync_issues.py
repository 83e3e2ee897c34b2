"""The client page's "Differences with Xero": conflicts and changes two-way updates could not copy, shown until an
owner or admin dismisses them; another practice's issue is a 404."""
import pytest

from tests.factories import make_client, make_contact_pull, make_sync_issue, make_user, make_xero_contact
from tests.helpers import HTMX, fresh, login
from webapp.extensions import db
from webapp.models import ClientContactLink, ContactSyncIssue, Role


@pytest.fixture
def linked_client(owner):
    practice_id = owner.practice_id
    make_contact_pull(practice_id)
    client = make_client(practice_id, "Acme Ltd", code="ACM01", email="new@acme.co.uk")
    contact = make_xero_contact(practice_id, "Acme Ltd", email="new@acme.co.uk")
    db.session.add(ClientContactLink(practice_id=practice_id, client_id=client.id, contact_id=contact.contact_id,
                                     outcome="linked", rule="name", reason="Name."))
    db.session.commit()
    return client, contact


def issue(client, contact, **fields) -> ContactSyncIssue:
    return make_sync_issue(client, contact.contact_id, **{"socket_value": "socket@acme.co.uk",
                                                          "xero_value": "xero@acme.co.uk", **fields})


def test_the_client_page_shows_a_conflict_with_both_values_and_what_was_kept(auth_client, linked_client):
    client, contact = linked_client
    issue(client, contact)
    issue(client, contact, field="name", kind="refused_by_xero", socket_value="Bramble Ltd",
          xero_value="Acme Ltd", kept=None, message="Xero refused the change: The contact name Bramble Ltd is "
                                                    "already assigned to another contact.")
    page = auth_client.get(f"/clients/{client.id}").get_data(as_text=True)
    assert "Differences with Xero" in page
    assert "Email changed in both Socket and Xero" in page and "socket@acme.co.uk" in page
    assert "xero@acme.co.uk" in page
    assert "Socket&#39;s value was kept on both sides, as Socket is the practice&#39;s primary CRM." in page
    assert "Name not updated in Xero" in page and "already assigned to another contact" in page


def test_dismissing_swaps_the_section_without_it(auth_client, linked_client):
    client, contact = linked_client
    row = issue(client, contact)
    answer = auth_client.post(f"/contacts/clients/{client.id}/sync-issues/{row.id}/dismiss",
                              data={"context": "client"}, headers=HTMX)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'id="client-xero"' in html and "Differences with Xero" not in html and "<html" not in html
    assert fresh(ContactSyncIssue, row.id).dismissed_at is not None
    again = auth_client.post(f"/contacts/clients/{client.id}/sync-issues/{row.id}/dismiss", data={"context": "client"})
    assert again.status_code == 404


def test_a_browser_dismissal_goes_back_to_the_client(auth_client, linked_client):
    client, contact = linked_client
    row = issue(client, contact)
    answer = auth_client.post(f"/contacts/clients/{client.id}/sync-issues/{row.id}/dismiss", data={"context": "client"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/clients/{client.id}#client-xero")


def test_another_practices_issue_is_a_404(auth_client, linked_client, other_owner):
    mine, _ = linked_client
    theirs = make_client(other_owner.practice_id, "Theirs Ltd", code="THE01")
    their_issue = issue(theirs, make_xero_contact(other_owner.practice_id, "Theirs Ltd"))
    assert auth_client.post(f"/contacts/clients/{theirs.id}/sync-issues/{their_issue.id}/dismiss").status_code == 404
    assert auth_client.post(f"/contacts/clients/{mine.id}/sync-issues/{their_issue.id}/dismiss").status_code == 404
    assert fresh(ContactSyncIssue, their_issue.id).dismissed_at is None


def test_staff_see_the_differences_but_cannot_dismiss_them(client, linked_client):
    mine, contact = linked_client
    row = issue(mine, contact)
    login(client, make_user(mine.practice_id, role=Role.STAFF))
    assert client.post(f"/contacts/clients/{mine.id}/sync-issues/{row.id}/dismiss", headers=HTMX).status_code == 403
    page = client.get(f"/clients/{mine.id}").get_data(as_text=True)
    assert "Email changed in both Socket and Xero" in page and "Dismiss" not in page
    assert fresh(ContactSyncIssue, row.id).dismissed_at is None
