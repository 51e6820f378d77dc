"""The web pages: server-rendered Jinja for students and instructors, on the session cookie.

Views are split by who reads them: ``auth`` (logging in), ``student``, ``instructor``.
"""

from __future__ import annotations

from grader.web.pages import assignments, auth, instructor, student  # noqa: F401  (each adds routes to bp)
from grader.web.pages.base import bp

__all__ = ["bp"]
