"""Practice sets: a student's request for fresh instances, and the sets drawn."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, Field, model_validator

from exercises.derivations import PRESETS
from grader.web.api.schemas.assignments import ItemOut
from grader.web.api.schemas.base import MAX_ID, RequestModel
from grader.web.api.schemas.derivations import DerivationOut, PresetName

MAX_DERIVATIONS = 3


class PracticeIn(RequestModel):
    kinds: list[str] | None = Field(default=None, max_length=20, description="all when left out")
    count: int = Field(default=5, ge=0, le=20, description="single items; 0 only beside a derivation")
    derivations: int | None = Field(
        default=None, ge=0, le=MAX_DERIVATIONS,
        description="whole derivations beside the items; when left out, one of each of `presets` "
                    "if given, else one once the caller has answered a few questions (none when "
                    "`kinds` are chosen)",
    )
    presets: list[PresetName] | None = Field(
        default=None, max_length=len(PRESETS), description="the derivations to draw from; all when left out"
    )

    @model_validator(mode="after")
    def _something_to_do(self) -> Self:
        if self.count == 0 and not (self.derivations or (self.derivations is None and self.presets)):
            raise ValueError("count: at least 1 question, unless the set holds a derivation")
        return self


class PracticeOut(BaseModel):
    id: int
    created_at: datetime
    items: list[ItemOut] = Field(description="the single items; a derivation's parts are in `derivations`")
    derivations: list[DerivationOut] = Field(default_factory=list)


class PracticeSetsOut(BaseModel):
    practice_sets: list[PracticeOut]


class PracticeRedrawIn(RequestModel):
    draw_number: int | None = Field(
        default=None, ge=0, le=MAX_ID,
        description="the version the caller is replacing, as the last re-draw answered it (0 before "
                    "any): when it is no longer the current one, 409 and nothing is drawn, so a request "
                    "sent twice draws once; left out, whatever version is current is replaced",
    )


class RedrawnDerivationOut(DerivationOut):
    draw_number: int = Field(description="the new version's number: 1 for the first re-draw")
