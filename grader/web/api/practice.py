"""Practice sets: fresh instances chosen for the caller, graded, kept out of the gradebook.

A set holds single items and may hold whole derivations, answered at
``/derivations/ID`` as an assignment's are. Its student may ask for another version of an
item or a derivation: the same question on new numbers.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so
from spectree import Response

from exercises import InstanceError
from grader.service import practice, variants
from grader.service.db import get_session
from grader.service.models import Item, PracticeSet, User, Variant
from grader.web.api import bp
from grader.web.api.access import load, member_item
from grader.web.api.derivations import derivation_out, member_derivation
from grader.web.api.present import item_out
from grader.web.api.schemas import (
    ErrorOut,
    PracticeIn,
    PracticeOut,
    PracticeRedrawIn,
    PracticeSetsOut,
    RedrawnDerivationOut,
    VariantOut,
)
from grader.web.api.spec import spec
from grader.web.auth import current_user
from grader.web.errors import ApiError, forbidden, invalid, not_found

RECENT_SETS = 20
REDRAW_ERRORS = {"HTTP_401": ErrorOut, "HTTP_403": ErrorOut, "HTTP_404": ErrorOut, "HTTP_409": ErrorOut,
                 "HTTP_422": ErrorOut}
NOT_PRACTICE = ("only a practice item is drawn again at its student's asking: an assignment's are "
                "re-drawn by the course's instructors")


def practice_out(practice_set: PracticeSet, owner: User) -> PracticeOut:
    session = get_session()
    items = practice_set.single_items
    drawn = variants.drawn_for_each(session, items, practice_set.user_id)
    return PracticeOut(
        id=practice_set.id,
        created_at=practice_set.created_at,
        items=[
            item_out(item, drawn[item.id].instance, draw_number=drawn[item.id].draw_number) for item in items
        ],
        derivations=[
            derivation_out(session, derivation, owner, "student") for derivation in practice_set.derivations
        ],
    )


@bp.post("/practice")
@spec.validate(
    json=PracticeIn,
    resp=Response(HTTP_201=PracticeOut, HTTP_401=ErrorOut, HTTP_422=ErrorOut),
    tags=["practice"],
)
def create_practice(json: PracticeIn) -> tuple[PracticeOut, int]:
    """A new practice set: more of the kinds and mistakes the caller gets wrong, and whole
    derivations where they carried a mistake from one part to the next."""
    user = current_user()
    session = get_session()
    try:
        practice_set = practice.create_set(
            session, user.id, json.kinds, json.count,
            derivation_count=json.derivations, presets=json.presets,
        )
    except InstanceError as error:
        raise invalid(f"kinds: {error}") from None
    session.commit()
    return practice_out(practice_set, user), 201


@bp.get("/practice")
@spec.validate(resp=Response(HTTP_200=PracticeSetsOut, HTTP_401=ErrorOut), tags=["practice"])
def list_practice() -> PracticeSetsOut:
    """The caller's most recent practice sets."""
    user = current_user()
    sets = get_session().scalars(
        sa.select(PracticeSet)
        .where(PracticeSet.user_id == user.id)
        .order_by(PracticeSet.id.desc())
        .limit(RECENT_SETS)
    )
    return PracticeSetsOut(practice_sets=[practice_out(s, user) for s in sets])


@bp.get("/practice/<int:set_id>")
@spec.validate(
    resp=Response(HTTP_200=PracticeOut, HTTP_401=ErrorOut, HTTP_404=ErrorOut), tags=["practice"]
)
def get_practice(set_id: int) -> PracticeOut:
    user = current_user()
    practice_set = load(get_session(), PracticeSet, set_id, "practice set")
    if practice_set.user_id != user.id:
        raise not_found(f"practice set {set_id}")
    return practice_out(practice_set, user)


@bp.post("/practice/items/<int:item_id>/redraw")
@spec.validate(json=PracticeRedrawIn, resp=Response(HTTP_200=VariantOut, **REDRAW_ERRORS), tags=["practice"])
def redraw_practice_item(item_id: int, json: PracticeRedrawIn) -> VariantOut:
    """Another version of one of the caller's practice items: new numbers, drawn from the set's
    seed, never the current ones; a part of a derivation takes every part along. Earlier
    answers keep the instance they answered; the item keeps its best score and attempts."""
    session = get_session()
    user = current_user()
    item, _ = member_item(session, user, item_id)
    if item.practice_set is None:
        raise forbidden(NOT_PRACTICE)
    variant = _another_version(session, item, json.draw_number)
    return VariantOut(
        item_id=item.id,
        user_id=user.id,
        draw_number=variant.draw_number,
        instance=variant.instance,
        statement=item_out(item, variant.instance).statement or "",
    )


@bp.post("/practice/derivations/<int:derivation_id>/redraw")
@spec.validate(
    json=PracticeRedrawIn, resp=Response(HTTP_200=RedrawnDerivationOut, **REDRAW_ERRORS), tags=["practice"]
)
def redraw_practice_derivation(derivation_id: int, json: PracticeRedrawIn) -> RedrawnDerivationOut:
    """Another version of one of the caller's practice derivations: every part moves to one new
    shared instance; answers to the earlier one no longer count for follow-through."""
    session = get_session()
    user = current_user()
    derivation, _ = member_derivation(session, user, derivation_id)
    if derivation.practice_set is None:
        raise forbidden(NOT_PRACTICE)
    variant = _another_version(session, derivation.parts[0], json.draw_number)
    out = derivation_out(session, derivation, user, "student")
    return RedrawnDerivationOut(**out.model_dump(), draw_number=variant.draw_number)


def _another_version(session: so.Session, item: Item, replacing: int | None) -> Variant:
    try:
        variant = practice.another_version(session, item, replacing)
    except practice.StaleVersion as stale:
        raise ApiError(409, "stale_version", str(stale)) from None
    session.commit()
    return variant
