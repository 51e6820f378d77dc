"""Signing in: a session's login, and the API tokens a user holds."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from grader.service import tokens
from grader.web.api.schemas.base import RequestModel
from grader.web.api.schemas.common import UserOut


class LoginIn(RequestModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    user: UserOut | None
    csrf_token: str = Field(description="send it as X-CSRFToken with cookie-authenticated posts")


class TokenIn(RequestModel):
    name: str = Field(min_length=1, max_length=tokens.MAX_NAME, description="what the token is for")
    days: int = Field(
        default=tokens.DEFAULT_DAYS, ge=1, le=tokens.MAX_DAYS, description="it expires after this many days"
    )


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None = Field(description="None: a token from before expiry existed")
    expired: bool


class NewTokenOut(TokenOut):
    token: str = Field(description="shown this once: send it as 'Authorization: Bearer TOKEN'")


class TokensOut(BaseModel):
    tokens: list[TokenOut]
