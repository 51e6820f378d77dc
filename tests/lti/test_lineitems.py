"""A link the LMS gave no line item (added to the LMS course by hand, not by deep linking):
an instructor's launch has one created through AGS, once, and its students' scores go there."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from grader.service import accounts, db
from grader.service.lti.models import LtiIdentity, LtiResourceLink
from grader.service.models import User
from tests.conftest import bearer
from tests.lti.conftest import launch
from tests.lti.fake_platform import CLAIM, INSTRUCTOR, LEARNER, LINEITEM_SCOPE
from tests.lti.test_ags import deliver, submit_right_answer, syncs


def custom(course) -> dict:
    return {CLAIM + "custom": {"assignment_id": str(course.assignment_id)}}


def the_link(app) -> LtiResourceLink:
    with db.database(app).sessionmaker() as session:
        return session.scalar(sa.select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "link-1"))


def teacher_launch(client, lms, course, **extra):
    claims = lms.launch_claims("teacher-1", [INSTRUCTOR], **custom(course), **extra)
    response = launch(client, lms, claims)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert f"/courses/{course.id}" in response.headers["Location"]
    return response


def test_an_instructor_launch_creates_the_missing_line_item_once_and_the_scores_go_there(
    app, client, lms, course
):
    student = lms.launch_claims("student-1", [LEARNER], lineitems_only=True, **custom(course))
    assert launch(client, lms, student).status_code == 302
    assert lms.recorded.lineitems_created == []  # a student's launch leaves it to the instructor
    with db.database(app).sessionmaker.begin() as session:
        user = session.scalar(sa.select(User).join(LtiIdentity).where(LtiIdentity.sub == "student-1"))
        headers = bearer(accounts.issue_token(session, user))
    submit_right_answer(client, headers, course.item_ids[0])
    assert syncs(app) == []  # nowhere to send it yet

    teacher_launch(client, lms, course, lineitems_only=True)
    assert lms.recorded.lineitem_queries == ["resource_link_id=link-1"]  # looked for one first
    assert lms.recorded.lineitems_created == [{
        "scoreMaximum": 3.0,
        "label": "Homework 1",
        "resourceLinkId": "link-1",
        "resourceId": f"assignment-{course.assignment_id}",
    }]
    assert [r["scope"] for r in lms.recorded.token_requests] == [LINEITEM_SCOPE]
    link = the_link(app)
    assert link.lineitem_url == lms.lineitem(100)
    assert LINEITEM_SCOPE in link.ags_scopes
    assert [sync.state for sync in syncs(app)] == ["waiting"]  # the score earned before

    assert deliver(app).sent == 1
    assert lms.recorded.score_urls == ["/courses/42/lineitems/100/lineitem/scores"]
    assert lms.recorded.scores[0]["scoreGiven"] == 2.0

    teacher_launch(client, lms, course, lineitems_only=True)  # a relaunch
    assert len(lms.recorded.lineitems_created) == 1
    assert the_link(app).lineitem_url == lms.lineitem(100)


def test_a_line_item_the_lms_has_for_the_link_is_taken_not_created_again(app, client, lms, course):
    lms.lineitems = [
        {"id": lms.lineitem(8), "resourceLinkId": "link-2", "label": "Another link"},
        {"id": lms.lineitem(7), "resourceLinkId": "link-1", "label": "Homework 1"},
    ]
    teacher_launch(client, lms, course, lineitems_only=True)
    assert lms.recorded.lineitems_created == []
    assert the_link(app).lineitem_url == lms.lineitem(7)


@pytest.mark.parametrize("trouble", ["refuses", "down"])
def test_an_lms_that_refuses_the_line_item_leaves_the_launch_working(app, client, lms, course, trouble):
    if trouble == "refuses":
        lms.refuse_lineitems = True
    else:
        lms.down = True
    teacher_launch(client, lms, course, lineitems_only=True)  # in all the same
    assert lms.recorded.lineitems_created == []
    link = the_link(app)
    assert link is not None and link.assignment_id == course.assignment_id
    assert link.lineitem_url is None

    lms.refuse_lineitems = lms.down = False  # a later launch tries again
    teacher_launch(client, lms, course, lineitems_only=True)
    assert len(lms.recorded.lineitems_created) == 1
    assert the_link(app).lineitem_url == lms.lineitem(100)


def test_a_launch_with_a_line_item_creates_none(app, client, lms, course):
    teacher_launch(client, lms, course)  # its claim offers the container too, and the scope
    assert lms.recorded.lineitem_queries == [] and lms.recorded.lineitems_created == []
    assert lms.recorded.token_requests == []
    assert the_link(app).lineitem_url == lms.lineitem()


def test_a_link_without_an_assignment_or_without_the_scope_gets_none(app, client, lms, course):
    claims = lms.launch_claims("teacher-1", [INSTRUCTOR], lineitems_only=True)  # opens no assignment
    assert launch(client, lms, claims).status_code == 302
    ags_claim = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
    claims = lms.launch_claims("teacher-1", [INSTRUCTOR], lineitems_only=True, **custom(course))
    claims[ags_claim]["scope"] = ["https://purl.imsglobal.org/spec/lti-ags/scope/score"]
    teacher_launch_response = launch(client, lms, claims)
    assert teacher_launch_response.status_code == 302
    assert lms.recorded.lineitem_queries == [] and lms.recorded.lineitems_created == []
    assert the_link(app).lineitem_url is None
