"""Answers right for another student's instance: named other_instance, never naming anyone;
the instructor's report says whose variant they matched."""

from __future__ import annotations

import json

import numpy as np
import pytest

import exercises
from grader.service import jobs, other_instance, regrade, submissions, variants
from grader.service.models import Assignment, Item, Submission, User
from grader.service.queue import GradingQueue


@pytest.fixture
def queue(build) -> GradingQueue:
    return GradingQueue(build.sessionmaker)


@pytest.fixture
def homework(build, people):
    return build.assignment(
        people["course_id"],
        [{"kind": "softmax_jacobian", "K": 3}, {"kind": "layer_jacobian", "n": 2, "K": 3}],
    )


def reference_of(build, item_id, account) -> np.ndarray:
    """The right answer to ``account``'s variant, which is stored."""
    with build.sessionmaker() as session:
        variant = variants.ensure(session, session.get(Item, item_id), account.id)
        session.commit()
        exercise, normal = exercises.validate(variant.instance)
        return exercise.reference(normal)


def answer(build, queue, account, item_id, text, fmt="json") -> Submission:
    with build.sessionmaker() as session:
        user, item = session.get(User, account.id), session.get(Item, item_id)
        submission = submissions.submit(session, user, item, text, fmt, queue=queue, per_minute=100)
        queue.grade_now(submission.job)
        return submission


@pytest.mark.parametrize(
    "write, fmt",
    [
        (lambda a: json.dumps(a.tolist()), "json"),
        (lambda a: np.array2string(a, precision=4), "text"),  # pasted from numpy, 4 decimals
        (lambda a: "\n".join(" ".join(f"{v:.3g}" for v in row) for row in a), "text"),  # 3 figures
    ],
)
@pytest.mark.parametrize("position", [0, 1])
def test_anothers_answer_is_named_without_naming_them(
    build, people, homework, queue, write, fmt, position
):
    _, items = homework
    bobs = reference_of(build, items[position], people["bob"])
    reference_of(build, items[position], people["alice"])
    submission = answer(build, queue, people["alice"], items[position], write(bobs), fmt)
    verdict = submission.verdict
    assert verdict["correct"] is False and verdict["score"] == 0.0
    first = verdict["feedback"][0]
    assert first["code"] == "other_instance" and "use your own values" in first["message"]
    assert "bob" not in json.dumps(verdict).lower()


def test_ones_own_right_answer_and_a_plain_mistake_are_not_flagged(build, people, homework, queue):
    _, (item_id, _) = homework
    alices = reference_of(build, item_id, people["alice"])
    reference_of(build, item_id, people["bob"])
    right = answer(build, queue, people["alice"], item_id, json.dumps(alices.tolist()))
    wrong = answer(build, queue, people["alice"], item_id, json.dumps((alices * 3).tolist()))
    assert right.verdict["correct"] is True
    assert wrong.verdict["correct"] is False and "other_instance" not in wrong.codes


def test_the_report_says_whose_variant_it_matched(build, people, homework, queue):
    assignment_id, (item_id, _) = homework
    bobs = reference_of(build, item_id, people["bob"])
    reference_of(build, item_id, people["alice"])
    flagged = answer(build, queue, people["alice"], item_id, json.dumps(bobs.tolist()))
    with build.sessionmaker() as session:
        found = other_instance.matches(session, session.get(Assignment, assignment_id).items)
        assert [(m.submission.id, [u.name for u in m.owners]) for m in found] == [
            (flagged.id, ["bob"])]


def test_a_regrade_keeps_the_mark(build, people, homework, queue):
    assignment_id, (item_id, _) = homework
    bobs = reference_of(build, item_id, people["bob"])
    reference_of(build, item_id, people["alice"])
    answer(build, queue, people["alice"], item_id, json.dumps(bobs.tolist()))
    with build.sessionmaker() as session:
        plan = regrade.plan(session, session.get(Assignment, assignment_id))
    assert plan.changed == []
    assert plan.regraded[0].new.codes[0] == "other_instance"


def test_a_wrong_function_that_computes_from_its_inputs_is_not_flagged(build, people, homework, queue):
    _, (item_id, _) = homework
    reference_of(build, item_id, people["bob"])
    source = "import numpy as np\ndef softmax_jacobian(z):\n    return np.zeros((len(z), len(z)))\n"
    submission = answer(build, queue, people["alice"], item_id, source, "python")
    assert "other_instance" not in (submission.codes or [])


@pytest.mark.parametrize("position", [0, 1])
def test_a_function_returning_anothers_numbers_is_flagged(build, people, homework, queue, position):
    assignment_id, items = homework
    bobs = reference_of(build, items[position], people["bob"])
    reference_of(build, items[position], people["alice"])
    kind = ("softmax_jacobian", "layer_jacobian")[position]
    arguments = ("z", "W, x")[position]
    source = f"import numpy as np\ndef {kind}({arguments}):\n    return np.array({bobs.tolist()})\n"
    submission = answer(build, queue, people["alice"], items[position], source, "python")
    assert submission.verdict["feedback"][0]["code"] == "other_instance"
    with build.sessionmaker() as session:
        found = other_instance.matches(session, session.get(Assignment, assignment_id).items)
        assert [[u.name for u in m.owners] for m in found] == [["bob"]]
        assert regrade.plan(session, session.get(Assignment, assignment_id)).changed == []


def test_a_formula_of_anothers_numbers_is_named(build, people, queue):
    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "jacobian_warmup"}])
    bobs = reference_of(build, item_id, people["bob"])
    reference_of(build, item_id, people["alice"])
    rows = r" \\ ".join(" & ".join(repr(float(v)) for v in row) for row in bobs)
    formula = rf"\begin{{bmatrix}} {rows} \end{{bmatrix}}"
    submission = answer(build, queue, people["alice"], item_id, formula, "formula")
    assert submission.verdict["correct"] is False
    assert submission.verdict["feedback"][0]["code"] == "other_instance"
    with build.sessionmaker() as session:  # the instructor's report names whose numbers they were
        found = other_instance.matches(session, [session.get(Item, item_id)])
        assert [(m.submission.id, [u.name for u in m.owners]) for m in found] == [(submission.id, ["bob"])]
    general = r"\begin{bmatrix} e^{x_1} & e^{x_2} \\ e^{x_1} x_2 & e^{x_1} \\ 4 & 9 x_2^2 \end{bmatrix}"
    right = answer(build, queue, people["alice"], item_id, general, "formula")
    assert right.verdict["correct"] is True


def test_only_an_answer_that_may_be_anothers_reads_the_variants(build, people, homework):
    _, (item_id, _) = homework
    instance = {"kind": "softmax_jacobian", "z": [0.1, 0.2, 0.3]}
    exercise, normal = exercises.validate(instance)
    opened = []

    def sessionmaker():
        opened.append(True)
        return build.sessionmaker()

    def held(answer: np.ndarray) -> jobs.Lease:
        return jobs.Lease(1, "w", 1, 1, instance, json.dumps(answer.tolist()), "json", item_id,
                          people["alice"].id)

    assert jobs.judge(held(exercise.reference(normal)), sessionmaker).correct
    assert not opened  # a right answer: no session, no connection from the pool
    assert not jobs.judge(held(2 * exercise.reference(normal)), sessionmaker).correct
    assert opened == [True]
