"""Re-drawing a student's instance: confirmed first, told to the student, each attempt marked
with the draw it answered, and the summary about the question on the page only."""

from __future__ import annotations

import html
import json
import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.service import derivations, extensions, redraws, regrade, submissions, variants
from grader.service.models import Assignment, Derivation, GradingJob, Item, Submission, User
from grader.service.queue import GradingQueue
from tests.conftest import Account, Builder
from tests.test_pages import (  # noqa: F401  (school is a fixture)
    given_values,
    log_in,
    post,
    reference,
    school,
)


def draw_number(build: Builder, item_id: int, user_id: int) -> int | None:
    with build.sessionmaker() as session:
        variant = variants.find(session, session.get(Item, item_id), user_id)
        return None if variant is None else variant.draw_number


def test_redraw_is_confirmed_told_and_marked(
    client: FlaskClient,
    build: Builder,
    school: dict[str, Any],  # noqa: F811
) -> None:
    item, alice = school["items"][0], school["alice"]
    log_in(client, "alice")
    right = reference(build, item, alice.id)
    post(client, f"/items/{item}/submit", {"answer": json.dumps(right.tolist()), "format": "json"})
    assert "correct, full marks" in client.get(f"/items/{item}").get_data(as_text=True)

    log_in(client, "teacher")
    timeline_path = f"/courses/{school['course_id']}/students/{alice.id}"
    timeline = client.get(timeline_path).get_data(as_text=True)
    confirm_path = f"/items/{item}/students/{alice.id}/redraw"
    assert f'href="{confirm_path}"' in timeline
    confirm = client.get(confirm_path)
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Give Alice Liddell a new instance?" in page
    assert "Their 1 submission so far keeps the instance it answered" in page
    assert f'action="{confirm_path}"' in page and "Cancel" in page
    assert draw_number(build, item, alice.id) == 0  # looking asks nothing
    done = post(client, confirm_path, {}, confirm_path)
    assert done.status_code == 302 and draw_number(build, item, alice.id) == 1
    marked = client.get(timeline_path).get_data(as_text=True)
    assert "Answered an earlier question (draw 0)" in marked

    log_in(client, "alice")
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert "This question has changed." in page
    assert "your 1 earlier answer was to the values before" in page
    assert "Your last answer" not in page and "correct, full marks" not in page
    history = client.get(f"/items/{item}/history").get_data(as_text=True)
    assert "Answered an earlier question (draw 0)" in history

    new = reference(build, item, alice.id)
    post(client, f"/items/{item}/submit", {"answer": json.dumps(new.T.tolist()), "format": "json"})
    page = client.get(f"/items/{item}").get_data(as_text=True)
    verdict = page.split('id="verdict"')[1].split("</section>")[0]
    assert "not right yet" in verdict and "rows and columns swapped" in verdict
    history = client.get(f"/items/{item}/history").get_data(as_text=True)
    assert history.index("Answered the current question (draw 1)") < history.index(
        "Answered an earlier question (draw 0)"
    )


def test_items_never_redrawn_carry_no_draw_marks(
    client: FlaskClient,
    build: Builder,
    school: dict[str, Any],  # noqa: F811
) -> None:
    item = school["items"][0]
    log_in(client, "alice")
    post(client, f"/items/{item}/submit", {"answer": "[1]", "format": "json"})
    assert "question" not in client.get(f"/items/{item}/history").get_data(as_text=True).split("<main")[1]
    assert "This question has changed" not in client.get(f"/items/{item}").get_data(as_text=True)


def test_redraw_is_for_the_courses_instructors_only(
    client: FlaskClient,
    school: dict[str, Any],  # noqa: F811
) -> None:
    path = f"/items/{school['items'][0]}/students/{school['alice'].id}/redraw"
    log_in(client, "other")
    assert client.get(path).status_code == 404
    log_in(client, "teacher")
    assert client.get(f"/items/{school['items'][0]}/students/{school['eve'].id}/redraw").status_code == 404
    log_in(client, "alice")
    assert client.get(path).status_code == 403


# ---- the attempts used on the earlier question ------------------------------------------

WRONG = "[1, 0, 0]"  # a softmax of 3 classes that is no one's: graded, score 0


