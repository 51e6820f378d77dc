"""Derivations: their parts, as a student or an instructor sees them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from exercises.derivations import PRESETS
from grader.web.api.schemas.assignments import ItemOut
from grader.web.api.schemas.submissions import SubmissionOut

PresetName = Literal[tuple(PRESETS)]  # type: ignore[valid-type]


class PartOut(BaseModel):
    letter: str
    item: ItemOut
    latest: SubmissionOut | None = Field(default=None, description="the caller's latest answer to it")
    changed_since: list[str] = Field(
        default_factory=list,
        description="letters of the earlier parts answered again since the latest answer here was graded",
    )


class DerivationOut(BaseModel):
    id: int
    assignment_id: int | None = Field(description="None for a derivation of a practice set")
    practice_set_id: int | None = Field(default=None, description="None for an assignment's derivation")
    preset: str
    title: str
    share: float
    points: float
    reason: str | None = Field(default=None, description="practice: why it was chosen")
    shared_instance: dict[str, Any] | None = Field(default=None, description="the caller's own")
    parts: list[PartOut]
