"""Launches that come together on PostgreSQL: a class opening a new link at once, a student
who clicks twice. Each is answered (no 500), and makes one link, one account, one enrolment.

On SQLite a launch's transaction holds the database's one writer from its first
statement, so launches take turns; on PostgreSQL they run side by side, and two may both
find no row of what they are about to create.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from grader.service import db
from grader.service.lti.models import LtiIdentity, LtiResourceLink
from grader.service.models import Enrolment
from tests.lti.conftest import auth_params, start_login
from tests.lti.fake_platform import CLAIM, LEARNER

TOGETHER = 8


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


def launch_together(app, lms, claims_list: list[dict]) -> list[int]:
    """Each launch's login and authorisation one after the other; then the posts at once."""
    clients = [app.test_client() for _ in claims_list]
    forms = []
    for client, claims in zip(clients, claims_list, strict=True):
        started = start_login(client, lms)
        lms.next_launch = claims
        forms.append(lms.authorize(auth_params(started)))
    with ThreadPoolExecutor(len(clients)) as pool:
        posts = [pool.submit(client.post, "/lti/launch", data=form)
                 for client, form in zip(clients, forms, strict=True)]
        return [post.result().status_code for post in posts]


def count(app, statement) -> int:
    with db.database(app).sessionmaker() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(statement.subquery()))


def test_a_class_opening_a_new_link_at_once_makes_one_link(app, lms, course):
    custom = {CLAIM + "custom": {"assignment_id": str(course.assignment_id)}}
    claims = [lms.launch_claims(f"student-{n}", [LEARNER], **custom) for n in range(TOGETHER)]
    assert launch_together(app, lms, claims) == [302] * TOGETHER
    assert count(app, sa.select(LtiResourceLink)) == 1
    assert count(app, sa.select(LtiIdentity)) == TOGETHER


def test_a_new_student_launching_twice_at_once_is_one_account_enrolled_once(app, lms, course):
    custom = {CLAIM + "custom": {"assignment_id": str(course.assignment_id)}}
    claims = [lms.launch_claims("student-1", [LEARNER], **custom) for _ in range(TOGETHER)]
    assert launch_together(app, lms, claims) == [302] * TOGETHER
    assert count(app, sa.select(LtiIdentity)) == 1
    assert count(app, sa.select(Enrolment).where(Enrolment.course_id == course.id,
                                                 Enrolment.role == "student")) == 1
