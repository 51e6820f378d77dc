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

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

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


def read_answer(text: str, fmt: Literal["json", "text"]) -> ReadAnswer:
    """Read ``text`` written in ``fmt`` ("json" or "text"); raises ``ParseError`` only."""
    if fmt not in ("json", "text"):
        raise ParseError(f"unknown answer format {fmt!r}: expected 'json' or 'text'")
    if not isinstance(text, str):
        raise ParseError("the answer must be text")
    if len(text) > MAX_CHARS:
        line, column = _line_column(text, MAX_CHARS)
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
            array, notation = _read_json(text)
        else:
            fast = _read_bracketed_fast(text)
            array, notation = fast if fast is not None else _read_text(text)
    except _Unreadable as error:
        line, column = _line_column(text, error.offset)
        raise ParseError(error.message, line, column) from None
    except (RecursionError, MemoryError):
        raise ParseError("the answer is too large or too deeply nested to read") from None
    return ReadAnswer(array, notation, _describe(array, notation))


# ---- shared pieces ----------------------------------------------------------------


class _Unreadable(Exception):
    """Raised inside the readers with an offset; ``read_answer`` turns it into a ParseError."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def _line_column(text: str, offset: int) -> tuple[int, int]:
    offset = max(0, min(offset, len(text)))
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _quote(found: str) -> str:
    found = found.strip()
    if len(found) > 24:
        found = found[:20] + "..."
    return repr(found) if found else "nothing"


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _describe(array: npt.NDArray[np.float64], notation: str) -> str:
    label = NOTATION_LABELS[notation]
    if array.ndim == 1:
        return f"read as a vector of {_entries(array.shape[0])} ({label})"
    rows, columns = array.shape
    if columns == 1 and rows > 1:
        return f"read as a column of {_entries(rows)}, a {rows} x 1 matrix ({label})"
    if rows == 1 and columns > 1:
        return f"read as a row of {_entries(columns)}, a 1 x {columns} matrix ({label})"
    return f"read as a {rows} x {columns} matrix ({label})"


def _ragged(row: int, length: int, first: int) -> str:
    return (
        f"row {row} has {_entries(length)} but row 1 has {first}: "
        "every row needs the same number of entries"
    )


_ABBREVIATED = (
    "the answer is abbreviated with '...': write every entry "
    "(numpy shortens big arrays unless np.set_printoptions(threshold=sys.maxsize) is set)"
)

# A number as numpy, Python or a person types it: 1, -0., .5, 1.5e-03, nan, inf, -Infinity.
_UNSIGNED = r"(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:nan|inf(?:inity)?))"
_NUMBER = rf"[+-]?{_UNSIGNED}"


# ---- JSON ---------------------------------------------------------------------------

_NON_FINITE_STRINGS = frozenset(
    sign + name for sign in ("", "+", "-") for name in ("nan", "inf", "infinity")
)
_JSON_MESSAGES = {
    "Expecting value": "expected a number",
    "Expecting ',' delimiter": "expected ',' or ']'",
    "Extra data": "unexpected text after the end of the answer",
}
_JSON_TOKEN = re.compile(r'\s+|"(?:[^"\\]|\\.)*"?|[\[\]{},:]|[^\s\[\]{},:"]+')


def _read_json(text: str) -> tuple[npt.NDArray[np.float64], str]:
    try:
        # parse_int=float: no int digit limit and no int-to-float overflow later.
        value = json.loads(text, parse_int=float)
    except json.JSONDecodeError as error:
        message = _JSON_MESSAGES.get(error.msg, error.msg[:1].lower() + error.msg[1:])
        found = re.match(r'\s*("[^"\n]*"?|[^\s,\[\]{}:]+|.)?', text[error.pos :])
        what = found.group(1) if found and found.group(1) else ""
        where = f", found {_quote(what)}" if what else ", found the end of the answer"
        raise _Unreadable(f"this is not valid JSON: {message}{where}", error.pos) from None
    except RecursionError:
        raise _Unreadable(_TOO_DEEP, _json_too_deep_offset(text)) from None
    return _json_to_array(value, text), "json"


_TOO_DEEP = "too many nested brackets: an answer is a vector or a matrix (two levels at most)"


def _json_values(text: str) -> Iterator[tuple[tuple[int, ...], int]]:
    """Where each JSON value starts: (its index path, its offset)."""
    indices: list[int] = []
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first.isspace() or first == ":":
            continue
        if first == ",":
            if indices:
                indices[-1] += 1
            continue
        if first in "]}":
            if indices:
                indices.pop()
            continue
        yield tuple(indices), match.start()
        if first in "[{":
            indices.append(0)


def _json_offset(text: str, path: tuple[int, ...]) -> int:
    for where, offset in _json_values(text):
        if where == path:
            return offset
    return 0


def _json_too_deep_offset(text: str) -> int:
    for where, offset in _json_values(text):
        if len(where) == 2 and text[offset] == "[":
            return offset
    return 0


def _json_kind(value: object) -> str:
    if value is None:
        return "null (write NaN for a missing number)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"the string {json.dumps(value)[:30]}"


def _json_number(value: object, path: tuple[int, ...], text: str) -> float:
    if type(value) is float:
        return value
    if isinstance(value, str) and value.strip().lower() in _NON_FINITE_STRINGS:
        return float(value)
    if isinstance(value, list) and len(path) >= 2:
        raise _Unreadable(_TOO_DEEP, _json_offset(text, path))
    raise _Unreadable(f"expected a number, found {_json_kind(value)}", _json_offset(text, path))


def _json_to_array(value: object, text: str) -> npt.NDArray[np.float64]:
    if not isinstance(value, list):
        return np.array([_json_number(value, (), text)], dtype=np.float64)
    if not value:
        raise _Unreadable("the list is empty: the answer needs at least one number", 0)
    if not isinstance(value[0], list):
        if len(value) > MAX_ENTRIES:
            raise _Unreadable(f"too many entries (at most {MAX_ENTRIES:,})", 0)
        if not all(type(entry) is float for entry in value):
            value = [_json_number(entry, (i,), text) for i, entry in enumerate(value)]
        return np.array(value, dtype=np.float64)
    rows: list[list[float]] = []
    count = 0
    for i, row in enumerate(value):
        if not isinstance(row, list):
            found = _quote(repr(row)) if isinstance(row, float) else _json_kind(row)
            raise _Unreadable(
                f"expected a row '[...]' like the first, found {found}", _json_offset(text, (i,))
            )
        if not row:
            raise _Unreadable(f"row {i + 1} is empty", _json_offset(text, (i,)))
        if len(row) != len(value[0]):
            raise _Unreadable(_ragged(i + 1, len(row), len(value[0])), _json_offset(text, (i,)))
        if not all(type(entry) is float for entry in row):
            row = [_json_number(entry, (i, j), text) for j, entry in enumerate(row)]
        count += len(row)
        if count > MAX_ENTRIES:
            raise _Unreadable(f"too many entries (at most {MAX_ENTRIES:,})", _json_offset(text, (i,)))
        rows.append(row)
    return np.array(rows, dtype=np.float64)


# ---- text: the fast path for [[...], [...]] ------------------------------------------

# Only what numbers, brackets and separators are made of; float() then checks each number.
_FAST_CHARACTERS = re.compile(r"[0-9eE.+\-nNaAiIfFtTyY\s,\[\]]*")
_SPACE_ROW_BREAK = re.compile(r"\]\s*\[")
_COMMA_ROW_BREAK = re.compile(r"\]\s*,\s*\[")


def _read_bracketed_fast(text: str) -> tuple[npt.NDArray[np.float64], str] | None:
    """A numpy print or a JSON-style matrix, read with a few C-level calls.

    Returns None for anything less regular; the full reader then reads it or says why not.
    It accepts nothing the full reader would refuse or read otherwise: the characters are
    checked first, and float() takes exactly the numbers the full reader's pattern does.
    """
    stripped = text.strip()
    if not (stripped.startswith("[[") and stripped.endswith("]]")):
        return None
    inner = stripped[2:-2]
    if _FAST_CHARACTERS.fullmatch(inner) is None:
        return None
    commas = "," in inner
    rows = (_COMMA_ROW_BREAK if commas else _SPACE_ROW_BREAK).split(inner)
    tokens: list[str] = []
    width = -1
    for row in rows:
        if "[" in row or "]" in row:
            return None
        entries = row.split(",") if commas else row.split()
        if len(entries) != width:
            if width >= 0:
                return None
            width = len(entries)
        tokens += entries
    if width == 0 or len(tokens) > MAX_ENTRIES:
        return None
    try:
        array = np.array([float(token) for token in tokens], dtype=np.float64)
    except ValueError:
        return None
    return array.reshape(len(rows), width), "json" if commas else "numpy"


# ---- text: brackets, MATLAB, numpy repr, rows -----------------------------------------

_TEXT_TOKEN = re.compile(
    rf"""
    (?P<space>[^\S\n]+)
  | (?P<newline>\n)
  | (?:np\.|numpy\.)?(?:float(?:16|32|64|128)?|double|longdouble|int(?:8|16|32|64)?)
        \(\s*(?P<wrapped>{_NUMBER})\s*\)(?=[\s\],;)]|\Z)
  | (?P<number>{_NUMBER})(?=[\s\],;)]|\Z)
  | (?P<open>\[)
  | (?P<close>\])
  | (?P<dtype>,\s*dtype\s*=\s*[\w.'"]+)
  | (?P<comma>,)
  | (?P<semicolon>;)
  | (?P<array>(?:np\.|numpy\.)?array\()
  | (?P<paren>\))
  | (?P<ellipsis>\.\.\.|…)
  | (?P<other>[^\s\[\](),;]+|.)
    """,
    re.VERBOSE,
)
_ASSIGNMENT = re.compile(r"\s*[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)")

# A number entry: its text, start and end offsets.
_Entry = tuple[str, int, int]


class _Group:
    """One pair of brackets (or the whole answer) while it is being read."""

    __slots__ = ("closed", "commas", "depth", "hard", "last", "offset", "row", "rows", "separator")

    def __init__(self, offset: int, depth: int) -> None:
        self.offset = offset
        self.depth = depth
        self.rows: list[list[_Entry | _Group]] = []
        self.row: list[_Entry | _Group] = []
        self.hard = False  # a ';' (or, outside brackets, a newline) split rows
        self.last = "open"  # what came last: open, item, comma, break
        self.separator = ""  # "comma" or "space" between numbers, once seen
        self.commas = False
        self.closed = False

    def end_row(self, hard: bool) -> None:
        # "soft": a newline ended a row, which a comma on the next line may still continue.
        self.last = "soft" if self.row and not hard else "break"
        if self.row:
            self.rows.append(self.row)
            self.row = []
        self.hard = self.hard or hard

    def items(self) -> list[_Entry | _Group]:
        return [item for row in (*self.rows, self.row) for item in row]


def _read_text(text: str) -> tuple[npt.NDArray[np.float64], str]:
    if "\\" in text or "&" in text:
        return _read_latex(text)
    start = 0
    assignment = _ASSIGNMENT.match(text)
    if assignment is not None:
        start = assignment.end()
    top = _Group(start, 0)
    stack = [top]
    count = 0
    array_offset = -1  # where 'array(' opened, if it did
    finished_at = -1  # where the closing ')' of 'array(...)' was
    for match in _TEXT_TOKEN.finditer(text, start):
        kind = match.lastgroup
        offset = match.start()
        if kind == "space":
            continue
        group = stack[-1]
        if kind == "newline":
            if group.depth == 0:
                group.end_row(hard=True)
            elif group.depth == 1 and group.last != "comma":
                # A newline after a comma continues the row (numpy repr wraps so).
                group.end_row(hard=False)
            continue
        if finished_at >= 0 and kind != "semicolon":
            raise _Unreadable(f"unexpected {_quote(match.group())} after the end of the array", offset)
        if kind == "number" or kind == "wrapped":
            count += 1
            if count > MAX_ENTRIES:
                raise _Unreadable(f"too many entries (at most {MAX_ENTRIES:,})", offset)
            number = match.group(kind)
            if group.row and isinstance(group.row[-1], tuple):
                separator = "comma" if group.last == "comma" else "space"
                if group.separator and separator != group.separator:
                    raise _Unreadable(
                        "entries are separated by commas in one place and by spaces in another"
                        " (if ',' is a decimal comma, write a decimal point instead)",
                        offset,
                    )
                group.separator = separator
            group.row.append((number, offset, offset + len(number)))
            group.last = "item"
        elif kind == "open":
            if len(stack) == 3:
                raise _Unreadable(_TOO_DEEP, offset)
            child = _Group(offset, group.depth + 1)
            group.row.append(child)
            group.last = "item"
            stack.append(child)
        elif kind == "close":
            if len(stack) == 1:
                raise _Unreadable("found ']' without a matching '['", offset)
            group.end_row(hard=False)
            group.closed = True
            stack.pop()
        elif kind == "comma":
            if group.last == "soft" and group.depth > 0:
                group.row = group.rows.pop()  # "1\n, 2": the comma continues the row
                group.last = "item"
            if group.last != "item":
                raise _Unreadable("expected a number, found ','", offset)
            group.last = "comma"
            group.commas = True
        elif kind == "semicolon":
            if group.depth >= 2:
                raise _Unreadable("unexpected ';' inside a row", offset)
            group.end_row(hard=True)
        elif kind == "array":
            if array_offset >= 0 or top.rows or top.row:
                raise _Unreadable(f"unexpected {_quote(match.group())}", offset)
            array_offset = offset
        elif kind == "dtype" and array_offset >= 0 and len(stack) == 1 and top.items():
            continue
        elif kind == "paren" and array_offset >= 0 and len(stack) == 1 and top.items():
            finished_at = offset
        elif kind == "ellipsis":
            raise _Unreadable(_ABBREVIATED, offset)
        else:
            raise _Unreadable(f"expected a number, found {_quote(match.group())}", offset)
    if len(stack) > 1:
        line, column = _line_column(text, stack[-1].offset)
        raise _Unreadable(
            f"expected ']' to close the '[' at line {line}, column {column}", len(text.rstrip())
        )
    if array_offset >= 0 and finished_at < 0:
        raise _Unreadable("expected ')' to close 'array('", len(text.rstrip()))
    top.end_row(hard=True)
    array, notation = _resolve_top(top, text)
    return array, ("numpy repr" if array_offset >= 0 else notation)


def _first_offset(item: _Entry | _Group) -> int:
    return item.offset if isinstance(item, _Group) else item[1]


def _resolve_top(top: _Group, text: str) -> tuple[npt.NDArray[np.float64], str]:
    items = top.items()
    if not items:
        raise _Unreadable("the answer holds no numbers", len(text) - len(text.lstrip()))
    groups = [item for item in items if isinstance(item, _Group)]
    if len(items) == 1 and groups:
        return _resolve_group(groups[0], text)
    if not groups:
        return _from_rows(top.rows, vector=len(top.rows) == 1), "rows"
    if len(groups) == len(items):
        # Several bracketed rows one after another: the rows of a matrix.
        rows = []
        for group in groups:
            vector, _ = _resolve_group(group, text)
            if vector.ndim != 1:
                raise _Unreadable(
                    "expected one pair of brackets around the whole answer", top.offset
                )
            rows.append((vector, group.offset))
        width = rows[0][0].shape[0]
        for i, (vector, offset) in enumerate(rows):
            if vector.shape[0] != width:
                raise _Unreadable(_ragged(i + 1, vector.shape[0], width), offset)
        return np.stack([vector for vector, _ in rows]), "rows"
    odd = next(item for item in items if isinstance(item, _Group) != isinstance(items[0], _Group))
    raise _Unreadable(
        "numbers outside the brackets: put the whole answer inside one pair of '[ ]'",
        _first_offset(odd),
    )


def _resolve_group(group: _Group, text: str) -> tuple[npt.NDArray[np.float64], str]:
    items = group.items()
    if not items:
        raise _Unreadable("the brackets hold no numbers", group.offset)
    children = [item for item in items if isinstance(item, _Group)]
    if not children:
        rows: list[list[_Entry]] = group.rows  # type: ignore[assignment]
        if len(rows) > 1 and not group.hard and _is_wrapped_vector(rows):
            rows = [[entry for row in rows for entry in row]]
        if len(rows) == 1:
            return _from_rows(rows, vector=True), "json" if group.commas else "numpy"
        return _from_rows(rows, vector=False), "matlab"
    if len(children) != len(items):
        odd = next(item for item in items if isinstance(item, _Group) != isinstance(items[0], _Group))
        if isinstance(odd, _Group):
            raise _Unreadable("expected a number, found '['", odd.offset)
        raise _Unreadable(f"expected a row '[...]', found {_quote(odd[0])}", odd[1])
    commas = group.commas
    rows = []
    for i, child in enumerate(children):
        entries = child.items()
        if not entries:
            raise _Unreadable(f"row {i + 1} is empty", child.offset)
        rows.append(entries)  # type: ignore[arg-type]
        commas = commas or child.commas
    return _from_rows(rows, vector=False, offsets=[c.offset for c in children]), (
        "json" if commas else "numpy"
    )


def _is_wrapped_vector(rows: list[list[_Entry]]) -> bool:
    """Whether newlines inside single brackets are numpy wrapping a long vector, not rows.

    numpy pads every entry to one width W and puts floor(74 / (W + 1)) entries on a line
    (75 columns less the ']'), so the next entry would not have fitted. The right-hand
    padding is invisible in the paste, hence W is worked out from the entries themselves.
    """
    count = len(rows[0])
    if any(len(row) != count for row in rows[:-1]) or len(rows[-1]) > count:
        return False
    width = _numpy_print_width([entry[0] for row in rows for entry in row])
    usable = NUMPY_LINE_WIDTH - 1
    # A little slack below the width for pastes that lost or gained a space.
    return count <= usable // (width + 1) and (count + 1) * (width + 1) > usable - 4


def _numpy_print_width(numbers: list[str]) -> int:
    """The field width numpy pads these entries to: integer parts right-aligned, fractions left."""
    longest = integer_part = fraction = 0
    for number in numbers:
        longest = max(longest, len(number))
        if number[-1:].isdigit() or number.endswith("."):
            if "e" in number or "E" in number:
                continue
            point = number.find(".")
            if point < 0:
                integer_part = max(integer_part, len(number))
            else:
                integer_part = max(integer_part, point)
                fraction = max(fraction, len(number) - point)
    return max(longest, integer_part + fraction)


def _from_rows(
    rows: list[list[_Entry]], vector: bool, offsets: list[int] | None = None
) -> npt.NDArray[np.float64]:
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            offset = offsets[i] if offsets is not None else row[0][1]
            raise _Unreadable(_ragged(i + 1, len(row), width), offset)
    values = np.array([float(entry[0]) for row in rows for entry in row], dtype=np.float64)
    return values if vector else values.reshape(len(rows), width)


# ---- text: LaTeX ----------------------------------------------------------------------

_LATEX_ENVIRONMENTS = frozenset(
    {"matrix", "bmatrix", "pmatrix", "Bmatrix", "vmatrix", "Vmatrix", "smallmatrix", "array"}
)
_LATEX_BEGIN = re.compile(r"\\begin\s*\{\s*([A-Za-z]*\*?)\s*\}")
_LATEX_ARGUMENT = re.compile(r"\s*(?:\[[^\]\n]*\]|\{[^{}\n]*\})")
_LATEX_OPENING = re.compile(r"\s*(?:\$\$?|\\\[|\\\()?\s*(?:\\left\s*(?:\[|\(|\\lbrack\b|\.))?\s*")
_LATEX_CLOSING = re.compile(
    r"\s*(?:\\right\s*(?:\]|\)|\\rbrack\b|\.))?\s*[.,]?\s*(?:\$\$?|\\\]|\\\))?\s*"
)
_LATEX_ROW_BREAK = re.compile(r"\\\\(?:\s*\[[^\]\n]*\])?")
_LATEX_NOISE = re.compile(
    r"\\[,;:! ]|\\q?quad(?![A-Za-z])|~|\\h?phantom\s*\{[^{}]*\}|\\hline|\\displaystyle"
    r"|\\(?:text|mathrm|mathit|textrm)(?![A-Za-z])|[{}]"
)
_LATEX_POWER = re.compile(r"(?:\\times|\\cdot)\s*\{?\s*10\s*\^\s*\{?\s*([+-]?[0-9]{1,6})\s*\}?\s*\}?\s*$")
_LATEX_NUMBER = re.compile(rf"\s*([+-]?)\s*({_UNSIGNED}|\\infty)\s*")
_LATEX_DOTS = re.compile(r"\\[cvdl]?dots")


def _read_latex(text: str) -> tuple[npt.NDArray[np.float64], str]:
    begin = _LATEX_BEGIN.search(text)
    if begin is None:
        opening = _LATEX_OPENING.match(text)
        body_start = opening.end() if opening else 0
        body_end = _closing_start(text, body_start, len(text))
    else:
        environment = begin.group(1)
        if environment.rstrip("*") not in _LATEX_ENVIRONMENTS:
            raise _Unreadable(
                f"unknown LaTeX environment {_quote(environment)}: write a bmatrix or a pmatrix",
                begin.start(1),
            )
        body_start = begin.end()
        # \begin{array}{ccc} and \begin{bmatrix*}[r] take an argument that is no entry.
        argument = _LATEX_ARGUMENT.match(text, body_start)
        if argument is not None and (environment == "array" or environment.endswith("*")):
            body_start = argument.end()
        end = re.compile(r"\\end\s*\{\s*" + re.escape(environment) + r"\s*\}").search(
            text, body_start
        )
        if end is None:
            line, column = _line_column(text, begin.start())
            raise _Unreadable(
                f"expected \\end{{{environment}}} to close the \\begin{{{environment}}}"
                f" at line {line}, column {column}",
                len(text.rstrip()),
            )
        nested = _LATEX_BEGIN.search(text, body_start, end.start())
        if nested is not None:
            raise _Unreadable("a matrix inside a matrix cannot be read", nested.start())
        _check_latex_prefix(text, begin.start())
        if _LATEX_CLOSING.fullmatch(text, end.end()) is None:
            rest = text[end.end() :]
            raise _Unreadable(
                f"unexpected {_quote(rest)} after \\end{{{environment}}}",
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
        raise _Unreadable(
            f"expected \\begin{{bmatrix}}, found {_quote(text[offset:begin])}", offset
        )


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
                    raise _Unreadable(f"too many entries (at most {MAX_ENTRIES:,})", cell_start)
                row.append(_latex_number(cell, cell_start, len(rows) + 1, len(row) + 1))
                cell_start += len(cell) + 1
            rows.append(row)
            offsets.append(segment_start + len(segment) - len(segment.lstrip()))
        segment_start = next_start
    if not rows:
        raise _Unreadable("the matrix holds no numbers", start)
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise _Unreadable(_ragged(i + 1, len(row), width), offsets[i])
    return np.array(rows, dtype=np.float64)


def _latex_number(cell: str, offset: int, row: int, column: int) -> float:
    where = offset + len(cell) - len(cell.lstrip())
    if _LATEX_DOTS.search(cell):
        raise _Unreadable(_ABBREVIATED, where)
    cleaned = _LATEX_NOISE.sub(" ", cell)
    if not cleaned.strip():
        raise _Unreadable(f"row {row}, entry {column} is empty", where)
    exponent = ""
    power = _LATEX_POWER.search(cleaned)
    if power is not None:
        exponent = power.group(1)
        cleaned = cleaned[: power.start()]
    number = _LATEX_NUMBER.fullmatch(cleaned)
    # "1.5 \\times 10^{-3}" is 1.5e-3; an exponent on "2e5" or "nan" is no number.
    if number is None or (exponent and not re.fullmatch(r"[0-9.]+", number.group(2))):
        raise _Unreadable(f"expected a number, found {_quote(cell)}", where)
    sign, digits = number.groups()
    if digits == "\\infty":
        digits = "inf"
    return float(f"{sign}{digits}e{exponent}" if exponent else f"{sign}{digits}")
