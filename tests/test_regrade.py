"""Regrading: a dry run that writes nothing and says who moves and why; applying keeps the
old verdicts in the history."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

import exercises
from grader.service import regrade, submissions, variants
from grader.service.instructor_models import PastVerdict
from grader.service.models import Assignment, Item, Submission, User, utcnow
from grader.service.queue import GradingQueue


@pytest.fixture
def queue(build) -> GradingQueue:
    return GradingQueue(build.sessionmaker)


@pytest.fixture
def homework(build, people):
    return build.assignment(
        people["course_id"], [{"kind": "softmax", "K": 3}, {"kind": "softmax_jacobian", "K": 3}]
    )


def right_answer(session, item: Item, user_id: int) -> str:
    instance = variants.instance_for(session, item, user_id)
    return str(exercises.get(item.kind).reference(instance).tolist())


def answer(build, queue, account, item_id, text=None, when=None) -> int:
    """Submit (the right answer unless ``text``) and grade it; the submission's id."""
    with build.sessionmaker() as session:
        user, item = session.get(User, account.id), session.get(Item, item_id)
        text = right_answer(session, item, account.id) if text is None else text
        submission = submissions.submit(
            session, user, item, text, "json", queue=queue, per_minute=100, now=when
        )
        queue.grade_now(submission.job)
        return submission.id


def stored_by_an_older_grader(build, submission_id: int, score: float, codes: list[str]) -> None:
    """What a verdict of an earlier grader that judged this answer otherwise looks like."""
    with build.sessionmaker.begin() as session:
        submission = session.get(Submission, submission_id)
        verdict = dict(submission.verdict)
        verdict.update(score=score, correct=score == 1.0, grader_version="0.0.1",
                       feedback=[{"code": code, "message": "old"} for code in codes])
        submission.verdict = verdict
        submission.score, submission.correct, submission.codes = score, score == 1.0, codes


def dry_run(build, assignment_id, edits=()) -> regrade.Plan:
    with build.sessionmaker() as session:
        return regrade.plan(session, session.get(Assignment, assignment_id), list(edits))


def test_a_dry_run_says_who_goes_up_and_why_and_writes_nothing(build, people, homework, queue):
    assignment_id, (first, _) = homework
    wronged = answer(build, queue, people["alice"], first)
    answer(build, queue, people["bob"], first)
    stored_by_an_older_grader(build, wronged, 0.0, ["transpose"])
    plan = dry_run(build, assignment_id)
    assert len(plan.regraded) == 2 and [r.submission_id for r in plan.changed] == [wronged]
    assert [(s.name, s.old_points, s.new_points) for s in plan.up] == [("alice", 0.0, 1.0)]
    assert plan.down == []
    (reason,) = plan.up[0].reasons
    assert "item 1 (softmax)" in reason and "0 (transpose) -> 1 (no code)" in reason
    assert plan.stored_versions == {"catalog 1, grader 0.0.1": 1, "catalog 1, grader 0.1.0": 1}
    with build.sessionmaker() as session:
        assert session.get(Submission, wronged).score == 0.0
        assert session.scalar(sa.select(sa.func.count()).select_from(PastVerdict)) == 0


def test_applying_stores_the_new_verdicts_and_keeps_the_old_ones(build, people, homework, queue):
    assignment_id, (first, _) = homework
    lucky = answer(build, queue, people["bob"], first, text="[1, 0, 0]")
    stored_by_an_older_grader(build, lucky, 1.0, [])
    plan = dry_run(build, assignment_id)
    assert [(s.name, s.delta) for s in plan.down] == [("bob", -1.0)]
    with build.sessionmaker() as session:
        assert regrade.apply(session, plan, by="teacher") == 1
    with build.sessionmaker() as session:
        submission = session.get(Submission, lucky)
        assert (submission.score, submission.correct) == (0.0, False)
        assert submission.verdict["grader_version"] != "0.0.1"
        (past,) = regrade.history(session, lucky)
        assert (past.score, past.correct, past.codes, past.grader_version) == (1.0, True, [], "0.0.1")
        assert past.verdict["score"] == 1.0 and "regrade by teacher" in past.reason
    # a second regrade finds nothing to change and adds nothing to the history
    again = dry_run(build, assignment_id)
    assert again.changed == [] and again.students == []
    with build.sessionmaker() as session:
        assert regrade.apply(session, again, by="teacher") == 0
        assert len(regrade.history(session, lucky)) == 1


