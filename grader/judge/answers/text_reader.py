"""Reading pasted text: numpy prints and reprs, JSON-looking lists, MATLAB, plain rows.

LaTeX matrices go to the LaTeX reader.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from grader.judge.answers.common import (
    ABBREVIATED,
    MAX_ENTRIES,
    NUMBER,
    NUMPY_LINE_WIDTH,
    TOO_DEEP,
    Unreadable,
    exact_entry,
    line_column,
    quote,
    ragged,
)
from grader.judge.answers.latex_reader import read_latex

# ---- text: the fast path for [[...], [...]] ------------------------------------------

# Only what numbers, brackets and separators are made of; float() then checks each number.
_FAST_CHARACTERS = re.compile(r"[0-9eE.+\-nNaAiIfFtTyY\s,\[\]]*")
_SPACE_ROW_BREAK = re.compile(r"\]\s*\[")
_COMMA_ROW_BREAK = re.compile(r"\]\s*,\s*\[")


def read_bracketed_fast(text: str) -> tuple[npt.NDArray[np.float64], str] | None:
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
        \(\s*(?P<wrapped>{NUMBER})\s*\)(?=[\s\],;)]|\Z)
  | (?P<number>{NUMBER})(?=[\s\],;)]|\Z)
  | (?P<open>\[)
  | (?P<close>\])
  | (?P<dtype>,\s*dtype\s*=\s*[\w.'"]+)
  | (?P<comma>,)
  | (?P<semicolon>;)
  | (?P<array>(?:np\.|numpy\.)?array\()
  | (?P<paren>\))
  | (?P<ellipsis>\.\.\.|…)
  | (?P<exact>(?:[0-9A-Za-z.*/^+\-√π]++|\([^()\[\];,\n]*+(?:\([^()\n]*+\)[^()\[\];,\n]*+)*+\))++)
        (?=[\s\],;]|\Z)
  | (?P<other>[^\s\[\](),;]+|.)
    """,
    re.VERBOSE,
)
# "1-2" is two entries that lost their space, not a difference: outside parentheses a sign
# only starts an entry or an exponent (exp(-0.3), 2^-1 and 1e-3 are entries)
_BINARY_SIGN = re.compile(r"(?<=[0-9A-Za-z.)])(?<![0-9][eE])[+-]")
_PARENTHESES = re.compile(r"\([^()]*(?:\([^()]*\)[^()]*)*\)")
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


def read_text(text: str) -> tuple[npt.NDArray[np.float64], str]:
    if "\\" in text or "&" in text:
        return read_latex(text)
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
            raise Unreadable(f"unexpected {quote(match.group())} after the end of the array", offset)
        if kind == "exact":
            written = match.group()
            value = None if _BINARY_SIGN.search(_PARENTHESES.sub("()", written)) else exact_entry(written)
            if value is None:
                raise Unreadable(f"expected a number, found {quote(match.group())}", offset)
            kind = "number"
            match_text = repr(value)
        else:
            match_text = ""
        if kind == "number" or kind == "wrapped":
            count += 1
            if count > MAX_ENTRIES:
                raise Unreadable(f"too many entries (at most {MAX_ENTRIES:,})", offset)
            number = match_text or match.group(kind)
            if group.row and isinstance(group.row[-1], tuple):
                separator = "comma" if group.last == "comma" else "space"
                if group.separator and separator != group.separator:
                    raise Unreadable(
                        "entries are separated by commas in one place and by spaces in another"
                        " (if ',' is a decimal comma, write a decimal point instead)",
                        offset,
                    )
                group.separator = separator
            end = match.end() if match_text else offset + len(number)
            group.row.append((number, offset, end))
            group.last = "item"
        elif kind == "open":
            if len(stack) == 3:
                raise Unreadable(TOO_DEEP, offset)
            child = _Group(offset, group.depth + 1)
            group.row.append(child)
            group.last = "item"
            stack.append(child)
        elif kind == "close":
            if len(stack) == 1:
                raise Unreadable("found ']' without a matching '['", offset)
            group.end_row(hard=False)
            group.closed = True
            stack.pop()
        elif kind == "comma":
            if group.last == "soft" and group.depth > 0:
                group.row = group.rows.pop()  # "1\n, 2": the comma continues the row
                group.last = "item"
            if group.last != "item":
                raise Unreadable("expected a number, found ','", offset)
            group.last = "comma"
            group.commas = True
        elif kind == "semicolon":
            if group.depth >= 2:
                raise Unreadable("unexpected ';' inside a row", offset)
            group.end_row(hard=True)
        elif kind == "array":
            if array_offset >= 0 or top.rows or top.row:
                raise Unreadable(f"unexpected {quote(match.group())}", offset)
            array_offset = offset
        elif kind == "dtype" and array_offset >= 0 and len(stack) == 1 and top.items():
            continue
        elif kind == "paren" and array_offset >= 0 and len(stack) == 1 and top.items():
            finished_at = offset
        elif kind == "ellipsis":
            raise Unreadable(ABBREVIATED, offset)
        else:
            raise Unreadable(f"expected a number, found {quote(match.group())}", offset)
    if len(stack) > 1:
        line, column = line_column(text, stack[-1].offset)
        raise Unreadable(f"expected ']' to close the '[' at line {line}, column {column}", len(text.rstrip()))
    if array_offset >= 0 and finished_at < 0:
        raise Unreadable("expected ')' to close 'array('", len(text.rstrip()))
    top.end_row(hard=True)
    array, notation = _resolve_top(top, text)
    return array, ("numpy repr" if array_offset >= 0 else notation)


def _first_offset(item: _Entry | _Group) -> int:
    return item.offset if isinstance(item, _Group) else item[1]


def _resolve_top(top: _Group, text: str) -> tuple[npt.NDArray[np.float64], str]:
    items = top.items()
    if not items:
        raise Unreadable("the answer holds no numbers", len(text) - len(text.lstrip()))
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
                raise Unreadable("expected one pair of brackets around the whole answer", top.offset)
            rows.append((vector, group.offset))
        width = rows[0][0].shape[0]
        for i, (vector, offset) in enumerate(rows):
            if vector.shape[0] != width:
                raise Unreadable(ragged(i + 1, vector.shape[0], width), offset)
        return np.stack([vector for vector, _ in rows]), "rows"
    odd = next(item for item in items if isinstance(item, _Group) != isinstance(items[0], _Group))
    raise Unreadable(
        "numbers outside the brackets: put the whole answer inside one pair of '[ ]'",
        _first_offset(odd),
    )


def _resolve_group(group: _Group, text: str) -> tuple[npt.NDArray[np.float64], str]:
    items = group.items()
    if not items:
        raise Unreadable("the brackets hold no numbers", group.offset)
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
            raise Unreadable("expected a number, found '['", odd.offset)
        raise Unreadable(f"expected a row '[...]', found {quote(odd[0])}", odd[1])
    commas = group.commas
    rows = []
    for i, child in enumerate(children):
        entries = child.items()
        if not entries:
            raise Unreadable(f"row {i + 1} is empty", child.offset)
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
            raise Unreadable(ragged(i + 1, len(row), width), offset)
    values = np.array([float(entry[0]) for row in rows for entry in row], dtype=np.float64)
    return values if vector else values.reshape(len(rows), width)
