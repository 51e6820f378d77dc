"""Rate limits: failed logins per account and per address; function answers per user."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import grader.web.api.check
from grader.service import db
from grader.web import create_app
from tests.conftest import Builder

PASSWORD = "the right password"
FUNCTION = "import numpy as np\ndef softmax(z):\n    return np.exp(z) / np.exp(z).sum()\n"
SYNTAX_ERROR = "def softmax(z):\n    return (\n"


@pytest.fixture
def limited(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    app = create_app({
        "TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "test secret",
        "INSTANCE_PATH": str(tmp_path),
        "LOGIN_FAILURES_PER_ACCOUNT": "5 per 15 minutes",
        "LOGIN_FAILURES_PER_ADDRESS": "8 per 15 minutes",
        "SANDBOX_RUNS_PER_MINUTE": "3 per minute",
        "SANDBOX_RUNS_AT_ONCE": 1,
    })
    yield app
    db.database(app).dispose()


@pytest.fixture
def users(limited: Flask) -> dict[str, Any]:
    build = Builder(limited)
    return {name: build.user(name, password=PASSWORD) for name in ("alice", "bob", "carol")}


def api_login(client: Any, name: str, password: str) -> Any:
    csrf = client.get("/api/v1/session").get_json()["csrf_token"]
    return client.post("/api/v1/session", json={"name": name, "password": password},
                       headers={"X-CSRFToken": csrf})


def form_login(client: Any, name: str, password: str) -> Any:
    csrf = client.get("/api/v1/session").get_json()["csrf_token"]
    return client.post("/login", data={"name": name, "password": password, "csrf_token": csrf})


def test_wrong_passwords_then_the_right_one_is_refused_with_when_to_retry(limited, users):
    client = limited.test_client()
    for _ in range(5):
        assert api_login(client, "alice", "wrong password").status_code == 401
    response = api_login(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    message = response.get_json()["error"]["message"]
    assert "too many failed logins to this account" in message and "try again in" in message
    assert api_login(client, "bob", PASSWORD).status_code == 200  # another account still can


def test_the_form_and_the_api_count_failures_together(limited, users):
    client = limited.test_client()
    for attempt in range(5):
        login = form_login if attempt % 2 else api_login
        assert login(client, "alice", "wrong password").status_code == 401
    page = form_login(client, "alice", PASSWORD)
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    text = page.get_data(as_text=True)
    assert "Too many failed logins to this account: try again in" in text
    assert 'name="password"' in text  # the login form again, to retry later


def test_failures_per_address_are_limited_across_accounts(limited, users):
    client = limited.test_client()
    for attempt in range(8):
        assert api_login(client, f"nobody{attempt}", "wrong password").status_code == 401
    response = api_login(client, "carol", PASSWORD)
    assert response.status_code == 429
    assert "from this address" in response.get_json()["error"]["message"]
    elsewhere = limited.test_client()
    response = elsewhere.post("/api/v1/session", json={"name": "carol", "password": PASSWORD},
                              headers={"X-CSRFToken": elsewhere.get("/api/v1/session").get_json()[
                                  "csrf_token"]}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert response.status_code == 200


def test_successful_logins_do_not_count(limited, users):
    client = limited.test_client()
    for _ in range(12):
        assert api_login(client, "alice", PASSWORD).status_code == 200


def check(client: Any, account: Any, answer: str, fmt: str) -> Any:
    return client.post("/api/v1/check", headers=account.headers,
                       json={"instance": {"kind": "softmax", "z": [1.0, 2.0]}, "answer": answer,
                             "format": fmt})


def test_function_answers_are_limited_per_user(limited, users):
    client = limited.test_client()
    alice, bob = users["alice"], users["bob"]
    for _ in range(3):
        assert check(client, alice, SYNTAX_ERROR, "python").status_code == 200
    refused = check(client, alice, SYNTAX_ERROR, "python")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "function answers" in refused.get_json()["error"]["message"]
    assert check(client, alice, "[0.5, 0.5]", "json").status_code == 200  # no sandbox run
    assert check(client, bob, SYNTAX_ERROR, "python").status_code == 200


def test_refused_function_answers_use_none_of_the_runs(limited, users):
    client = limited.test_client()
    alice = users["alice"]
    for _ in range(4):  # no such item: nothing ran
        missing = client.post("/api/v1/submissions", headers=alice.headers,
                              json={"item_id": 999_999, "answer": SYNTAX_ERROR, "format": "python"})
        assert missing.status_code == 404
    for _ in range(3):
        assert check(client, alice, SYNTAX_ERROR, "python").status_code == 200
    assert check(client, alice, SYNTAX_ERROR, "python").status_code == 429


def test_one_user_cannot_hold_the_whole_pool(limited, users, monkeypatch):
    inside, release = threading.Event(), threading.Event()
    real_grade = grader.web.api.check.grade

    def held_grade(*args: Any, **kwargs: Any) -> Any:
        if not inside.is_set():
            inside.set()
            release.wait(30)
        return real_grade(*args, **kwargs)

    monkeypatch.setattr(grader.web.api.check, "grade", held_grade)
    alice, bob = users["alice"], users["bob"]
    first: list[Any] = []
    running = threading.Thread(
        target=lambda: first.append(check(limited.test_client(), alice, FUNCTION, "python")))
    running.start()
    try:
        assert inside.wait(30)
        busy = check(limited.test_client(), alice, FUNCTION, "python")
        assert busy.status_code == 429 and "running" in busy.get_json()["error"]["message"]
        assert check(limited.test_client(), bob, FUNCTION, "python").status_code == 200
    finally:
        release.set()
        running.join(30)
    assert first[0].status_code == 200
    assert check(limited.test_client(), alice, FUNCTION, "python").status_code == 200  # freed


def test_checks_and_submissions_share_the_count(limited, users):
    build = Builder(limited)
    teacher = build.user("teacher", "instructor")
    course_id = build.course(teacher, [users["alice"]])
    _, (item_id,) = build.assignment(course_id, [{"kind": "softmax", "K": 2}])
    client, alice = limited.test_client(), users["alice"]
    for _ in range(2):
        assert check(client, alice, SYNTAX_ERROR, "python").status_code == 200
    stored = client.post("/api/v1/submissions", headers=alice.headers,
                         json={"item_id": item_id, "answer": SYNTAX_ERROR, "format": "python"})
    assert stored.status_code == 201
    refused = client.post("/api/v1/submissions", headers=alice.headers,
                          json={"item_id": item_id, "answer": SYNTAX_ERROR, "format": "python"})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert check(client, alice, SYNTAX_ERROR, "python").status_code == 429
