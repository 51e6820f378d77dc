"""The tolerance rules of shared/conventions.md: which entries of an answer agree.

A typed answer carries its writer's precision: an entry agrees when it is within
1% of itself, or, for an entry negligible beside the largest one, within a small
fraction of that largest entry. So the articles' truncated tables and any
3-significant-figure rounding (at most 0.5% off) pass, while an entry off by more
than 1% and a rounding to 1 significant figure fail. Function answers return
full floats and are held to a tight relative tolerance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

ABSOLUTE_FLOOR = 1e-12  # an all-zero reference still leaves room for -0.0 and 1e-17


@dataclass(frozen=True)
class Tolerance:
    """Entry e of the reference accepts a with |a - e| <= max(rtol |e|, negligible max|ref|)."""

    name: str
    rtol: float
    negligible: float

    def allowed(self, expected: Array) -> Array:
        """The largest error each entry accepts."""
        magnitude = np.abs(expected)
        largest = float(magnitude.max()) if magnitude.size else 0.0
        return np.maximum(self.rtol * magnitude, self.negligible * largest) + ABSOLUTE_FLOOR

    def as_dict(self) -> dict[str, Any]:
        return dict(self._fields)

    @cached_property
    def _fields(self) -> dict[str, Any]:  # every verdict names its rule: built once
        return asdict(self)


TYPED = Tolerance(name="typed", rtol=1e-2, negligible=1e-3)
FUNCTION = Tolerance(name="function", rtol=1e-6, negligible=1e-9)
# a formula is exact: only the floating point of its evaluation is forgiven
FORMULA = Tolerance(name="formula", rtol=1e-6, negligible=1e-9)


def close(expected: Array, received: Array, tol: Tolerance) -> Mask:
    """Entry by entry, whether ``received`` agrees with ``expected`` (same shapes)."""
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(received - expected)
    return np.isfinite(received) & (error <= tol.allowed(expected))


def agrees(expected: Array, received: Array, tol: Tolerance) -> bool:
    """Whether every entry agrees; a different shape or a non-finite entry never does."""
    return expected.shape == received.shape and bool(close(expected, received, tol).all())
