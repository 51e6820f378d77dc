"""Which format an answer is most likely written in, when the student lets the grader choose."""

from __future__ import annotations

import json
import re

PYTHON_HINT = re.compile(r"^\s*(def|import|from)\s", re.MULTILINE)


def detect_format(answer: str) -> str:
    """python, json or text."""
    if PYTHON_HINT.search(answer):
        return "python"
    try:
        parsed = json.loads(answer)
    except ValueError:
        return "text"
    except RecursionError:  # nested too deep for Python: the JSON reader says where
        return "json"
    return "json" if isinstance(parsed, list | int | float) else "text"
