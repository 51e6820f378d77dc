"""A join refused for items both accounts answered, decided by an instructor: their choices are
respected, the records not chosen are set apart where nothing counts them, and none is lost."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exercises
from grader.service import analysis, db, gradebook, other_instance, regrade, submissions, variants
from grader.service.lti import ags, join_requests, linking, merging
from grader.service.lti.models import AccountMerge, JoinRequest
from grader.service.models import Assignment, Item, Submission, User
from grader.service.queue import GradingQueue
from tests.conftest import Account
from tests.lti.test_merging import PASSWORD, answer, made_by_lms, snapshot, subs
from tests.test_pages import post

FIRST, SECOND = 0, 1


@pytest.fixture
def accounts(app, build, course, platform_id) -> Iterator[tuple[int, int]]:
    """The LMS account and the older one (alice), both students of the course."""
    alice = build.user("alice", password=PASSWORD)
    build.enrol(course.id, alice)
    with db.database(app).sessionmaker.begin() as session:
        lms_id = made_by_lms(session, platform_id, course.id).id
    yield lms_id, alice.id


def answered(app, course, lms_id: int, older_id: int, by_item: list[tuple[list[float], list[float]]]) -> None:
    """Answers to each item of the course: (the LMS account's scores, the older account's)."""
    with db.database(app).sessionmaker.begin() as session:
        for item_id, (theirs, olders) in zip(course.item_ids, by_item, strict=False):
            item = session.get_one(Item, item_id)
            for score in theirs:
                answer(session, item, lms_id, score)
            for score in olders:
                answer(session, item, older_id, score)


def request_join(app, lms_id: int, older_id: int) -> int:
    """The student's join, refused and recorded as a request, as the pages and the API do it."""
    with db.database(app).sessionmaker.begin() as session:
        lms_user, older = session.get_one(User, lms_id), session.get_one(User, older_id)
        with pytest.raises(linking.BothAnswered) as refused:
            linking.link(session, lms_user, older)
        return join_requests.ask(session, lms_user, older, refused.value.conflicts).id


def shown(app, request_id: int) -> tuple[str, list[merging.Conflict]]:
    with db.database(app).sessionmaker() as session:
        state = join_requests.state_of(session, session.get_one(JoinRequest, request_id))
        return state.fingerprint, state.conflicts


def resolve(app, request_id: int, teacher_id: int, keep: dict[int, str], fingerprint: str = "") -> int:
    """An instructor's decision, on the state shown (or ``fingerprint``); the record's id."""
    fingerprint = fingerprint or shown(app, request_id)[0]
    with db.database(app).sessionmaker.begin() as session:
        request, teacher = session.get_one(JoinRequest, request_id), session.get_one(User, teacher_id)
        return join_requests.resolve(session, request, teacher, keep, fingerprint).id


def count_of(session, user_ids) -> int:
    return session.scalar(sa.select(sa.func.count(Submission.id)).where(Submission.user_id.in_(user_ids)))