@pytest.fixture
def quiz(client: FlaskClient, build: Builder, school: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """A softmax item of 3 attempts, all of them used wrongly by Alice."""
    assignment_id, (item,) = build.assignment(
        school["course_id"], [{"kind": "softmax", "K": 3, "max_attempts": 3}], title="Quiz"
    )
    alice = school["alice"]
    for _ in range(3):
        assert api_submit(client, alice, item, WRONG).status_code == 201
    return {**school, "quiz_id": assignment_id, "item": item}


def api_submit(client: FlaskClient, account: Account, item_id: int, answer: str) -> Any:
    return client.post("/api/v1/submissions", headers=account.headers,
                       json={"item_id": item_id, "answer": answer, "format": "json"})


def right(build: Builder, item_id: int, user_id: int) -> str:
    return json.dumps(reference(build, item_id, user_id).tolist())


def text_of(page: str) -> str:
    """The page's words, its tags, line breaks and character references gone."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def cell(client: FlaskClient, school: dict[str, Any], item_id: int) -> dict[str, Any]:  # noqa: F811
    book = client.get(f"/api/v1/courses/{school['course_id']}/gradebook",
                      headers=school["teacher"].headers).get_json()
    row = next(r for r in book["students"] if r["user"]["id"] == school["alice"].id)
    return next(c for c in row["items"] if c["item_id"] == item_id)


@pytest.mark.parametrize(("choice", "left", "limit"), [("give_back", 3, 6), ("keep", 0, 3), (None, 3, 6)])
def test_attempts_used_are_given_back_or_kept_as_the_instructor_chooses(
    client: FlaskClient, build: Builder, quiz: dict[str, Any], choice: str | None, left: int, limit: int
) -> None:
    item, alice = quiz["item"], quiz["alice"]
    assert api_submit(client, alice, item, right(build, item, alice.id)).status_code == 409
    log_in(client, "teacher")
    confirm_path = f"/items/{item}/students/{alice.id}/redraw"
    confirm = text_of(client.get(confirm_path).get_data(as_text=True))
    assert ("Alice Liddell has used 3 of 3 attempts; given back, Alice Liddell has 3 on the new "
            "question; kept, 0.") in confirm
    assert 'value="give_back" checked' in client.get(confirm_path).get_data(as_text=True)
    done = post(client, confirm_path, {} if choice is None else {"earlier_attempts": choice}, confirm_path)
    assert done.status_code == 302
    flashed = text_of(client.get(done.location).get_data(as_text=True))
    said = "were given back" if limit == 6 else "stay used"
    assert f"the 3 attempts used on the earlier question {said}" in flashed
    assert f"draw 1 by Ada Teacher · 3 attempts {'given back' if limit == 6 else 'kept used'}" in flashed

    # what the student is shown, on the page and by the API
    log_in(client, "alice")
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert f"attempts used: 3, left: <strong>{left}</strong>" in page
    assert ("You have used every attempt on this item." in page) == (left == 0)
    assert ("The 3 attempts you used on the earlier values were given back." in page) == (left > 0)
    own = client.get(f"/api/v1/items/{item}", headers=alice.headers).get_json()
    assert (own["attempts_used"], own["attempts_left"], own["max_attempts"]) == (3, left, limit)
    dashboard = text_of(client.get("/dashboard").get_data(as_text=True))
    assert f"3 / {limit}" in dashboard

    answered = api_submit(client, alice, item, right(build, item, alice.id))
    if left:
        assert answered.status_code == 201 and answered.get_json()["verdict"]["correct"] is True
    else:
        assert answered.status_code == 409 and answered.get_json()["error"]["code"] == "no_attempts_left"
        assert "all 3 attempts" in answered.get_json()["error"]["message"]

    # the gradebook counts every attempt and scores both questions' answers; the history marks them
    standing = cell(client, quiz, item)
    assert (standing["attempts"], standing["score"]) == ((4, 1.0) if left else (3, 0.0))
    history = client.get(f"/items/{item}/history").get_data(as_text=True)
    assert history.count("Answered an earlier question (draw 0)") == 3
    assert history.count("Answered the current question (draw 1)") == (1 if left else 0)


def test_given_back_leaves_the_full_allowance_with_the_extension_and_no_more(
    client: FlaskClient, build: Builder, quiz: dict[str, Any]
) -> None:
    item, alice = quiz["item"], quiz["alice"]
    with build.sessionmaker.begin() as session:
        extensions.grant(session, session.get(Assignment, quiz["quiz_id"]), alice.id, extra_attempts=2)
    assert api_submit(client, alice, item, WRONG).status_code == 201  # 4 of 5 used
    log_in(client, "teacher")
    confirm_path = f"/items/{item}/students/{alice.id}/redraw"
    confirm = text_of(client.get(confirm_path).get_data(as_text=True))
    assert ("Alice Liddell has used 4 of 5 attempts (the item's 3 and 2 from an extension); given back, "
            "Alice Liddell has 5 on the new question; kept, 1.") in confirm
    post(client, confirm_path, {"earlier_attempts": "give_back"}, confirm_path)
    own = client.get(f"/api/v1/items/{item}", headers=alice.headers).get_json()
    assert (own["attempts_used"], own["attempts_left"]) == (4, 5)
    for _ in range(5):
        assert api_submit(client, alice, item, WRONG).status_code == 201
    assert api_submit(client, alice, item, WRONG).status_code == 409

    # a second re-draw gives back the attempts of the second question only
    confirm = text_of(client.get(confirm_path).get_data(as_text=True))
    assert "Alice Liddell has used 5 of 5 attempts (the item's 3 and 2 from an extension)" in confirm
    post(client, confirm_path, {"earlier_attempts": "give_back"}, confirm_path)
    own = client.get(f"/api/v1/items/{item}", headers=alice.headers).get_json()
    assert (own["attempts_used"], own["attempts_left"], own["max_attempts"]) == (9, 5, 14)


def test_no_attempts_left_names_the_students_own_limit_on_the_page_and_the_api(
    client: FlaskClient, build: Builder, quiz: dict[str, Any]
) -> None:
    """Given back (and extended), the student's limit is more than the item's: the refusal
    says which, and of what it is made."""
    item, alice = quiz["item"], quiz["alice"]
    with build.sessionmaker.begin() as session:
        extensions.grant(session, session.get(Assignment, quiz["quiz_id"]), alice.id, extra_attempts=1)
    client.post(f"/api/v1/items/{item}/redraw", json={"user_id": alice.id}, headers=quiz["teacher"].headers)
    for _ in range(3):
        assert api_submit(client, alice, item, WRONG).status_code == 201
    log_in(client, "alice")
    loaded = client.get(f"/items/{item}").get_data(as_text=True)  # one attempt left: a form
    assert "attempts used: 6, left: <strong>1</strong>" in loaded
    assert api_submit(client, alice, item, WRONG).status_code == 201  # meanwhile, another tab

    said = "all 7 attempts at this item are used (the item's 3, 1 from an extension and 3 given back"
    refused = api_submit(client, alice, item, WRONG)
    assert refused.status_code == 409 and said in refused.get_json()["error"]["message"]
    page = post(client, f"/items/{item}/submit", {"answer": WRONG, "format": "json", "draw": "1"},
                f"/items/{item}")
    assert page.status_code == 409 and said in text_of(page.get_data(as_text=True))
    assert "all 3 attempts" not in page.get_data(as_text=True)


def test_an_unknown_choice_is_refused_and_nothing_redrawn(
    client: FlaskClient, build: Builder, quiz: dict[str, Any]
) -> None:
    item, alice = quiz["item"], quiz["alice"]
    log_in(client, "teacher")
    confirm_path = f"/items/{item}/students/{alice.id}/redraw"
    refused = post(client, confirm_path, {"earlier_attempts": "forgive"}, confirm_path)
    assert refused.status_code == 400
    assert "Choose whether the attempts used are given back or kept." in refused.get_data(as_text=True)
    assert draw_number(build, item, alice.id) == 0


@pytest.mark.parametrize(("body", "left", "given"), [
    ({}, 3, 3), ({"earlier_attempts": "give_back"}, 3, 3), ({"earlier_attempts": "keep"}, 0, 0),
])
def test_the_api_gives_back_or_keeps(
    client: FlaskClient, quiz: dict[str, Any], body: dict[str, Any], left: int, given: int
) -> None:
    item, alice = quiz["item"], quiz["alice"]
    response = client.post(f"/api/v1/items/{item}/redraw", json={"user_id": alice.id, **body},
                           headers=quiz["teacher"].headers)
    assert response.status_code == 200, response.get_json()
    out = response.get_json()
    assert out["draw_number"] == 1 and out["earlier_attempts"] == body.get("earlier_attempts", "give_back")
    assert (out["attempts_given_back"], out["attempts_left"]) == (given, left)
    own = client.get(f"/api/v1/items/{item}", headers=alice.headers).get_json()
    assert own["attempts_left"] == left


@pytest.mark.parametrize("choice", ["forgive", True, None, ""])
def test_the_api_refuses_an_unknown_choice_with_a_422(
    client: FlaskClient, build: Builder, quiz: dict[str, Any], choice: Any
) -> None:
    item, alice = quiz["item"], quiz["alice"]
    response = client.post(f"/api/v1/items/{item}/redraw",
                           json={"user_id": alice.id, "earlier_attempts": choice},
                           headers=quiz["teacher"].headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "earlier_attempts" in error["message"] and "give_back" in error["message"]
    assert draw_number(build, item, alice.id) == 0


@pytest.mark.parametrize("choice", ["give_back", "keep"])
def test_a_part_of_a_derivation_gives_back_or_keeps_on_every_part(
    client: FlaskClient, build: Builder, school: dict[str, Any], choice: str  # noqa: F811
) -> None:
    alice = school["alice"]
    with build.sessionmaker.begin() as session:
        derivation = derivations.create(session, session.get(Assignment, school["assignment_id"]),
                                        "softmax_layer", n=2, K=3, max_attempts=2)
        did, parts = derivation.id, [part.id for part in derivation.parts]
    used = {parts[0]: 2, parts[1]: 1}
    for part, count in used.items():
        for _ in range(count):
            assert api_submit(client, alice, part, "[[1]]").status_code == 201
    log_in(client, "teacher")
    confirm_path = f"/items/{parts[1]}/students/{alice.id}/redraw"
    confirm = text_of(client.get(confirm_path).get_data(as_text=True))
    given_back = "given back, Alice Liddell has 2 on the new question"
    assert f"(a) Alice Liddell has used 2 of 2 attempts; {given_back}; kept, 0." in confirm
    assert f"(b) Alice Liddell has used 1 of 2 attempts; {given_back}; kept, 1." in confirm
    assert "(c) Alice Liddell has used 0 of 2 attempts" in confirm
    post(client, confirm_path, {"earlier_attempts": choice}, confirm_path)
    view = client.get(f"/api/v1/derivations/{did}", headers=alice.headers).get_json()
    lefts = [part["item"]["attempts_left"] for part in view["parts"]]
    assert lefts[:3] == ([2, 2, 2] if choice == "give_back" else [0, 1, 2])
    with build.sessionmaker() as session:
        records = redraws.of_student(session, parts, alice.id)
        assert len(records) == len(parts) and {r.draw_number for r in records} == {1}
        given = [r.attempts_given_back for r in records][:3]
        assert given == ([2, 1, 0] if choice == "give_back" else [0, 0, 0])


def test_a_regrade_counts_the_answers_to_the_new_question_after_a_give_back(
    client: FlaskClient, build: Builder, quiz: dict[str, Any]
) -> None:
    item, alice = quiz["item"], quiz["alice"]
    client.post(f"/api/v1/items/{item}/redraw", json={"user_id": alice.id}, headers=quiz["teacher"].headers)
    assert api_submit(client, alice, item, right(build, item, alice.id)).status_code == 201
    with build.sessionmaker() as session:
        plan = regrade.plan(session, session.get(Assignment, quiz["quiz_id"]), [])
    assert plan.students == []  # no one moves: the fourth attempt is within the limit given


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(st.integers(1, 4), st.sampled_from(["give_back", "keep"])), max_size=8),
       extra=st.integers(0, 2))
def test_attempts_left_are_never_negative_nor_more_than_one_questions_allowance(
    app: Flask, build: Builder, steps: list[int | str], extra: int
) -> None:
    """Answers (a number of them) and re-draws in any order: the student's attempts left stay
    within [0, the item's limit and the extension's extra]."""
    teacher = build.user(f"t{uuid.uuid4().hex[:8]}", "instructor")
    student = build.user(f"s{uuid.uuid4().hex[:8]}")
    course_id = build.course(teacher, [student], code=uuid.uuid4().hex[:8])
    assignment_id, (item_id,) = build.assignment(course_id, [{"kind": "softmax", "K": 3, "max_attempts": 2}])
    queue = GradingQueue(build.sessionmaker)
    with build.sessionmaker.begin() as session:
        extensions.grant(session, session.get(Assignment, assignment_id), student.id, extra_attempts=extra)
    for step in steps:
        with build.sessionmaker() as session:
            item = session.get(Item, item_id)
            if isinstance(step, str):
                redraws.redraw(session, item, student.id, give_back=step == "give_back")
                session.commit()
            else:
                for _ in range(step):
                    try:
                        submissions.submit(session, session.get(User, student.id), item, WRONG, "json",
                                           queue=queue, per_minute=1000)
                    except submissions.NoAttemptsLeft:
                        break
            used = submissions.attempts_used(session, item_id, student.id)
            left = extensions.allowance(session, item, student.id).attempts_left(used)
            assert left is not None and 0 <= left <= 2 + extra
            if step == "give_back":
                assert left == 2 + extra


# ---- an answer still being graded at the re-draw ----------------------------------------

UNREADABLE = "[1, 0,"  # no answer at all: graded without a score, it uses no attempt


def answer(
    build: Builder, queue: GradingQueue, user_id: int, item_id: int, text: str, *, graded: bool
) -> int:
    """Store an answer (graded now, or left to be graded); its job's id."""
    with build.sessionmaker() as session:
        stored = submissions.submit(session, session.get(User, user_id), session.get(Item, item_id), text,
                                    "json", queue=queue, per_minute=1000)
        if graded:
            queue.grade_now(stored.job)
        return stored.job.id


def grade_job(build: Builder, queue: GradingQueue, job_id: int) -> None:
    with build.sessionmaker() as session:
        job = session.get(GradingJob, job_id)
        assert job is not None and job.submission is not None
        session.commit()  # graded outside any transaction, as a request's answer is
        assert queue.grade_now(job) is not None


def give_back(build: Builder, item_id: int, user_id: int) -> None:
    with build.sessionmaker.begin() as session:
        redraws.redraw(session, session.get(Item, item_id), user_id, give_back=True)


@pytest.mark.parametrize("verdict", [UNREADABLE, WRONG])
@pytest.mark.parametrize("redraw_first", [False, True])
def test_an_answer_graded_after_the_redraw_is_given_back_as_if_graded_before(
    build: Builder, people: dict[str, Any], verdict: str, redraw_first: bool
) -> None:
    """Two answers graded and one still being graded when the attempts are given back: the
    third is given back if its verdict makes it an attempt, and is none if it is unreadable;
    either way the student has exactly the item's limit on the new question, whichever came
    first, the verdict or the re-draw."""
    alice = people["alice"]
    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3, "max_attempts": 3}])
    queue = GradingQueue(build.sessionmaker)
    for _ in range(2):
        answer(build, queue, alice.id, item_id, WRONG, graded=True)
    pending = answer(build, queue, alice.id, item_id, verdict, graded=False)
    if redraw_first:
        give_back(build, item_id, alice.id)
        grade_job(build, queue, pending)
    else:
        grade_job(build, queue, pending)
        give_back(build, item_id, alice.id)

    used = 3 if verdict == WRONG else 2
    with build.sessionmaker() as session:
        item = session.get(Item, item_id)
        allowed = extensions.allowance(session, item, alice.id)
        assert submissions.attempts_used(session, item_id, alice.id) == used
        assert (allowed.given_back, allowed.max_attempts) == (used, 3 + used)
        assert allowed.attempts_left(used) == 3
        assert redraws.attempts(session, item, alice.id).used == 0  # none on the new question yet
    for _ in range(3):
        answer(build, queue, alice.id, item_id, WRONG, graded=True)
    with pytest.raises(submissions.NoAttemptsLeft, match=f"all {3 + used} attempts"):
        answer(build, queue, alice.id, item_id, WRONG, graded=True)


