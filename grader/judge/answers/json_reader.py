"""Reading an answer written as JSON: nested lists of numbers, NaN and Infinity as non-finite."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from grader.judge.answers.common import (
    MAX_ENTRIES,
    TOO_DEEP,
    Unreadable,
    exact_entry,
    quote,
    ragged,
)

# ---- JSON ---------------------------------------------------------------------------

_NON_FINITE_STRINGS = frozenset(sign + name for sign in ("", "+", "-") for name in ("nan", "inf", "infinity"))
_JSON_MESSAGES = {
    "Expecting value": "expected a number",
    "Expecting ',' delimiter": "expected ',' or ']'",
    "Extra data": "unexpected text after the end of the answer",
}
_JSON_TOKEN = re.compile(r'\s+|"(?:[^"\\]|\\.)*"?|[\[\]{},:]|[^\s\[\]{},:"]+')


def read_json(text: str) -> tuple[npt.NDArray[np.float64], str]:
    try:
        # parse_int=float: no int digit limit and no int-to-float overflow later.
        value = json.loads(text, parse_int=float)
    except json.JSONDecodeError as error:
        message = _JSON_MESSAGES.get(error.msg, error.msg[:1].lower() + error.msg[1:])
        found = re.match(r'\s*("[^"\n]*"?|[^\s,\[\]{}:]+|.)?', text[error.pos :])
        what = found.group(1) if found and found.group(1) else ""
        where = f", found {quote(what)}" if what else ", found the end of the answer"
        raise Unreadable(f"this is not valid JSON: {message}{where}", error.pos) from None
    except RecursionError:
        raise Unreadable(TOO_DEEP, _json_too_deep_offset(text)) from None
    return _json_to_array(value, text), "json"


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
    if isinstance(value, str) and (exact := exact_entry(value)) is not None:
        return exact
    if isinstance(value, list) and len(path) >= 2:
        raise Unreadable(TOO_DEEP, _json_offset(text, path))
    raise Unreadable(f"expected a number, found {_json_kind(value)}", _json_offset(text, path))


def _json_to_array(value: object, text: str) -> npt.NDArray[np.float64]:
    if not isinstance(value, list):
        return np.array([_json_number(value, (), text)], dtype=np.float64)
    if not value:
        raise Unreadable("the list is empty: the answer needs at least one number", 0)
    if not isinstance(value[0], list):
        if len(value) > MAX_ENTRIES:
            raise Unreadable(f"too many entries (at most {MAX_ENTRIES:,})", 0)
        if not all(type(entry) is float for entry in value):
            value = [_json_number(entry, (i,), text) for i, entry in enumerate(value)]
        return np.array(value, dtype=np.float64)
    rows: list[list[float]] = []
    count = 0
    for i, row in enumerate(value):
        if not isinstance(row, list):
            found = quote(repr(row)) if isinstance(row, float) else _json_kind(row)
            raise Unreadable(
                f"expected a row '[...]' like the first, found {found}", _json_offset(text, (i,))
            )
        if not row:
            raise Unreadable(f"row {i + 1} is empty", _json_offset(text, (i,)))
        if len(row) != len(value[0]):
            raise Unreadable(ragged(i + 1, len(row), len(value[0])), _json_offset(text, (i,)))
        if not all(type(entry) is float for entry in row):
            row = [_json_number(entry, (i, j), text) for j, entry in enumerate(row)]
        count += len(row)
        if count > MAX_ENTRIES:
            raise Unreadable(f"too many entries (at most {MAX_ENTRIES:,})", _json_offset(text, (i,)))
        rows.append(row)
    return np.array(rows, dtype=np.float64)
