"""The contract every exercise kind fulfils.

An exercise kind knows everything about *what is asked*: how to draw an instance
from a seed, how to check a given instance, the reference answer, the statement,
the hidden instances a function answer is run on, and the wrong answers that
name each misconception. It knows nothing about how answers are read, judged or
stored: that is the grader's job.

Instances are plain JSON-able dicts (see shared/contract.md), e.g.
``{"kind": "layer_jacobian", "W": [[...]], "x": [...], "layout": "numerator"}``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Instance = dict[str, Any]

LAYOUTS = ("numerator", "denominator")
DEFAULT_VALUE_RANGE = (-2.0, 2.0)
DEFAULT_DECIMALS = 2
MAX_SIZE = 64  # n and K above this are refused: no student types such a matrix


class InstanceError(ValueError):
    """An instance that cannot be graded; the message says what is wrong."""


@dataclass(frozen=True)
class Statement:
    """What a student reads: the same question as plain text and as LaTeX."""

    text: str
    latex: str


@dataclass(frozen=True)
class Property:
    """A property every right answer has, used to explain an unnamed mistake."""

    description: str  # e.g. "each row of dS/dz sums to zero"
    holds: Callable[[Array], bool]


@dataclass(frozen=True)
class DrawOptions:
    """How to draw a random instance: sizes, layout, value range, decimals."""

    n: int | None = None
    K: int | None = None
    layout: str = "numerator"
    low: float = DEFAULT_VALUE_RANGE[0]
    high: float = DEFAULT_VALUE_RANGE[1]
    decimals: int = DEFAULT_DECIMALS
    extra: Mapping[str, Any] = field(default_factory=dict)


class Exercise(ABC):
    """One exercise kind.

    Subclasses set the class attributes and implement ``_reference``,
    ``_draw_values`` and ``statement``; they may add ``mistakes``,
    ``properties`` and ``edge_cases``. Everything takes and returns instances
    already checked by :meth:`validate`.
    """

    name: ClassVar[str]
    #: names of the given values, in the order of the function signature
    given: ClassVar[tuple[str, ...]]
    #: layouts the kind may be asked in; the first is the default
    layouts: ClassVar[tuple[str, ...]] = ("numerator",)
    #: a short title for lists and pages
    title: ClassVar[str]

    # ---- the instance -------------------------------------------------------------

    @property
    def signature(self) -> str:
        """The function a function answer must define, e.g. ``layer_jacobian(W, x)``."""
        return f"{self.name}({', '.join(self.given)})"

    def validate(self, instance: Mapping[str, Any]) -> Instance:
        """Check an instance and return it normalised (floats, default layout).

        Raises :class:`InstanceError` with a message a person can act on.
        """
        if not isinstance(instance, Mapping):
            raise InstanceError("the instance must be a JSON object")
        kind = instance.get("kind")
        if kind != self.name:
            raise InstanceError(f"instance kind is {kind!r}, expected {self.name!r}")
        normal: Instance = {"kind": self.name}
        for key in self.given:
            if key not in instance:
                raise InstanceError(f"{self.name} needs {key!r}; it is missing")
            normal[key] = self._validate_value(key, instance[key])
        layout = instance.get("layout", self.layouts[0])
        if layout not in self.layouts:
            allowed = " or ".join(repr(x) for x in self.layouts)
            raise InstanceError(f"layout {layout!r} is not offered for {self.name}: use {allowed}")
        if len(self.layouts) > 1:
            normal["layout"] = layout
        unknown = set(instance) - set(normal) - {"kind", "layout"}
        if unknown:
            raise InstanceError(f"unknown field(s) for {self.name}: {', '.join(sorted(unknown))}")
        self._validate_together(normal)
        return normal

    def _validate_value(self, key: str, value: Any) -> Any:
        """Check one given value; vectors and matrices by their name."""
        if key == "c":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InstanceError("c must be an integer class index")
            if isinstance(value, float) and not value.is_integer():
                raise InstanceError(f"c must be an integer class index, got {value}")
            return int(value)
        if key in ("x1", "x2"):
            return _finite_scalar(key, value)
        ndim = 2 if key == "W" else 1
        return _finite_array(key, value, ndim).tolist()

    def _validate_together(self, instance: Instance) -> None:
        """Checks across values (sizes that must agree, c in range)."""
        if "W" in instance and "x" in instance:
            n, K = np.shape(instance["W"])
            if len(instance["x"]) != n:
                raise InstanceError(
                    f"W has {n} rows (inputs) but x has {len(instance['x'])} entries: "
                    "they must agree, since z = W^T x"
                )
        if "c" in instance:
            K = self.num_classes(instance)
            if not 0 <= instance["c"] < K:
                raise InstanceError(f"c = {instance['c']} is out of range: classes are 0..{K - 1}")

    def num_classes(self, instance: Instance) -> int:
        """K, the number of classes of an instance."""
        if "z" in instance:
            return len(instance["z"])
        if "W" in instance:
            return int(np.shape(instance["W"])[1])
        return 0

    def arguments(self, instance: Instance) -> dict[str, Any]:
        """The given values as a function answer receives them (arrays, int c)."""
        args: dict[str, Any] = {}
        for key in self.given:
            value = instance[key]
            args[key] = np.asarray(value, dtype=np.float64) if isinstance(value, list) else value
        return args

    # ---- drawing ------------------------------------------------------------------

    def draw(self, seed: int | np.random.Generator, options: DrawOptions | None = None) -> Instance:
        """A random instance, the same for the same seed and options."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        options = options or DrawOptions()
        if options.layout not in self.layouts:
            raise InstanceError(f"layout {options.layout!r} is not offered for {self.name}")
        instance: Instance = {"kind": self.name, **self._draw_values(rng, options)}
        if len(self.layouts) > 1:
            instance["layout"] = options.layout
        return instance  # normal by construction: the tests check that validate keeps it

    @abstractmethod
    def _draw_values(self, rng: np.random.Generator, options: DrawOptions) -> dict[str, Any]:
        """The given values of a random instance."""

    # ---- answers ------------------------------------------------------------------

    def reference(self, instance: Instance) -> Array:
        """The right answer, in the layout the instance asks for."""
        answer = self._reference(instance)
        if instance.get("layout") == "denominator":
            answer = answer.T
        return answer

    @abstractmethod
    def _reference(self, instance: Instance) -> Array:
        """The right answer in numerator layout."""

    def expected_shape(self, instance: Instance) -> tuple[int, ...]:
        return tuple(self.reference(instance).shape)

    def mistakes(self, instance: Instance) -> dict[str, Array]:
        """Wrong answers keyed by misconception code, in the instance's layout.

        Only the kind-specific ones: generic transformations (transpose, sign,
        scale) are the grader's. A mistake that coincides with the reference on
        this instance is still listed; the grader ignores those.
        """
        wrong = self._mistakes(instance)
        if instance.get("layout") == "denominator":
            wrong = {code: a.T for code, a in wrong.items()}
        return wrong

    def _mistakes(self, instance: Instance) -> dict[str, Array]:
        return {}

    def properties(self, instance: Instance) -> list[Property]:
        """Properties of the right answer, to explain an unnamed mistake."""
        return []

    def entry_label(self, instance: Instance, index: tuple[int, ...]) -> str:
        """How a student names one entry, 1-based, e.g. ``dS_2/dW[1,3]``."""
        return "(" + ", ".join(str(i + 1) for i in index) + ")"

    def regions(self, instance: Instance, shape: tuple[int, ...]) -> list[tuple[str, Any]]:
        """Named parts of an answer of this shape (boolean masks), smallest first.

        The grader says "all the wrong entries lie in <name>" with the first
        region that holds them all.
        """
        found: list[tuple[str, Any]] = []
        if len(shape) == 1:
            return found
        rows, columns = shape
        if rows == columns > 1:
            found.append(("the diagonal", np.eye(rows, dtype=bool)))
        index_rows, index_columns = np.indices(shape)
        found += [(f"row {r + 1}", index_rows == r) for r in range(rows) if rows > 1]
        found += [(f"column {c + 1}", index_columns == c) for c in range(columns) if columns > 1]
        return found

    # ---- statements and suites ----------------------------------------------------

    @abstractmethod
    def statement(self, instance: Instance) -> Statement:
        """The question, saying which layout and flattening are asked."""

    def edge_cases(self, rng: np.random.Generator) -> list[Instance]:
        """Hard instances for function answers (K = 1, huge logits, ties...)."""
        return []

    def suite(self, seed: int, given: Instance | None = None, random_count: int = 20) -> list[Instance]:
        """The hidden instances a function answer is run on.

        The given instance (if any) first, then random instances of varied
        sizes, then the edge cases, which stay a minority.
        """
        rng = np.random.default_rng(seed)
        suite: list[Instance] = [self.validate(given)] if given is not None else []
        for i in range(random_count):
            options = DrawOptions(
                n=int(rng.integers(1, 6)),
                K=int(rng.integers(2, 7)),
                layout=self.layouts[i % len(self.layouts)],
                decimals=6,
            )
            suite.append(self.draw(rng, options))
        suite.extend(self.validate(e) for e in self.edge_cases(rng))
        return suite


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


def as_numerator(instance: Instance, answer: Array) -> Array:
    """An answer in the instance's layout, turned to numerator layout."""
    return answer.T if instance.get("layout") == "denominator" else answer


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
