"""Extensions: a student's own due date and extra attempts, set by the course's instructors."""

from __future__ import annotations

from spectree import Response

from grader.service import extensions
from grader.service.db import get_session
from grader.service.instructor_models import Extension
from grader.web.api import bp
from grader.web.api.access import course_role, instructed_assignment, load
from grader.web.api.schemas import ErrorOut, ExtensionIn, ExtensionOut, ExtensionsOut
from grader.web.api.spec import spec
from grader.web.auth import current_user
from grader.web.errors import invalid, not_found

ERRORS = {"HTTP_401": ErrorOut, "HTTP_403": ErrorOut, "HTTP_404": ErrorOut}


def extension_out(extension: Extension) -> ExtensionOut:
    return ExtensionOut(
        id=extension.id, assignment_id=extension.assignment_id, user_id=extension.user_id,
        item_id=extension.item_id, due_at=extension.due_at,
        extra_attempts=extension.extra_attempts,
    )


@bp.get("/assignments/<int:assignment_id>/extensions")
@spec.validate(resp=Response(HTTP_200=ExtensionsOut, **ERRORS), tags=["extensions"])
def list_extensions(assignment_id: int) -> ExtensionsOut:
    assignment = instructed_assignment(current_user(), assignment_id)
    found = extensions.of_assignment(get_session(), assignment.id)
    return ExtensionsOut(extensions=[extension_out(e) for e in found])


@bp.put("/assignments/<int:assignment_id>/extensions")
@spec.validate(
    json=ExtensionIn, resp=Response(HTTP_200=ExtensionOut, **ERRORS, HTTP_422=ErrorOut),
    tags=["extensions"],
)
def put_extension(assignment_id: int, json: ExtensionIn) -> ExtensionOut:
    """Give a student (or change) their own due date and extra attempts, for the assignment
    or one item; their submissions are marked late or not by it at once."""
    session = get_session()
    assignment = instructed_assignment(current_user(), assignment_id)
    if course_role(session, json.user_id, assignment.course_id) != "student":
        raise not_found(f"student {json.user_id} in this course")
    try:
        extension = extensions.grant(
            session, assignment, json.user_id, item_id=json.item_id, due_at=json.due_at,
            extra_attempts=json.extra_attempts,
        )
    except ValueError as error:
        raise invalid(str(error)) from None
    session.commit()
    return extension_out(extension)


@bp.delete("/extensions/<int:extension_id>")
@spec.validate(resp=Response("HTTP_204", **ERRORS), tags=["extensions"])
def delete_extension(extension_id: int) -> tuple[str, int]:
    """Take an extension back: the student's dates and limits are the assignment's again."""
    session = get_session()
    extension = load(session, Extension, extension_id, "extension")
    assignment = instructed_assignment(current_user(), extension.assignment_id)
    extensions.revoke(session, assignment, extension)
    session.commit()
    return "", 204
