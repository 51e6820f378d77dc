"""Grading function answers on hidden suites: scores, named mistakes, partial credit, stops."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import exercises
from grader.judge.functions import build_cases, grade_function
from grader.judge.grading import grade
from grader.sandbox import SandboxPool, SandboxUnavailable
from tests import articles

STABLE_SOFTMAX = """
import numpy as np

def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()
"""

CORRECT = {
    "softmax": "def softmax(z):\n    return _softmax(z)\n",
    "softmax_jacobian": (
        "def softmax_jacobian(z):\n    S = _softmax(z)\n    return np.diag(S) - np.outer(S, S)\n"
    ),
    "logits_weight_jacobian": (
        "def logits_weight_jacobian(W, x):\n    K = W.shape[1]\n    return np.kron(np.eye(K), x[None, :])\n"
    ),
    "layer_jacobian": (
        "def layer_jacobian(W, x):\n"
        "    S = _softmax(W.T @ x)\n"
        "    return np.kron(np.diag(S) - np.outer(S, S), x[None, :])\n"
    ),
    "cross_entropy_logits_grad": (
        "def cross_entropy_logits_grad(z, c):\n    g = _softmax(z)\n    g[c] -= 1\n    return g\n"
    ),
    "cross_entropy_weight_grad": (
        "def cross_entropy_weight_grad(W, x, c):\n"
        "    g = _softmax(W.T @ x)\n    g[c] -= 1\n    return np.outer(x, g)\n"
    ),
    "jacobian_warmup": (
        "import math\n"
        "def jacobian_warmup(x1, x2):\n"
        "    e1, e2 = math.exp(x1), math.exp(x2)\n"
        "    return [[e1, e2], [e1 * x2, e1], [4, 9 * x2 ** 2]]\n"
    ),
}

NAIVE_SOFTMAX = "import numpy as np\ndef softmax(z):\n    return np.exp(z) / np.exp(z).sum()\n"


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    with SandboxPool(2) as pool:
        yield pool


def grade_source(pool: SandboxPool, kind: str, source: str, given: dict | None = None, seed: int = 3):
    exercise = exercises.get(kind)
    normal = exercise.validate(given) if given is not None else None
    return grade_function(exercise, source, normal, seed=seed, pool=pool)


def test_kinds_have_a_correct_source_each() -> None:
    assert set(CORRECT) == set(exercises.KINDS)


@pytest.mark.parametrize("kind", CORRECT)
def test_a_correct_function_scores_1_on_every_kind(pool: SandboxPool, kind: str) -> None:
    verdict = grade_source(pool, kind, STABLE_SOFTMAX + CORRECT[kind])
    assert verdict.correct and verdict.score == 1.0, verdict.feedback
    assert verdict.instances_passed == verdict.instances_total >= 21
    assert verdict.instance == {"kind": kind}
    assert verdict.format == "python" and verdict.tolerance["name"] == "function"
    assert {"sandbox", "total"} <= set(verdict.timings_ms)


def test_the_given_instance_is_graded_and_shown(pool: SandboxPool) -> None:
    given = articles.layer_instance("layer_jacobian", "denominator")
    verdict = grade_source(pool, "layer_jacobian", STABLE_SOFTMAX + CORRECT["layer_jacobian"], given)
    assert verdict.correct  # a function returns numerator layout whatever the instance asks
    assert verdict.instance is not None and verdict.instance["layout"] == "denominator"
    cases = build_cases(exercises.get("layer_jacobian"), exercises.validate(given)[1], seed=3)
    assert cases[0].instance["W"] == given["W"] and cases[0].instance["layout"] == "numerator"


def test_the_suite_has_edge_cases_and_varied_sizes() -> None:
    cases = build_cases(exercises.get("softmax_jacobian"), None, seed=5)
    sizes = {len(c.instance["z"]) for c in cases}
    assert 1 in sizes and len(sizes) >= 4
    assert any(c.large_logits for c in cases)
    assert sum(c.large_logits for c in cases) < len(cases) / 3  # edge cases stay a minority


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("return np.kron(J, x[None, :]).T", "transpose"),
        ("return np.kron(x[None, :], J)", "vec_order"),
        ("return -np.kron(J, x[None, :])", "sign"),
        ("return np.kron(np.diag(np.diag(J)), x[None, :])", "diagonal_only"),
    ],
)
def test_a_wrong_layer_jacobian_is_named(pool: SandboxPool, body: str, code: str) -> None:
    source = (
        STABLE_SOFTMAX
        + "def layer_jacobian(W, x):\n    S = _softmax(W.T @ x)\n    J = np.diag(S) - np.outer(S, S)\n"
        + f"    {body}\n"
    )
    verdict = grade_source(pool, "layer_jacobian", source)
    assert not verdict.correct and verdict.score < 1.0
    assert code in verdict.codes, verdict.feedback
    failed = verdict.failed_instance
    assert failed is not None and {"instance", "expected", "received"} <= set(failed)
    assert np.shape(failed["expected"]) != () and failed["received"] is not None


def test_a_naive_softmax_is_unstable_with_partial_credit(pool: SandboxPool) -> None:
    verdict = grade_source(pool, "softmax", NAIVE_SOFTMAX)
    assert verdict.codes == ["unstable_softmax"]
    assert 0.5 < verdict.score < 1.0 and not verdict.correct
    assert "max" in verdict.feedback[0].message
    assert verdict.failed_instance is not None
    assert max(np.abs(verdict.failed_instance["instance"]["z"])) >= 500


def test_a_naive_layer_jacobian_is_unstable_too(pool: SandboxPool) -> None:
    source = (
        "import numpy as np\ndef layer_jacobian(W, x):\n"
        "    e = np.exp(W.T @ x)\n    S = e / e.sum()\n"
        "    return np.kron(np.diag(S) - np.outer(S, S), x[None, :])\n"
    )
    verdict = grade_source(pool, "layer_jacobian", source)
    assert verdict.codes == ["unstable_softmax"]
    assert 0.5 < verdict.score < 1.0


def test_wrong_only_for_one_class_earns_partial_credit(pool: SandboxPool) -> None:
    source = STABLE_SOFTMAX + (
        "def softmax_jacobian(z):\n"
        "    if len(z) == 1:\n        return np.array([[1.0]])\n"
        "    S = _softmax(z)\n    return np.diag(S) - np.outer(S, S)\n"
    )
    verdict = grade_source(pool, "softmax_jacobian", source)
    assert 0.8 < verdict.score < 1.0 and not verdict.correct
    failed = verdict.failed_instance
    assert failed is not None and len(failed["instance"]["z"]) == 1
    assert failed["expected"] == [[0.0]] and failed["received"] == [[1.0]]
    assert verdict.instances_passed == verdict.instances_total - 1  # type: ignore[operator]


@pytest.mark.parametrize(
    ("source", "code", "words"),
    [
        ("def softmax(z):\n    return z +\n", "syntax_error", "line 2"),
        ("def soft_max(z):\n    return z\n", "missing_function", "softmax(z)"),
        ("import numpy as np\nraise ImportError('nope')\n", "runtime_error", "before the function"),
        ("def softmax(z):\n    return z / 0 + undefined\n", "runtime_error", "NameError"),
        ("def softmax(z):\n    return None\n", "shape", "returned None"),
    ],
)
def test_broken_code_scores_0_with_a_message(pool: SandboxPool, source: str, code: str, words: str) -> None:
    verdict = grade_source(pool, "softmax", source)
    assert verdict.score == 0.0 and not verdict.correct
    assert code in verdict.codes
    assert words in " ".join(f.message for f in verdict.feedback)


def test_text_from_the_sandbox_always_serialises(pool: SandboxPool) -> None:
    source = "globals()['bad\\ud800'] = print\ndef softmax(z):\n    raise ValueError('\\ud800\\x00' * 5000)\n"
    verdict = grade_source(pool, "softmax", source)
    assert verdict.codes == ["runtime_error"]
    assert len(verdict.model_dump_json()) < 20_000
    missing = grade_source(pool, "softmax", "globals()['bad\\udfff'] = print\n")
    assert "bad?" in missing.model_dump_json()


def test_a_runtime_error_shows_the_students_lines_only(pool: SandboxPool) -> None:
    verdict = grade_source(pool, "softmax", "def softmax(z):\n    return z[len(z)]\n")
    message = verdict.feedback[0].message
    assert "line 2, in softmax" in message and "return z[len(z)]" in message
    assert "IndexError" in message
    assert "grader" not in message and "daemon" not in message


def test_a_timeout_keeps_the_instances_done_before(pool: SandboxPool) -> None:
    source = STABLE_SOFTMAX + (
        "def softmax(z):\n    if len(z) == 1:\n        while True:\n            pass\n"
        "    return _softmax(z)\n"
    )
    verdict = grade_source(pool, "softmax", source)
    assert "timeout" in verdict.codes
    assert 0.0 < verdict.score < 1.0


def test_an_unavailable_sandbox_is_a_verdict_not_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(SandboxPool):
        def started(self, *args: object, **kwargs: object):  # type: ignore[override]
            raise SandboxUnavailable("bwrap: setting up uid map: Permission denied")

    verdict = grade_source(Broken(1), "softmax", NAIVE_SOFTMAX)
    assert verdict.codes == ["sandbox_unavailable"] and verdict.score == 0.0
    assert "The sandbox is unavailable: bwrap" in verdict.feedback[0].message


def test_grade_runs_python_answers_through_the_sandbox() -> None:
    verdict = grade({"kind": "softmax", "z": [1.0, 2.0, 3.0]}, STABLE_SOFTMAX + CORRECT["softmax"], "python")
    assert verdict.correct and verdict.format == "python"
    assert verdict.instance == {"kind": "softmax", "z": [1.0, 2.0, 3.0]}


def test_the_verdict_records_the_seed_that_draws_the_suite_again() -> None:
    exercise = exercises.get("softmax")
    source = "import numpy as np\ndef softmax(z):\n    return np.exp(z) / np.exp(z).sum()\n"
    first = grade_function(exercise, source, None)
    again = grade_function(exercise, source, None, seed=first.suite_seed)
    assert first.suite_seed is not None
    assert (again.score, again.instances_total) == (first.score, first.instances_total)
    assert again.failed_instance["instance"] == first.failed_instance["instance"]


SOFTMAX_JACOBIAN_GIVEN = {"kind": "softmax_jacobian", "z": [1.0, 2.0, 3.0]}


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("def softmax_jacobian(z):\n    return 0.5\n", "a single number (0.5); a 3 x 3 matrix is due"),
        ("def softmax_jacobian(z):\n    return {'S': 1}\n", "a dict, not an array; a 3 x 3 matrix is due"),
    ],
)
def test_what_is_not_a_matrix_says_what_is_due(pool: SandboxPool, source: str, words: str) -> None:
    verdict = grade_function(exercises.get("softmax_jacobian"), source, SOFTMAX_JACOBIAN_GIVEN, pool=pool)
    assert verdict.codes == ["shape"]
    assert words in verdict.feedback[0].message


@pytest.mark.parametrize(
    ("source", "line"),
    [
        (
            "import os\nimport numpy as np\ndef softmax_jacobian(z):\n"
            "    return np.array(os.listdir('/'), dtype=float)\n",
            "line 4, in softmax_jacobian",
        ),
        (
            "class Entry:\n    def __float__(self):\n        return float('x' + str(self))\n"
            "def softmax_jacobian(z):\n    return [[Entry()] * len(z)] * len(z)\n",
            "line 3, in __float__",
        ),
    ],
)
def test_an_error_raised_in_the_students_code_is_a_runtime_error(
    pool: SandboxPool, source: str, line: str
) -> None:
    verdict = grade_function(exercises.get("softmax_jacobian"), source, SOFTMAX_JACOBIAN_GIVEN, pool=pool)
    assert verdict.codes == ["runtime_error"]
    assert line in verdict.feedback[0].message and "ValueError" in verdict.feedback[0].message


def test_nan_and_infinity_returned_are_kept_as_words(pool: SandboxPool) -> None:
    source = (
        "import numpy as np\n"
        "def softmax_jacobian(z):\n"
        "    return np.array([[np.nan, np.inf, -np.inf]] * len(z))\n"
    )
    verdict = grade_function(exercises.get("softmax_jacobian"), source, SOFTMAX_JACOBIAN_GIVEN, pool=pool)
    stored = verdict.model_dump(mode="json")["failed_instance"]
    assert stored["received"] == [["NaN", "inf", "-inf"]] * 3
