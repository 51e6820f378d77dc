"""Fixtures of the LTI tests: a local LMS (tests/lti/fake_platform.py) registered with the tool."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from grader.service import db
from grader.service.lti import keys, platforms
from grader.service.lti.launch import key_sets
from grader.service.lti.models import LtiPlatform
from grader.service.models import Course as CourseRow
from tests.conftest import Account, Builder
from tests.lti.fake_platform import CONTEXT_ID, FakePlatform

ITEMS = [
    {"kind": "softmax_jacobian", "K": 3, "points": 2.0},
    {"kind": "softmax_jacobian", "K": 2, "points": 1.0},
]


@pytest.fixture
def lms(app: Flask) -> Iterator[FakePlatform]:
    sessionmaker = db.database(app).sessionmaker

    def tool_key_set() -> dict[str, Any]:
        with sessionmaker() as session:
            return keys.public_key_set(session)

    platform = FakePlatform().start()
    platform.tool_key_set = tool_key_set
    key_sets.clear()
    yield platform
    platform.stop()


@pytest.fixture
def platform_id(app: Flask, lms: FakePlatform) -> int:
    with db.database(app).sessionmaker.begin() as session:
        return platforms.register(session, platforms.PlatformIn(**lms.registration())).id


@dataclass
class Course:
    """A course here, connected to the LMS course, with a two-item assignment (3 points)."""

    id: int
    assignment_id: int
    item_ids: list[int]
    teacher: Account


@pytest.fixture
def course(app: Flask, build: Builder, platform_id: int) -> Course:
    teacher = build.user("teacher", "instructor", password="teacher-password")
    course_id = build.course(teacher)
    assignment_id, item_ids = build.assignment(course_id, ITEMS)
    with db.database(app).sessionmaker.begin() as session:
        platform = session.get(LtiPlatform, platform_id)
        platforms.link_context(session, platform, CONTEXT_ID, session.get(CourseRow, course_id))
    return Course(course_id, assignment_id, item_ids, teacher)


def start_login(client: FlaskClient, lms: FakePlatform, **extra: str) -> TestResponse:
    params = {
        "iss": lms.issuer,
        "login_hint": "hint-1",
        "target_link_uri": "http://localhost/lti/launch",
        "client_id": "grader-tool-client",
        **extra,
    }
    return client.post("/lti/login", data=params)


def auth_params(response: TestResponse) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}


def launch(client: FlaskClient, lms: FakePlatform, claims: dict[str, Any]) -> TestResponse:
    """A whole launch as a browser makes it: login initiation, the platform's auth, the post."""
    started = start_login(client, lms)
    assert started.status_code == 302, started.get_data(as_text=True)
    lms.next_launch = claims
    form = requests.get(started.headers["Location"], timeout=10).json()
    return client.post("/lti/launch", data=form)
