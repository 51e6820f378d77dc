"""The caller's API tokens: issue one with a name and a lifetime, list them, revoke one."""

from __future__ import annotations

from spectree import Response

from grader.service import tokens
from grader.service.db import get_session
from grader.service.models import ApiToken, utcnow
from grader.web.api import bp
from grader.web.api.schemas import MAX_ID, ErrorOut, NewTokenOut, TokenIn, TokenOut, TokensOut
from grader.web.api.spec import spec
from grader.web.auth import current_user
from grader.web.errors import not_found


def token_out(row: ApiToken) -> TokenOut:
    expired = row.expires_at is not None and row.expires_at <= utcnow()
    return TokenOut(
        id=row.id, name=row.name, created_at=row.created_at, expires_at=row.expires_at, expired=expired
    )


@bp.get("/tokens")
@spec.validate(resp=Response(HTTP_200=TokensOut, HTTP_401=ErrorOut), tags=["accounts"])
def list_tokens() -> TokensOut:
    """The caller's tokens (never their text, which only the one who made it has seen)."""
    user = current_user()
    return TokensOut(tokens=[token_out(row) for row in tokens.owned(get_session(), user.id)])


@bp.post("/tokens")
@spec.validate(
    json=TokenIn,
    resp=Response(HTTP_201=NewTokenOut, HTTP_401=ErrorOut, HTTP_422=ErrorOut),
    tags=["accounts"],
)
def create_token(json: TokenIn) -> tuple[NewTokenOut, int]:
    """A new token for the caller, shown this once; it expires after ``days``."""
    user = current_user()
    session = get_session()
    issued = tokens.issue(session, user, json.name, json.days)
    session.commit()
    out = token_out(issued.row)
    return NewTokenOut(**out.model_dump(), token=issued.token), 201


@bp.delete("/tokens/<int:token_id>")
@spec.validate(resp=Response("HTTP_204", HTTP_401=ErrorOut, HTTP_404=ErrorOut), tags=["accounts"])
def revoke_token(token_id: int) -> tuple[str, int]:
    """Revoke one of the caller's tokens: it stops working at once, in every process."""
    user = current_user()
    session = get_session()
    if not (1 <= token_id <= MAX_ID and tokens.revoke(session, user.id, token_id)):
        raise not_found(f"token {token_id}")
    session.commit()
    return "", 204