# ---- a page loaded before a re-draw ------------------------------------------------------


def own_submissions(build: Builder, user_id: int) -> int:
    with build.sessionmaker() as session:
        return session.scalar(sa.select(sa.func.count()).where(Submission.user_id == user_id))


def test_a_form_loaded_before_a_redraw_is_refused_and_keeps_the_answer(
    client: FlaskClient,
    build: Builder,
    school: dict[str, Any],  # noqa: F811
) -> None:
    item, alice = school["items"][1], school["alice"]  # softmax, one attempt
    path = f"/items/{item}"
    log_in(client, "alice")
    loaded = client.get(path).get_data(as_text=True)
    assert loaded.count('name="draw" value="0"') == 3  # the matrix, formula and code forms
    typed = json.dumps(reference(build, item, alice.id).tolist())  # right for the numbers on that page
    with build.sessionmaker.begin() as session:  # meanwhile, the instructor gives a new instance
        redraws.redraw(session, session.get(Item, item), alice.id)

    response = post(client, f"{path}/submit", {"answer": typed, "format": "json", "draw": "0"}, path)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "the given values changed after this page was loaded" in page and "No attempt was used" in page
    assert f">{typed}</textarea>" in page  # still in its box
    assert given_values(page) == given_values(client.get(path).get_data(as_text=True))  # the new values
    assert given_values(page) != given_values(loaded)
    assert 'name="draw" value="1"' in page and "attempts used: 0, left: <strong>1</strong>" in page
    assert own_submissions(build, alice.id) == 0

    reworked = json.dumps(reference(build, item, alice.id).tolist())
    response = post(client, f"{path}/submit", {"answer": reworked, "format": "json", "draw": "1"}, path)
    assert response.status_code == 302 and own_submissions(build, alice.id) == 1
    assert "correct, full marks" in client.get(path).get_data(as_text=True)


