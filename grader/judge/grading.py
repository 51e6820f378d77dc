"""Grading one answer: read it, compare it, diagnose it, and return the verdict."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import exercises
from exercises import CATALOG_VERSION, InstanceError
from grader import __version__
from grader.judge.answers import ParseError, read_answer
from grader.judge.compare import TYPED
from grader.judge.diagnose import judge_array
from grader.judge.follow_through import SHARE_DEFAULT, EarlierAnswer, follow_through, read_earlier
from grader.judge.formulas import grade_formula
from grader.judge.formulas.grading import formula_answer
from grader.judge.verdict import FORMATS, Feedback, Verdict


def grade(
    instance: Mapping[str, Any],
    answer: str,
    fmt: str,
    *,
    seed: int | None = None,
    earlier: Sequence[EarlierAnswer] = (),
    share: float = SHARE_DEFAULT,
) -> Verdict:
    """Grade ``answer`` (written in ``fmt``) against ``instance``.

    ``earlier`` holds the student's own answers to earlier parts of the same
    instance: a wrong typed answer that is right for them earns ``share`` of the
    credit (follow-through). ``seed`` draws the hidden instances of function and
    formula answers (a fresh one when None; the verdict records it). Raises
    :class:`exercises.InstanceError` for an instance that cannot be graded and
    :class:`ValueError` for an unknown format or an earlier part of an unknown
    kind; anything wrong with the answer itself is a verdict.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown answer format {fmt!r}: use one of {', '.join(FORMATS)}")
    for part in earlier:
        exercises.get(part.kind)  # an unknown kind is refused with the catalog's message
    if fmt == "python":
        return _grade_function(instance, answer, seed)
    started = time.perf_counter()
    exercise, normal = exercises.validate(dict(instance))
    if fmt == "formula":
        verdict = grade_formula(exercise, normal, answer, seed=seed)
        received = formula_answer(exercise, answer, normal) if earlier and not verdict.correct else None
        if received is not None:
            theirs = {part.kind: read_earlier(part, normal) for part in earlier}
            verdict = follow_through(verdict, exercise, normal, received, theirs, share)
        verdict.format = fmt
        verdict.timings_ms = {"grading": round((time.perf_counter() - started) * 1000, 3)}
        return verdict
    try:
        read = read_answer(answer, fmt)  # type: ignore[arg-type]
    except ParseError as error:
        verdict = parse_verdict(exercise.name, normal, str(error))
    else:
        verdict = judge_array(exercise, normal, read.array)
        verdict.read_as = read.description
        if earlier:
            theirs = {part.kind: read_earlier(part, normal) for part in earlier}
            verdict = follow_through(verdict, exercise, normal, read.array, theirs, share)
    verdict.format = fmt
    verdict.timings_ms = {"grading": round((time.perf_counter() - started) * 1000, 3)}
    return verdict


def parse_verdict(kind: str, instance: Mapping[str, Any], message: str) -> Verdict:
    """The verdict on an answer that could not be read."""
    return Verdict(
        correct=False,
        score=0.0,
        feedback=[Feedback(code="parse", message=f"Your answer could not be read: {message}")],
        kind=kind,
        instance=dict(instance),
        tolerance=TYPED.as_dict(),
        catalog_version=CATALOG_VERSION,
        grader_version=__version__,
    )


def _grade_function(instance: Mapping[str, Any], source: str, seed: int | None) -> Verdict:
    from grader.judge.functions import grade_function

    if not isinstance(instance, Mapping):
        raise InstanceError("the instance must be a JSON object with a 'kind'")
    exercise = exercises.get(instance.get("kind"))  # type: ignore[arg-type]
    has_values = any(key in instance for key in exercise.given)
    given = exercise.validate(instance) if has_values else None
    if given is None and set(instance) - {"kind", "layout"}:
        exercise.validate(instance)  # refuses the unknown fields with its message
    verdict = grade_function(exercise, source, given, seed=seed)
    verdict.format = "python"
    return verdict
