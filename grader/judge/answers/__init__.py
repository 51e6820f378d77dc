"""Reading a typed answer (JSON, numpy print or repr, MATLAB, LaTeX, rows) into an array.

``read_answer(text, "json")`` reads JSON: a list of numbers is a vector, a list of
equal-length lists a matrix, and a bare number a vector of one entry. ``NaN``,
``Infinity``, ``-Infinity`` and the strings ``"nan"``, ``"inf"``, ``"-inf"`` are
read as non-finite floats (the grader, not the reader, reports them).

``read_answer(text, "text")`` works out the notation itself: numpy's print and
repr, JSON-looking lists, MATLAB ``[a b; c d]``, a LaTeX matrix environment, or
plain rows of numbers. Brackets keep the shape written: ``[1 2 3]`` is a vector,
``[[1, 2, 3]]`` a 1 x K matrix, ``[[1], [2]]`` a K x 1 column; without brackets a
single line is a vector and a number per line a column.

Whatever the text, ``read_answer`` returns a ``ReadAnswer`` or raises
``ParseError``, whose message points at the line and column of the trouble.
"""

from __future__ import annotations

from typing import Literal

from grader.judge.answers.common import (
    MAX_CHARS,
    ParseError,
    ReadAnswer,
    Unreadable,
    describe,
    line_column,
)
from grader.judge.answers.json_reader import read_json
from grader.judge.answers.text_reader import read_bracketed_fast, read_text

__all__ = ["ParseError", "ReadAnswer", "read_answer"]


def read_answer(text: str, fmt: Literal["json", "text"]) -> ReadAnswer:
    """Read ``text`` written in ``fmt`` ("json" or "text"); raises ``ParseError`` only."""
    if fmt not in ("json", "text"):
        raise ParseError(f"unknown answer format {fmt!r}: expected 'json' or 'text'")
    if not isinstance(text, str):
        raise ParseError("the answer must be text")
    if len(text) > MAX_CHARS:
        line, column = line_column(text, MAX_CHARS)
        raise ParseError(
            f"the answer is too long ({len(text):,} characters, at most {MAX_CHARS:,})",
            line,
            column,
        )
    if not text.strip():
        raise ParseError("the answer is empty")
    # Same-length replacements, so offsets still point into what the student typed.
    if "\u2212" in text:
        text = text.replace("\u2212", "-")
    if "\ufeff" in text:
        text = text.replace("\ufeff", " ")
    try:
        if fmt == "json":
            array, notation = read_json(text)
        else:
            fast = read_bracketed_fast(text)
            array, notation = fast if fast is not None else read_text(text)
    except Unreadable as error:
        line, column = line_column(text, error.offset)
        raise ParseError(error.message, line, column) from None
    except (RecursionError, MemoryError):
        raise ParseError("the answer is too large or too deeply nested to read") from None
    return ReadAnswer(array, notation, describe(array, notation))
