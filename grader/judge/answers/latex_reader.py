"""Reading a LaTeX matrix: bmatrix, pmatrix, array, with or without $ and \\left[."""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from grader.judge.answers.common import (
    ABBREVIATED,
    MAX_ENTRIES,
    UNSIGNED,
    Unreadable,
    exact_entry,
    line_column,
    quote,
    ragged,
)

# ---- text: LaTeX ----------------------------------------------------------------------

_LATEX_ENVIRONMENTS = frozenset(
    {"matrix", "bmatrix", "pmatrix", "Bmatrix", "vmatrix", "Vmatrix", "smallmatrix", "array"}
)
_LATEX_BEGIN = re.compile(r"\\begin\s*\{\s*([A-Za-z]*\*?)\s*\}")
_LATEX_ARGUMENT = re.compile(r"\s*(?:\[[^\]\n]*\]|\{[^{}\n]*\})")
_LATEX_OPENING = re.compile(r"\s*(?:\$\$?|\\\[|\\\()?\s*(?:\\left\s*(?:\[|\(|\\lbrack\b|\.))?\s*")
_LATEX_CLOSING = re.compile(r"\s*(?:\\right\s*(?:\]|\)|\\rbrack\b|\.))?\s*[.,]?\s*(?:\$\$?|\\\]|\\\))?\s*")
_LATEX_ROW_BREAK = re.compile(r"\\\\(?:\s*\[[^\]\n]*\])?")
_LATEX_NOISE = re.compile(
    r"\\[,;:! ]|\\q?quad(?![A-Za-z])|~|\\h?phantom\s*\{[^{}]*\}|\\hline|\\displaystyle"
    r"|\\(?:text|mathrm|mathit|textrm)(?![A-Za-z])|[{}]"
)
_LATEX_POWER = re.compile(r"(?:\\times|\\cdot)\s*\{?\s*10\s*\^\s*\{?\s*([+-]?[0-9]{1,6})\s*\}?\s*\}?\s*$")
_LATEX_NUMBER = re.compile(rf"\s*([+-]?)\s*({UNSIGNED}|\\infty)\s*")
_LATEX_DOTS = re.compile(r"\\[cvdl]?dots")


def read_latex(text: str) -> tuple[npt.NDArray[np.float64], str]:
    begin = _LATEX_BEGIN.search(text)
    if begin is None:
        opening = _LATEX_OPENING.match(text)
        body_start = opening.end() if opening else 0
        body_end = _closing_start(text, body_start, len(text))
    else:
        environment = begin.group(1)
        if environment.rstrip("*") not in _LATEX_ENVIRONMENTS:
            raise Unreadable(
                f"unknown LaTeX environment {quote(environment)}: write a bmatrix or a pmatrix",
                begin.start(1),
            )
        body_start = begin.end()
        # \begin{array}{ccc} and \begin{bmatrix*}[r] take an argument that is no entry.
        argument = _LATEX_ARGUMENT.match(text, body_start)
        if argument is not None and (environment == "array" or environment.endswith("*")):
            body_start = argument.end()
        end = re.compile(r"\\end\s*\{\s*" + re.escape(environment) + r"\s*\}").search(text, body_start)
        if end is None:
            line, column = line_column(text, begin.start())
            raise Unreadable(
                f"expected \\end{{{environment}}} to close the \\begin{{{environment}}}"
                f" at line {line}, column {column}",
                len(text.rstrip()),
            )
        nested = _LATEX_BEGIN.search(text, body_start, end.start())
        if nested is not None:
            raise Unreadable("a matrix inside a matrix cannot be read", nested.start())
        _check_latex_prefix(text, begin.start())
        if _LATEX_CLOSING.fullmatch(text, end.end()) is None:
            rest = text[end.end() :]
            raise Unreadable(
                f"unexpected {quote(rest)} after \\end{{{environment}}}",
                end.end() + len(rest) - len(rest.lstrip()),
            )
        body_end = end.start()
    return _latex_body(text, body_start, body_end), "latex"


def _closing_start(text: str, start: int, end: int) -> int:
    """Where the closing delimiters ($, \\right], ...) at the end of text[start:end] begin."""
    cut = end
    # The closing delimiters are short; look for them in the last few characters only.
    for candidate in range(max(start, end - 40), end + 1):
        if _LATEX_CLOSING.fullmatch(text, candidate, end):
            cut = candidate
            break
    return cut


def _check_latex_prefix(text: str, begin: int) -> None:
    prefix_start = text.rfind("=", 0, begin) + 1  # a left-hand side such as "J =" is skipped
    opening = _LATEX_OPENING.match(text, prefix_start, begin)
    if opening is None or opening.end() != begin:
        offset = opening.end() if opening is not None else prefix_start
        raise Unreadable(f"expected \\begin{{bmatrix}}, found {quote(text[offset:begin])}", offset)


def _latex_body(text: str, start: int, end: int) -> npt.NDArray[np.float64]:
    rows: list[list[float]] = []
    offsets: list[int] = []
    count = 0
    segment_start = start
    breaks = [(m.start(), m.end()) for m in _LATEX_ROW_BREAK.finditer(text, start, end)]
    for segment_end, next_start in [*breaks, (end, end)]:
        segment = text[segment_start:segment_end]
        if _LATEX_NOISE.sub("", segment).strip():
            row: list[float] = []
            cell_start = segment_start
            for cell in segment.split("&"):
                count += 1
                if count > MAX_ENTRIES:
                    raise Unreadable(f"too many entries (at most {MAX_ENTRIES:,})", cell_start)
                row.append(_latex_number(cell, cell_start, len(rows) + 1, len(row) + 1))
                cell_start += len(cell) + 1
            rows.append(row)
            offsets.append(segment_start + len(segment) - len(segment.lstrip()))
        segment_start = next_start
    if not rows:
        raise Unreadable("the matrix holds no numbers", start)
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise Unreadable(ragged(i + 1, len(row), width), offsets[i])
    return np.array(rows, dtype=np.float64)


def _latex_number(cell: str, offset: int, row: int, column: int) -> float:
    where = offset + len(cell) - len(cell.lstrip())
    if _LATEX_DOTS.search(cell):
        raise Unreadable(ABBREVIATED, where)
    cleaned = _LATEX_NOISE.sub(" ", cell)
    if not cleaned.strip():
        raise Unreadable(f"row {row}, entry {column} is empty", where)
    exponent = ""
    power = _LATEX_POWER.search(cleaned)
    if power is not None:
        exponent = power.group(1)
        cleaned = cleaned[: power.start()]
    number = _LATEX_NUMBER.fullmatch(cleaned)
    # "1.5 \\times 10^{-3}" is 1.5e-3; an exponent on "2e5" or "nan" is no number.
    if number is None or (exponent and not re.fullmatch(r"[0-9.]+", number.group(2))):
        exact = exact_entry(cell)  # \frac{1}{3}, e^{2}, \sqrt{2}/2
        if exact is None:
            raise Unreadable(f"expected a number, found {quote(cell)}", where)
        return exact
    sign, digits = number.groups()
    if digits == "\\infty":
        digits = "inf"
    return float(f"{sign}{digits}e{exponent}" if exponent else f"{sign}{digits}")
