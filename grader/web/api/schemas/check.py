"""Grading without storing: the check of an answer, the catalog of kinds, a previewed instance."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from exercises.base import MAX_SIZE
from exercises.inputs import InputType
from grader.judge.verdict import AnswerFormat
from grader.web.api.schemas.base import MAX_ANSWER_CHARS, Layout, RequestModel


class EarlierIn(RequestModel):
    answer: str = Field(max_length=MAX_ANSWER_CHARS)
    format: Literal["auto", "json", "text", "formula"] = Field(
        default="auto", description="how the earlier answer is written; auto detects it as the pages do"
    )


class CheckIn(RequestModel):
    instance: dict[str, Any] = Field(description="an exercise instance (shared/contract.md)")
    answer: str = Field(max_length=MAX_ANSWER_CHARS)
    format: AnswerFormat
    earlier: dict[str, EarlierIn] = Field(
        default_factory=dict,
        max_length=8,
        description="the student's own answers to earlier parts of the same instance, by kind: "
        "a wrong answer right for them earns follow-through credit",
    )


class InputOut(BaseModel):
    name: str
    type: InputType
    size: list[str] = Field(description="the size symbols it follows, e.g. ['n', 'K'] for an n x K matrix")
    meaning: str


class FormulaOut(BaseModel):
    entry: str = Field(description="the general entry a formula answer gives, e.g. 'dS_i/dz_j'")
    indices: list[str] = Field(description="the entry's own indices; any other must be summed")
    symbols: list[str] = Field(description="the symbols a formula may use beside e, I and the functions")


class KindOut(BaseModel):
    kind: str
    title: str
    signature: str = Field(description="the function a Python answer defines")
    given: list[str]
    inputs: list[InputOut] = Field(description="the given values by type, in the order of the signature")
    layouts: list[str]
    formula: FormulaOut | None = Field(default=None, description="None: the kind takes no formula answers")


class KindsOut(BaseModel):
    catalog_version: str
    kinds: list[KindOut]


class PreviewIn(RequestModel):
    kind: str = Field(max_length=64)
    n: int | None = Field(default=None, ge=1, le=MAX_SIZE)
    K: int | None = Field(default=None, ge=1, le=MAX_SIZE)
    layout: Layout = "numerator"
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1)


class PreviewOut(BaseModel):
    instance: dict[str, Any]
    statement: str
    statement_latex: str
