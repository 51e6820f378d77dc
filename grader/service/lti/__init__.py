"""LTI 1.3: this service as a tool in an LMS (Canvas, Moodle, Blackboard, Brightspace).

``launch`` (login initiation, id_token validation), ``provision`` (users, courses,
enrolments, links from a launch), ``deep_linking``, ``ags`` (scores back to the LMS as
retried jobs), ``nrps`` (roster), ``keys`` (this tool's signing keys), ``platforms``
(registration). Built on joserfc for every signature and key; no cryptography here.
"""

from __future__ import annotations

from grader.service.lti.ags import score_changed

__all__ = ["score_changed"]
