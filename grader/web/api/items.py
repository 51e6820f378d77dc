"""One item: the caller's instance of it, and an instructor re-drawing a student's."""

from __future__ import annotations

import sqlalchemy as sa
from spectree import Response

from grader.service import extensions, gradebook, redraws, submissions, variants
from grader.service.db import get_session
from grader.service.models import Submission
from grader.web.api import bp
from grader.web.api.access import course_role, instructed_item, member_item
from grader.web.api.own_dates import own_item
from grader.web.api.present import item_out
from grader.web.api.schemas import ErrorOut, ItemOut, RedrawIn, VariantOut
from grader.web.api.spec import spec
from grader.web.auth import current_user
from grader.web.errors import not_found

READ_ERRORS = {"HTTP_401": ErrorOut, "HTTP_403": ErrorOut, "HTTP_404": ErrorOut}


@bp.get("/items/<int:item_id>")
@spec.validate(resp=Response(HTTP_200=ItemOut, **READ_ERRORS), tags=["assignments"])
def get_item(item_id: int) -> ItemOut:
    """The item with the caller's own instance, attempts used and left, score so far."""
    session = get_session()
    user = current_user()
    item, _ = member_item(session, user, item_id)
    drawn = variants.drawn_for(session, item, user.id)
    if item.assignment is not None:
        cell = gradebook.cells(session, [item.assignment], [user.id])[user.id, item.id]
        out = item_out(item, drawn.instance, attempts_used=cell.attempts, score=cell.score,
                       draw_number=drawn.draw_number)
        return own_item(out, extensions.allowance(session, item, user.id))
    used = session.scalar(
        sa.select(sa.func.count(Submission.id)).where(
            Submission.item_id == item.id, Submission.user_id == user.id
        )
    )
    return item_out(item, drawn.instance, attempts_used=used, draw_number=drawn.draw_number)


@bp.post("/items/<int:item_id>/redraw")
@spec.validate(
    json=RedrawIn,
    resp=Response(HTTP_200=VariantOut, **READ_ERRORS, HTTP_422=ErrorOut),
    tags=["assignments"],
)
def redraw(item_id: int, json: RedrawIn) -> VariantOut:
    """Give one student a new instance of an item (their earlier submissions keep theirs).

    The attempts they used on the earlier question are given back (``earlier_attempts``
    ``give_back``, the default) or stay used (``keep``); a part of a derivation takes its
    sibling parts along, and the choice holds for each part.
    """
    session = get_session()
    user = current_user()
    item = instructed_item(session, user, item_id)
    assert item.assignment is not None
    if course_role(session, json.user_id, item.assignment.course_id) != "student":
        raise not_found(f"student {json.user_id} in this course")
    done = redraws.redraw(session, item, json.user_id,
                          give_back=redraws.CHOICES[json.earlier_attempts], by_id=user.id)
    session.commit()
    variant = done.variant
    statement = item_out(item, variant.instance).statement or ""
    used = submissions.attempts_used(session, item.id, json.user_id)
    return VariantOut(
        item_id=item.id,
        user_id=json.user_id,
        draw_number=variant.draw_number,
        instance=variant.instance,
        statement=statement,
        earlier_attempts=json.earlier_attempts,
        attempts_given_back=done.record_of(item.id).attempts_given_back,
        attempts_left=extensions.allowance(session, item, json.user_id).attempts_left(used),
    )
