"""What the answer readers share: the error types, limits, and the words of descriptions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MAX_CHARS = 200_000
MAX_ENTRIES = 100_000
# numpy's default print width: a 1-D print is wrapped before an entry that would pass it.
NUMPY_LINE_WIDTH = 75

NOTATION_LABELS = {
    "json": "JSON",
    "numpy": "numpy print",
    "numpy repr": "numpy repr",
    "matlab": "MATLAB",
    "latex": "LaTeX",
    "rows": "rows of numbers",
}


class ParseError(ValueError):
    """An answer that cannot be read; ``str()`` is a sentence for the student."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(self._sentence())

    def _sentence(self) -> str:
        if self.line is None:
            return self.message
        if self.column is None:
            return f"line {self.line}: {self.message}"
        return f"line {self.line}, column {self.column}: {self.message}"

    def __str__(self) -> str:
        return self._sentence()

    def __reduce__(self) -> tuple[type[ParseError], tuple[str, int | None, int | None]]:
        return (type(self), (self.message, self.line, self.column))


@dataclass(frozen=True)
class ReadAnswer:
    """The array an answer was read as, the notation recognised, and a sentence saying so."""

    array: npt.NDArray[np.float64]
    notation: str
    description: str


# ---- shared pieces ----------------------------------------------------------------


class Unreadable(Exception):
    """Raised inside the readers with an offset; ``read_answer`` turns it into a ParseError."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def line_column(text: str, offset: int) -> tuple[int, int]:
    offset = max(0, min(offset, len(text)))
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def quote(found: str) -> str:
    found = found.strip()
    if len(found) > 24:
        found = found[:20] + "..."
    return repr(found) if found else "nothing"


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def describe(array: npt.NDArray[np.float64], notation: str) -> str:
    label = NOTATION_LABELS[notation]
    if array.ndim == 1:
        return f"read as a vector of {_entries(array.shape[0])} ({label})"
    rows, columns = array.shape
    if columns == 1 and rows > 1:
        return f"read as a column of {_entries(rows)}, a {rows} x 1 matrix ({label})"
    if rows == 1 and columns > 1:
        return f"read as a row of {_entries(columns)}, a 1 x {columns} matrix ({label})"
    return f"read as a {rows} x {columns} matrix ({label})"


def ragged(row: int, length: int, first: int) -> str:
    return (
        f"row {row} has {_entries(length)} but row 1 has {first}: every row needs the same number of entries"
    )


ABBREVIATED = (
    "the answer is abbreviated with '...': write every entry "
    "(numpy shortens big arrays unless np.set_printoptions(threshold=sys.maxsize) is set)"
)

# A number as numpy, Python or a person types it: 1, -0., .5, 1.5e-03, nan, inf, -Infinity.
UNSIGNED = r"(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:nan|inf(?:inity)?))"
NUMBER = rf"[+-]?{UNSIGNED}"


def exact_entry(text: str) -> float | None:
    """An entry a person writes exactly (1/3, exp(0.3), e^2, 2e, sqrt(2)/2, 9*0.25), or None.

    Read by the formula grammar and evaluated, never run as code.
    """
    from grader.judge.formulas import FormulaError, evaluate_number

    try:
        return evaluate_number(text)
    except FormulaError:
        return None


TOO_DEEP = "too many nested brackets: an answer is a vector or a matrix (two levels at most)"
