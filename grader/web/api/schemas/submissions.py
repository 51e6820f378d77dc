"""Submissions: an answer to an item, and the stored submission with its verdict."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from grader.judge.verdict import AnswerFormat, Verdict
from grader.web.api.schemas.base import MAX_ANSWER_CHARS, Id, RequestModel


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
