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

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from exercises.inputs import MAX_SIZE as MAX_SIZE  # re-exported: the API caps sizes with it
from exercises.inputs import Array, DrawOptions, Input, InstanceError
from exercises.notation import Notation

Instance = dict[str, Any]

LAYOUTS = ("numerator", "denominator")
#: where a size symbol is drawn from, [low, high), when the options leave it open
DEFAULT_SIZE_RANGES: Mapping[str, tuple[int, int]] = {"n": (2, 5), "K": (3, 6)}
OTHER_SIZE_RANGE = (2, 5)
EDGE_VALUE_RANGE = (-3.0, -0.5)  # the negative values of the default edge cases


@dataclass(frozen=True)
class Statement:
    """What a student reads: the same question as plain text and as LaTeX."""

    text: str
    latex: str


@dataclass(frozen=True)
class Misconception:
    """One of a kind's own mistakes (see ``Exercise.mistakes``): its code and what it most
    likely means, in plain words for a student."""

    code: str  # from the misconception list of shared/conventions.md, which may grow
    message: str


@dataclass(frozen=True)
class Property:
    """A property every right answer has, used to explain an unnamed mistake."""

    description: str  # e.g. "each row of dS/dz sums to zero"
    holds: Callable[[Array], bool]


class Exercise(ABC):
    """One exercise kind.

    Subclasses set the class attributes, declaring their given values in
    ``inputs``, and implement ``_reference`` and ``statement``; they may add
    ``_mistakes`` with a message for each in ``misconceptions``, ``properties``
    and ``edge_cases``. Checking, drawing, showing and passing the given values follow
    ``inputs``. Everything takes and returns instances already checked by
    :meth:`validate`.
    """

    name: ClassVar[str]
    #: the given values, in the order of the function signature
    inputs: ClassVar[tuple[Input, ...]]
    #: layouts the kind may be asked in; the first is the default
    layouts: ClassVar[tuple[str, ...]] = ("numerator",)
    #: a short title for lists and pages
    title: ClassVar[str]
    #: where each size symbol is drawn from when the options leave it open
    size_ranges: ClassVar[Mapping[str, tuple[int, int]]] = DEFAULT_SIZE_RANGES
    #: the kind's own mistakes (see :meth:`mistakes`), each with its message
    misconceptions: ClassVar[tuple[Misconception, ...]] = ()
    #: what a formula answer may name (entry indices, symbols); None: no formula answers
    notation: ClassVar[Notation | None] = None

    # ---- the instance -------------------------------------------------------------

    @property
    def given(self) -> tuple[str, ...]:
        """The names of the given values, in the order of the function signature."""
        return tuple(given.name for given in self.inputs)

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
        for given in self.inputs:
            if given.name not in instance:
                raise InstanceError(f"{self.name} needs {given.name!r}; it is missing")
            normal[given.name] = given.check(instance[given.name])
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

    def _validate_together(self, instance: Instance) -> None:
        """Checks across values: sizes of one symbol agree, a class index is in range."""
        sizes = self.sizes(instance)
        for given in self.inputs:
            if given.type == "class_index":
                count, value = sizes[given.size[0]], instance[given.name]
                if not 0 <= value < count:
                    raise InstanceError(f"{given.name} = {value} is out of range: classes are 0..{count - 1}")

    def sizes(self, instance: Mapping[str, Any]) -> dict[str, int]:
        """The size of each symbol (``{"n": 3, "K": 5}``), or an :class:`InstanceError` where
        two values that follow one symbol disagree."""
        sizes: dict[str, int] = {}
        first: dict[str, tuple[str, int, str]] = {}
        for given in self.inputs:
            for symbol, size, counted in given.sizes(instance[given.name]):
                if symbol not in sizes:
                    sizes[symbol], first[symbol] = size, (given.name, size, counted)
                elif sizes[symbol] != size:
                    name, known, known_counted = first[symbol]
                    raise InstanceError(
                        f"{name} has {known} {known_counted} but {given.name} has {size} {counted}: "
                        f"both are {symbol}, so they must agree"
                    )
        return sizes

    def num_classes(self, instance: Instance) -> int:
        """K, the number of classes of an instance (0 for a kind without classes)."""
        return self.sizes(instance).get("K", 0)

    def arguments(self, instance: Instance) -> dict[str, Any]:
        """The given values as a function answer receives them (arrays, ints, floats)."""
        return {given.name: given.argument(instance[given.name]) for given in self.inputs}

    def describe(self, instance: Instance) -> str:
        """The given values in a few words, e.g. ``W of shape (2, 3), x of shape (2,)``."""
        return ", ".join(given.describe(instance[given.name]) for given in self.inputs)

    def logits(self, instance: Instance) -> Array | None:
        """The logits an instance feeds to softmax, if it has any: a function answer that
        fails only where they are large has an unstable softmax."""
        return None

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

    def _draw_values(self, rng: np.random.Generator, options: DrawOptions) -> dict[str, Any]:
        """The given values of a random instance: the sizes first, then each value in order."""
        sizes = self._draw_sizes(rng, options)
        return {given.name: given.draw(rng, sizes, options) for given in self.inputs}

    def _draw_sizes(self, rng: np.random.Generator, options: DrawOptions) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for symbol in self._symbols():
            low, high = self.size_ranges.get(symbol, OTHER_SIZE_RANGE)
            sizes[symbol] = options.size(symbol) or int(rng.integers(low, high))
        return sizes

    def _symbols(self) -> list[str]:
        """The size symbols, in the order the given values first name them."""
        return list(dict.fromkeys(symbol for given in self.inputs for symbol in given.size))

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

        Only the kind-specific ones, each declared in ``misconceptions`` with its
        message: generic transformations (transpose, sign, scale) are the grader's.
        A mistake that coincides with the reference on this instance is still
        listed; the grader ignores those.
        """
        wrong = self._mistakes(instance)
        if instance.get("layout") == "denominator":
            wrong = {code: a.T for code, a in wrong.items()}
        return wrong

    def _mistakes(self, instance: Instance) -> dict[str, Array]:
        return {}

    def message(self, code: str) -> str | None:
        """What the kind's own mistake ``code`` most likely means; None for a code it does not list."""
        return next((m.message for m in self.misconceptions if m.code == code), None)

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

    def given_text(self, instance: Instance) -> str:
        """The given values for a plain-text statement: ``z = [1, 2], c = 0``."""
        return ", ".join(given.text(instance[given.name]) for given in self.inputs)

    def given_latex(self, instance: Instance) -> str:
        """The given values for a LaTeX statement, each in its own ``$...$``."""
        return ", ".join(f"${given.latex(instance[given.name])}$" for given in self.inputs)

    def edge_cases(self, rng: np.random.Generator) -> list[Instance]:
        """Hard instances for function answers (K = 1, huge logits, ties...).

        By default, from the declared inputs: every size 1, every value zero, and
        negative values; a kind adds or replaces its own.
        """
        layout = {"layout": self.layouts[0]} if len(self.layouts) > 1 else {}
        smallest = {symbol: 1 for symbol in self._symbols()}
        usual = {symbol: self.size_ranges.get(symbol, OTHER_SIZE_RANGE)[0] for symbol in self._symbols()}
        low, high = EDGE_VALUE_RANGE
        negative = DrawOptions(low=low, high=high, extra=usual)
        return [
            {"kind": self.name, **self._draw_values(rng, DrawOptions(extra=smallest)), **layout},
            {"kind": self.name, **{given.name: given.zero(usual) for given in self.inputs}, **layout},
            {"kind": self.name, **self._draw_values(rng, negative), **layout},
        ]

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


def as_numerator(instance: Instance, answer: Array) -> Array:
    """An answer in the instance's layout, turned to numerator layout."""
    return answer.T if instance.get("layout") == "denominator" else answer