def test_a_form_from_before_a_kept_redraw_with_no_attempts_left_says_so(
    client: FlaskClient,
    build: Builder,
    school: dict[str, Any],  # noqa: F811
) -> None:
    """No attempt left on the new question (the earlier ones kept): no form is shown, so the
    refusal does not speak of the answer's box."""
    item, alice = school["items"][1], school["alice"]  # softmax, one attempt
    path = f"/items/{item}"
    log_in(client, "alice")
    assert 'name="draw" value="0"' in client.get(path).get_data(as_text=True)
    assert api_submit(client, alice, item, WRONG).status_code == 201  # its one attempt, in another tab
    with build.sessionmaker.begin() as session:
        redraws.redraw(session, session.get(Item, item), alice.id, give_back=False)

    response = post(client, f"{path}/submit", {"answer": WRONG, "format": "json", "draw": "0"}, path)
    shown = response.get_data(as_text=True)
    page = text_of(shown)
    assert response.status_code == 409
    assert "the given values changed after this page was loaded" in page
    assert "No attempt was used, and none is left on this item" in page
    assert "still in its box" not in page and "<textarea" not in shown
    assert given_values(shown) == given_values(client.get(path).get_data(as_text=True))
    assert own_submissions(build, alice.id) == 1


def digests_of(page: str) -> list[str]:
    """The instance digests a page's answer forms send, in order."""
    return re.findall(r'name="instance_digest" value="([0-9a-f]{16})"', page)