@pytest.mark.parametrize("counts", merging.KEEP_CHOICES)
def test_the_chosen_record_counts_and_the_other_is_set_apart_where_nothing_counts_it(
    app, course, accounts, counts
):
    lms_id, older_id = accounts
    answered(app, course, lms_id, older_id, [([0.0, 1.0], [0.5]), ([1.0], [])])
    with db.database(app).sessionmaker() as session:
        before = count_of(session, [lms_id, older_id])
        first = session.get_one(Item, course.item_ids[FIRST])
        instances = {"lms": variants.find(session, first, lms_id).instance,
                     "older": variants.find(session, first, older_id).instance}
    request_id = request_join(app, lms_id, older_id)
    merge_id = resolve(app, request_id, course.teacher.id, {course.item_ids[FIRST]: counts})

    chosen = {"lms": (2, 1.0), "older": (1, 0.5)}[counts]
    aside = {"lms": 1, "older": 2}[counts]
    with db.database(app).sessionmaker() as session:
        assert count_of(session, [lms_id, older_id]) == before  # nothing lost
        assignment = session.get_one(Assignment, course.assignment_id)
        first, second = (session.get_one(Item, i) for i in course.item_ids)
        cells = gradebook.cells(session, [assignment], [older_id, lms_id])
        assert (cells[older_id, first.id].attempts, cells[older_id, first.id].score) == chosen
        assert (cells[older_id, second.id].attempts, cells[older_id, second.id].score) == (1, 1.0)
        # the set-apart answers: on the closed account, in no course, counted by nothing
        kept_aside = session.scalars(sa.select(Submission).where(Submission.user_id == lms_id)).all()
        assert len(kept_aside) == aside and {s.item_id for s in kept_aside} == {first.id}
        other = "older" if counts == "lms" else "lms"
        assert all(s.instance == instances[other] for s in kept_aside)
        assert variants.find(session, first, lms_id).instance == instances[other]
        assert variants.find(session, first, older_id).instance == instances[counts]
        assert submissions.attempts_used(session, first.id, older_id) == chosen[0]
        assert [user.name for user, _ in gradebook.students(session, course.id)] == ["alice"]
        assert lms_id not in {row.user.id for row in gradebook.build(session, assignment.course).rows}
        stats = gradebook.item_stats(session, first)
        assert (stats.attempts, stats.students) == (chosen[0], 1)
        [figures] = [i for i in analysis.analyse(session, assignment).items if i.item_id == first.id]
        assert figures.students == 1 and figures.facility == chosen[1]
        csv_text = gradebook.to_csv(gradebook.build(session, assignment.course))
        closed = session.get_one(User, lms_id)
        assert closed.name not in csv_text
        assert ags.assignment_score(session, assignment, older_id).given == chosen[1] * 2.0 + 1.0
        record = session.get_one(AccountMerge, merge_id)
        [apart] = record.moved["set_apart"]
        assert (apart["question_id"], apart["counts"]) == (first.id, counts)
        assert apart["answers_set_apart"] == aside
        listed = merging.set_apart_answers(session, record, course.id)
        assert [s.id for s in listed] == [s.id for s in kept_aside]
        request = session.get_one(JoinRequest, request_id)
        assert (request.state, request.merge_id) == ("joined", merge_id)
        assert request.resolved_by == course.teacher.id
        assert request.choices == {str(first.id): counts}


def test_a_request_names_the_items_both_answered_and_one_is_pending_per_account(app, course, accounts):
    lms_id, older_id = accounts
    answered(app, course, lms_id, older_id, [([1.0], [0.0]), ([1.0], [])])
    first = request_join(app, lms_id, older_id)
    again = request_join(app, lms_id, older_id)
    assert again == first
    with db.database(app).sessionmaker() as session:
        request = session.get_one(JoinRequest, first)
        [asked] = request.conflicts
        assert (asked["question_id"], asked["course_id"]) == (course.item_ids[FIRST], course.id)
        assert "Homework 1: question 1" in asked["question"]
        [state] = join_requests.pending_for(session, session.get_one(User, course.teacher.id))
        assert state.request.id == first
        [conflict] = state.conflicts
        assert (conflict.lms, conflict.older) == (merging.Side(1, 1.0), merging.Side(1, 0.0))


def test_an_answer_since_the_request_was_shown_is_refused_with_the_new_state(app, course, accounts):
    lms_id, older_id = accounts
    answered(app, course, lms_id, older_id, [([1.0], [0.0])])
    request_id = request_join(app, lms_id, older_id)
    fingerprint, _ = shown(app, request_id)
    answered(app, course, lms_id, older_id, [([], [1.0]), ([0.5], [0.5])])  # the older account, and a new one
    before = snapshot(app)
    with pytest.raises(merging.HoldingsChanged) as changed:
        resolve(app, request_id, course.teacher.id, {course.item_ids[FIRST]: "older"}, fingerprint)
    assert snapshot(app) == before
    assert [(c.question_id, c.older.answers) for c in changed.value.conflicts] == [
        (course.item_ids[FIRST], 2), (course.item_ids[SECOND], 1)
    ]
    new_fingerprint, _ = shown(app, request_id)
    assert new_fingerprint != fingerprint
    with pytest.raises(merging.ChoicesUnclear, match=f"no choice for question {course.item_ids[SECOND]}"):
        resolve(app, request_id, course.teacher.id, {course.item_ids[FIRST]: "older"}, new_fingerprint)
    assert snapshot(app) == before


