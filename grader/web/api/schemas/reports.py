"""The instructors' views: the gradebook, an item's statistics, a student's timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from grader.web.api.schemas.common import UserOut
from grader.web.api.schemas.courses import CourseOut
from grader.web.api.schemas.submissions import SubmissionOut


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


class JoinedAccountOut(BaseModel):
    """An account the LMS made, joined by the student into this one, and what moved."""

    from_name: str = Field(description="the joined account's user name, closed since")
    merged_at: datetime
    moved: dict[str, Any] = Field(
        description="counts of what moved (answers, practice sets, instances, extensions, re-draws, "
        "enrolments, LMS scores), the items whose unanswered instance was left out, "
        "and the merged scores sent to the LMS; under set_apart, the questions both accounts answered, "
        "whose record counts (lms or older) and how many answers of the other were set apart"
    )
    set_apart: list[SubmissionOut] = Field(
        default=[],
        description="the answers to this course's questions set apart by the join (the record not chosen "
        "where both accounts answered): kept, and counted for nothing",
    )


class TimelineOut(BaseModel):
    user: UserOut
    course_id: int
    submissions: list[SubmissionOut]
    joined_accounts: list[JoinedAccountOut] = Field(
        default=[], description="accounts the LMS made, joined into this one, concerning this course"
    )
