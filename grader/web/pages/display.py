"""What the templates show, computed in Python: an instance as a student reads it (its
given values and their copyable notations, as the kind declares them), a stored
submission with what may be shown of its verdict, the answer grid with the entries
that are off, the answer format a text is written in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from markupsafe import Markup

import exercises
from exercises import Exercise, Input
from grader.judge.answers import ParseError, read_answer
from grader.service import submissions
from grader.service.models import Submission, User
from grader.service.queue import grading_queue
from grader.web.api.access import teaches
from grader.web.api.schemas import MAX_ANSWER_CHARS
from grader.web.mathml import render_statement

MAX_GRID_ENTRIES = 400  # a larger grid is not worth drawing; the entry list still says which


@dataclass(frozen=True)
class GivenValue:
    """One given value for the table: its name, what it is, and its rows of numbers."""

    name: str
    what: str
    rows: list[list[str]]


@dataclass(frozen=True)
class Notation:
    key: str
    label: str
    text: str


@dataclass(frozen=True)
class Cell:
    text: str
    off: bool
    title: str


@dataclass(frozen=True)
class InstanceView:
    """An instance as a student reads it: statement, given values, what to answer."""

    exercise: Exercise
    instance: dict[str, Any]
    title: str
    statement_html: Markup
    statement_text: str
    givens: list[GivenValue]
    notations: list[Notation]
    expected_shape: tuple[int, ...]
    signature: str
    arguments_hint: str
    hidden_cases: str
    code_template: str


@dataclass(frozen=True)
class SubmissionView:
    """A stored submission with what may be shown of its verdict."""

    submission: Submission
    status: str
    verdict: dict[str, Any] | None
    feedback_hidden: bool
    late: bool
    grid: list[list[Cell]] | None


def instance_view(kind: str, instance: dict[str, Any]) -> InstanceView:
    exercise = exercises.get(kind)
    statement = exercise.statement(instance)
    arguments = ", ".join(exercise.given)
    return InstanceView(
        exercise=exercise,
        instance=instance,
        title=exercise.title,
        statement_html=render_statement(statement.latex),
        statement_text=statement.text,
        givens=given_values(exercise, instance),
        notations=notations(exercise, instance),
        expected_shape=exercise.expected_shape(instance),
        signature=exercise.signature,
        arguments_hint=arguments_hint(exercise),
        hidden_cases="large logits" if exercise.logits(instance) is not None else "edge cases",
        code_template=f"import numpy as np\n\n\ndef {exercise.name}({arguments}):\n    ",
    )


def submission_view(submission: Submission, viewer: User) -> SubmissionView:
    """What a page shows ``viewer`` of a stored submission: its status and its verdict, as
    the service lets the viewer see them (see ``submissions.as_seen``), its answer grid."""
    seen = submissions.as_seen(submission, teaches=teaches(viewer, submission.item.assignment),
                               grades_elsewhere=grading_queue().grades_elsewhere)
    grid = None
    shown_as_read = submission.format not in ("python", "formula")
    if seen.status == "graded" and not seen.feedback_hidden and shown_as_read:
        grid = _answer_grid(submission)
    verdict = seen.verdict.model_dump(mode="json") if seen.verdict is not None else None
    return SubmissionView(submission, seen.status, verdict, seen.feedback_hidden, submission.late, grid)


def _answer_grid(submission: Submission) -> list[list[Cell]] | None:
    verdict = submission.verdict or {}
    expected, received = verdict.get("expected_shape"), verdict.get("received_shape")
    if expected is not None and received is not None and expected != received:
        return None
    try:
        array = read_answer(submission.answer, submission.format).array  # type: ignore[arg-type]
    except ParseError:
        return None
    if array.ndim > 2 or not np.all(np.isfinite(array)):
        return None
    return answer_grid(array.tolist(), verdict.get("wrong_entries", []))


def given_values(exercise: Exercise, instance: Mapping[str, Any]) -> list[GivenValue]:
    """The given values of an instance as rows of numbers (a vector is shown as one row)."""
    found = []
    for given in exercise.inputs:
        value = instance[given.name]
        if given.type == "matrix":
            rows = [[number_text(v) for v in row] for row in value]
        elif given.type == "vector":
            rows = [[number_text(v) for v in value]]
        else:
            rows = [[number_text(value)]]
        found.append(GivenValue(given.name, given.what(value), rows))
    return found


def notations(exercise: Exercise, instance: Mapping[str, Any]) -> list[Notation]:
    """The given values written for numpy, JSON and MATLAB, ready to paste."""
    values = {name: instance[name] for name in exercise.given}
    numpy_lines = ["import numpy as np"]
    matlab_lines = []
    for given in exercise.inputs:
        value = values[given.name]
        if given.is_array:
            numpy_lines.append(f"{given.name} = np.array({json.dumps(value)})")
        else:
            numpy_lines.append(f"{given.name} = {json.dumps(value)}")
        matlab_lines.append(_matlab(given, value))
    return [
        Notation("numpy", "numpy", "\n".join(numpy_lines)),
        Notation("json", "JSON", json.dumps(values)),
        Notation("matlab", "MATLAB", "\n".join(matlab_lines)),
    ]


def _matlab(given: Input, value: Any) -> str:
    name = given.name
    if given.type == "class_index":
        return f"{name} = {value};  % 0-based class index, as in the data (MATLAB's {name} + 1)"
    if given.type == "matrix":
        return f"{name} = [" + "; ".join(" ".join(number_text(v) for v in row) for row in value) + "];"
    if given.type == "vector":
        return f"{name} = [" + "; ".join(number_text(v) for v in value) + "];  % a column"
    return f"{name} = {number_text(value)};"


def arguments_hint(exercise: Exercise) -> str:
    """What a function answer receives, from the declared inputs: ``W and x as numpy arrays
    and c as an int``."""
    by_type: dict[str, list[str]] = {}
    for given in exercise.inputs:
        by_type.setdefault(given.argument_type, []).append(given.name)
    parts = []
    for received, names in by_type.items():
        plural = len(names) > 1
        what = f"{received}s" if plural else ("an " if received[0] in "aeiou" else "a ") + received
        parts.append(f"{' and '.join(names)} as {what}")
    return " and ".join(parts)


def number_text(value: Any) -> str:
    """A number as short as it reads: 0.05, 1.8e+03, 2."""
    return f"{value + 0.0:g}" if isinstance(value, float) else str(value)  # + 0.0: no "-0"


def answer_grid(
    received: list[Any] | None, wrong_entries: list[Mapping[str, Any]]
) -> list[list[Cell]] | None:
    """The received answer as rows of cells, the entries that are off marked; None if not drawable."""
    if received is None:
        return None
    rows = received if received and isinstance(received[0], list) else [received]
    if sum(len(row) for row in rows) > MAX_GRID_ENTRIES:
        return None
    vector = rows is not received
    off: dict[tuple[int, ...], Mapping[str, Any]] = {}
    for entry in wrong_entries:
        index = tuple(entry["index"])
        off[(0, *index) if vector else index] = entry
    grid = []
    for r, row in enumerate(rows):
        cells = []
        for c, value in enumerate(row):
            entry = off.get((r, c))
            # the label only: the expected value would hand the answer over
            title = str(entry.get("label", "")) if entry else ""
            cells.append(Cell(number_text(float(value)), entry is not None, title))
        grid.append(cells)
    return grid


def text_problem(answer: str) -> str | None:
    """What keeps a typed answer from being stored at all (empty, too long, a NUL), or None."""
    if not answer.strip():
        return "The answer is empty: type or paste it in the box."
    if len(answer) > MAX_ANSWER_CHARS:
        return f"The answer is too long: at most {MAX_ANSWER_CHARS:,} characters."
    if "\x00" in answer:
        return "The answer contains a NUL character; paste it as plain text."
    return None