@pytest.mark.parametrize("keep", [
    {"first": "neither"},
    {"first": "lms", "second": "older"},
])
def test_choices_that_are_not_one_per_item_both_answered_are_refused(app, course, accounts, keep):
    lms_id, older_id = accounts
    answered(app, course, lms_id, older_id, [([1.0], [0.0])])
    request_id = request_join(app, lms_id, older_id)
    by_name = {"first": course.item_ids[FIRST], "second": course.item_ids[SECOND]}
    before = snapshot(app)
    with pytest.raises(merging.ChoicesUnclear):
        resolve(app, request_id, course.teacher.id, {by_name[k]: v for k, v in keep.items()})
    assert snapshot(app) == before


def test_an_instructor_of_some_of_the_courses_only_sees_the_request_and_cannot_decide_it(
    app, build, course, accounts
):
    lms_id, older_id = accounts
    other_teacher = build.user("other-teacher", "instructor", password=PASSWORD)
    other_course = build.course(other_teacher, code="ML202")
    _, [other_item] = build.assignment(other_course, [{"kind": "softmax_jacobian", "K": 2}])
    build.enrol(other_course, Account(older_id, "alice", ""))
    answered(app, course, lms_id, older_id, [([1.0], [0.0])])
    with db.database(app).sessionmaker.begin() as session:
        item = session.get_one(Item, other_item)
        answer(session, item, lms_id, 1.0)
        answer(session, item, older_id, 0.0)
    request_id = request_join(app, lms_id, older_id)
    with db.database(app).sessionmaker() as session:
        for teacher_id in (course.teacher.id, other_teacher.id):
            [state] = join_requests.pending_for(session, session.get_one(User, teacher_id))
            assert state.course_ids == {course.id, other_course}
    before = snapshot(app)
    keep = {course.item_ids[FIRST]: "lms", other_item: "lms"}
    with pytest.raises(join_requests.NotTaught, match="ML202"):
        resolve(app, request_id, course.teacher.id, keep)
    assert snapshot(app) == before
    build.enrol(other_course, course.teacher, "instructor")
    resolve(app, request_id, course.teacher.id, keep)


def test_a_withdrawn_request_is_decided_no_more(app, course, accounts):
    lms_id, older_id = accounts
    answered(app, course, lms_id, older_id, [([1.0], [0.0])])
    request_id = request_join(app, lms_id, older_id)
    with db.database(app).sessionmaker.begin() as session:
        join_requests.withdraw(session, session.get_one(JoinRequest, request_id))
    with db.database(app).sessionmaker() as session:
        assert join_requests.pending_for(session, session.get_one(User, course.teacher.id)) == []
    with pytest.raises(join_requests.NotPending, match="withdrawn"):
        resolve(app, request_id, course.teacher.id, {course.item_ids[FIRST]: "lms"})


def test_a_join_that_needs_no_choice_any_more_answers_the_pending_request(app, course, accounts):
    lms_id, older_id = accounts
    answered(app, course, lms_id, older_id, [([1.0], [0.0])])
    request_id = request_join(app, lms_id, older_id)
    with db.database(app).sessionmaker.begin() as session:  # the instructor takes the question out
        session.delete(session.get_one(Item, course.item_ids[FIRST]))
    with db.database(app).sessionmaker.begin() as session:
        record = linking.link(session, session.get_one(User, lms_id), session.get_one(User, older_id))
        merge_id = record.id
    with db.database(app).sessionmaker() as session:
        request = session.get_one(JoinRequest, request_id)
        assert (request.state, request.merge_id, request.resolved_by) == ("joined", merge_id, None)


def test_a_user_reference_without_a_rule_stops_a_decided_join_too(app, course, accounts, monkeypatch):
    lms_id, older_id = accounts
    answered(app, course, lms_id, older_id, [([1.0], [0.0])])
    request_id = request_join(app, lms_id, older_id)
    rules = dict(merging.USER_REFERENCES)
    del rules["join_requests.resolved_by"]
    monkeypatch.setattr(merging, "USER_REFERENCES", rules)
    before = snapshot(app)
    with pytest.raises(merging.Unhandled, match=r"join_requests\.resolved_by"):
        resolve(app, request_id, course.teacher.id, {course.item_ids[FIRST]: "lms"})
    assert snapshot(app) == before


