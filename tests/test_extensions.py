"""Extensions: a student's own due date and attempts, in lateness and in the gradebook."""

from __future__ import annotations

from datetime import timedelta

import pytest

from grader.service import extensions, gradebook, submissions
from grader.service.models import Assignment, Course, Item, Submission, User, utcnow
from grader.service.queue import GradingQueue

DUE = utcnow().replace(microsecond=0) + timedelta(days=1)


@pytest.fixture
def homework(build, people):
    assignment_id, ids = build.assignment(
        people["course_id"],
        [{"kind": "softmax", "K": 3, "max_attempts": 1}, {"kind": "softmax", "K": 3}],
        due_at=DUE,
    )
    return assignment_id, ids


@pytest.fixture
def queue(build) -> GradingQueue:
    return GradingQueue(build.sessionmaker)


def submit(build, queue, account, item_id, when) -> int:
    with build.sessionmaker() as session:
        user, item = session.get(User, account.id), session.get(Item, item_id)
        submission = submissions.submit(
            session, user, item, "[1, 0, 0]", "json", queue=queue, per_minute=100, now=when
        )
        queue.grade_now(submission.job)
        return submission.id


def grant(build, assignment_id, account, **options) -> None:
    with build.sessionmaker() as session:
        extensions.grant(session, session.get(Assignment, assignment_id), account.id, **options)
        session.commit()


def late_cells(build, course_id, account) -> dict[int, bool]:
    with build.sessionmaker() as session:
        book = gradebook.build(session, session.get(Course, course_id))
        row = next(row for row in book.rows if row.user.id == account.id)
        return {item_id: cell.late for item_id, cell in row.cells.items()}


def test_an_answer_before_the_students_own_date_is_not_late(build, people, homework, queue):
    assignment_id, (_, second) = homework
    grant(build, assignment_id, people["alice"], due_at=DUE + timedelta(days=2))
    after_due = DUE + timedelta(days=1)
    alice_id = submit(build, queue, people["alice"], second, after_due)
    bob_id = submit(build, queue, people["bob"], second, after_due)
    with build.sessionmaker() as session:
        assert session.get(Submission, alice_id).late is False
        assert session.get(Submission, bob_id).late is True
    assert late_cells(build, people["course_id"], people["alice"])[second] is False
    assert late_cells(build, people["course_id"], people["bob"])[second] is True


def test_an_extension_granted_afterwards_unmarks_lateness_and_revoking_marks_it_again(
    build, people, homework, queue
):
    assignment_id, (_, second) = homework
    submit(build, queue, people["alice"], second, DUE + timedelta(hours=5))
    assert late_cells(build, people["course_id"], people["alice"])[second] is True
    grant(build, assignment_id, people["alice"], due_at=DUE + timedelta(days=1))
    assert late_cells(build, people["course_id"], people["alice"])[second] is False
    with build.sessionmaker() as session:
        extension = extensions.find(session, assignment_id, people["alice"].id, None)
        extensions.revoke(session, session.get(Assignment, assignment_id), extension)
        session.commit()
    assert late_cells(build, people["course_id"], people["alice"])[second] is True


def test_an_items_own_extension_wins_over_the_assignments(build, people, homework, queue):
    assignment_id, (first, second) = homework
    grant(build, assignment_id, people["alice"], due_at=DUE + timedelta(days=1))
    grant(build, assignment_id, people["alice"], item_id=first, due_at=DUE + timedelta(days=5))
    with build.sessionmaker() as session:
        allowed = extensions.allowances(
            session, session.get(Assignment, assignment_id), [people["alice"].id, people["bob"].id]
        )
    assert allowed[people["alice"].id, first].due_at == DUE + timedelta(days=5)
    assert allowed[people["alice"].id, second].due_at == DUE + timedelta(days=1)
    assert allowed[people["bob"].id, first].due_at == DUE


def test_an_items_own_extension_keeps_the_assignments_where_it_sets_nothing(build, people, homework, queue):
    assignment_id, (first, second) = homework
    grant(build, assignment_id, people["alice"], due_at=DUE + timedelta(days=1), extra_attempts=2)
    grant(build, assignment_id, people["alice"], item_id=first, due_at=DUE + timedelta(days=5))
    grant(build, assignment_id, people["alice"], item_id=second, extra_attempts=1)
    with build.sessionmaker() as session:
        assignment = session.get(Assignment, assignment_id)
        allowed = extensions.allowances(session, assignment, [people["alice"].id])
        one = extensions.allowance(session, session.get(Item, first), people["alice"].id)
    dates_only, attempts_only = allowed[people["alice"].id, first], allowed[people["alice"].id, second]
    assert (dates_only.due_at, dates_only.extra_attempts) == (DUE + timedelta(days=5), 2)
    assert (attempts_only.due_at, attempts_only.extra_attempts) == (DUE + timedelta(days=1), 1)
    assert one == dates_only


def test_extra_attempts_are_the_students_alone(build, people, homework, queue):
    assignment_id, (limited, _) = homework
    grant(build, assignment_id, people["alice"], item_id=limited, extra_attempts=2)
    now = utcnow()
    for i in range(3):
        submit(build, queue, people["alice"], limited, now + timedelta(seconds=i))
    with pytest.raises(submissions.NoAttemptsLeft, match="all 3 attempts"):
        submit(build, queue, people["alice"], limited, now + timedelta(seconds=5))
    submit(build, queue, people["bob"], limited, now)
    with pytest.raises(submissions.NoAttemptsLeft, match="all 1 attempts"):
        submit(build, queue, people["bob"], limited, now + timedelta(seconds=1))


@pytest.mark.parametrize(
    "options, message",
    [({"extra_attempts": -1}, "negative"), ({"item_id": 10**6}, "not one of")],
)
def test_an_unusable_extension_is_refused(build, people, homework, options, message):
    assignment_id, _ = homework
    with build.sessionmaker() as session, pytest.raises(ValueError, match=message):
        extensions.grant(session, session.get(Assignment, assignment_id), people["alice"].id, **options)


def test_feedback_that_waits_for_the_due_date_waits_for_the_students_own(build, people, queue):
    assignment_id, (item_id,) = build.assignment(
        people["course_id"], [{"kind": "softmax", "K": 3}], due_at=DUE, feedback_before_due=False
    )
    grant(build, assignment_id, people["alice"], due_at=DUE + timedelta(days=2))
    alice_id = submit(build, queue, people["alice"], item_id, utcnow())
    bob_id = submit(build, queue, people["bob"], item_id, utcnow())
    between = DUE + timedelta(days=1)  # past the class's date, before Alice's own
    with build.sessionmaker() as session:
        alices = submissions.as_seen(session.get(Submission, alice_id), teaches=False, now=between)
        bobs = submissions.as_seen(session.get(Submission, bob_id), teaches=False, now=between)
        assert alices.feedback_hidden is True and alices.verdict.feedback == []
        assert bobs.feedback_hidden is False and bobs.verdict.feedback
        later = DUE + timedelta(days=3)
        assert submissions.as_seen(session.get(Submission, alice_id), teaches=False,
                                   now=later).feedback_hidden is False
