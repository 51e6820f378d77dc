"""API tokens and sessions end when asked: named, listed, revoked, expiring; logout is final."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from grader.cli import main
from grader.service import db
from grader.service.models import ApiToken, utcnow
from grader.web import create_app
from tests.conftest import bearer


def new_token(client: Any, headers: dict[str, str], name: str = "laptop", days: int = 30) -> Any:
    response = client.post("/api/v1/tokens", json={"name": name, "days": days}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_token_is_named_listed_and_revoked_at_once(client, people):
    alice = people["alice"]
    made = new_token(client, alice.headers)
    assert made["name"] == "laptop" and not made["expired"]
    assert timedelta(days=29) < _parse(made["expires_at"]) - utcnow() <= timedelta(days=30)
    assert client.get("/api/v1/me", headers=bearer(made["token"])).status_code == 200
    listed = client.get("/api/v1/tokens", headers=alice.headers).get_json()["tokens"]
    assert [t["name"] for t in listed] == ["laptop", ""] and "token" not in listed[0]
    assert client.delete(f"/api/v1/tokens/{made['id']}", headers=alice.headers).status_code == 204
    response = client.get("/api/v1/me", headers=bearer(made["token"]))
    assert response.status_code == 401 and "revoked" in response.get_json()["error"]["message"]


def test_a_token_is_revoked_by_its_owner_only(client, people):
    made = new_token(client, people["alice"].headers)
    response = client.delete(f"/api/v1/tokens/{made['id']}", headers=people["bob"].headers)
    assert response.status_code == 404
    assert client.delete("/api/v1/tokens/99999999999", headers=people["bob"].headers).status_code == 404
    assert client.get("/api/v1/me", headers=bearer(made["token"])).status_code == 200


@pytest.mark.parametrize("body", [{"name": ""}, {"name": "x", "days": 0}, {"name": "x", "days": 367},
                                  {"name": "x", "days": True}, {}])
def test_a_token_needs_a_name_and_a_lifetime_within_a_year(client, people, body):
    response = client.post("/api/v1/tokens", json=body, headers=people["alice"].headers)
    assert response.status_code == 422


def test_an_expired_token_is_refused(client, build, people):
    alice = people["alice"]
    with build.sessionmaker.begin() as session:
        session.execute(sa.update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 401


def test_a_revocation_holds_at_once_in_every_process(app, database_url, tmp_path, people):
    """Two applications on one database, as two server processes: no cache outlives a revocation."""
    other = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test secret",
                        "INSTANCE_PATH": str(tmp_path)})
    try:
        first, second = app.test_client(), other.test_client()
        alice = people["alice"]
        made = new_token(first, alice.headers)
        for client in (first, second, first, second):  # each process has seen it
            assert client.get("/api/v1/me", headers=bearer(made["token"])).status_code == 200
        assert first.delete(f"/api/v1/tokens/{made['id']}", headers=alice.headers).status_code == 204
        assert second.get("/api/v1/me", headers=bearer(made["token"])).status_code == 401
        assert first.get("/api/v1/me", headers=bearer(made["token"])).status_code == 401
    finally:
        db.database(other).dispose()


def test_the_command_line_lists_and_revokes(client, database_url, monkeypatch, capsys, people):
    monkeypatch.setenv("GRADER_DATABASE_URL", database_url)
    alice = people["alice"]
    made = new_token(client, alice.headers, name="phone")
    assert main(["token", "list", "alice"]) == 0
    listing = capsys.readouterr().out
    assert "phone" in listing and str(made["id"]) in listing
    assert main(["token", "revoke", "alice", "--name", "phone"]) == 0
    assert "revoked 1 token" in capsys.readouterr().out
    assert client.get("/api/v1/me", headers=bearer(made["token"])).status_code == 401
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 200  # the other one
    assert main(["token", "revoke", "alice"]) == 0
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 401
    assert main(["token", "revoke", "nobody"]) == 2
    assert "no user named 'nobody'" in capsys.readouterr().err


def _login(client: Any, name: str, password: str) -> None:
    csrf = client.get("/api/v1/session").get_json()["csrf_token"]
    response = client.post("/api/v1/session", json={"name": name, "password": password},
                           headers={"X-CSRFToken": csrf})
    assert response.status_code == 200


def test_logout_ends_the_session_on_the_server(client, build):
    build.user("carol", password="carol-password-1")
    _login(client, "carol", "carol-password-1")
    cookie = client.get_cookie("session")
    assert cookie is not None and client.get("/api/v1/me").status_code == 200
    csrf = client.get("/api/v1/session").get_json()["csrf_token"]
    assert client.delete("/api/v1/session", headers={"X-CSRFToken": csrf}).status_code == 204
    client.set_cookie("session", cookie.value)  # the cookie kept from before the logout
    assert client.get("/api/v1/me").status_code == 401
    _login(client, "carol", "carol-password-1")  # a new login works again
    assert client.get("/api/v1/me").status_code == 200


def test_the_pages_logout_ends_the_session_on_the_server(client, build):
    build.user("carol", password="carol-password-1")
    _login(client, "carol", "carol-password-1")
    cookie = client.get_cookie("session")
    csrf = client.get("/api/v1/session").get_json()["csrf_token"]
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    client.set_cookie("session", cookie.value)
    assert client.get("/", follow_redirects=False).status_code == 302  # to the login page
    assert client.get("/api/v1/me").status_code == 401


def test_a_setting_makes_the_session_cookie_secure(tmp_path, database_url, monkeypatch, build):
    build.user("carol", password="carol-password-1")
    monkeypatch.setenv("GRADER_SECURE_COOKIES", "true")
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test secret",
                      "INSTANCE_PATH": str(tmp_path)})
    try:
        client = app.test_client()
        csrf = client.get("/api/v1/session", base_url="https://localhost").get_json()["csrf_token"]
        response = client.post("/api/v1/session", base_url="https://localhost",
                               json={"name": "carol", "password": "carol-password-1"},
                               headers={"X-CSRFToken": csrf, "Referer": "https://localhost/"})
        assert response.status_code == 200
        assert "Secure" in response.headers["Set-Cookie"]
    finally:
        db.database(app).dispose()


def _parse(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text)