def test_a_set_apart_record_left_where_no_rule_allows_it_stops_the_join(app, course, accounts, monkeypatch):
    lms_id, older_id = accounts
    answered(app, course, lms_id, older_id, [([1.0], [0.0]), ([1.0], [])])
    request_id = request_join(app, lms_id, older_id)
    monkeypatch.setattr(merging, "SET_APART", frozenset({"variants.user_id", "redraws.user_id"}))
    with pytest.raises(merging.Unhandled, match=r"submissions\.user_id"):
        resolve(app, request_id, course.teacher.id, {course.item_ids[FIRST]: "older"})


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    scores=st.lists(
        st.tuples(st.lists(st.sampled_from([0.0, 0.5, 1.0]), max_size=3),
                  st.lists(st.sampled_from([0.0, 0.5, 1.0]), max_size=3)),
        min_size=2, max_size=2,
    ).filter(lambda by_item: any(theirs and olders for theirs, olders in by_item)),
    choices=st.lists(st.sampled_from(merging.KEEP_CHOICES), min_size=2, max_size=2),
)
def test_whatever_is_chosen_every_answer_is_kept_and_the_gradebook_reads_the_chosen_ones(
    app, build, course, platform_id, scores, choices
):
    older = build.user(f"older-{next(subs)}", password=PASSWORD)
    build.enrol(course.id, older)
    with db.database(app).sessionmaker.begin() as session:
        lms_id = made_by_lms(session, platform_id, course.id).id
    answered(app, course, lms_id, older.id, scores)
    request_id = request_join(app, lms_id, older.id)
    _, conflicts = shown(app, request_id)
    keep = {c.question_id: choice for c, choice in zip(conflicts, choices, strict=False)}
    with db.database(app).sessionmaker() as session:
        before = count_of(session, [lms_id, older.id])
    resolve(app, request_id, course.teacher.id, keep)
    with db.database(app).sessionmaker() as session:
        assert count_of(session, [lms_id, older.id]) == before
        assignment = session.get_one(Assignment, course.assignment_id)
        cells = gradebook.cells(session, [assignment], [older.id])
        for item_id, (theirs, olders) in zip(course.item_ids, scores, strict=True):
            counted = {"lms": theirs, "older": olders}[keep[item_id]] if item_id in keep else theirs + olders
            assert cells[older.id, item_id].attempts == len(counted)
            assert cells[older.id, item_id].best_score == (max(counted) if counted else None)
        for user_id in (lms_id, older.id):  # every answer to the numbers its account now shows
            for submission in session.scalars(sa.select(Submission).where(Submission.user_id == user_id)):
                assert submission.instance == variants.find(session, submission.item, user_id).instance


@pytest.mark.parametrize("counts", merging.KEEP_CHOICES)
def test_a_derivation_both_answered_keeps_each_records_one_instance_for_all_its_parts(
    app, course, accounts, counts
):
    from grader.service import derivations

    lms_id, older_id = accounts
    with db.database(app).sessionmaker.begin() as session:
        assignment = session.get_one(Assignment, course.assignment_id)
        derivation = derivations.create(session, assignment, "cross_entropy", n=2, K=3)
        parts = list(derivation.parts)
        answer(session, parts[0], lms_id)  # (a) by one account, (b) by the other: one question both answered
        answer(session, parts[1], older_id, 0.0)
        drawn = {who: [variants.instance_for(session, p, user_id) for p in parts]
                 for who, user_id in (("lms", lms_id), ("older", older_id))}
        part_ids = [p.id for p in parts]
    request_id = request_join(app, lms_id, older_id)
    resolve(app, request_id, course.teacher.id, {part_ids[0]: counts})
    other = "older" if counts == "lms" else "lms"
    with db.database(app).sessionmaker() as session:
        now = {
            user_id: [variants.instance_for(session, session.get_one(Item, pid), user_id) for pid in part_ids]
            for user_id in (older_id, lms_id)
        }
        assert now[older_id] == drawn[counts] and now[lms_id] == drawn[other]
        [aside] = session.scalars(sa.select(Submission).where(Submission.user_id == lms_id)).all()
        assert aside.item_id == part_ids[0 if other == "lms" else 1]


