"""Signing in and out: the login form, wrong passwords, the `next` target, CSRF."""
from tests.factories import PASSWORD
from tests.helpers import login


def signed_in(client) -> bool:
    """Whether the test client's session is signed in (a page that needs it renders rather than redirects)."""
    return client.get("/billing/plan").status_code == 200


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "Sign in to Socket" in response.get_data(as_text=True)


def test_wrong_password_is_refused_with_message_and_email_kept(client, owner):
    response = client.post("/login", data={"email": owner.email, "password": "nope"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "do not match" in body
    assert owner.email in body
    assert not signed_in(client)


def test_login_then_logout(client, owner):
    login(client, owner)
    assert signed_in(client)
    response = client.post("/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    after = client.get("/billing/plan")
    assert after.status_code == 302 and after.headers["Location"].startswith("/login")


def test_login_refuses_offsite_next(client, owner):
    response = client.post("/login?next=//evil.example/", data={"email": owner.email, "password": PASSWORD})
    assert response.headers["Location"] == "/billing/plan"
    assert signed_in(client)


def test_post_without_csrf_token_is_refused(client, owner):
    response = client.post("/login", data={"email": owner.email, "password": PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert not signed_in(client)