def test_a_form_whose_item_changed_on_the_same_draw_is_refused_and_keeps_the_answer(
    client: FlaskClient,
    build: Builder,
    school: dict[str, Any],  # noqa: F811
) -> None:
    """Never re-drawn, the first draw follows the item's sizes until it is stored: the instructor
    changes them (nobody has answered) while the page is open, and its answer to the old numbers,
    still draw 0, is refused by their digest, as after a re-draw."""
    item, alice = school["items"][1], school["alice"]  # softmax, one attempt
    path = f"/items/{item}"
    log_in(client, "alice")
    loaded = client.get(path).get_data(as_text=True)
    (digest,) = set(digests_of(loaded))
    assert loaded.count(f'name="instance_digest" value="{digest}"') == 3  # each answer form
    typed = json.dumps(reference(build, item, alice.id).tolist())
    with build.sessionmaker.begin() as session:
        session.get(Item, item).K = 4

    sent = {"answer": typed, "format": "json", "draw": "0", "instance_digest": digest}
    response = post(client, f"{path}/submit", sent, path)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "the given values changed after this page was loaded" in page and "No attempt was used" in page
    assert f">{typed}</textarea>" in page
    assert given_values(page) == given_values(client.get(path).get_data(as_text=True)) != given_values(loaded)
    assert 'name="draw" value="0"' in page and f'name="instance_digest" value="{digest}"' not in page
    assert "attempts used: 0, left: <strong>1</strong>" in page and own_submissions(build, alice.id) == 0

    reworked = json.dumps(reference(build, item, alice.id).tolist())
    digest = digests_of(page)[0]
    sent = {"answer": reworked, "format": "json", "draw": "0", "instance_digest": digest}
    assert post(client, f"{path}/submit", sent, path).status_code == 302
    assert "correct, full marks" in client.get(path).get_data(as_text=True)


