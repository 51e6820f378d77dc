"""The joins' API and pages: the student's own join, the request it makes when both accounts
answered a question, and the instructor's decision on it, with every refusal a clear 4xx."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from grader.service import db
from grader.service.lti.models import JoinRequest
from grader.service.models import Submission
from tests.lti.test_ags import submit_right_answer
from tests.lti.test_join_account import PAGE, join, lms_launch, owner_of
from tests.lti.test_lineitems import token_of
from tests.test_pages import post

JOIN = "/api/v1/lti/join"
REQUESTS = "/api/v1/lti/join-requests"


def confirmed(client, headers) -> str:
    response = client.get(JOIN, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["fingerprint"]


def api_join(client, headers, password="alices-password", holdings=None, name="alice"):
    holdings = confirmed(client, headers) if holdings is None else holdings
    return client.post(JOIN, headers=headers, json={"name": name, "password": password, "holdings": holdings})


@pytest.fixture
def both_answered(app, client, lms, course, build):
    """Alice (enrolled) and the account the LMS made for her both answered question 2; the LMS
    account answered question 1 alone. Its headers."""
    alice = build.user("alice", password="alices-password")
    build.enrol(course.id, alice)
    submit_right_answer(client, alice.headers, course.item_ids[1])
    lms_launch(client, lms, course)
    theirs = token_of(app, "student-1")
    submit_right_answer(client, theirs, course.item_ids[0])
    submit_right_answer(client, theirs, course.item_ids[1])
    return alice, theirs


def decide(client, headers, request_id, counts, fingerprint=None):
    if fingerprint is None:
        fingerprint = client.get(f"{REQUESTS}/{request_id}", headers=headers).get_json()["fingerprint"]
    return client.post(f"{REQUESTS}/{request_id}/resolve", headers=headers, json={
        "fingerprint": fingerprint, "choices": [{"question_id": q, "counts": c} for q, c in counts.items()],
    })


def test_a_student_joins_through_the_api_and_its_token_ends(app, client, lms, course, build):
    alice = build.user("alice", password="alices-password")
    lms_launch(client, lms, course)
    theirs = token_of(app, "student-1")
    submit_right_answer(client, theirs, course.item_ids[0])

    wrong = api_join(client, theirs, password="wrong")
    assert wrong.status_code == 401 and wrong.get_json()["error"]["code"] == "bad_login"
    joined = api_join(client, theirs)
    assert joined.status_code == 200, joined.get_json()
    body = joined.get_json()
    assert body["into"]["name"] == "alice" and body["moved"]["assignment_answers"] == 1
    assert owner_of(app, "student-1").id == alice.id
    assert client.get(JOIN, headers=theirs).status_code == 401  # its token is revoked


def test_a_changed_account_is_refused_with_what_it_holds_now(app, client, lms, course, build):
    build.user("alice", password="alices-password")
    lms_launch(client, lms, course)
    theirs = token_of(app, "student-1")
    shown = confirmed(client, theirs)
    submit_right_answer(client, theirs, course.item_ids[0])  # from another tab
    stale = api_join(client, theirs, holdings=shown)
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["error"]["code"] == "holdings_changed" and body["holdings"]["assignment_answers"] == 1
    assert api_join(client, theirs, holdings=body["holdings"]["fingerprint"]).status_code == 200


@pytest.mark.parametrize("body", [
    {},
    {"name": "alice", "password": "alices-password"},
    {"name": "alice", "password": "alices-password", "holdings": 3},
    {"name": "", "password": "x", "holdings": ""},
    {"name": "alice", "password": "alices-password", "holdings": "", "extra": 1},
])
def test_a_malformed_join_is_a_422(app, client, lms, course, build, body):
    build.user("alice", password="alices-password")
    lms_launch(client, lms, course)
    response = client.post(JOIN, headers=token_of(app, "student-1"), json=body)
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid"


def test_only_an_account_the_lms_made_joins(client, build):
    bob = build.user("bob", password="bobs-password")
    build.user("alice", password="alices-password")
    response = client.post(JOIN, headers=bob.headers, json={"name": "alice", "password": "alices-password",
                                                            "holdings": ""})
    assert response.status_code == 403
    assert "only an account your LMS made" in response.get_json()["error"]["message"]


def test_both_answering_a_question_makes_a_request_an_instructor_decides(app, client, course, both_answered):
    alice, theirs = both_answered
    refused = api_join(client, theirs)
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["error"]["code"] == "both_answered"
    assert "instructor has been asked" in body["error"]["message"]
    asked = body["join_request"]
    [conflict] = asked["conflicts"]
    assert conflict["question_id"] == course.item_ids[1] and asked["status"] == "pending"
    with db.database(app).sessionmaker() as session:
        total = session.scalar(sa.select(sa.func.count(Submission.id)))

    [listed] = client.get(REQUESTS, headers=course.teacher.headers).get_json()["requests"]
    assert listed["id"] == asked["id"] and listed["may_resolve"] is True
    [own] = client.get(REQUESTS, headers=theirs).get_json()["requests"]
    assert own["id"] == asked["id"] and own["may_resolve"] is False

    done = decide(client, course.teacher.headers, asked["id"], {course.item_ids[1]: "older"})
    assert done.status_code == 200, done.get_json()
    [apart] = done.get_json()["moved"]["set_apart"]
    assert (apart["counts"], apart["answers_set_apart"]) == ("older", 1)
    with db.database(app).sessionmaker() as session:
        assert session.scalar(sa.select(sa.func.count(Submission.id))) == total  # nothing deleted
    book = client.get(f"/api/v1/courses/{course.id}/gradebook", headers=course.teacher.headers).get_json()
    [row] = book["students"]
    assert row["user"]["name"] == "alice"
    assert [cell["attempts"] for cell in row["items"]] == [1, 1]  # question 2: alice's one answer only
    timeline = client.get(f"/api/v1/courses/{course.id}/students/{alice.id}/timeline",
                          headers=course.teacher.headers).get_json()
    [joined] = timeline["joined_accounts"]
    assert [s["item_id"] for s in joined["set_apart"]] == [course.item_ids[1]]
    assert len(timeline["submissions"]) == 2
    assert client.get(REQUESTS, headers=course.teacher.headers).get_json()["requests"] == []
    again = decide(client, course.teacher.headers, asked["id"], {course.item_ids[1]: "older"}, "x")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_pending"


def test_a_request_whose_answers_changed_is_refused_with_the_new_state(client, course, both_answered):
    alice, theirs = both_answered
    request_id = api_join(client, theirs).get_json()["join_request"]["id"]
    shown = client.get(f"{REQUESTS}/{request_id}", headers=course.teacher.headers).get_json()["fingerprint"]
    submit_right_answer(client, alice.headers, course.item_ids[0])  # now both answered question 1 too
    changed = decide(client, course.teacher.headers, request_id, {course.item_ids[1]: "lms"}, shown)
    assert changed.status_code == 409
    body = changed.get_json()
    assert body["error"]["code"] == "changed"
    now = body["join_request"]
    assert [c["question_id"] for c in now["conflicts"]] == sorted(course.item_ids)
    assert now["fingerprint"] != shown
    choices = {course.item_ids[0]: "lms", course.item_ids[1]: "lms"}
    assert decide(client, course.teacher.headers, request_id, choices, now["fingerprint"]).status_code == 200


@pytest.mark.parametrize(("choices", "problem"), [
    ([], "choices"),
    ([{"question_id": "ITEM", "counts": "both"}], "counts"),
    ([{"question_id": 999999, "counts": "lms"}], "not one both accounts answered"),
    ([{"question_id": "ITEM", "counts": "lms"}, {"question_id": "ITEM", "counts": "older"}], "once"),
    ([{"question_id": 0, "counts": "lms"}], "question_id"),
])
def test_unclear_choices_are_a_422_and_join_nothing(client, course, both_answered, choices, problem):
    _, theirs = both_answered
    request_id = api_join(client, theirs).get_json()["join_request"]["id"]
    shown = client.get(f"{REQUESTS}/{request_id}", headers=course.teacher.headers).get_json()["fingerprint"]
    for choice in choices:
        if choice["question_id"] == "ITEM":
            choice["question_id"] = course.item_ids[1]
    response = client.post(f"{REQUESTS}/{request_id}/resolve", headers=course.teacher.headers,
                           json={"fingerprint": shown, "choices": choices})
    assert response.status_code == 422, response.get_json()
    assert problem in response.get_json()["error"]["message"]
    assert client.get(f"{REQUESTS}/{request_id}", headers=theirs).get_json()["status"] == "pending"


def test_who_may_see_decide_and_withdraw_a_request(app, client, course, build, both_answered):
    alice, theirs = both_answered
    request_id = api_join(client, theirs).get_json()["join_request"]["id"]
    stranger = build.user("stranger", "instructor")
    build.course(stranger, code="OTHER")
    assert client.get(f"{REQUESTS}/{request_id}", headers=stranger.headers).status_code == 404
    assert decide(client, stranger.headers, request_id, {course.item_ids[1]: "lms"}, "x").status_code == 404
    assert client.get(REQUESTS, headers=stranger.headers).get_json()["requests"] == []

    refused = decide(client, alice.headers, request_id, {course.item_ids[1]: "lms"})
    assert refused.status_code == 403  # the student sees it, and decides nothing
    assert "only an instructor of every course concerned" in refused.get_json()["error"]["message"]
    taken_back = client.post(f"{REQUESTS}/{request_id}/withdraw", headers=course.teacher.headers)
    assert taken_back.status_code == 403

    withdrawn = client.post(f"{REQUESTS}/{request_id}/withdraw", headers=theirs)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    assert client.post(f"{REQUESTS}/{request_id}/withdraw", headers=theirs).status_code == 409
    assert client.get(f"{REQUESTS}/424242", headers=theirs).status_code == 404
    with db.database(app).sessionmaker() as session:
        assert session.get(JoinRequest, request_id).state == "withdrawn"


FINGERPRINT = re.compile(r'name="fingerprint" value="([^"]*)"')


def test_the_pages_ask_the_instructor_and_the_instructor_decides_there(app, client, course, both_answered):
    alice, _ = both_answered
    refused = join(client, "alice", "alices-password")
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "Your instructor has been asked to choose" in text and 'id="join-waiting"' in text

    teacher = app.test_client()
    post(teacher, "/login", {"name": "teacher", "password": "teacher-password"}, "/login")
    assert 'href="/lti/join-requests"' in teacher.get("/lti").get_data(as_text=True)
    page = teacher.get("/lti/join-requests").get_data(as_text=True)
    shown = FINGERPRINT.search(page).group(1)
    field = f"counts-{course.item_ids[1]}"
    assert f'name="{field}"' in page
    request_id = _pending_id(app)
    target = f"/lti/join-requests/{request_id}"
    unclear = post(teacher, target, {"fingerprint": shown}, "/lti/join-requests")
    assert unclear.status_code == 422
    at_request = unclear.get_data(as_text=True)  # the message at the request's choices, the first focused
    assert f'role="alert" id="request-{request_id}-error"' in at_request
    assert f'<fieldset aria-describedby="request-{request_id}-error">' in at_request
    assert at_request.count(" autofocus") == 1 and 'id="requests-error"' not in at_request
    done = post(teacher, target, {"fingerprint": shown, field: "lms"}, "/lti/join-requests")
    assert done.status_code == 302
    assert owner_of(app, "student-1").id == alice.id
    record = teacher.get(f"/courses/{course.id}/students/{alice.id}").get_data(as_text=True)
    assert "Answers set apart by this join" in record and "the LMS account&#39;s record counts" in record


def test_the_student_withdraws_on_the_page(app, client, course, both_answered):
    join(client, "alice", "alices-password")
    request_id = _pending_id(app)
    withdrawn = post(client, f"/lti/join-requests/{request_id}/withdraw", {}, PAGE)
    assert withdrawn.status_code == 302
    assert 'id="join-waiting"' not in client.get(PAGE).get_data(as_text=True)
    with db.database(app).sessionmaker() as session:
        assert session.get(JoinRequest, request_id).state == "withdrawn"


def _pending_id(app) -> int:
    with db.database(app).sessionmaker() as session:
        return session.scalar(sa.select(JoinRequest.id).where(JoinRequest.state == "pending"))


def test_the_closed_account_is_enrolled_nowhere_again_so_what_it_holds_stays_set_apart(
    client, course, both_answered
):
    _, theirs = both_answered
    request_id = api_join(client, theirs).get_json()["join_request"]["id"]
    closed = client.get(f"{REQUESTS}/{request_id}", headers=theirs).get_json()["lms_account"]["name"]
    decided = decide(client, course.teacher.headers, request_id, {course.item_ids[1]: "older"})
    assert decided.status_code == 200
    enrolled = client.post(f"/api/v1/courses/{course.id}/enrolments", headers=course.teacher.headers,
                           json={"user": closed, "role": "student"})
    assert enrolled.status_code == 409 and "joined into alice" in enrolled.get_json()["error"]["message"]
