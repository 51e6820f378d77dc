"""Practice sets: a student's request for fresh instances, and the sets drawn."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from grader.web.api.schemas.assignments import ItemOut
from grader.web.api.schemas.base import RequestModel


class PracticeIn(RequestModel):
    kinds: list[str] | None = Field(default=None, max_length=20, description="all when left out")
    count: int = Field(default=5, ge=1, le=20)


class PracticeOut(BaseModel):
    id: int
    created_at: datetime
    items: list[ItemOut]


class PracticeSetsOut(BaseModel):
    practice_sets: list[PracticeOut]
