"""Submissions: an answer to an item, and the stored submission with its verdict."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from grader.judge.verdict import AnswerFormat, Verdict
from grader.service import variants
from grader.web.api.schemas.base import MAX_ANSWER_CHARS, MAX_ID, Id, RequestModel

#: what an answer's optional draw number means (an item's part of a derivation takes it too)
DRAW_NUMBER_IN = (
    "the draw of the instance the answer is to, as the item's `draw_number` gave it: when the "
    "instance has been drawn again since (an instructor's re-draw, another practice version), 409 "
    "`stale_version` and nothing is stored, no attempt used; left out, the answer is to whatever "
    "instance is current"
)
#: what an answer's optional instance digest means (an item's part of a derivation takes it too)
INSTANCE_DIGEST_IN = (
    "the digest of the instance the answer is to, as the item's `instance_digest` gave it: when "
    "the numbers of that draw have changed since (an instructor changed the item's sizes before "
    "its first draw was stored, which the draw number does not show), 409 `stale_version` as "
    "for `draw_number`; left out, not checked"
)
#: an instance's digest, as grader.service.variants.digest writes it
InstanceDigest = Annotated[str, Field(pattern=f"^[0-9a-f]{{{variants.DIGEST_CHARS}}}$")]


class SubmissionIn(RequestModel):
    item_id: Id
    answer: str = Field(max_length=MAX_ANSWER_CHARS)
    format: AnswerFormat
    draw_number: int | None = Field(default=None, ge=0, le=MAX_ID, description=DRAW_NUMBER_IN)
    instance_digest: InstanceDigest | None = Field(default=None, description=INSTANCE_DIGEST_IN)


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