def test_new_points_move_every_student_with_credit(build, people, homework, queue):
    assignment_id, (first, second) = homework
    answer(build, queue, people["alice"], first)
    answer(build, queue, people["bob"], second, text="[[0, 0, 0], [0, 0, 0], [0, 0, 0]]")
    plan = dry_run(build, assignment_id, [regrade.ItemEdit(first, points=3.0)])
    assert [(s.name, s.old_points, s.new_points) for s in plan.students] == [("alice", 1.0, 3.0)]
    assert plan.students[0].reasons == ["item 1 (softmax): worth 3 points instead of 1"]
    with build.sessionmaker() as session:
        assert session.get(Item, first).points == 1.0  # a dry run
        regrade.apply(session, plan, by="teacher")
    with build.sessionmaker() as session:
        assert session.get(Item, first).points == 3.0


def test_fewer_attempts_drop_the_later_ones(build, people, homework, queue):
    assignment_id, (first, _) = homework
    start = utcnow()
    answer(build, queue, people["alice"], first, text="[1, 0, 0]", when=start)
    answer(build, queue, people["alice"], first, when=start + timedelta(seconds=1))
    plan = dry_run(build, assignment_id, [regrade.ItemEdit(first, max_attempts=1)])
    (alice,) = plan.down
    assert (alice.old_points, alice.new_points) == (1.0, 0.0)
    assert "1 attempt(s) beyond the limit of 1 no longer count" in alice.reasons[0]


def test_an_item_of_another_assignment_is_refused(build, people, homework):
    assignment_id, _ = homework
    _, (other,) = build.assignment(people["course_id"], [{"kind": "softmax"}], title="Other")
    with pytest.raises(ValueError, match="not one of"):
        dry_run(build, assignment_id, [regrade.ItemEdit(other, points=2.0)])


def test_function_answers_are_regraded_through_the_sandbox(build, people, homework, queue):
    assignment_id, (first, _) = homework
    source = "import numpy as np\ndef softmax(z):\n    e = np.exp(z - z.max())\n    return e / e.sum()\n"
    with build.sessionmaker() as session:
        user, item = session.get(User, people["alice"].id), session.get(Item, first)
        submission = submissions.submit(session, user, item, source, "python", queue=queue,
                                        per_minute=100)
        queue.grade_now(submission.job)
        submission_id = submission.id
    stored_by_an_older_grader(build, submission_id, 0.0, ["unstable_softmax"])
    plan = dry_run(build, assignment_id)
    (regraded,) = plan.regraded
    assert regraded.new is not None and regraded.new.correct and regraded.changed
    assert np.isclose(plan.up[0].delta, 1.0)


def test_the_command_runs_dry_then_applies(build, people, homework, queue, database_url,
                                            monkeypatch, capsys):
    from grader.cli import main

    assignment_id, (first, _) = homework
    wronged = answer(build, queue, people["alice"], first)
    stored_by_an_older_grader(build, wronged, 0.0, ["transpose"])
    monkeypatch.setenv("GRADER_DATABASE_URL", database_url)
    assert main(["regrade", "--assignment", str(assignment_id)]) == 0
    out = capsys.readouterr().out
    assert "alice: 0 -> 1 (+1)" in out and "dry run: nothing was changed" in out
    with build.sessionmaker() as session:
        assert session.get(Submission, wronged).score == 0.0
    assert main(["regrade", "--assignment", str(assignment_id), "--apply"]) == 0
    assert "applied" in capsys.readouterr().out
    with build.sessionmaker() as session:
        assert session.get(Submission, wronged).score == 1.0
        assert len(regrade.history(session, wronged)) == 1


def test_the_command_refuses_an_unknown_assignment(database_url, monkeypatch, capsys):
    from grader.cli import main

    monkeypatch.setenv("GRADER_DATABASE_URL", database_url)
    assert main(["regrade", "--assignment", "999"]) == 2
    assert capsys.readouterr().err.strip() == "grader: there is no assignment 999"


def test_an_instructors_tries_are_regraded_but_move_no_one(build, people, homework, queue):
    assignment_id, (first, _) = homework
    tried = answer(build, queue, people["teacher"], first)
    stored_by_an_older_grader(build, tried, 0.0, ["sign"])
    plan = dry_run(build, assignment_id)
    assert [r.submission_id for r in plan.changed] == [tried]
    assert plan.students == []
