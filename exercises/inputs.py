"""The given values of a kind, declared by type.

A kind lists its given values as :class:`Input` declarations, in the order of the
function a function answer defines: ``Input("W", "matrix", ("n", "K"), "the weights")``.
Checking an instance, drawing one, showing it and passing it to a function follow the
declaration, so that nothing outside the kind's own module knows its names.

Sizes are named by symbols (``n`` inputs, ``K`` classes, or any other a kind
declares): every value that follows a symbol must agree on it, and a class index
counts the classes of its symbol.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
InputType = Literal["vector", "matrix", "class_index", "scalar"]

DEFAULT_VALUE_RANGE = (-2.0, 2.0)
DEFAULT_DECIMALS = 2
MAX_SIZE = 64  # n and K above this are refused: no student types such a matrix
#: how many sizes each type follows: a vector's length, a matrix's rows and columns, a class index's range
SIZES_OF_TYPE: dict[str, int] = {"vector": 1, "matrix": 2, "class_index": 1, "scalar": 0}
DIMENSION_WORDS = {"vector": ("entries",), "matrix": ("rows", "columns")}


class InstanceError(ValueError):
    """An instance that cannot be graded; the message says what is wrong."""


@dataclass(frozen=True)
class DrawOptions:
    """How to draw a random instance: sizes, layout, value range, decimals.

    ``n`` and ``K`` fix the sizes of those names; ``extra`` may fix the sizes of
    any other symbol a kind declares (``extra={"m": 4}``).
    """

    n: int | None = None
    K: int | None = None
    layout: str = "numerator"
    low: float = DEFAULT_VALUE_RANGE[0]
    high: float = DEFAULT_VALUE_RANGE[1]
    decimals: int = DEFAULT_DECIMALS
    extra: Mapping[str, Any] = field(default_factory=dict)

    def size(self, symbol: str) -> int | None:
        """The size these options fix for ``symbol``, or None to draw it."""
        fixed = {"n": self.n, "K": self.K}.get(symbol) or self.extra.get(symbol)
        return int(fixed) if fixed else None


@dataclass(frozen=True)
class Input:
    """One given value: its name, its type, the size symbols it follows, and what it means.

    ``size`` names the dimensions: ``("K",)`` for a vector of K entries, ``("n", "K")``
    for an n x K matrix, ``("K",)`` for a class index among K classes; a scalar has
    none. ``meaning`` is shown beside the value (``"the logits"``).
    """

    name: str
    type: InputType
    size: tuple[str, ...] = ()
    meaning: str = ""

    def __post_init__(self) -> None:
        if self.type not in get_args(InputType):
            raise ValueError(f"input {self.name!r}: unknown type {self.type!r}")
        if len(self.size) != SIZES_OF_TYPE[self.type]:
            raise ValueError(
                f"input {self.name!r}: a {self.type} follows {SIZES_OF_TYPE[self.type]} size(s), "
                f"got {self.size}"
            )

    @property
    def is_array(self) -> bool:
        return self.type in ("vector", "matrix")

    # ---- checking ---------------------------------------------------------------------

    def check(self, value: Any) -> Any:
        """The value normalised (floats, lists, an int class index), or an :class:`InstanceError`."""
        if self.type == "class_index":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InstanceError(f"{self.name} must be an integer class index")
            if isinstance(value, float) and not value.is_integer():
                raise InstanceError(f"{self.name} must be an integer class index, got {value}")
            return int(value)
        if self.type == "scalar":
            return _finite_scalar(self.name, value)
        return _finite_array(self.name, value, len(self.size)).tolist()

    def sizes(self, value: Any) -> list[tuple[str, int, str]]:
        """The sizes a checked value shows: (symbol, size, how it is counted), e.g. ("n", 3, "rows")."""
        if not self.is_array:
            return []
        return list(zip(self.size, np.shape(value), DIMENSION_WORDS[self.type], strict=True))

    # ---- drawing ----------------------------------------------------------------------

    def draw(self, rng: np.random.Generator, sizes: dict[str, int], options: DrawOptions) -> Any:
        """A random value of this input at the given sizes, short enough to type."""
        if self.type == "class_index":
            return int(rng.integers(sizes[self.size[0]]))
        values = rounded(rng, tuple(sizes[symbol] for symbol in self.size), options)
        return values.tolist() if self.is_array else float(values)

    def zero(self, sizes: dict[str, int]) -> Any:
        """The value of this input whose every entry is zero (the first class for a class index)."""
        if self.type == "class_index":
            return 0
        return np.zeros(tuple(sizes[symbol] for symbol in self.size)).tolist() if self.is_array else 0.0

    # ---- passing and showing ----------------------------------------------------------

    def argument(self, value: Any) -> Any:
        """The value as a function answer receives it: a float64 array, an int or a float."""
        if self.is_array:
            return np.asarray(value, dtype=np.float64)
        return int(value) if self.type == "class_index" else float(value)

    @property
    def argument_type(self) -> str:
        """What a function answer receives, in words: ``numpy array``, ``int`` or ``float``."""
        return {"class_index": "int", "scalar": "float"}.get(self.type, "numpy array")

    def what(self, value: Any) -> str:
        """What the value is, for a person: ``the logits, vector of 3``."""
        if self.type == "matrix":
            rows, columns = np.shape(value)
            kind = f"{rows} × {columns} matrix"
        elif self.type == "vector":
            kind = f"vector of {len(value)}"
        elif self.type == "class_index":
            kind = "0-based index"
        else:
            kind = "number"
        return f"{self.meaning}, {kind}" if self.meaning else kind

    def describe(self, value: Any) -> str:
        """The value in a few words for a message: ``W of shape (2, 3)``, ``c = 1``."""
        return f"{self.name} of shape {np.shape(value)}" if self.is_array else f"{self.name} = {value}"

    def text(self, value: Any) -> str:
        """``name = value`` for a plain-text statement."""
        return self._equation(self.name, value, matrix_text, vector_text)

    def latex(self, value: Any) -> str:
        """``name = value`` for a LaTeX statement (bold for a vector)."""
        symbol = rf"\mathbf{{{self.name}}}" if self.type == "vector" else self.name
        return self._equation(symbol, value, matrix_latex, vector_latex)

    def _equation(
        self, symbol: str, value: Any, matrix: Callable[[Any], str], vector: Callable[[Any], str]
    ) -> str:
        written = {"matrix": matrix, "vector": vector}.get(self.type, lambda number: f"{number:g}")
        return f"{symbol} = {written(value)}"


def _finite_scalar(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InstanceError(f"{key} must be a number")
    if not math.isfinite(value):
        raise InstanceError(f"{key} must be finite, got {value}")
    return float(value)


def _finite_array(key: str, value: Any, ndim: int) -> Array:
    what = "a matrix (list of rows)" if ndim == 2 else "a vector (list of numbers)"
    if not isinstance(value, list) or not value:
        raise InstanceError(f"{key} must be a non-empty {what}")
    if ndim == 2:
        if not all(isinstance(row, list) for row in value):
            raise InstanceError(f"{key} must be {what}")
        lengths = {len(row) for row in value}
        if len(lengths) != 1 or 0 in lengths:
            raise InstanceError(f"{key} is ragged: its rows have lengths {sorted(lengths)}")
    flat = [v for row in value for v in row] if ndim == 2 else value
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in flat):
        raise InstanceError(f"{key} must contain numbers only")
    array = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise InstanceError(f"{key} contains NaN or infinity")
    if max(array.shape) > MAX_SIZE:
        raise InstanceError(f"{key} is too large: at most {MAX_SIZE} per dimension")
    return array


def rounded(rng: np.random.Generator, shape: tuple[int, ...], options: DrawOptions) -> Array:
    """Uniform values rounded to the options' decimals: short enough to type."""
    values = rng.uniform(options.low, options.high, size=shape)
    return np.round(values, options.decimals) + 0.0  # + 0.0 turns -0.0 into 0.0


def vector_text(values: list[float]) -> str:
    """A vector for a plain-text statement: ``[1, 2.5, -0.3]``."""
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


def matrix_text(rows: list[list[float]]) -> str:
    """A matrix for a plain-text statement, MATLAB style: ``[1 2; 3 4]``."""
    return "[" + "; ".join(" ".join(f"{v:g}" for v in row) for row in rows) + "]"


def vector_latex(values: list[float]) -> str:
    """A vector as a LaTeX column."""
    return r"\begin{bmatrix}" + r" \\ ".join(f"{v:g}" for v in values) + r"\end{bmatrix}"


def matrix_latex(rows: list[list[float]]) -> str:
    """A matrix as a LaTeX bmatrix."""
    body = r" \\ ".join(" & ".join(f"{v:g}" for v in row) for row in rows)
    return r"\begin{bmatrix}" + body + r"\end{bmatrix}"
