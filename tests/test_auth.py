from tests.conftest import PASSWORD, login


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


def test_login_then_logout(client, owner):
    login(client, owner)
    assert client.get("/billing/plan").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/billing/plan").status_code == 302


def test_login_refuses_offsite_next(client, owner):
    response = client.post("/login?next=//evil.example/", data={"email": owner.email, "password": PASSWORD})
    assert response.headers["Location"] == "/billing/plan"


def test_post_without_csrf_token_is_refused(client, owner):
    response = client.post("/login", data={"email": owner.email, "password": PASSWORD}, csrf=False)
    assert response.status_code == 400
