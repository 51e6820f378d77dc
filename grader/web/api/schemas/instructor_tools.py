"""The bodies of the instructor tools' API: regrading, extensions, verdict history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from grader.web.api.schemas.base import Id, RequestModel, in_utc

MAX_EDITS = 50


class ItemEditIn(RequestModel):
    item_id: Id
    points: float | None = Field(default=None, gt=0, le=1000, description="None: keep")
    max_attempts: int | None = Field(default=None, ge=1, le=1000, description="None: keep")
    unlimited_attempts: bool = Field(default=False, description="take the attempt limit away")

    @model_validator(mode="after")
    def _one_limit(self) -> ItemEditIn:
        if self.unlimited_attempts and self.max_attempts is not None:
            raise ValueError("give max_attempts or unlimited_attempts, not both")
        return self


class RegradeIn(RequestModel):
    apply: bool = Field(default=False, description="false: a dry run that changes nothing")
    items: list[ItemEditIn] = Field(
        default_factory=list, max_length=MAX_EDITS,
        description="new points or attempt limits to regrade with (and to store when applied)",
    )


class StudentChangeOut(BaseModel):
    user_id: int
    name: str
    old_points: float
    new_points: float
    delta: float
    reasons: list[str] = Field(description="why, item by item")


class ChangedSubmissionOut(BaseModel):
    submission_id: int
    user_id: int
    item_id: int
    old_score: float | None
    new_score: float
    old_codes: list[str]
    new_codes: list[str]


class RegradeOut(BaseModel):
    assignment_id: int
    applied: bool
    regraded: int = Field(description="graded submissions graded again")
    replaced: int = Field(description="verdicts stored anew (0 in a dry run)")
    failed: int = Field(description="submissions that could not be graded again; they keep theirs")
    stored_versions: dict[str, int] = Field(description="the versions the stored verdicts were made by")
    catalog_version: str
    grader_version: str
    seconds: float
    students: list[StudentChangeOut] = Field(description="those whose points move")
    changed: list[ChangedSubmissionOut] = Field(description="submissions whose verdict changes")


class PastVerdictOut(BaseModel):
    replaced_at: datetime
    reason: str
    score: float | None
    correct: bool | None
    codes: list[str]
    catalog_version: str | None
    grader_version: str | None
    verdict: dict[str, Any] | None


class HistoryOut(BaseModel):
    submission_id: int
    past: list[PastVerdictOut] = Field(description="replaced verdicts, oldest first")


class ExtensionIn(RequestModel):
    user_id: Id
    item_id: Id | None = Field(default=None, description="None: the whole assignment")
    due_at: AwareDatetime | None = Field(
        default=None, strict=False, description="None: keep the assignment's (JSON has no datetime type)"
    )
    extra_attempts: int = Field(default=0, ge=0, le=1000)

    _due_in_utc = field_validator("due_at")(in_utc)


class ExtensionOut(BaseModel):
    id: int
    assignment_id: int
    user_id: int
    item_id: int | None
    due_at: datetime | None
    extra_attempts: int


class ExtensionsOut(BaseModel):
    extensions: list[ExtensionOut]


class StudentRefOut(BaseModel):
    user_id: int
    name: str


class MatchOut(BaseModel):
    submission_id: int
    item_id: int
    student: StudentRefOut
    submitted_at: datetime
    matched: list[StudentRefOut] = Field(description="whose variants the answer is right for")


class MatchesOut(BaseModel):
    assignment_id: int
    matches: list[MatchOut]


class FiguresOut(BaseModel):
    students: int = Field(description="students who answered (graded)")
    facility: float | None = Field(description="mean best score, in [0, 1]")
    first_try_correct: float | None = Field(description="share right at the first graded answer")
    attempts_to_first_correct: float | None = Field(description="mean, over those who got there")
    codes: dict[str, float] = Field(description="share of the students who showed each code")


class GroupOut(FiguresOut):
    K: int | None
    n: int | None
    layout: str


class ItemAnalysisOut(FiguresOut):
    item_id: int
    position: int = Field(description="1-based")
    kind: str
    discrimination: float | None = Field(
        description="mean best score of the upper 27% by assignment total less the lower 27%'s"
    )
    groups: list[GroupOut] = Field(description="the same figures by the instance's K, n, layout")


class AnalysisOut(BaseModel):
    assignment_id: int
    enrolled: int
    group_size: int = Field(description="students in each of the upper and lower groups")
    items: list[ItemAnalysisOut]
