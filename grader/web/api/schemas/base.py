"""What the bodies of every area share.

The request model that refuses unknown fields and NUL characters, the limits on ids
and answers, the literal types several areas use, and the validator that keeps a
due date in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: ids are 32-bit integer columns (PostgreSQL's integer)
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID, description="a record's id")]
MAX_ANSWER_CHARS = 100_000
Layout = Literal["numerator", "denominator"]
Role = Literal["student", "instructor"]


def _no_nul(value: str) -> str:
    # PostgreSQL refuses NUL in text; refusing it everywhere keeps both databases alike
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class RequestModel(BaseModel):
    # strict: JSON's true is not the integer 1, nor "3" the number 3
    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _strings_without_nul(cls, value: Any) -> Any:
        return _no_nul(value) if isinstance(value, str) else value


def in_utc(value: datetime | None) -> datetime | None:
    """A due date's validator: the same moment, in UTC (``field_validator("due_at")(in_utc)``)."""
    return value.astimezone(UTC) if value is not None else None
