"""An account the LMS made, joined to the account its user had here before: they prove the
older one theirs with its password, and the LMS opens it from then on."""

from __future__ import annotations

import re

import sqlalchemy as sa

from grader.service import db
from grader.service.lti.models import AccountMerge, LtiGradeSync, LtiIdentity
from grader.service.models import Enrolment, Submission, User
from tests.lti.conftest import launch
from tests.lti.fake_platform import CLAIM, INSTRUCTOR, LEARNER
from tests.lti.test_ags import deliver, submit_right_answer
from tests.lti.test_lineitems import token_of
from tests.test_pages import PASSWORD, log_in, post

PAGE = "/lti/join-account"
SHOWN = re.compile(r'name="holdings" value="([^"]*)"')


def lms_launch(client, lms, course, sub="student-1", roles=(LEARNER,)):
    custom = {CLAIM + "custom": {"assignment_id": str(course.assignment_id)}}
    claims = lms.launch_claims(sub, list(roles), **custom)
    response = launch(client, lms, claims)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def owner_of(app, sub) -> User:
    with db.database(app).sessionmaker() as session:
        return session.scalar(sa.select(User).join(LtiIdentity).where(LtiIdentity.sub == sub))


def logged_in(client) -> str | None:
    user = client.get("/api/v1/session").get_json()["user"]
    return user and user["name"]


def join(client, name, password, holdings=None):
    """Post the page's form, confirming what the page shows (or ``holdings``)."""
    if holdings is None:
        holdings = SHOWN.search(client.get(PAGE).get_data(as_text=True)).group(1)
    return post(client, PAGE, {"name": name, "password": password, "holdings": holdings}, PAGE)


def test_a_student_joins_the_account_they_had_and_the_lms_opens_it_from_then_on(
    app, client, lms, course, build
):
    alice = build.user("alice", password="alices-password")
    lms_launch(client, lms, course)
    made = owner_of(app, "student-1")
    assert made.id != alice.id
    start = client.get("/").get_data(as_text=True)
    assert 'id="join-heading"' in start  # the start page offers it

    assert join(client, "alice", "wrong").status_code == 401
    assert owner_of(app, "student-1").id == made.id  # nothing moved
    joined = join(client, "alice", "alices-password")
    assert joined.status_code == 302
    assert owner_of(app, "student-1").id == alice.id
    with db.database(app).sessionmaker() as session:
        roles = dict(session.execute(sa.select(Enrolment.user_id, Enrolment.role)
                                     .where(Enrolment.course_id == course.id)).all())
    assert roles.get(alice.id) == "student" and made.id not in roles
    assert logged_in(client) == "alice"
    assert 'id="join-heading"' not in client.get("/").get_data(as_text=True)

    other = app.test_client()
    lms_launch(other, lms, course)  # the next launch logs alice in
    assert logged_in(other) == "alice"
    assert 'id="join-heading"' not in other.get("/").get_data(as_text=True)


def test_an_instructor_joins_the_account_that_built_the_course(app, client, lms, course):
    lms_launch(client, lms, course, "teacher-1", (INSTRUCTOR,))
    assert join(client, "teacher", "teacher-password").status_code == 302
    assert owner_of(app, "teacher-1").id == course.teacher.id
    with db.database(app).sessionmaker() as session:
        enrolled = session.scalars(sa.select(Enrolment).where(Enrolment.course_id == course.id)).all()
    assert [(e.user_id, e.role) for e in enrolled] == [(course.teacher.id, "instructor")]


def test_an_lms_account_with_answers_is_joined_with_them_and_the_lms_gets_the_merged_score(
    app, client, lms, course, build
):
    alice = build.user("alice", password="alices-password")
    lms_launch(client, lms, course)
    made = owner_of(app, "student-1")
    their_token = token_of(app, "student-1")
    submit_right_answer(client, their_token, course.item_ids[0])
    page = client.get(PAGE).get_data(as_text=True)
    assert "1 answer to 1 assignment question" in page and "1 course" in page

    joined = join(client, "alice", "alices-password")
    assert joined.status_code == 302
    assert "Joined with 1 answer" in client.get("/").get_data(as_text=True)
    with db.database(app).sessionmaker() as session:
        assert session.scalars(sa.select(Submission.user_id)).all() == [alice.id]
        [sync] = session.scalars(sa.select(LtiGradeSync)).all()
        assert (sync.user_id, sync.state) == (alice.id, "waiting")
    assert client.get("/api/v1/courses", headers=their_token).status_code == 401  # its token is revoked
    assert owner_of(app, "student-1").id == alice.id

    deliver(app)
    sent = lms.recorded.scores[-1]
    assert (sent["userId"], sent["scoreGiven"], sent["scoreMaximum"]) == ("student-1", 2.0, 3.0)
    with db.database(app).sessionmaker() as session:
        record = session.scalar(sa.select(AccountMerge))
        assert (record.from_user_id, record.into_user_id) == (made.id, alice.id)


