"""Grading without storing (``POST /check``), the catalog, and previews of instances."""

from __future__ import annotations

from spectree import Response

import exercises
from exercises import DrawOptions, InstanceError
from grader.judge.follow_through import EarlierAnswer
from grader.judge.grading import grade
from grader.judge.verdict import Verdict
from grader.service import variants
from grader.service.db import get_session, read_only_transaction
from grader.service.variants import fresh_seed
from grader.web.api import access, bp
from grader.web.api.schemas import CheckIn, ErrorOut, InputOut, KindOut, KindsOut, PreviewIn, PreviewOut
from grader.web.api.spec import spec
from grader.web.auth import current_user
from grader.web.errors import ApiError, invalid
from grader.web.limits import runs_functions

ERRORS = {"HTTP_401": ErrorOut, "HTTP_422": ErrorOut}


@bp.post("/check")
@runs_functions
@spec.validate(
    json=CheckIn,
    resp=Response(HTTP_200=Verdict, HTTP_409=ErrorOut, HTTP_429=ErrorOut, **ERRORS),
    tags=["grading"],
)
def check(json: CheckIn) -> Verdict:
    """Grade an answer against an instance; nothing is stored.

    Not a student's own instance of an assignment item (409): there an answer is
    judged as a submission, which the item's attempts and feedback rules govern.
    """
    user = current_user()
    with read_only_transaction(get_session()) as session:  # no write lock held while grading
        sees_answers = access.instructs_only(session, user)
    try:
        if not sees_answers:  # a student, or an instructor account that is a student somewhere
            with read_only_transaction(get_session()) as session:
                item_id = variants.own_assignment_item(session, user.id, json.instance)
            if item_id is not None:
                raise ApiError(
                    409,
                    "own_assignment_instance",
                    f"this asks what your own instance of assignment item {item_id} asks: submit "
                    f"your answer to it (POST /api/v1/submissions with item_id {item_id}), where "
                    "it counts as an attempt",
                )
        earlier = [EarlierAnswer(kind, part.answer, part.format) for kind, part in json.earlier.items()]
        verdict = grade(json.instance, json.answer, json.format, earlier=earlier)
    except InstanceError as error:
        raise invalid(f"unusable instance: {error}") from None
    return verdict if sees_answers else verdict.without_answers()


@bp.get("/kinds")
@spec.validate(resp=Response(HTTP_200=KindsOut, HTTP_401=ErrorOut), tags=["grading"])
def kinds() -> KindsOut:
    """The exercise kinds, with the function a Python answer defines."""
    current_user()
    return KindsOut(
        catalog_version=exercises.CATALOG_VERSION,
        kinds=[
            KindOut(
                kind=name,
                title=exercise.title,
                signature=exercise.signature,
                given=list(exercise.given),
                inputs=[
                    InputOut(name=given.name, type=given.type, size=list(given.size), meaning=given.meaning)
                    for given in exercise.inputs
                ],
                layouts=list(exercise.layouts),
            )
            for name, exercise in exercises.KINDS.items()
        ],
    )


@bp.post("/preview")
@spec.validate(json=PreviewIn, resp=Response(HTTP_200=PreviewOut, **ERRORS), tags=["grading"])
def preview(json: PreviewIn) -> PreviewOut:
    """An instance of a kind as a student would see it (nothing stored)."""
    current_user()
    try:
        exercise = exercises.get(json.kind)
        if json.layout not in exercise.layouts:
            raise InstanceError(
                f"layout {json.layout!r} is not offered for {json.kind}: "
                f"use {' or '.join(exercise.layouts)}"
            )
        instance = exercise.draw(
            json.seed if json.seed is not None else fresh_seed(),
            DrawOptions(n=json.n, K=json.K, layout=json.layout),
        )
    except InstanceError as error:
        raise invalid(str(error)) from None
    statement = exercise.statement(instance)
    return PreviewOut(instance=instance, statement=statement.text, statement_latex=statement.latex)
