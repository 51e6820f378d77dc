"""Assignments and their items: what an instructor sets, what a student is given, a redrawn variant."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from exercises.base import MAX_SIZE
from grader.judge.verdict import ANSWER_FORMS, AnswerForm
from grader.service import redraws
from grader.web.api.schemas.base import Id, Layout, RequestModel, in_utc


def forms_in_order(forms: list[str]) -> list[str]:
    """Answer forms once each, in the catalog's order (matrix, formula, function)."""
    return [form for form in ANSWER_FORMS if form in forms]


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
        return forms_in_order(forms)


class AssignmentIn(RequestModel):
    title: str = Field(min_length=1, max_length=200)
    due_at: AwareDatetime | None = Field(default=None, strict=False, description="with a time zone")
    score_policy: Literal["best", "latest"] = "best"
    feedback_before_due: bool = True
    seed: int | None = Field(default=None, ge=0, le=2**62, description="drawn when left out")
    items: list[ItemSpec] = Field(min_length=1, max_length=50)

    _due_in_utc = field_validator("due_at")(in_utc)


class AssignmentPatch(RequestModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    due_at: AwareDatetime | None = Field(default=None, strict=False)  # JSON has no datetime type
    score_policy: Literal["best", "latest"] | None = None
    feedback_before_due: bool | None = None

    _due_in_utc = field_validator("due_at")(in_utc)


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
    draw_number: int | None = Field(
        default=None,
        description="the draw of the caller's own instance (0 until it is drawn again): send it with an "
                    "answer, and an answer to numbers drawn again since is refused; send `instance_digest` "
                    "too, for numbers changed on the same draw",
    )
    instance_digest: str | None = Field(
        default=None,
        description="a short digest of the caller's own instance: send it with an answer, and an answer "
                    "to numbers changed since is refused even on the same draw (an item's first draw "
                    "follows its sizes until the caller's first answer stores it)",
    )
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


#: what a re-draw does with the attempts used on the earlier question (see grader.service.redraws)
EarlierAttempts = Literal["give_back", "keep"]


class RedrawIn(RequestModel):
    user_id: Id
    earlier_attempts: EarlierAttempts = Field(
        default=redraws.DEFAULT_CHOICE,
        description="the attempts used on the earlier question: give_back (the student has the "
        "item's full limit, and their extension's extra, on the new one) or keep (they stay used); "
        "for a part of a derivation, on each part",
    )


class VariantOut(BaseModel):
    item_id: int
    user_id: int
    draw_number: int
    instance: dict[str, Any]
    statement: str
    earlier_attempts: EarlierAttempts = "give_back"
    #: of this item (each part of a derivation has its own)
    attempts_given_back: int = 0
    attempts_left: int | None = Field(
        default=None, description="the student's, on the new question; None: unlimited"
    )
