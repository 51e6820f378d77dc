"""The pydantic models that cross the grader's boundaries: answer format, feedback, verdict."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from grader.judge import labels

AnswerFormat = Literal["json", "text", "python", "formula"]
FORMATS: tuple[str, ...] = ("json", "text", "python", "formula")
AnswerForm = Literal["matrix", "formula", "function"]
#: the forms an item may accept (an instructor's choice), and the form of each format
ANSWER_FORMS: tuple[str, ...] = ("matrix", "formula", "function")
FORM_OF_FORMAT: dict[str, str] = {
    "json": "matrix", "text": "matrix", "formula": "formula", "python": "function"
}


class Feedback(BaseModel):
    """One thing a student should know about their answer."""

    code: str = Field(description="a misconception code from the conventions, e.g. 'transpose'")
    message: str = Field(description="what the student most likely did, in plain words")

    @computed_field(description="the code in plain words, e.g. 'rows and columns swapped'")  # type: ignore[prop-decorator]
    @property
    def label(self) -> str:
        return labels.label(self.code)


class Entry(BaseModel):
    """One entry of an answer that is off."""

    index: list[int] = Field(description="0-based index into the expected array")
    label: str = Field(description="how a student names it, 1-based")
    expected: float | None = Field(
        description="left out where the viewer is the student whose instance this is"
    )
    received: float | None


#: codes of an answer the grader could not read as an answer (as PrairieLearn's "invalid")
NOT_AN_ATTEMPT = frozenset({"parse", "formula_index"})


class Verdict(BaseModel):
    """The grade of one answer, as shared/contract.md fixes it, plus what reproduces it."""

    model_config = ConfigDict(extra="forbid")

    correct: bool
    score: float = Field(ge=0.0, le=1.0)
    feedback: list[Feedback] = Field(default_factory=list)
    kind: str | None = None
    format: str | None = None
    instance: dict[str, Any] | None = Field(
        default=None, description="the instance graded against (the given one for functions)"
    )
    read_as: str | None = Field(
        default=None,
        description="how a typed answer was read; a formula written back with every "
        "multiplication and grouping explicit",
    )
    read_as_latex: str | None = Field(default=None, description="formulas: read_as as LaTeX")
    parse_position: int | None = Field(
        default=None, description="formulas: the 0-based character where reading stopped"
    )
    expected_shape: list[int] | None = None
    received_shape: list[int] | None = None
    wrong_entries: list[Entry] = Field(
        default_factory=list, description="entries that are off (the first few)"
    )
    wrong_count: int = 0
    total_count: int = 0
    tolerance: dict[str, Any] = Field(
        default_factory=dict, description="the rule the numbers were compared with"
    )
    catalog_version: str | None = None
    grader_version: str | None = None
    failed_instance: dict[str, Any] | None = Field(
        default=None, description="function answers: the first hidden instance that failed"
    )
    suite_seed: int | None = Field(
        default=None, description="function answers: the seed that draws the hidden instances again"
    )
    instances_passed: int | None = None
    instances_total: int | None = None
    timings_ms: dict[str, float] = Field(default_factory=dict)
    follow_through: dict[str, Any] | None = Field(
        default=None,
        description="set when a wrong answer is right for the student's own earlier part(s): "
        "{'from': [KIND, ...], 'share': the share of the credit it earns}",
    )

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.feedback]

    @property
    def is_attempt(self) -> bool:
        """False for an answer that could not be read as one: it uses no attempt and earns no score."""
        return NOT_AN_ATTEMPT.isdisjoint(self.codes)

    def without_answers(self) -> Verdict:
        """The verdict without the expected values of any instance the caller gave.

        A given instance is the student's own question (or one they chose), whatever
        its layout or order, so its expected values are the answer. Only the hidden
        instances the grader drew itself keep theirs, which help to debug.
        """
        failed = self.failed_instance
        reveals_given = failed is not None and "expected" in failed and _is_given(failed)
        if not self.wrong_entries and not reveals_given:
            return self
        update: dict[str, Any] = {
            "wrong_entries": [entry.model_copy(update={"expected": None}) for entry in self.wrong_entries]
        }
        if reveals_given:
            update["failed_instance"] = {key: value for key, value in failed.items() if key != "expected"}
        return self.model_copy(update=update)


def _is_given(failed: dict[str, Any]) -> bool:
    """Whether a failing instance is one the caller gave; a verdict stored without the flag is."""
    return bool(failed.get("given", True))
