"""The expression tree of a formula, and how it is written back (``read_as``).

Written back, every multiplication is a ``*`` and every grouping a pair of
parentheses, so a student sees at once how the grader understood the formula.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    text: str


@dataclass(frozen=True, slots=True)
class Symbol:
    """A given or derived value (z, S, x, W, y, e, pi, I, K, n, x1, x2), maybe subscripted."""

    name: str
    indices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Delta:
    """The Kronecker delta of two indices (or an index and the class c)."""

    first: str
    second: str


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Expression


@dataclass(frozen=True, slots=True)
class Binary:
    operator: str  # + - * / ^
    left: Expression
    right: Expression


@dataclass(frozen=True, slots=True)
class Call:
    function: str  # exp log sqrt sum diag outer kron softmax max onehot
    arguments: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Transpose:
    operand: Expression


@dataclass(frozen=True, slots=True)
class Subscript:
    """An entry of a vector or matrix expression: ``softmax(z)_i``, ``(S - y)_i``."""

    operand: Expression
    indices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sum:
    """A sum over an index, from ``lower`` to ``upper`` when they are written."""

    index: str
    body: Expression
    lower: Expression | None = None
    upper: Expression | None = None


@dataclass(frozen=True, slots=True)
class Matrix:
    rows: tuple[tuple[Expression, ...], ...]


Expression = Number | Symbol | Delta | Negate | Binary | Call | Transpose | Subscript | Sum | Matrix


def children(node: Expression) -> tuple[Expression, ...]:
    """The sub-expressions of a node, in reading order."""
    if isinstance(node, Negate | Transpose | Subscript):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, Call):
        return node.arguments
    if isinstance(node, Sum):
        return tuple(n for n in (node.lower, node.upper, node.body) if n is not None)
    if isinstance(node, Matrix):
        return tuple(entry for row in node.rows for entry in row)
    return ()


PLAIN_NAMES = {"softmax": "softmax", "sigma": "softmax"}
LATEX_FUNCTIONS = {"exp": r"\exp", "log": r"\log", "max": r"\max"}


def _atomic(node: Expression) -> bool:
    return isinstance(node, Number | Symbol | Delta | Call | Subscript | Matrix)


def _indices(indices: tuple[str, ...]) -> str:
    return "".join(indices) if all(len(i) == 1 for i in indices) else ",".join(indices)


def write_plain(node: Expression) -> str:
    """The formula as plain text with every multiplication and grouping explicit."""
    if isinstance(node, Number):
        return node.text
    if isinstance(node, Symbol):
        return node.name + (f"_{_indices(node.indices)}" if node.indices else "")
    if isinstance(node, Delta):
        return f"delta_{node.first}{node.second}"
    if isinstance(node, Negate):
        return f"-{_plain_operand(node.operand)}"
    if isinstance(node, Binary):
        operator = "^" if node.operator == "^" else f" {node.operator} "
        return f"{_plain_operand(node.left)}{operator}{_plain_operand(node.right)}"
    if isinstance(node, Call):
        name = PLAIN_NAMES.get(node.function, node.function)
        return f"{name}({', '.join(write_plain(a) for a in node.arguments)})"
    if isinstance(node, Transpose):
        return f"{_plain_operand(node.operand)}^T"
    if isinstance(node, Subscript):
        return f"{_plain_operand(node.operand, always=True)}_{_indices(node.indices)}"
    if isinstance(node, Sum):
        if node.lower is None and node.upper is None:
            return f"sum_{node.index}({write_plain(node.body)})"
        lower = f"={write_plain(node.lower)}" if node.lower is not None else ""
        upper = f"^({write_plain(node.upper)})" if node.upper is not None else ""
        return f"sum_{{{node.index}{lower}}}{upper}({write_plain(node.body)})"
    rows = ", ".join("[" + ", ".join(write_plain(e) for e in row) + "]" for row in node.rows)
    return f"[{rows}]"


def _plain_operand(node: Expression, always: bool = False) -> str:
    text = write_plain(node)
    return text if _atomic(node) and not (always and not isinstance(node, Symbol | Call)) else f"({text})"


def write_latex(node: Expression) -> str:
    """The formula as LaTeX with every multiplication (\\cdot) and grouping explicit."""
    if isinstance(node, Number):
        return node.text
    if isinstance(node, Symbol):
        name = {"pi": r"\pi", "y_hat": r"\hat{y}"}.get(node.name, node.name)
        if node.name in ("x1", "x2"):
            return f"x_{{{node.name[1]}}}"
        return name + (f"_{{{_indices(node.indices)}}}" if node.indices else "")
    if isinstance(node, Delta):
        return rf"\delta_{{{node.first}{node.second}}}"
    if isinstance(node, Negate):
        return f"-{_latex_operand(node.operand)}"
    if isinstance(node, Binary):
        if node.operator == "/":
            return rf"\frac{{{write_latex(node.left)}}}{{{write_latex(node.right)}}}"
        if node.operator == "^":
            return f"{{{_latex_operand(node.left)}}}^{{{write_latex(node.right)}}}"
        operator = r"\cdot" if node.operator == "*" else node.operator
        return f"{_latex_operand(node.left)} {operator} {_latex_operand(node.right)}"
    if isinstance(node, Call):
        arguments = ", ".join(write_latex(a) for a in node.arguments)
        if node.function == "sqrt":
            return rf"\sqrt{{{arguments}}}"
        name = LATEX_FUNCTIONS.get(node.function)
        if name is None:
            name = r"\sigma" if node.function in PLAIN_NAMES else rf"\operatorname{{{node.function}}}"
        return rf"{name}\left({arguments}\right)"
    if isinstance(node, Transpose):
        return f"{_latex_operand(node.operand)}^\\top"
    if isinstance(node, Subscript):
        return rf"\left({write_latex(node.operand)}\right)_{{{_indices(node.indices)}}}"
    if isinstance(node, Sum):
        lower = f"={write_latex(node.lower)}" if node.lower is not None else ""
        upper = f"^{{{write_latex(node.upper)}}}" if node.upper is not None else ""
        return rf"\sum_{{{node.index}{lower}}}{upper}\left({write_latex(node.body)}\right)"
    rows = r" \\ ".join(" & ".join(write_latex(e) for e in row) for row in node.rows)
    return rf"\begin{{bmatrix}}{rows}\end{{bmatrix}}"


def _latex_operand(node: Expression) -> str:
    text = write_latex(node)
    return text if _atomic(node) else rf"\left({text}\right)"
