"""Authentication: bearer tokens for the API, session cookies with CSRF for the pages."""

from __future__ import annotations

import re

import pytest

from tests.conftest import bearer


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("not-a-token"), {"Authorization": "Basic YWxpY2U6cHc="}, {"Authorization": "Bearer"}],
)
def test_api_needs_a_valid_token(client, people, headers):
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_token_identifies_the_caller(client, people):
    body = client.get("/api/v1/me", headers=people["alice"].headers).get_json()
    assert body == {"id": people["alice"].id, "name": "alice", "full_name": "Alice Liddell",
                    "role": "student"}


@pytest.fixture
def carol(build):
    return build.user("carol", password="carol-password-1")


def login(client, name="carol", password="carol-password-1", csrf=True):
    headers = {}
    if csrf:
        headers["X-CSRFToken"] = client.get("/api/v1/session").get_json()["csrf_token"]
    return client.post("/api/v1/session", json={"name": name, "password": password},
                       headers=headers)


def test_session_login_and_logout(client, carol):
    response = login(client)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["name"] == "carol"
    assert client.get("/api/v1/me").get_json()["name"] == "carol"
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    assert client.delete("/api/v1/session", headers={"X-CSRFToken": token}).status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_wrong_password_is_refused(client, carol):
    response = login(client, password="wrong-password")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "bad_login"
    assert login(client, name="nobody").status_code == 401


def test_cookie_posts_need_the_csrf_token(client, carol):
    assert login(client, csrf=False).status_code == 400
    assert login(client).status_code == 200
    response = client.post("/api/v1/practice", json={})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf"
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    assert client.post("/api/v1/practice", json={}, headers={"X-CSRFToken": token}).status_code == 201


def test_bearer_posts_need_no_csrf_token(client, people):
    response = client.post("/api/v1/practice", json={}, headers=people["alice"].headers)
    assert response.status_code == 201


def test_passwords_are_stored_hashed(build, carol):
    from grader.service.models import User

    stored = build.get(User, carol.id).password_hash
    assert "carol-password-1" not in stored
    assert re.match(r"^(scrypt|pbkdf2)", stored)


def test_tokens_are_stored_as_digests(build, carol):
    import sqlalchemy as sa

    from grader.service.models import ApiToken

    with build.sessionmaker() as session:
        digests = session.scalars(sa.select(ApiToken.token_hash)).all()
    assert carol.token not in digests and len(digests) == 1


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("carol", "student", None, "taken"),
        ("new user", "student", None, "not allowed"),
        ("dave", "admin", None, "not a role"),
        ("dave", "student", "short", "too short"),
    ],
)
def test_bad_accounts_are_refused(build, carol, name, role, password, message):
    with pytest.raises(ValueError, match=message):
        build.user(name, role, password)


@pytest.mark.parametrize(
    ("headers", "message"),
    [({}, "Authorization: Bearer TOKEN"), ({"Authorization": "Bearer forged"}, "not valid")],
)
def test_writes_without_valid_credentials_are_401_not_csrf(client, headers, message):
    body = {"instance": {"kind": "softmax", "z": [1.0]}, "answer": "[1]", "format": "json"}
    response = client.post("/api/v1/check", json=body, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert message in response.get_json()["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_page_is_the_sites_own_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")
    assert b"<h1>Not Found</h1>" in response.data and b"log in" in response.data