def test_a_session_of_the_merged_account_ends_and_it_opens_no_more(app, client, lms, course, build):
    build.user("alice", password="alices-password")
    other_tab = app.test_client()
    lms_launch(other_tab, lms, course)  # the same student, logged in elsewhere
    lms_launch(client, lms, course)
    assert logged_in(other_tab) is not None
    assert join(client, "alice", "alices-password").status_code == 302
    assert logged_in(other_tab) is None
    assert logged_in(client) == "alice"


def test_the_page_says_what_will_move_and_a_changed_account_is_shown_again(app, client, lms, course, build):
    build.user("alice", password="alices-password")
    lms_launch(client, lms, course)
    made = owner_of(app, "student-1")
    page = client.get(PAGE).get_data(as_text=True)
    shown = SHOWN.search(page).group(1)
    moving = page.split('id="join-moving"')[1].split("</ul>")[0]
    assert "1 course you are enrolled in" in moving and "answer" not in moving
    submit_right_answer(client, token_of(app, "student-1"), course.item_ids[0])  # from another tab

    stale = join(client, "alice", "alices-password", holdings=shown)
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert "changed since the page was shown" in text and "1 answer to 1 assignment question" in text
    assert owner_of(app, "student-1").id == made.id  # nothing moved
    assert join(client, "alice", "alices-password", holdings="").status_code == 409
    assert join(client, "alice", "alices-password").status_code == 302


def test_both_accounts_answering_one_question_is_refused_naming_it(app, client, lms, course, build):
    alice = build.user("alice", password="alices-password")
    build.enrol(course.id, alice)
    submit_right_answer(client, alice.headers, course.item_ids[1])
    lms_launch(client, lms, course)
    made = owner_of(app, "student-1")
    submit_right_answer(client, token_of(app, "student-1"), course.item_ids[1])
    refused = join(client, "alice", "alices-password")
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "both accounts have answers to" in text and "Homework 1: question 2" in text
    assert owner_of(app, "student-1").name.startswith("lti")
    with db.database(app).sessionmaker() as session:
        assert sorted(session.scalars(sa.select(Submission.user_id))) == sorted([alice.id, made.id])


def test_the_instructor_sees_the_join_on_the_students_timeline(app, client, lms, course, build):
    alice = build.user("alice", password="alices-password")
    lms_launch(client, lms, course)
    submit_right_answer(client, token_of(app, "student-1"), course.item_ids[0])
    assert join(client, "alice", "alices-password").status_code == 302

    teacher = app.test_client()
    post(teacher, "/login", {"name": "teacher", "password": "teacher-password"}, "/login")
    page = teacher.get(f"/courses/{course.id}/students/{alice.id}").get_data(as_text=True)
    assert 'id="joined-heading"' in page and "lti" in page and "1 answer to 1 assignment question" in page
    timeline = client.get(f"/api/v1/courses/{course.id}/students/{alice.id}/timeline",
                          headers=course.teacher.headers).get_json()
    [joined] = timeline["joined_accounts"]
    assert joined["from_name"].startswith("lti") and joined["moved"]["assignment_answers"] == 1
    assert len(timeline["submissions"]) == 1


def test_an_account_joined_to_another_user_of_the_lms_is_not_joined_again(app, client, lms, course, build):
    build.user("alice", password="alices-password")
    lms_launch(client, lms, course)
    assert join(client, "alice", "alices-password").status_code == 302
    second = app.test_client()
    lms_launch(second, lms, course, "student-2")
    refused = join(second, "alice", "alices-password")
    assert refused.status_code == 409
    assert "joined to another user of this LMS" in refused.get_data(as_text=True)


def test_only_an_account_the_lms_made_may_join(app, client, lms, course, build):
    build.user("bob", password=PASSWORD)
    log_in(client, "bob")
    assert client.get(PAGE).status_code == 403
    assert 'id="join-heading"' not in client.get("/").get_data(as_text=True)


def test_guessing_the_other_accounts_password_is_limited_as_logins_are(app, client, lms, course, build):
    app.config["LOGIN_FAILURES_PER_ACCOUNT"] = "3 per 15 minutes"
    build.user("alice", password="alices-password")
    lms_launch(client, lms, course)
    assert [join(client, "alice", f"guess {n}").status_code for n in range(3)] == [401] * 3
    assert join(client, "alice", "alices-password").status_code == 429


def full_name(app, user_id) -> str:
    with db.database(app).sessionmaker() as session:
        return session.get(User, user_id).full_name


def test_a_joined_account_keeps_its_own_name_and_takes_the_lms_name_only_when_it_has_none(
    app, client, lms, course, build
):
    alice = build.user("alice", password="alices-password", full_name="Alice Liddell")
    bob = build.user("bob", password="bobs-password")
    lms_launch(client, lms, course)
    assert full_name(app, owner_of(app, "student-1").id) == "User student-1"  # the LMS's own account
    assert join(client, "alice", "alices-password").status_code == 302
    lms_launch(app.test_client(), lms, course)
    assert full_name(app, alice.id) == "Alice Liddell"

    second = app.test_client()
    lms_launch(second, lms, course, "student-2")
    assert join(second, "bob", "bobs-password").status_code == 302
    lms_launch(app.test_client(), lms, course, "student-2")
    assert full_name(app, bob.id) == "User student-2"
