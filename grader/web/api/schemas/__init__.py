"""The API's bodies: what a request must hold and what a response holds.

Request models forbid unknown fields, so a typo is a 422 that names it rather than
a silently ignored option; /openapi.json is generated from these same models.

One module per area the bodies serve: ``base`` (what every request model shares),
``common`` (errors, health, the queue, a user), ``check`` (grading without storing,
the catalog), ``auth`` (sessions and tokens), ``courses``, ``assignments`` (and their
items), ``derivations``, ``practice``, ``submissions``, ``reports`` (the instructors'
views), ``instructor_tools`` (regrading, extensions, verdict history, item analysis,
answers right for another student's instance) and ``lti`` (registered platforms and the
scores waiting for them). Every name is exported here, and the views import them from here.
"""

from __future__ import annotations

from grader.judge.verdict import AnswerFormat
from grader.web.api.schemas.assignments import (
    AssignmentIn,
    AssignmentOut,
    AssignmentPatch,
    AssignmentsOut,
    ItemOut,
    ItemSpec,
    RedrawIn,
    VariantOut,
)
from grader.web.api.schemas.auth import LoginIn, NewTokenOut, SessionOut, TokenIn, TokenOut, TokensOut
from grader.web.api.schemas.base import MAX_ANSWER_CHARS, MAX_ID, Id, Layout, RequestModel, Role
from grader.web.api.schemas.check import (
    CheckIn,
    EarlierIn,
    FormulaOut,
    InputOut,
    KindOut,
    KindsOut,
    PreviewIn,
    PreviewOut,
)
from grader.web.api.schemas.common import ErrorBody, ErrorOut, HealthOut, QueueOut, UserOut
from grader.web.api.schemas.courses import (
    CourseIn,
    CourseOut,
    CoursesOut,
    EnrolmentIn,
    EnrolmentOut,
    EnrolmentsOut,
)
from grader.web.api.schemas.derivations import (
    DerivationIn,
    DerivationOut,
    DerivationsOut,
    PartAnswerIn,
    PartOut,
    PresetName,
)
from grader.web.api.schemas.instructor_tools import (
    AnalysisOut,
    ChangedSubmissionOut,
    ExtensionIn,
    ExtensionOut,
    ExtensionsOut,
    FiguresOut,
    GroupOut,
    HistoryOut,
    ItemAnalysisOut,
    ItemEditIn,
    MatchesOut,
    MatchOut,
    PastVerdictOut,
    RegradeIn,
    RegradeOut,
    StudentChangeOut,
    StudentRefOut,
)
from grader.web.api.schemas.lti import GradeSyncOut, GradeSyncsOut, PlatformOut, PlatformsOut
from grader.web.api.schemas.practice import (
    PracticeIn,
    PracticeOut,
    PracticeRedrawIn,
    PracticeSetsOut,
    RedrawnDerivationOut,
)
from grader.web.api.schemas.reports import (
    BinOut,
    CellOut,
    GradebookAssignmentOut,
    GradebookItemOut,
    GradebookOut,
    ItemStatsOut,
    JoinedAccountOut,
    StudentRowOut,
    TimelineOut,
)
from grader.web.api.schemas.submissions import SubmissionIn, SubmissionOut, SubmissionQuery, SubmissionsOut

__all__ = [
    "MAX_ANSWER_CHARS",
    "MAX_ID",
    "AnalysisOut",
    "AnswerFormat",
    "AssignmentIn",
    "AssignmentOut",
    "AssignmentPatch",
    "AssignmentsOut",
    "BinOut",
    "CellOut",
    "ChangedSubmissionOut",
    "CheckIn",
    "CourseIn",
    "CourseOut",
    "CoursesOut",
    "DerivationIn",
    "DerivationOut",
    "DerivationsOut",
    "EarlierIn",
    "EnrolmentIn",
    "EnrolmentOut",
    "EnrolmentsOut",
    "ErrorBody",
    "ErrorOut",
    "ExtensionIn",
    "ExtensionOut",
    "ExtensionsOut",
    "FiguresOut",
    "FormulaOut",
    "GradeSyncOut",
    "GradeSyncsOut",
    "GradebookAssignmentOut",
    "GradebookItemOut",
    "GradebookOut",
    "GroupOut",
    "HealthOut",
    "HistoryOut",
    "Id",
    "InputOut",
    "ItemAnalysisOut",
    "ItemEditIn",
    "ItemOut",
    "ItemSpec",
    "ItemStatsOut",
    "JoinedAccountOut",
    "KindOut",
    "KindsOut",
    "Layout",
    "LoginIn",
    "MatchOut",
    "MatchesOut",
    "NewTokenOut",
    "PartAnswerIn",
    "PartOut",
    "PastVerdictOut",
    "PlatformOut",
    "PlatformsOut",
    "PracticeIn",
    "PracticeOut",
    "PracticeRedrawIn",
    "PracticeSetsOut",
    "PresetName",
    "PreviewIn",
    "PreviewOut",
    "QueueOut",
    "RedrawIn",
    "RedrawnDerivationOut",
    "RegradeIn",
    "RegradeOut",
    "RequestModel",
    "Role",
    "SessionOut",
    "StudentChangeOut",
    "StudentRefOut",
    "StudentRowOut",
    "SubmissionIn",
    "SubmissionOut",
    "SubmissionQuery",
    "SubmissionsOut",
    "TimelineOut",
    "TokenIn",
    "TokenOut",
    "TokensOut",
    "UserOut",
    "VariantOut",
]