def test_a_derivation_part_from_before_a_redraw_is_refused_and_keeps_the_answer(
    client: FlaskClient,
    build: Builder,
    school: dict[str, Any],  # noqa: F811
) -> None:
    alice = school["alice"]
    with build.sessionmaker.begin() as session:
        assignment = session.get(Assignment, school["assignment_id"])
        did = derivations.create(session, assignment, "cross_entropy", n=2, K=3).id
    path = f"/derivations/{did}"
    log_in(client, "alice")
    loaded = client.get(path).get_data(as_text=True)
    assert loaded.count('name="draw" value="0"') == 3  # one form per part
    with build.sessionmaker.begin() as session:  # the instructor re-draws one part: all move
        redraws.redraw(session, session.get(Derivation, did).parts[2], alice.id)

    typed = "[0.2, 0.3, 0.5]"
    response = post(client, f"{path}/parts/a/submit", {"answer": typed, "format": "json", "draw": "0"}, path)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    form_a = page.split('id="part-a"', 1)[1].split("</form>", 1)[0]
    assert "the given values changed after this page was loaded" in form_a
    assert f">{typed}</textarea>" in form_a
    assert given_values(page) == given_values(client.get(path).get_data(as_text=True)) != given_values(loaded)
    assert page.count('name="draw" value="1"') == 3
    assert own_submissions(build, alice.id) == 0
    response = post(client, f"{path}/parts/a/submit", {"answer": typed, "format": "json", "draw": "1"}, path)
    assert response.status_code == 302 and own_submissions(build, alice.id) == 1

    # numbers other than those the part's form was shown, on the same draw: refused alike
    digests = digests_of(client.get(path).get_data(as_text=True))
    assert len(digests) == 3
    other = {"answer": typed, "format": "json", "draw": "1", "instance_digest": "0" * 16}
    response = post(client, f"{path}/parts/b/submit", other, path)
    assert response.status_code == 409 and own_submissions(build, alice.id) == 1
    assert "the given values changed after this page was loaded" in response.get_data(as_text=True)
    sent = {**other, "instance_digest": digests[1]}
    assert post(client, f"{path}/parts/b/submit", sent, path).status_code == 302


