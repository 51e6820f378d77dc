"""A kind defined here, outside the catalog, is drawn, graded and shown with no change to grader/.

The kind is the Jacobian of an elementwise sigmoid with a gain, s = sigmoid(a v): given a
vector ``v`` of a size ``m`` no other kind uses and a scalar ``a``, dS/dv is the m x m
diagonal matrix diag(a s (1 - s)). Its one mistake, the missing gain, carries its own code
and message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import pytest
from flask.testing import FlaskClient

import exercises
from exercises import DrawOptions, Exercise, Input, Instance, InstanceError, Misconception, Statement
from grader.judge.functions import build_cases, grade_function
from grader.judge.grading import grade
from grader.sandbox import SandboxPool
from grader.service import variants
from grader.service.models import Item
from tests.conftest import Builder
from tests.test_pages import PASSWORD, log_in, post

FORGOT_GAIN = Misconception(
    "forgot_gain", "The gain a is missing: by the chain rule, d sigmoid(a v_i)/dv_i = a s_i (1 - s_i)."
)

CORRECT_SOURCE = (
    "import numpy as np\n\n"
    "def sigmoid_jacobian(v, a):\n"
    "    s = 1 / (1 + np.exp(-a * v))\n"
    "    return np.diag(a * s * (1 - s))\n"
)


def sigmoid(t: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-t))


class SigmoidJacobian(Exercise):
    name = "sigmoid_jacobian"
    title = "The Jacobian of a sigmoid with a gain"
    inputs = (Input("v", "vector", ("m",), "the pre-activations"), Input("a", "scalar", (), "the gain"))
    size_ranges: ClassVar[Mapping[str, tuple[int, int]]] = {"m": (2, 5)}
    misconceptions = (FORGOT_GAIN,)

    def _reference(self, instance: Instance) -> np.ndarray:
        v, a = self.arguments(instance).values()
        s = sigmoid(a * v)
        return np.diag(a * s * (1 - s))

    def _mistakes(self, instance: Instance) -> dict[str, np.ndarray]:
        v, a = self.arguments(instance).values()
        s = sigmoid(a * v)
        return {"forgot_gain": np.diag(s * (1 - s))}

    def statement(self, instance: Instance) -> Statement:
        return Statement(
            text=f"Let {self.given_text(instance)} and s = sigmoid(a v). Compute ds/dv.",
            latex=(
                rf"Let {self.given_latex(instance)} and $s = \sigma(a v)$. "
                r"Compute $\partial s / \partial v$."
            ),
        )


@pytest.fixture
def kind() -> Iterator[Exercise]:
    with exercises.registered(SigmoidJacobian()) as exercise:
        yield exercise


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(1) as pool:
        yield pool


INSTANCE = {"kind": "sigmoid_jacobian", "v": [0.5, -1.0, 2.0], "a": 1.5}


# ---- in the catalog for the test only ------------------------------------------------------


def test_the_kind_is_in_the_catalog_only_while_registered() -> None:
    assert "sigmoid_jacobian" not in exercises.KINDS
    with exercises.registered(SigmoidJacobian()):
        assert exercises.get("sigmoid_jacobian").signature == "sigmoid_jacobian(v, a)"
        with pytest.raises(ValueError, match="already in the catalog"):
            exercises.register(SigmoidJacobian())
    assert "sigmoid_jacobian" not in exercises.KINDS


# ---- drawn ------------------------------------------------------------------------------


def test_it_is_drawn_from_its_declared_inputs(kind: Exercise) -> None:
    instance = kind.draw(7)
    assert instance == kind.draw(7) and instance != kind.draw(8)
    assert set(instance) == {"kind", "v", "a"}
    assert 2 <= len(instance["v"]) < 5 and isinstance(instance["a"], float)
    assert exercises.validate(json.loads(json.dumps(instance))) == (kind, instance)
    assert len(kind.draw(1, DrawOptions(extra={"m": 6}))["v"]) == 6
    suite = kind.suite(3, given=instance)
    assert suite[0] == instance and len(suite) > 20
    assert {len(case["v"]) for case in suite} >= {1, 2}  # the edge cases the declaration gives: m = 1
    assert all(np.all(np.isfinite(kind.reference(case))) for case in suite)


@pytest.mark.parametrize(
    ("instance", "message"),
    [
        ({"kind": "sigmoid_jacobian", "v": [1.0]}, "needs 'a'"),
        ({"kind": "sigmoid_jacobian", "v": [[1.0]], "a": 1.0}, "numbers only"),
        ({"kind": "sigmoid_jacobian", "v": [1.0], "a": True}, "must be a number"),
        ({"kind": "sigmoid_jacobian", "v": [1.0], "a": float("inf")}, "finite"),
        ({"kind": "sigmoid_jacobian", "v": [1.0], "a": 1.0, "z": [1.0]}, "unknown field"),
    ],
)
def test_its_instances_are_checked_by_type(kind: Exercise, instance: dict, message: str) -> None:
    with pytest.raises(InstanceError, match=message):
        exercises.validate(instance)


# ---- graded as a matrix -------------------------------------------------------------------


def test_a_typed_matrix_is_graded(kind: Exercise) -> None:
    expected = kind.reference(kind.validate(INSTANCE))
    assert expected.shape == (3, 3)
    right = grade(INSTANCE, json.dumps(expected.tolist()), "json")
    assert right.correct and right.score == 1.0
    as_text = grade(INSTANCE, "\n".join(" ".join(f"{x:.4f}" for x in row) for row in expected), "text")
    assert as_text.correct


def test_its_own_mistake_is_named_with_its_own_message(kind: Exercise) -> None:
    normal = kind.validate(INSTANCE)
    wrong = kind.mistakes(normal)["forgot_gain"]
    verdict = grade(INSTANCE, json.dumps(wrong.tolist()), "json")
    assert verdict.codes == ["forgot_gain"]
    assert verdict.feedback[0].message == FORGOT_GAIN.message
    assert grade(INSTANCE, json.dumps((-kind.reference(normal)).tolist()), "json").codes == ["sign"]


def test_a_kind_without_a_notation_takes_no_formulas(kind: Exercise) -> None:
    verdict = grade(INSTANCE, "a s (1 - s)", "formula")
    assert verdict.codes == ["parse"] and "takes no formula answers" in verdict.feedback[0].message


# ---- graded as a function in the sandbox ----------------------------------------------------


def test_a_function_is_run_on_its_hidden_suite(kind: Exercise, pool: SandboxPool) -> None:
    verdict = grade_function(kind, CORRECT_SOURCE, kind.validate(INSTANCE), seed=4, pool=pool)
    assert verdict.correct and verdict.instances_passed == verdict.instances_total > 20
    assert not any(case.large_logits for case in build_cases(kind, None, seed=4))  # no logits here


def test_a_wrong_function_is_named_on_the_instance_it_fails(kind: Exercise, pool: SandboxPool) -> None:
    source = CORRECT_SOURCE.replace("a * s * (1 - s)", "s * (1 - s)")
    verdict = grade_function(kind, source, kind.validate(INSTANCE), seed=4, pool=pool)
    assert not verdict.correct and "forgot_gain" in verdict.codes
    message = next(f.message for f in verdict.feedback if f.code == "forgot_gain")
    assert message.startswith("On the instance given (v of shape (3,), a = 1.5): The gain a is missing")


# ---- shown on a page ----------------------------------------------------------------------


@pytest.fixture
def item_page(kind: Exercise, client: FlaskClient, build: Builder) -> dict[str, Any]:
    """Alice's page of an assignment item of the new kind, and her instance of it."""
    teacher = build.user("teacher", "instructor", password=PASSWORD)
    alice = build.user("alice", password=PASSWORD)
    course_id = build.course(teacher, [alice])
    _, (item_id,) = build.assignment(course_id, [{"kind": "sigmoid_jacobian"}])
    with build.sessionmaker() as session:
        instance = variants.instance_for(session, session.get(Item, item_id), alice.id)
    log_in(client, "alice")
    path = f"/items/{item_id}"
    return {"path": path, "instance": instance, "page": client.get(path).get_data(as_text=True)}


