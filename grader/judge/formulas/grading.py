"""Grading a formula by evaluation: the given instance, then hidden ones of every size.

A formula is exact, so it is held to a tight tolerance; its arrays then meet the
same diagnosis as a typed matrix, and the messages speak of the formula. A
formula right on the given instance but wrong on a hidden one (numbers typed in,
a size hard-coded) is wrong, and the verdict shows that instance.
"""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np
import numpy.typing as npt

from exercises import CATALOG_VERSION, DrawOptions, Exercise, Instance
from exercises.cross_entropy import one_hot
from exercises.softmax import softmax
from grader import __version__
from grader.judge.compare import FORMULA, agrees
from grader.judge.diagnose import judge_array
from grader.judge.formulas.evaluate import evaluate
from grader.judge.formulas.lexer import FormulaError
from grader.judge.formulas.parser import parse
from grader.judge.formulas.tree import Expression, write_latex, write_plain
from grader.judge.verdict import Feedback, Verdict

HIDDEN_SIZES = tuple(range(1, 7))  # K of the hidden instances; n is drawn from 1..4
EXTRA_HIDDEN = 2  # and a few more of random sizes
MAX_INPUTS = 4
HIDDEN_DECIMALS = 6

FORMULA_MESSAGES: dict[str, str] = {
    "transpose": (
        "Your formula gives the transpose of the asked matrix: the roles of the row and column "
        "indices are swapped. {layout_hint}"
    ),
    "sign": "Your formula has the right size everywhere but the wrong sign: check the sign of each term.",
    "diagonal_only": (
        "Your formula gives only S_i (1 - S_i) on the diagonal and 0 elsewhere: the -S_i S_j "
        "terms for i != j are missing. Write both cases at once with delta_ij: S_i (delta_ij - S_j)."
    ),
    "outer_only": ("Your formula gives -S_i S_j everywhere: the diag(S) term (S_i delta_ij) is missing."),
    "used_logits": (
        "Your formula uses the logits z where the softmax outputs S belong: the derivative of "
        "softmax is written with S = softmax(z)."
    ),
    "missing_input_factor": (
        "Your formula lacks the factor x_j: by the chain rule each entry is dS_t/dz_i times dz_i/dW_ji = x_j."
    ),
    "forgot_one_hot": "Your formula gives S itself: subtract the one-hot y of the true class, S - y.",
    "not_normalised": (
        "Your formula is exp(z_i) without the division by sum_k exp(z_k): softmax's entries sum to 1."
    ),
    "power_rule": "Your formula's entry for 3 x2^3 is off: by the power rule d(3 x2^3)/dx2 = 9 x2^2.",
    "vec_order": (
        "Your formula orders the columns by W flattened row by row; vec(W) stacks W's columns, "
        "column (i-1)n + j is W_ji."
    ),
    "class_index": (
        "Your formula puts the one-hot at the neighbouring class: c is the true class as the "
        "statement numbers it."
    ),
}


def grade_formula(exercise: Exercise, instance: Instance, text: str, *, seed: int | None = None) -> Verdict:
    """The verdict on formula ``text`` answering ``instance`` (already validated)."""
    notation = exercise.notation
    if notation is None:
        error = FormulaError(f"{exercise.name} takes no formula answers: answer with a matrix or code")
        return _refused(exercise, instance, error, None)
    try:
        tree = parse(text, notation)
    except FormulaError as error:
        return _refused(exercise, instance, error, error.tree)  # type: ignore[arg-type]
    read_as = write_plain(tree)
    try:
        received = answer_on(tree, exercise, instance)
    except FormulaError as error:
        return _refused(exercise, instance, error, tree)
    verdict = judge_array(exercise, instance, received, FORMULA)
    seed = secrets.randbits(63) if seed is None else seed
    passed, total = 0, 1
    if verdict.correct:
        suite = hidden_suite(exercise, instance, seed)
        failed, right = _first_failure(tree, exercise, instance, suite)
        passed, total = 1 + right, 1 + len(suite)
        verdict = failed or verdict
    else:
        verdict.feedback = [_spoken_of_formula(item, instance) for item in verdict.feedback]
    verdict.read_as, verdict.read_as_latex = read_as, write_latex(tree)
    verdict.suite_seed, verdict.instances_passed, verdict.instances_total = seed, passed, total
    return verdict


def _first_failure(
    tree: Expression, exercise: Exercise, given: Instance, suite: list[Instance]
) -> tuple[Verdict | None, int]:
    """The verdict on the first hidden instance the formula gets wrong (None if none), and how many
    it got right before it."""
    for right, hidden in enumerate(suite):
        expected = exercise.reference(hidden)
        try:
            received = answer_on(tree, exercise, hidden)
        except FormulaError as error:
            verdict = _refused(exercise, given, error, tree)
            where = "Your formula is right on your instance but cannot be evaluated on this one"
            verdict.feedback = [
                Feedback(code=error.code, message=f"{where} ({_size_words(hidden)}): {error.message}")
            ]
            verdict.failed_instance = {"instance": hidden, "expected": expected.tolist(), "given": False}
            return verdict, right
        if not agrees(expected, received, FORMULA):
            return _wrong_elsewhere(exercise, given, hidden, expected, received), right
    return None, len(suite)


