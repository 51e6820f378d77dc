"""A link the LMS gave no line item (added to the LMS course by hand, not by deep linking):
any launch of it, a learner's too, has one created through AGS, once however many launch
at the same moment, and its students' scores go there."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import timedelta

import pytest
import sqlalchemy as sa

from grader.service import accounts, db
from grader.service.lti import lineitems
from grader.service.lti.models import LtiIdentity, LtiResourceLink
from grader.service.models import User, utcnow
from tests.conftest import bearer
from tests.lti.conftest import auth_params, launch, start_login
from tests.lti.fake_platform import CLAIM, INSTRUCTOR, LEARNER, LINEITEM_SCOPE
from tests.lti.test_ags import deliver, submit_right_answer, syncs

CONCURRENT_LAUNCHES = 8
#: who launches the link once it may have its line item
LAUNCHERS = {"learner": ("student-2", [LEARNER]), "instructor": ("teacher-1", [INSTRUCTOR])}


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


def student_launch(client, lms, course, sub="student-1"):
    """A learner's launch of the hand-added link (its claim offers the container, no line item)."""
    claims = lms.launch_claims(sub, [LEARNER], lineitems_only=True, **custom(course))
    response = launch(client, lms, claims)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "/items/" in response.headers["Location"]
    return response


def token_of(app, sub) -> dict[str, str]:
    with db.database(app).sessionmaker.begin() as session:
        user = session.scalar(sa.select(User).join(LtiIdentity).where(LtiIdentity.sub == sub))
        return bearer(accounts.issue_token(session, user))


@pytest.mark.parametrize("who", LAUNCHERS)
def test_a_launch_creates_the_missing_line_item_once_and_the_scores_go_there(
    app, client, lms, course, who
):
    lms.refuse_lineitems = True  # at the first student's launch: the link stays without one
    student_launch(client, lms, course)
    assert lms.recorded.lineitems_created == []
    submit_right_answer(client, token_of(app, "student-1"), course.item_ids[0])
    assert syncs(app) == []  # nowhere to send it yet

    lms.refuse_lineitems = False
    lms.recorded.lineitem_queries.clear()
    lms.recorded.token_requests.clear()
    sub, roles = LAUNCHERS[who]
    claims = lms.launch_claims(sub, roles, lineitems_only=True, **custom(course))
    assert launch(client, lms, claims).status_code == 302
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
    assert link.lineitem_claimed_at is None
    assert LINEITEM_SCOPE in link.ags_scopes
    assert [sync.state for sync in syncs(app)] == ["waiting"]  # the score earned before

    assert deliver(app).sent == 1
    assert lms.recorded.score_urls == ["/courses/42/lineitems/100/lineitem/scores"]
    assert lms.recorded.scores[0]["scoreGiven"] == 2.0

    student_launch(client, lms, course)  # a relaunch
    teacher_launch(client, lms, course, lineitems_only=True)
    assert len(lms.recorded.lineitems_created) == 1
    assert lms.recorded.lineitem_queries == ["resource_link_id=link-1"]  # nor looked for again
    assert the_link(app).lineitem_url == lms.lineitem(100)


def test_launches_at_the_same_moment_create_one_line_item(app, lms, course, monkeypatch):
    # the claimant's calls wait for the others' launches: no budget cut short on a slow machine
    monkeypatch.setattr(lineitems, "CALL_TIMEOUT_SECONDS", 60.0)
    monkeypatch.setattr(lineitems, "LAUNCH_BUDGET_SECONDS", 120.0)
    lms.refuse_lineitems = True  # the link is stored, without a line item
    student_launch(app.test_client(), lms, course, "student-0")
    lms.refuse_lineitems = False
    lms.recorded.lineitem_queries.clear()

    # each student's login and the LMS's authorisation, one after the other; then the posts at once
    clients = [app.test_client() for _ in range(CONCURRENT_LAUNCHES)]
    forms = []
    for number, student_client in enumerate(clients, start=1):
        started = start_login(student_client, lms)
        lms.next_launch = lms.launch_claims(
            f"student-{number}", [LEARNER], lineitems_only=True, **custom(course)
        )
        forms.append(lms.authorize(auth_params(started)))
    lms.hold_lineitems = threading.Event()  # the LMS answers the claimant once the others are in
    with ThreadPoolExecutor(CONCURRENT_LAUNCHES) as pool:
        posts = [pool.submit(student_client.post, "/lti/launch", data=form)
                 for student_client, form in zip(clients, forms, strict=True)]
        answered = []
        for post in as_completed(posts):
            answered.append(post.result().status_code)
            if len(answered) == CONCURRENT_LAUNCHES - 1:
                created_meanwhile = list(lms.recorded.lineitems_created)
                lms.hold_lineitems.set()
    assert answered == [302] * CONCURRENT_LAUNCHES
    assert created_meanwhile == []  # the others went on without waiting for the claimant's LMS
    assert lms.recorded.lineitem_queries == ["resource_link_id=link-1"]
    assert len(lms.recorded.lineitems_created) == 1
    link = the_link(app)
    assert link.lineitem_url == lms.lineitem(100) and link.lineitem_claimed_at is None


