"""Judging one array: shape, finiteness, the misconception it matches, and what is off.

The kind's catalog lists its own wrong answers (``Exercise.mistakes``) with their
messages (``Exercise.misconceptions``); the transformations every kind shares
(transpose, sign, scale) and their messages live here. A wrong answer is matched
against each; where none matches, the feedback says which property of the true
answer fails and where the wrong entries lie.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from exercises import CATALOG_VERSION, Exercise, Instance
from grader import __version__
from grader.judge.compare import TYPED, Array, Tolerance, agrees, close
from grader.judge.verdict import Entry, Feedback, Verdict

MAX_LISTED_ENTRIES = 20  # entries listed in a verdict; the count says how many more
MAX_NAMED_IN_MESSAGE = 6
SCALE_MIN_RATIO_GAP = 0.02  # a ratio this close to 1 is a precision problem, not a scale one
PRECISION_DIGITS = 3  # what the precision message asks for
ROUNDINGS = np.arange(0, 5)  # significant figures (and decimals) a too-short entry may have kept

#: the messages of the mistakes every kind shares; a kind's own are in its catalog entry
MESSAGES: dict[str, str] = {
    "transpose": (
        "Your matrix is the transpose of the expected one: rows and columns are swapped. "
        "Check the layout asked for: {layout_hint}"
    ),
    "sign": "Every entry has the right size but the wrong sign: check the sign of each term.",
    "precision": (
        "Your entries are the right values rounded too far: give at least "
        f"{PRECISION_DIGITS} significant figures."
    ),
}
# mistakes also named when divided by their largest entry: exp(z) shifted by max z is exp(z) / max exp(z)
SHIFTED_BY_MAX = frozenset({"not_normalised"})


def judge_array(
    exercise: Exercise,
    instance: Instance,
    received: Array,
    tol: Tolerance = TYPED,
    *,
    expected: Array | None = None,
) -> Verdict:
    """The verdict on one array answering ``instance`` (already validated)."""
    if expected is None:
        expected = exercise.reference(instance)
    received = _as_expected_vector(np.asarray(received, dtype=np.float64), expected)
    verdict = Verdict(
        correct=False,
        score=0.0,
        kind=exercise.name,
        instance=instance,
        expected_shape=list(expected.shape),
        received_shape=list(received.shape),
        total_count=int(expected.size),
        tolerance=tol.as_dict(),
        catalog_version=CATALOG_VERSION,
        grader_version=__version__,
    )
    if received.shape != expected.shape:
        verdict.feedback = _shape_feedback(exercise, instance, received, expected, tol)
        verdict.wrong_count = verdict.total_count
        return verdict

    right = close(expected, received, tol)
    wrong_count = int(right.size - right.sum())
    verdict.wrong_count = wrong_count
    verdict.score = float(right.mean()) if right.size else 1.0
    if wrong_count == 0:
        verdict.correct, verdict.score = True, 1.0
        return verdict

    verdict.wrong_entries = _wrong_entries(exercise, instance, expected, received, right)
    if not np.all(np.isfinite(received)):
        bad = int((~np.isfinite(received)).sum())
        verdict.feedback.append(
            Feedback(code="not_finite", message=f"{bad} of your entries are NaN or infinite.")
        )
    named = name_mistake(exercise, instance, received, tol, expected=expected)
    if named is None and _rounded_too_far(expected, received, right):
        named = [Feedback(code="precision", message=MESSAGES["precision"])]
    if named is not None:
        verdict.feedback.extend(named)
    else:
        verdict.feedback.extend(_unnamed_feedback(exercise, instance, received, right))
    return verdict


def name_mistake(
    exercise: Exercise,
    instance: Instance,
    received: Array,
    tol: Tolerance,
    *,
    expected: Array | None = None,
) -> list[Feedback] | None:
    """The misconception(s) ``received`` matches, or None when it matches none."""
    if expected is None:
        expected = exercise.reference(instance)
    for codes, wrong in _candidates(exercise, instance, expected):
        if (
            wrong.shape == received.shape
            and not agrees(expected, wrong, tol)
            and (
                agrees(wrong, received, tol)
                or (len(codes) == 1 and codes[0] in SHIFTED_BY_MAX and _shifted(wrong, received, tol))
            )
        ):
            return [Feedback(code=code, message=_message(exercise, code, instance)) for code in codes]
    if received.shape == expected.shape and np.all(np.isfinite(received)):
        return _scale_feedback(expected, received, tol)
    return None


def _candidates(
    exercise: Exercise, instance: Instance, expected: Array
) -> Iterator[tuple[tuple[str, ...], Array]]:
    """Wrong answers to compare with, each with the codes that name it, commonest first.

    Lazily: the kind's own mistakes are computed only when no transpose or sign
    explains the answer.
    """
    if expected.ndim == 2:
        yield ("transpose",), expected.T
    yield ("sign",), -expected
    for code, wrong in exercise.mistakes(instance).items():
        yield (code,), wrong
        if wrong.ndim == 2:
            yield (code, "transpose"), wrong.T
        yield (code, "sign"), -wrong


def _shifted(wrong: Array, received: Array, tol: Tolerance) -> bool:
    """Whether ``received`` is ``wrong`` divided by its largest entry (exp(z - max z) for exp(z))."""
    largest = float(np.abs(wrong).max()) if wrong.size else 0.0
    return 0.0 < largest < np.inf and agrees(wrong / largest, received, tol)


def _rounded_too_far(expected: Array, received: Array, right: Any) -> bool:
    """Whether every wrong entry is its expected value rounded or cut to a few digits."""
    wrong = ~right
    e, r = expected[wrong], received[wrong]
    if not np.all(np.isfinite(r)) or not np.any(r):
        return False
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        magnitude = np.floor(np.log10(np.abs(e)))
        magnitude = np.where(np.isfinite(magnitude), magnitude, 0.0)
        digits = ROUNDINGS[:, np.newaxis]
        significant = 10.0 ** (digits - magnitude)  # keeps digits + 1 significant figures
        decimals = 10.0**digits
        candidates = np.concatenate(
            [
                np.round(e * significant) / significant,
                np.trunc(e * significant) / significant,
                np.round(e * decimals) / decimals,
                np.trunc(e * decimals) / decimals,
            ]
        )
    matches = np.isclose(candidates, r, rtol=1e-9, atol=1e-12)
    return bool(np.all(matches.any(axis=0)))


def _scale_feedback(expected: Array, received: Array, tol: Tolerance) -> list[Feedback] | None:
    denominator = float(np.vdot(expected, expected))
    if denominator == 0.0:
        return None
    ratio = float(np.vdot(expected, received)) / denominator
    if (
        not np.isfinite(ratio)
        or abs(ratio - 1) < SCALE_MIN_RATIO_GAP
        or abs(ratio) < 1e-9
        or not agrees(ratio * expected, received, tol)
    ):
        return None
    return [
        Feedback(
            code="scale",
            message=(
                f"Every entry is {ratio:.4g} times the expected one: the pattern is right but "
                "a constant factor is off."
            ),
        )
    ]


def _message(exercise: Exercise, code: str, instance: Instance) -> str:
    own = exercise.message(code)
    if own is not None:
        return own
    layout = instance.get("layout", "numerator")
    hint = (
        "numerator layout puts outputs in rows and inputs in columns."
        if layout == "numerator"
        else "denominator layout puts inputs in rows and outputs in columns."
    )
    template = MESSAGES.get(code, f"Your answer matches the known mistake {code!r}.")
    return template.format(layout_hint=hint)


def _as_expected_vector(received: Array, expected: Array) -> Array:
    """A vector written as a row or a column is the same vector."""
    if received.size != expected.size or received.shape == expected.shape:
        return received
    if expected.ndim == 1 and received.ndim == 2 and 1 in received.shape:
        return received.reshape(expected.shape)
    if received.ndim == 1 and expected.ndim == 2 and 1 in expected.shape:
        return received.reshape(expected.shape)
    return received


def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 1:
        return f"a vector of {shape[0]} entries"
    return f"a {' x '.join(str(s) for s in shape)} matrix"


def _shape_feedback(
    exercise: Exercise, instance: Instance, received: Array, expected: Array, tol: Tolerance
) -> list[Feedback]:
    named = name_mistake(exercise, instance, received, tol, expected=expected)
    if named is not None:
        return named
    message = (
        f"Expected {_shape_text(expected.shape)} {tuple(expected.shape)}, "
        f"got {_shape_text(received.shape)} {tuple(received.shape)}."
    )
    if expected.ndim == 2 and received.shape == expected.shape[::-1]:
        message += " The shape is transposed: check the layout asked for."
    return [Feedback(code="shape", message=message)]


def _wrong_entries(
    exercise: Exercise, instance: Instance, expected: Array, received: Array, right: Any
) -> list[Entry]:
    indices = np.argwhere(~right)[:MAX_LISTED_ENTRIES]
    return [
        Entry(
            index=[int(i) for i in index],
            label=exercise.entry_label(instance, tuple(int(i) for i in index)),
            expected=float(expected[tuple(index)]),
            received=float(received[tuple(index)]) if np.isfinite(received[tuple(index)]) else None,
        )
        for index in indices
    ]


def _unnamed_feedback(exercise: Exercise, instance: Instance, received: Array, right: Any) -> list[Feedback]:
    """No listed mistake matches: which entries are off, where, and which property fails."""
    wrong = ~right
    wrong_count = int(wrong.sum())
    labels = [
        exercise.entry_label(instance, tuple(int(i) for i in index))
        for index in np.argwhere(wrong)[:MAX_NAMED_IN_MESSAGE]
    ]
    listed = ", ".join(labels) + (", ..." if wrong_count > len(labels) else "")
    if right.any():
        message = f"{int(right.sum())} of {right.size} entries are right; {wrong_count} are off: {listed}."
        code = "partial"
    else:
        message = f"None of the {right.size} entries match the expected values."
        code = "incorrect"
    region = _region_of(exercise, instance, wrong)
    if region and right.any():
        message += f" All the wrong entries lie in {region}."
    feedback = [Feedback(code=code, message=message)]
    if np.all(np.isfinite(received)):
        failing = [p.description for p in exercise.properties(instance) if not _holds(p.holds, received)]
        if failing:
            feedback.append(
                Feedback(
                    code="property",
                    message="The true answer has a property yours lacks: " + "; ".join(failing) + ".",
                )
            )
    return feedback


def _region_of(exercise: Exercise, instance: Instance, wrong: Any) -> str | None:
    for name, mask in exercise.regions(instance, wrong.shape):
        if not np.any(wrong & ~mask):
            return name
    return None


def _holds(predicate: Any, received: Array) -> bool:
    try:
        with np.errstate(all="ignore"):  # entries near the float range overflow a row sum
            return bool(predicate(received))
    except (ValueError, IndexError, FloatingPointError):
        return False