def test_the_exercise_page_shows_its_inputs_as_declared(item_page: dict[str, Any]) -> None:
    page = item_page["page"]
    assert "The Jacobian of a sigmoid with a gain" in page and "<math" in page
    assert "the pre-activations, vector of" in page and "the gain, number" in page
    assert "v = np.array([" in page and "% a column" in page
    assert "def sigmoid_jacobian(v, a):" in page
    assert "It receives v as a numpy array and a as a float" in page
    assert "edge cases included" in page
    assert 'id="formula-heading"' not in page  # it declares no notation


def test_an_answer_on_the_page_gets_the_kinds_own_feedback(
    kind: Exercise, client: FlaskClient, item_page: dict[str, Any]
) -> None:
    path, instance = item_page["path"], item_page["instance"]
    wrong = kind.mistakes(instance)["forgot_gain"]
    post(client, f"{path}/submit", {"answer": json.dumps(wrong.tolist()), "format": "auto"}, path)
    page = client.get(path).get_data(as_text=True)
    assert "forgot_gain" in page and "The gain a is missing" in page
    right = kind.reference(instance)
    post(client, f"{path}/submit", {"answer": json.dumps(right.tolist()), "format": "auto"}, path)
    assert "correct, full marks" in client.get(path).get_data(as_text=True)
