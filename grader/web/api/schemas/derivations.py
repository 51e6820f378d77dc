"""Derivations: what an instructor adds, a part's answer, and the parts as a student or an
instructor sees them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from exercises.base import MAX_SIZE
from exercises.derivations import PRESETS, letter, preset
from grader.judge.follow_through import SHARE_DEFAULT
from grader.judge.verdict import ANSWER_FORMS, AnswerForm, AnswerFormat
from grader.web.api.schemas.assignments import ItemOut, forms_in_order
from grader.web.api.schemas.base import MAX_ANSWER_CHARS, MAX_ID, RequestModel
from grader.web.api.schemas.submissions import (
    DRAW_NUMBER_IN,
    INSTANCE_DIGEST_IN,
    InstanceDigest,
    SubmissionOut,
)

PresetName = Literal[tuple(PRESETS)]  # type: ignore[valid-type]


class DerivationIn(RequestModel):
    preset: PresetName = Field(description="softmax_layer: S, dS/dz, dz/dvec(W), dS/dvec(W); "
                                           "cross_entropy: S, dL/dz, dL/dW")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    share: float = Field(default=SHARE_DEFAULT, ge=0, lt=1,
                         description="of a part's credit, when right for the student's wrong earlier part")
    n: int | None = Field(default=None, ge=1, le=MAX_SIZE, description="inputs (sizes of x)")
    K: int | None = Field(default=None, ge=1, le=MAX_SIZE, description="classes")
    points: float = Field(default=1.0, gt=0, le=1000, description="of each part")
    max_attempts: int | None = Field(default=None, ge=1, le=1000, description="of each part; None: unlimited")
    answer_forms: list[AnswerForm] = Field(
        default_factory=lambda: list(ANSWER_FORMS), min_length=1, max_length=3,
        description="the forms a student may answer each part in: matrix, formula, function (all by default)",
    )
    part_answer_forms: dict[str, list[AnswerForm]] = Field(
        default_factory=dict, max_length=26,
        description="by a part's letter, its own forms instead: {\"d\": [\"formula\"]} asks (d) as a formula",
    )

    @field_validator("answer_forms")
    @classmethod
    def _forms_once_in_order(cls, forms: list[str]) -> list[str]:
        return forms_in_order(forms)

    @field_validator("part_answer_forms")
    @classmethod
    def _parts_forms_once_in_order(cls, parts: dict[str, list[str]]) -> dict[str, list[str]]:
        ordered = {part: forms_in_order(forms) for part, forms in parts.items()}
        empty = sorted(part for part, forms in ordered.items() if not forms)
        if empty:
            raise ValueError(f"part(s) {', '.join(empty)} would accept no form of answer")
        return ordered

    def forms_of_parts(self) -> list[list[str]]:
        """Each part's forms, in order; a letter the preset has no part for is a ValueError."""
        count = len(preset(self.preset).parts)
        letters = [letter(index) for index in range(count)]
        unknown = sorted(set(self.part_answer_forms) - set(letters))
        if unknown:
            named = ", ".join(unknown)
            raise ValueError(f"{self.preset} has parts {letters[0]} to {letters[-1]}, not {named}")
        return [self.part_answer_forms.get(part, self.answer_forms) for part in letters]


class PartAnswerIn(RequestModel):
    answer: str = Field(max_length=MAX_ANSWER_CHARS)
    format: AnswerFormat
    draw_number: int | None = Field(default=None, ge=0, le=MAX_ID, description=DRAW_NUMBER_IN)
    instance_digest: InstanceDigest | None = Field(default=None, description=INSTANCE_DIGEST_IN)


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


class DerivationsOut(BaseModel):
    derivations: list[DerivationOut]
