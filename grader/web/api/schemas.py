"""The API's bodies: what a request must hold and what a response holds.

Request models forbid unknown fields, so a typo is a 422 that names it rather than
a silently ignored option; /openapi.json is generated from these same models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from exercises.base import MAX_SIZE
from exercises.inputs import InputType
from grader.judge.verdict import ANSWER_FORMS, AnswerForm, AnswerFormat, Verdict
from grader.service import tokens

#: ids are 32-bit integer columns (PostgreSQL's integer)
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID, description="a record's id")]
MAX_ANSWER_CHARS = 100_000
Layout = Literal["numerator", "denominator"]
Role = Literal["student", "instructor"]


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text; refusing it everywhere keeps both databases alike
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class RequestModel(BaseModel):
    # strict: JSON's true is not the integer 1, nor "3" the number 3
    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _strings_without_nul(cls, value: Any) -> Any:
        return _no_nul(value) if isinstance(value, str) else value


# ---- common ----------------------------------------------------------------------


class ErrorBody(BaseModel):
    code: str = Field(description="stable, e.g. 'not_found', 'invalid', 'rate_limited'")
    message: str = Field(description="what is wrong, for a person")


class ErrorOut(BaseModel):
    error: ErrorBody


class HealthOut(BaseModel):
    ok: bool


class QueueOut(BaseModel):
    queue: Literal["local", "procrastinate"]
    waiting: int = Field(description="submissions waiting to be graded")
    running: int
    failed: int = Field(description="given up on until regraded (procrastinate: tasks failed)")
    oldest_waiting_since: datetime | None = Field(description="procrastinate only")
    live_workers: int | None = Field(description="`grader worker` processes alive (procrastinate only)")


class UserOut(BaseModel):
    id: int
    name: str
    full_name: str
    role: Role


# ---- grading without storing ------------------------------------------------------


class EarlierIn(RequestModel):
    answer: str = Field(max_length=MAX_ANSWER_CHARS)
    format: Literal["auto", "json", "text", "formula"] = Field(
        default="auto", description="how the earlier answer is written; auto detects it as the pages do"
    )


class CheckIn(RequestModel):
    instance: dict[str, Any] = Field(description="an exercise instance (shared/contract.md)")
    answer: str = Field(max_length=MAX_ANSWER_CHARS)
    format: AnswerFormat
    earlier: dict[str, EarlierIn] = Field(
        default_factory=dict,
        max_length=8,
        description="the student's own answers to earlier parts of the same instance, by kind: "
        "a wrong answer right for them earns follow-through credit",
    )


class InputOut(BaseModel):
    name: str
    type: InputType
    size: list[str] = Field(description="the size symbols it follows, e.g. ['n', 'K'] for an n x K matrix")
    meaning: str


class FormulaOut(BaseModel):
    entry: str = Field(description="the general entry a formula answer gives, e.g. 'dS_i/dz_j'")
    indices: list[str] = Field(description="the entry's own indices; any other must be summed")
    symbols: list[str] = Field(description="the symbols a formula may use beside e, I and the functions")


class KindOut(BaseModel):
    kind: str
    title: str
    signature: str = Field(description="the function a Python answer defines")
    given: list[str]
    inputs: list[InputOut] = Field(description="the given values by type, in the order of the signature")
    layouts: list[str]
    formula: FormulaOut | None = Field(default=None, description="None: the kind takes no formula answers")


class KindsOut(BaseModel):
    catalog_version: str
    kinds: list[KindOut]


class PreviewIn(RequestModel):
    kind: str = Field(max_length=64)
    n: int | None = Field(default=None, ge=1, le=MAX_SIZE)
    K: int | None = Field(default=None, ge=1, le=MAX_SIZE)
    layout: Layout = "numerator"
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)


class PreviewOut(BaseModel):
    instance: dict[str, Any]
    statement: str
    statement_latex: str


# ---- sessions ---------------------------------------------------------------------


class LoginIn(RequestModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    user: UserOut | None
    csrf_token: str = Field(description="send it as X-CSRFToken with cookie-authenticated posts")


class TokenIn(RequestModel):
    name: str = Field(min_length=1, max_length=tokens.MAX_NAME, description="what the token is for")
    days: int = Field(
        default=tokens.DEFAULT_DAYS, ge=1, le=tokens.MAX_DAYS, description="it expires after this many days"
    )


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None = Field(description="None: a token from before expiry existed")
    expired: bool


class NewTokenOut(TokenOut):
    token: str = Field(description="shown this once: send it as 'Authorization: Bearer TOKEN'")


class TokensOut(BaseModel):
    tokens: list[TokenOut]


# ---- courses ----------------------------------------------------------------------


class CourseIn(RequestModel):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    title: str = Field(min_length=1, max_length=200)


class CourseOut(BaseModel):
    id: int
    code: str
    title: str
    role: Role = Field(description="the caller's role in the course")


class CoursesOut(BaseModel):
    courses: list[CourseOut]


class EnrolmentIn(RequestModel):
    user: str = Field(min_length=1, max_length=64, description="the user's name")
    role: Role = "student"
    section: str = Field(default="", max_length=100)


class EnrolmentOut(BaseModel):
    user: UserOut
    role: Role
    section: str


class EnrolmentsOut(BaseModel):
    enrolments: list[EnrolmentOut]


# ---- assignments and items --------------------------------------------------------


class ItemSpec(RequestModel):
    kind: str = Field(max_length=64)
    n: int | None = Field(default=None, ge=1, le=MAX_SIZE, description="inputs (sizes of x)")
    K: int | None = Field(default=None, ge=1, le=MAX_SIZE, description="classes")
    layout: Layout = "numerator"
    points: float = Field(default=1.0, gt=0, le=1000)
    max_attempts: int | None = Field(default=None, ge=1, le=1000, description="None: unlimited")
    answer_forms: list[AnswerForm] = Field(
        default_factory=lambda: list(ANSWER_FORMS),
        min_length=1,
        max_length=3,
        description="the forms a student may answer in: matrix, formula, function (all by default)",
    )

    @field_validator("answer_forms")
    @classmethod
    def _forms_once_in_order(cls, forms: list[str]) -> list[str]:
        return [form for form in ANSWER_FORMS if form in forms]


def _in_utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


class AssignmentIn(RequestModel):
    title: str = Field(min_length=1, max_length=200)
    due_at: AwareDatetime | None = Field(default=None, strict=False, description="with a time zone")
    score_policy: Literal["best", "latest"] = "best"
    feedback_before_due: bool = True
    seed: int | None = Field(default=None, ge=0, le=2**62, description="drawn when left out")
    items: list[ItemSpec] = Field(min_length=1, max_length=50)

    _due_in_utc = field_validator("due_at")(_in_utc)


class AssignmentPatch(RequestModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    due_at: AwareDatetime | None = Field(default=None, strict=False)  # JSON has no datetime type
    score_policy: Literal["best", "latest"] | None = None
    feedback_before_due: bool | None = None

    _due_in_utc = field_validator("due_at")(_in_utc)


class ItemOut(BaseModel):
    id: int
    kind: str
    title: str
    signature: str
    position: int
    n: int | None
    K: int | None
    layout: str
    points: float
    max_attempts: int | None
    answer_forms: list[str] = Field(description="the forms a student may answer in")
    assignment_id: int | None
    practice_set_id: int | None
    reason: str | None = Field(default=None, description="practice: why it was chosen")
    instance: dict[str, Any] | None = Field(default=None, description="the caller's own instance")
    statement: str | None = None
    statement_latex: str | None = None
    attempts_used: int | None = None
    attempts_left: int | None = None
    score: float | None = Field(default=None, description="the score that counts, in [0, 1]")


class AssignmentOut(BaseModel):
    id: int
    course_id: int
    title: str
    due_at: datetime | None
    score_policy: str
    feedback_before_due: bool
    points: float
    items: list[ItemOut]


class AssignmentsOut(BaseModel):
    assignments: list[AssignmentOut]


class RedrawIn(RequestModel):
    user_id: Id


class VariantOut(BaseModel):
    item_id: int
    user_id: int
    draw_number: int
    instance: dict[str, Any]
    statement: str


# ---- practice ---------------------------------------------------------------------


class PracticeIn(RequestModel):
    kinds: list[str] | None = Field(default=None, max_length=20, description="all when left out")
    count: int = Field(default=5, ge=1, le=20)


class PracticeOut(BaseModel):
    id: int
    created_at: datetime
    items: list[ItemOut]


class PracticeSetsOut(BaseModel):
    practice_sets: list[PracticeOut]


# ---- submissions ------------------------------------------------------------------


class SubmissionIn(RequestModel):
    item_id: Id
    answer: str = Field(max_length=MAX_ANSWER_CHARS)
    format: AnswerFormat


class SubmissionQuery(RequestModel):
    model_config = ConfigDict(extra="forbid", strict=False)  # a query string holds only text

    item_id: Id | None = None


class SubmissionOut(BaseModel):
    id: int
    item_id: int
    user_id: int
    answer: str
    format: str
    instance: dict[str, Any]
    submitted_at: datetime
    late: bool
    status: Literal["graded", "pending", "grading", "failed"] = Field(
        description="graded: the verdict is there; grading: workers grade it (it waits in their "
        "queue or a worker has it): the POST that stored it answers 202, and every GET says grading "
        "until the verdict is there; pending: stored, its verdict to come (where the server grades, "
        "its grading could not finish and is taken again); failed: could not be graded yet, the "
        "attempt is kept"
    )
    verdict: Verdict | None
    score: float | None
    correct: bool | None
    codes: list[str] | None
    feedback_hidden: bool = Field(description="feedback waits for the due date")
    graded_at: datetime | None
    grading_ms: float | None


class SubmissionsOut(BaseModel):
    submissions: list[SubmissionOut]


# ---- instructors' views -----------------------------------------------------------


class GradebookItemOut(BaseModel):
    id: int
    kind: str
    points: float


class GradebookAssignmentOut(BaseModel):
    id: int
    title: str
    points: float
    due_at: datetime | None
    items: list[GradebookItemOut]


class CellOut(BaseModel):
    item_id: int
    best_score: float | None = Field(description="in [0, 1]; None before any graded attempt")
    score: float | None = Field(description="what counts by the assignment's policy, in [0, 1]")
    points: float = Field(description="points earned")
    attempts: int
    late: bool = Field(description="the submission that counts came after the due date")


class StudentRowOut(BaseModel):
    user: UserOut
    section: str
    total: float
    assignments: dict[str, float] = Field(description="points earned per assignment id")
    items: list[CellOut]


class GradebookOut(BaseModel):
    course: CourseOut
    assignments: list[GradebookAssignmentOut]
    students: list[StudentRowOut]


class BinOut(BaseModel):
    low: float
    high: float
    count: int


class ItemStatsOut(BaseModel):
    item_id: int
    kind: str
    attempts: int
    graded: int
    students: int
    mean_score: float | None
    distribution: list[BinOut] = Field(description="scores of graded attempts in ten bins")
    codes: dict[str, int] = Field(description="how often each misconception code appears")
    enrolled: int = Field(description="the course's students")
    first_try_correct: int = Field(description="students whose first graded answer was right")
    solved: int = Field(description="students with a right answer")
    attempts_to_correct: float | None = Field(
        description="mean attempts to the first right answer, among those who reached one"
    )
    mean_best_score: float | None = Field(description="the mean of each student's best score")
    best_distribution: list[BinOut] = Field(description="the students' best scores in ten bins")
    code_students: dict[str, int] = Field(description="how many students showed each code")
    labels: dict[str, str] = Field(description="each code above in plain words")
    code_errors: list[str] = Field(description="the codes above about code, not mathematics")


class TimelineOut(BaseModel):
    user: UserOut
    course_id: int
    submissions: list[SubmissionOut]
