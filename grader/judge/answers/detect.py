"""Which format an answer is most likely written in, when the student lets the grader choose."""

from __future__ import annotations

import json
import re

from exercises.notation import notation
from grader.judge.answers import ParseError, read_answer
from grader.judge.formulas import FormulaError, parse

PYTHON_HINT = re.compile(r"^\s*(def|import|from)\s", re.MULTILINE)
# every symbol and the usual indices: whether a text reads as some kind's formula
ANY_FORMULA = notation("ijkt", "KKKK", "z S x W y K n x1 x2", has_class=True)


def detect_format(answer: str) -> str:
    """python, json, text or formula."""
    if PYTHON_HINT.search(answer):
        return "python"
    try:
        parsed = json.loads(answer)
    except ValueError:
        return "formula" if _formula_not_matrix(answer) else "text"
    except RecursionError:  # nested too deep for Python: the JSON reader says where
        return "json"
    return "json" if isinstance(parsed, list | int | float) else "text"


def _formula_not_matrix(answer: str) -> bool:
    """Unreadable as a typed matrix, but a formula: ``S_i (delta_ij - S_j)``, ``diag(S) - S S^T``."""
    try:
        read_answer(answer, "text")
    except ParseError:
        try:
            parse(answer, ANY_FORMULA)
        except FormulaError as error:
            return error.code == "formula_index"
        return True
    return False
