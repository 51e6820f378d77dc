"""The web pages: server-rendered Jinja for students and instructors, on the session cookie.

Views are split by who reads them: ``auth`` (logging in), ``home`` (the start page of
either), ``student`` and its ``practice``, ``instructor`` and its ``assignments``; what
they show is computed in ``display``. The student's and the instructor's pages import nothing of each other.
"""

from __future__ import annotations

from grader.web.pages import (  # noqa: F401  (each adds routes to bp)
    analysis,
    assignments,
    auth,
    derivation,
    derivation_form,
    home,
    instructor,
    instructor_tools,
    practice,
    student,
)
from grader.web.pages.base import bp

__all__ = ["bp"]
