"""What the templates show, computed in Python: given values, their copyable notations,
the answer grid with the entries that are off, the answer format a text is written in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exercises import Exercise
from exercises.notation import notation
from grader.judge.answers import ParseError, read_answer
from grader.judge.formulas import FormulaError, parse

PYTHON_HINT = re.compile(r"^\s*(def|import|from)\s", re.MULTILINE)
# every symbol and the usual indices: whether a text reads as some kind's formula
ANY_FORMULA = notation("ijkt", "KKKK", "z S x W y K n x1 x2", has_class=True)
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


def given_values(exercise: Exercise, instance: Mapping[str, Any]) -> list[GivenValue]:
    """The given values of an instance as rows of numbers (a vector is shown as one row)."""
    found = []
    for name in exercise.given:
        value = instance[name]
        if name == "c":
            found.append(GivenValue(name, "true class, 0-based index", [[str(value)]]))
        elif isinstance(value, list) and value and isinstance(value[0], list):
            shape = f"{len(value)} × {len(value[0])} matrix"
            found.append(GivenValue(name, shape, [[number_text(v) for v in row] for row in value]))
        elif isinstance(value, list):
            found.append(GivenValue(name, f"vector of {len(value)}", [[number_text(v) for v in value]]))
        else:
            found.append(GivenValue(name, "number", [[number_text(value)]]))
    return found


def notations(exercise: Exercise, instance: Mapping[str, Any]) -> list[Notation]:
    """The given values written for numpy, JSON and MATLAB, ready to paste."""
    values = {name: instance[name] for name in exercise.given}
    numpy_lines = ["import numpy as np"]
    matlab_lines = []
    for name, value in values.items():
        if isinstance(value, list):
            numpy_lines.append(f"{name} = np.array({json.dumps(value)})")
        else:
            numpy_lines.append(f"{name} = {json.dumps(value)}")
        matlab_lines.append(_matlab(name, value))
    return [
        Notation("numpy", "numpy", "\n".join(numpy_lines)),
        Notation("json", "JSON", json.dumps(values)),
        Notation("matlab", "MATLAB", "\n".join(matlab_lines)),
    ]


def _matlab(name: str, value: Any) -> str:
    if name == "c":
        return f"c = {value};  % 0-based class index, as in the data (MATLAB's c + 1)"
    if isinstance(value, list) and value and isinstance(value[0], list):
        return f"{name} = [" + "; ".join(" ".join(number_text(v) for v in row) for row in value) + "];"
    if isinstance(value, list):
        return f"{name} = [" + "; ".join(number_text(v) for v in value) + "];  % a column"
    return f"{name} = {number_text(value)};"


def number_text(value: Any) -> str:
    """A number as short as it reads: 0.05, 1.8e+03, 2."""
    return f"{value + 0.0:g}" if isinstance(value, float) else str(value)  # + 0.0: no "-0"


def detect_format(answer: str) -> str:
    """The format an answer is most likely written in: python, json, text or formula."""
    if PYTHON_HINT.search(answer):
        return "python"
    try:
        parsed = json.loads(answer)
    except ValueError:
        return "formula" if _formula_not_matrix(answer) else "text"
    return "json" if isinstance(parsed, list | int | float) else "text"


def _formula_not_matrix(answer: str) -> bool:
    """Unreadable as a typed matrix, but a formula: ``S_i (delta_ij - S_j)``, ``diag(S) - S S^T``."""
    try:
        read_answer(answer, "text")
    except ParseError:
        try:
            parse(answer, ANY_FORMULA)
        except FormulaError as error:
            return error.code == "formula_index"
        return True
    return False


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