@pytest.mark.parametrize(
    ("claimed_ago", "taken"),
    [(timedelta(seconds=30), False), (timedelta(seconds=lineitems.CLAIM_SECONDS + 60), True)],
)
def test_a_claim_is_left_to_its_launch_until_it_is_stale(app, client, lms, course, claimed_ago, taken):
    lms.refuse_lineitems = True
    student_launch(client, lms, course)
    lms.refuse_lineitems = False
    # a launch claimed the link, had the LMS create the line item, and its process died
    lms.lineitems = [{"id": lms.lineitem(7), "resourceLinkId": "link-1", "label": "Homework 1"}]
    with db.database(app).sessionmaker.begin() as session:
        link = session.scalar(sa.select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "link-1"))
        link.lineitem_claimed_at = utcnow() - claimed_ago
    lms.recorded.lineitem_queries.clear()

    student_launch(client, lms, course, "student-2")
    assert lms.recorded.lineitems_created == []
    if taken:  # the line item the dead launch created is found, not made again
        assert lms.recorded.lineitem_queries == ["resource_link_id=link-1"]
        assert the_link(app).lineitem_url == lms.lineitem(7)
        assert the_link(app).lineitem_claimed_at is None
    else:  # left to the launch at it
        assert lms.recorded.lineitem_queries == []
        assert the_link(app).lineitem_url is None


def test_a_link_is_claimed_by_one_launch_at_a_time(app, client, lms, course):
    lms.refuse_lineitems = True
    student_launch(client, lms, course)
    link_id = the_link(app).id
    sessionmaker = db.database(app).sessionmaker
    first, second = utcnow(), utcnow() + timedelta(seconds=1)
    with sessionmaker.begin() as session:
        assert lineitems.claim(session, link_id, first)
    with sessionmaker.begin() as session:
        assert not lineitems.claim(session, link_id, second)
        lineitems.release(session, link_id, second)  # not its claim: nothing released
    with sessionmaker.begin() as session:
        assert not lineitems.claim(session, link_id, second)
        lineitems.release(session, link_id, first)
    with sessionmaker.begin() as session:
        assert lineitems.claim(session, link_id, second)
        session.get(LtiResourceLink, link_id).lineitem_url = lms.lineitem(9)
    stale = second + timedelta(seconds=lineitems.CLAIM_SECONDS + 1)
    with sessionmaker.begin() as session:
        assert not lineitems.claim(session, link_id, stale)  # it has its line item


def test_a_line_item_the_lms_has_for_the_link_is_taken_not_created_again(app, client, lms, course):
    lms.lineitems = [
        {"id": lms.lineitem(8), "resourceLinkId": "link-2", "label": "Another link"},
        {"id": lms.lineitem(7), "resourceLinkId": "link-1", "label": "Homework 1"},
    ]
    teacher_launch(client, lms, course, lineitems_only=True)
    assert lms.recorded.lineitems_created == []
    assert the_link(app).lineitem_url == lms.lineitem(7)


@pytest.mark.parametrize("trouble", ["refuses", "down", "breaks"])
def test_an_lms_that_refuses_the_line_item_leaves_the_launch_working(
    app, client, lms, course, trouble, monkeypatch
):
    if trouble == "refuses":
        lms.refuse_lineitems = True
    elif trouble == "down":
        lms.down = True
    else:  # something unforeseen on the way: the launch goes on all the same
        def broken(*args, **kwargs):
            raise RuntimeError("unforeseen")

        monkeypatch.setattr(lineitems, "find", broken)
    student_launch(client, lms, course)  # in all the same
    assert lms.recorded.lineitems_created == []
    link = the_link(app)
    assert link is not None and link.assignment_id == course.assignment_id
    assert link.lineitem_url is None
    assert link.lineitem_claimed_at is None  # released: the next launch tries again

    lms.refuse_lineitems = lms.down = False
    monkeypatch.undo()
    student_launch(client, lms, course, "student-2")
    assert len(lms.recorded.lineitems_created) == 1
    assert the_link(app).lineitem_url == lms.lineitem(100)


def test_an_lms_that_hangs_is_not_waited_for_again_until_the_claim_is_stale(
    app, client, lms, course, monkeypatch
):
    monkeypatch.setattr(lineitems, "CALL_TIMEOUT_SECONDS", lineitems.SLOW_FAILURE_SECONDS + 0.5)
    held = lms.hold_lineitems = threading.Event()  # set at the end: the container's answer times out
    student_launch(client, lms, course)
    assert the_link(app).lineitem_claimed_at is not None  # kept: the next launches go on at once
    lms.hold_lineitems = None  # the LMS answers at once from now on
    lms.recorded.lineitem_queries.clear()
    student_launch(client, lms, course, "student-2")
    assert lms.recorded.lineitem_queries == []  # not asked again

    with db.database(app).sessionmaker.begin() as session:  # two minutes on
        link = session.scalar(sa.select(LtiResourceLink).where(LtiResourceLink.resource_link_id == "link-1"))
        link.lineitem_claimed_at -= timedelta(seconds=lineitems.CLAIM_SECONDS + 1)
    student_launch(client, lms, course, "student-3")
    assert len(lms.recorded.lineitems_created) == 1
    assert the_link(app).lineitem_url == lms.lineitem(100)
    held.set()  # the first answer goes, to no one


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