def answer_on(tree: Expression, exercise: Exercise, instance: Instance) -> npt.NDArray[np.float64]:
    """The formula's answer on one instance; exp overflowing on huge logits is retried in long double."""
    notation = exercise.notation
    assert notation is not None, f"{exercise.name} takes no formulas"
    values = symbol_values(instance)
    layout = instance.get("layout", "numerator")
    answer = evaluate(tree, notation, values, layout)
    if not np.all(np.isfinite(answer)) and np.longdouble is not np.float64:
        answer = evaluate(tree, notation, values, layout, dtype=np.longdouble)
    if len(notation.entry) == 1 and answer.ndim == 2 and 1 in answer.shape:
        answer = answer.ravel()  # a vector written as a column or a row is the same vector
    return answer


def formula_answer(exercise: Exercise, text: str, instance: Instance) -> npt.NDArray[np.float64] | None:
    """A formula's answer to ``exercise`` on an instance (in its layout), or None if it cannot be had."""
    if exercise.notation is None:
        return None
    try:
        return answer_on(parse(text, exercise.notation), exercise, instance)
    except FormulaError:
        return None


def symbol_values(instance: Instance) -> dict[str, Any]:
    """Every symbol's value on an instance: the given ones and those derived from them."""
    values: dict[str, Any] = {}
    if "W" in instance:
        W = np.asarray(instance["W"], dtype=np.float64)
        x = np.asarray(instance["x"], dtype=np.float64)
        values.update(W=W, x=x, z=W.T @ x, n=x.size)
    elif "z" in instance:
        values["z"] = np.asarray(instance["z"], dtype=np.float64)
    if "z" in values:
        values.update(S=softmax(values["z"]), K=values["z"].size)
    if "c" in instance:
        values.update(c=instance["c"], y=one_hot(instance["c"], values["K"]))
    for name in ("x1", "x2"):
        if name in instance:
            values[name] = instance[name]
    return values


def hidden_suite(exercise: Exercise, instance: Instance, seed: int) -> list[Instance]:
    """Instances of every size K from 1 to 6 (n from 1 to 4), then a few more, all from ``seed``."""
    rng = np.random.default_rng(seed)
    layout = instance.get("layout", "numerator")
    sizes = [*HIDDEN_SIZES, *rng.integers(2, 7, EXTRA_HIDDEN).tolist()]
    return [
        exercise.draw(
            rng,
            DrawOptions(
                K=int(K), n=int(rng.integers(1, MAX_INPUTS + 1)), layout=layout, decimals=HIDDEN_DECIMALS
            ),
        )
        for K in sizes
    ]


def _wrong_elsewhere(
    exercise: Exercise,
    given: Instance,
    hidden: Instance,
    expected: npt.NDArray[np.float64],
    received: npt.NDArray[np.float64],
) -> Verdict:
    verdict = judge_array(exercise, hidden, received, FORMULA, expected=expected)
    where = f"Your formula is right on your instance but not on this one ({_size_words(hidden)})"
    verdict.feedback = [
        Feedback(code=item.code, message=f"{where}: {_spoken_of_formula(item, hidden).message}")
        for item in verdict.feedback
    ]
    verdict.correct, verdict.instance = False, given
    verdict.failed_instance = {
        "instance": hidden,
        "expected": expected.tolist(),
        "received": [v if np.isfinite(v) else None for v in received.ravel().tolist()]
        if received.ndim == 1
        else [[v if np.isfinite(v) else None for v in row] for row in received.tolist()],
        "given": False,
    }
    return verdict


def _size_words(instance: Instance) -> str:
    if "W" in instance:
        n, K = np.shape(instance["W"])
        return f"K = {K}, n = {n}"
    if "z" in instance:
        return f"K = {len(instance['z'])}"
    return f"x1 = {instance.get('x1')}, x2 = {instance.get('x2')}"


def _spoken_of_formula(item: Feedback, instance: Instance) -> Feedback:
    template = FORMULA_MESSAGES.get(item.code)
    if template is None:
        if item.code in ("partial", "incorrect", "scale"):
            return Feedback(code=item.code, message=f"Evaluated, your formula: {item.message}")
        return item
    layout = instance.get("layout", "numerator")
    hint = (
        "Row index first: the asked matrix has outputs in rows, inputs in columns (numerator layout)."
        if layout == "numerator"
        else "The asked matrix is in denominator layout: inputs in rows, outputs in columns."
    )
    return Feedback(code=item.code, message=template.format(layout_hint=hint))


def _refused(exercise: Exercise, instance: Instance, error: FormulaError, tree: Expression | None) -> Verdict:
    if error.code == "parse":
        message = f"Your formula could not be read: {error}"
    elif error.code == "formula_index":
        message = f"Your formula has an index problem: {error.message}"
    else:
        message = f"Your formula could not be evaluated: {error.message}"
    verdict = Verdict(
        correct=False,
        score=0.0,
        feedback=[Feedback(code=error.code, message=message)],
        kind=exercise.name,
        instance=dict(instance),
        tolerance=FORMULA.as_dict(),
        catalog_version=CATALOG_VERSION,
        grader_version=__version__,
        parse_position=error.offset,
    )
    if tree is not None:
        verdict.read_as, verdict.read_as_latex = write_plain(tree), write_latex(tree)
    return verdict
