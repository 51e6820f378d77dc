"""Formula answers: read by a grammar of our own (never run), graded by evaluation.

``parse(text, notation)`` reads a formula in plain text, unicode or LaTeX into an
expression tree, or raises :class:`FormulaError` (code ``parse`` with the place,
or ``formula_index`` naming an index the entry does not have);
``write_plain``/``write_latex`` write it back with every multiplication and
grouping explicit; ``grade_formula`` grades it on the given and hidden instances;
``evaluate_number`` reads one exact matrix entry such as ``sqrt(2)/2``.
"""

from __future__ import annotations

from exercises.notation import Notation
from grader.judge.formulas.evaluate import one_number
from grader.judge.formulas.grading import grade_formula
from grader.judge.formulas.lexer import MAX_CHARS, FormulaError
from grader.judge.formulas.parser import parse
from grader.judge.formulas.tree import Expression, write_latex, write_plain

NUMBERS_ONLY = Notation(entry=(), symbols=frozenset())


def evaluate_number(text: str) -> float:
    """One exact entry (``1/3``, ``exp(0.3)``, ``e^2``, ``2e``, ``sqrt(2)/2``) as a float."""
    return one_number(parse(text, NUMBERS_ONLY))


__all__ = [
    "MAX_CHARS",
    "Expression",
    "FormulaError",
    "Notation",
    "evaluate_number",
    "grade_formula",
    "parse",
    "write_latex",
    "write_plain",
]
