"""Practice sets: fresh instances chosen for the caller, graded, kept out of the gradebook.

A set holds single items and may hold whole derivations, answered at
``/derivations/ID`` as an assignment's are.
"""

from __future__ import annotations

import sqlalchemy as sa
from spectree import Response

from exercises import InstanceError
from grader.service import practice, variants
from grader.service.db import get_session
from grader.service.models import PracticeSet, User
from grader.web.api import bp
from grader.web.api.access import load
from grader.web.api.derivations import derivation_out
from grader.web.api.present import item_out
from grader.web.api.schemas import ErrorOut, PracticeIn, PracticeOut, PracticeSetsOut
from grader.web.api.spec import spec
from grader.web.auth import current_user
from grader.web.errors import invalid, not_found

RECENT_SETS = 20


def practice_out(practice_set: PracticeSet, owner: User) -> PracticeOut:
    session = get_session()
    return PracticeOut(
        id=practice_set.id,
        created_at=practice_set.created_at,
        items=[
            item_out(item, variants.instance_for_practice(session, item, practice_set.user_id))
            for item in practice_set.single_items
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
