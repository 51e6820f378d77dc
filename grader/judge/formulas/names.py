"""The names a formula may use: symbols and their aliases, functions, LaTeX commands."""

from __future__ import annotations

ALIASES = {
    "z": "z", "S": "S", "s": "S", "h": "S", "y_hat": "S", "x": "x", "W": "W", "w": "W",
    "y": "y", "K": "K", "n": "n", "x1": "x1", "x2": "x2",
}  # fmt: skip
CONSTANTS = frozenset({"e", "pi", "I"})
#: the functions and their numbers of arguments
FUNCTIONS = {
    "exp": 1, "log": 1, "ln": 1, "sqrt": 1, "sum": 1, "diag": 1, "outer": 2, "kron": 2,
    "softmax": 1, "sigma": 1, "max": 1, "onehot": 1,
}  # fmt: skip
MATRIX_ENVIRONMENTS = frozenset({"bmatrix", "pmatrix", "matrix", "Bmatrix", "array"})
MULTIPLY_COMMANDS = frozenset({"cdot", "times", "ast"})
TYPEFACES = frozenset(
    {"mathbf", "mathrm", "boldsymbol", "bm", "text", "operatorname", "mathsf", "mathit", "textrm",
     "textbf", "textit"}
)  # fmt: skip
FACTOR_COMMANDS = frozenset(
    {"frac", "dfrac", "tfrac", "sqrt", "hat", "widehat", "sum", "exp", "log", "ln", "sigma", "delta",
     "pi", "begin", "max"}
) | TYPEFACES  # fmt: skip


def is_index_name(word: str) -> bool:
    """A single lowercase letter that names no symbol: i, j, k, t, c..."""
    return len(word) == 1 and word.islower() and word not in ALIASES and word not in CONSTANTS
