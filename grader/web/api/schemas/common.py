"""Bodies every area shares: errors, the service's health and grading queue, a user."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from grader.web.api.schemas.base import Role


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
    failed: int = Field(description="gradings given up on until regraded")
    oldest_waiting_since: datetime | None = Field(description="procrastinate only")
    live_workers: int | None = Field(description="`grader worker` processes alive (procrastinate only)")


class UserOut(BaseModel):
    id: int
    name: str
    full_name: str
    role: Role