def test_a_derivation_part_from_before_a_kept_redraw_with_no_attempts_left_says_so(
    client: FlaskClient,
    build: Builder,
    school: dict[str, Any],  # noqa: F811
) -> None:
    """A part whose one attempt was used before a re-draw that kept it: the refusal of an answer
    to the old values says none is left, not that the answer is there to rework."""
    alice = school["alice"]
    with build.sessionmaker.begin() as session:
        derivation = derivations.create(session, session.get(Assignment, school["assignment_id"]),
                                        "cross_entropy", n=2, K=3, max_attempts=1)
        did, first = derivation.id, derivation.parts[0].id
    path = f"/derivations/{did}"
    log_in(client, "alice")
    assert client.get(path).get_data(as_text=True).count('name="draw" value="0"') == 3
    assert api_submit(client, alice, first, "[0.2, 0.3, 0.5]").status_code == 201  # in another tab
    with build.sessionmaker.begin() as session:
        redraws.redraw(session, session.get(Derivation, did).parts[0], alice.id, give_back=False)

    sent = {"answer": "[0.2, 0.3, 0.5]", "format": "json", "draw": "0"}
    for letter, left_none in (("a", True), ("b", False)):
        response = post(client, f"{path}/parts/{letter}/submit", sent, path)
        shown = response.get_data(as_text=True)
        form = text_of(shown.split(f'id="part-{letter}"', 1)[1].split("</form>", 1)[0])
        assert response.status_code == 409
        assert "the given values changed after this page was loaded" in form
        assert ("none is left on this item" in form) is left_none
        assert ("to rework with them" in form) is not left_none
    assert own_submissions(build, alice.id) == 1
