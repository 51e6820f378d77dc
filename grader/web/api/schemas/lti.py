"""LTI: the platforms (LMSs) registered with this tool, and the scores waiting for them.

A platform's registration, ``PlatformIn``, is the service's (``grader.service.lti.platforms``):
the command line registers platforms too, and the service imports nothing of the web.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


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
