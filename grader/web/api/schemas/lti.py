"""LTI: the platforms (LMSs) registered with this tool, the scores waiting for them, and the
joins of an account the LMS made into its user's older one, with the requests an instructor decides.

A platform's registration, ``PlatformIn``, is the service's (``grader.service.lti.platforms``):
the command line registers platforms too, and the service imports nothing of the web.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from grader.web.api.schemas.base import Id, RequestModel
from grader.web.api.schemas.common import ErrorOut, UserOut


class PlatformOut(BaseModel):
    id: int
    name: str
    issuer: str
    client_id: str
    deployment_ids: list[str]
    auth_login_url: str
    auth_token_url: str
    key_set_url: str


class PlatformsOut(BaseModel):
    platforms: list[PlatformOut]


class GradeSyncOut(BaseModel):
    id: int
    state: str = Field(description="waiting (to be sent, or sent again after a failure), done, failed")
    user: str
    assignment_id: int | None
    assignment: str | None
    attempts: int
    requested_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    score_given: float | None
    score_maximum: float | None
    last_error: str | None


class GradeSyncsOut(BaseModel):
    counts: dict[str, int] = Field(description="how many scores are in each state")
    syncs: list[GradeSyncOut]


class JoinIn(RequestModel):
    """The student's join of the account the LMS made (the caller) into their older account."""

    name: str = Field(min_length=1, max_length=64, description="the older account's user name")
    password: str = Field(min_length=1, max_length=1000, description="the older account's password")
    holdings: str = Field(
        max_length=200,
        description="the fingerprint of what the caller's account holds, as GET /lti/join showed it "
        "(the counts it confirms will move)",
    )


class HoldingsOut(BaseModel):
    """What the account the LMS made holds, counted: what a join moves."""

    courses: int
    assignment_answers: int
    assignment_items: int
    practice_sets: int
    practice_answers: int
    instances: int
    extensions: int
    redraws: int
    lms_scores: int
    fingerprint: str = Field(description="these counts in one word, to confirm with POST /lti/join")


class JoinOut(BaseModel):
    """A join done: the account the LMS made, merged into the older one."""

    from_name: str = Field(description="the joined account's user name, closed since")
    into: UserOut
    merged_at: datetime
    moved: dict[str, Any] = Field(
        description="counts of what moved, the items whose unanswered instance was left out, and "
        "under set_apart the items both accounts answered: whose record counts (lms or older) and how "
        "many answers of the other were set apart"
    )


class SideOut(BaseModel):
    answers: int
    best_score: float | None


class ConflictOut(BaseModel):
    """An assignment question both accounts answered (a derivation's parts are one)."""

    question_id: int = Field(description="its item's id (a derivation's first part's), as a choice names it")
    question: str = Field(description="course, assignment and question, in words")
    course_id: int
    item_ids: list[int]
    lms: SideOut | None = Field(description="the LMS account's answers to it (now; none once decided)")
    older: SideOut | None = Field(description="the older account's answers to it (now; none once decided)")


class JoinRequestOut(BaseModel):
    """A join refused for questions both accounts answered, waiting for an instructor's choices."""

    id: int
    status: Literal["pending", "joined", "withdrawn"]
    requested_at: datetime
    resolved_at: datetime | None
    lms_account: UserOut = Field(description="the account the LMS made, to be merged away")
    older_account: UserOut = Field(description="the account the student had before")
    conflicts: list[ConflictOut] = Field(
        description="the questions both accounts answered: as they are now while pending, else as asked"
    )
    course_ids: list[int] = Field(description="the courses of those questions")
    fingerprint: str | None = Field(
        description="the state shown (while pending): a decision names it, and one made on another is refused"
    )
    may_resolve: bool = Field(description="whether the caller teaches every course concerned")
    choices: dict[str, str] | None = Field(description="the instructor's choices by question id, once joined")


class JoinRequestsOut(BaseModel):
    requests: list[JoinRequestOut]


class JoinChoiceIn(RequestModel):
    question_id: Id
    counts: Literal["lms", "older"] = Field(description="whose record counts: the LMS account's or the older")


class JoinDecisionIn(RequestModel):
    """An instructor's choice for each question both accounts answered, on the state they were shown."""

    fingerprint: str = Field(max_length=10_000, description="the request's fingerprint as it was shown")
    choices: list[JoinChoiceIn] = Field(min_length=1, max_length=500)


class JoinRefusedOut(ErrorOut):
    """A join not done: the error, and the state it was refused on."""

    holdings: HoldingsOut | None = Field(
        default=None, description="what the account holds now, when it changed since it was shown"
    )
    join_request: JoinRequestOut | None = Field(
        default=None, description="the request for an instructor's choices, made or as it now stands"
    )