def right_answer_of(app, item_id: int, user_id: int) -> str:
    """The right answer to the user's stored instance of the item, typed as JSON."""
    with db.database(app).sessionmaker() as session:
        exercise, normal = exercises.validate(dict(variants.find(session, session.get_one(Item, item_id),
                                                                 user_id).instance))
        return json.dumps(exercise.reference(normal).tolist())


def graded(app, user_id: int, item_id: int, text: str) -> Submission:
    """An answer submitted and graded as every answer is."""
    sessionmaker = db.database(app).sessionmaker
    queue = GradingQueue(sessionmaker)
    with sessionmaker() as session:
        user, item = session.get_one(User, user_id), session.get_one(Item, item_id)
        submission = submissions.submit(session, user, item, text, "json", queue=queue, per_minute=100)
        queue.grade_now(submission.job)
        session.expunge(submission)
        return submission


def test_an_instance_set_apart_is_no_other_students_instance(app, course, accounts):
    """Before the join each answered the other's numbers (both flagged); once the LMS account's
    record is set apart, its instance answers for no one and its flagged answer is reported no more."""
    lms_id, older_id = accounts
    first = course.item_ids[FIRST]
    with db.database(app).sessionmaker.begin() as session:
        for user_id in (lms_id, older_id):
            variants.ensure(session, session.get_one(Item, first), user_id)
    lms_numbers, older_numbers = right_answer_of(app, first, lms_id), right_answer_of(app, first, older_id)
    theirs = graded(app, lms_id, first, older_numbers)
    olders = graded(app, older_id, first, lms_numbers)
    assert other_instance.CODE in theirs.codes and other_instance.CODE in olders.codes
    resolve(app, request_join(app, lms_id, older_id), course.teacher.id, {first: "older"})

    later = graded(app, older_id, first, lms_numbers)  # the numbers set apart, remembered
    assert later.correct is False
    assert other_instance.CODE not in later.codes
    with db.database(app).sessionmaker() as session:
        found = other_instance.matches(session, session.get_one(Assignment, course.assignment_id).items)
        assert [(m.submission.id, [u.id for u in m.owners]) for m in found] == [(olders.id, [])]


def test_the_item_reports_wrong_answers_leave_out_the_answers_set_apart(app, course, accounts):
    lms_id, older_id = accounts
    first = course.item_ids[FIRST]
    with db.database(app).sessionmaker.begin() as session:
        for user_id in (lms_id, older_id):
            variants.ensure(session, session.get_one(Item, first), user_id)
    theirs = graded(app, lms_id, first, right_answer_of(app, first, older_id))
    olders = graded(app, older_id, first, right_answer_of(app, first, lms_id))
    teacher = app.test_client()
    post(teacher, "/login", {"name": "teacher", "password": "teacher-password"}, "/login")

    def shown() -> str:
        return teacher.get(f"/items/{first}/report").get_data(as_text=True)

    assert theirs.answer in shown() and olders.answer in shown()
    resolve(app, request_join(app, lms_id, older_id), course.teacher.id, {first: "older"})
    page = shown()
    assert olders.answer in page
    assert theirs.answer not in page  # on the closed account, counted for nothing: shown as nothing


def test_a_regrade_leaves_the_answers_set_apart_alone_and_out_of_its_counts(app, client, course, accounts):
    lms_id, older_id = accounts
    answered(app, course, lms_id, older_id, [([0.0, 1.0], [0.5]), ([1.0], [])])
    resolve(app, request_join(app, lms_id, older_id), course.teacher.id, {course.item_ids[FIRST]: "older"})
    with db.database(app).sessionmaker() as session:
        counted = set(session.scalars(sa.select(Submission.id).where(Submission.user_id == older_id)))
        assert count_of(session, [lms_id]) == 2  # set apart
        plan = regrade.plan(session, session.get_one(Assignment, course.assignment_id))
    assert {r.submission_id for r in plan.regraded} == counted
    assert {r.user_id for r in plan.regraded} == {older_id}
    shown = client.post(f"/api/v1/assignments/{course.assignment_id}/regrade", json={},
                        headers=course.teacher.headers)
    assert shown.status_code == 200, shown.get_data(as_text=True)
    assert shown.get_json()["regraded"] == len(counted)
