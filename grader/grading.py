"""Grading one answer: read it, compare it, diagnose it, and return the verdict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grader.verdict import Verdict


def grade(instance: Mapping[str, Any], answer: str, fmt: str, *, seed: int | None = None) -> Verdict:
    """Grade ``answer`` (written in ``fmt``) against ``instance``.

    Raises ``exercises.InstanceError`` for an instance that cannot be graded;
    anything wrong with the answer itself is a verdict.
    """
    raise NotImplementedError
