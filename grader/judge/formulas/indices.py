"""Which indices a formula may leave free: the entry's own, the class c, or a sum's."""

from __future__ import annotations

from exercises.notation import Notation
from grader.judge.formulas.lexer import FormulaError
from grader.judge.formulas.tree import Delta, Expression, Subscript, Sum, Symbol, children


def check_indices(tree: Expression, notation: Notation) -> None:
    """Every index is the entry's own, the class c, or bound by a sum; else ``formula_index``."""
    allowed = set(notation.indices) | ({"c"} if notation.has_class else set())
    _check(tree, allowed, notation)


def _check(node: Expression, bound: set[str], notation: Notation) -> None:
    used: tuple[str, ...] = ()
    if isinstance(node, Symbol):
        used = node.indices
    elif isinstance(node, Delta):
        used = (node.first, node.second)
    elif isinstance(node, Subscript):
        used = node.indices
    for index in used:
        if index not in bound and not index.isdigit():
            raise FormulaError(_free_index_message(index, notation), code="formula_index")
    if isinstance(node, Sum):
        for limit in (node.lower, node.upper):
            if limit is not None:
                _check(limit, bound, notation)
        _check(node.body, bound | {node.index}, notation)
        return
    for child in children(node):
        _check(child, bound, notation)


def _free_index_message(index: str, notation: Notation) -> str:
    if not notation.indices:
        return (
            f"the index {index} is free, but {notation.entry_name or 'this answer'} has no indices: "
            "write the whole matrix"
        )
    own = ", ".join(notation.indices)
    return (
        f"the index {index} is free, but the entry {notation.entry_name} has only the indices {own}; "
        f"an index that is summed over needs its sum, as in sum_{index}"
    )
