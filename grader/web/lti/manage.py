"""The instructors' LTI page: the URLs to give an LMS, registered platforms, connected
courses (with roster sync), and the scores waiting for, sent to or refused by the LMS."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from pydantic import ValidationError

from grader.service.db import database, get_session
from grader.service.lti import ags, join_requests, nrps, platforms
from grader.service.lti.models import LtiContext, LtiGradeSync, LtiPlatform
from grader.service.models import Course, Enrolment
from grader.web.api.spec import describe_validation_error
from grader.web.lti import bp, writing
from grader.web.pages.base import page_instructor


def tool_urls() -> dict[str, str]:
    """What an LMS administrator pastes into the LMS."""
    return {
        "login": url_for("lti.login", _external=True),
        "launch": url_for("lti.launch", _external=True),
        "deep_linking": url_for("lti.launch", _external=True),
        "jwks": url_for("lti.jwks", _external=True),
    }


def instructed_course_ids(user_id: int) -> list[int]:
    return list(
        get_session().scalars(
            sa.select(Enrolment.course_id).where(
                Enrolment.user_id == user_id, Enrolment.role == "instructor"
            )
        )
    )


@bp.get("/lti")
def overview() -> str:
    user = page_instructor()
    db_session = get_session()
    course_ids = instructed_course_ids(user.id)
    courses = db_session.scalars(
        sa.select(Course).where(Course.id.in_(course_ids)).order_by(Course.code)
    ).all()
    contexts = db_session.scalars(
        sa.select(LtiContext).where(LtiContext.course_id.in_(course_ids)).order_by(LtiContext.id)
    ).all()
    syncs = ags.syncs_of_courses(db_session, course_ids)
    return render_template(
        "lti/overview.html",
        urls=tool_urls(),
        platforms=platforms.every_platform(db_session),
        courses=courses,
        contexts=contexts,
        syncs=syncs,
        join_requests=len(join_requests.pending_for(db_session, user)),
    )


@bp.post("/lti/platforms")
def add_platform() -> Response | tuple[str, int]:
    user = page_instructor()
    form = request.form
    try:
        registration = platforms.PlatformIn(
            name=form.get("name", ""),
            issuer=form.get("issuer", "").strip(),
            client_id=form.get("client_id", "").strip(),
            deployment_ids=form.get("deployment_ids", "").replace(",", "\n").splitlines(),
            auth_login_url=form.get("auth_login_url", "").strip(),
            auth_token_url=form.get("auth_token_url", "").strip(),
            key_set_url=form.get("key_set_url", "").strip(),
            token_audience=form.get("token_audience", "").strip() or None,
        )
    except ValidationError as error:
        abort(422, f"The platform could not be registered: {describe_validation_error(error)}")
    try:
        with writing() as db_session:
            platforms.register(db_session, registration, user)
    except platforms.PlatformTaken as error:
        abort(409, str(error))
    flash(f"Registered {registration.name or registration.issuer}.", "success")
    return redirect(url_for("lti.overview"))  # type: ignore[return-value]


@bp.post("/lti/contexts")
def connect_course() -> Response:
    """Connect an LMS course (its context id) to one of the instructor's courses."""
    user = page_instructor()
    context_id = request.form.get("context_id", "").strip()[:255]
    platform_id = request.form.get("platform_id", "")
    course_id = request.form.get("course_id", "")
    if not context_id or not platform_id.isdigit() or not course_id.isdigit():
        abort(422, "Choose a platform and one of your courses, and give the LMS course's id.")
    with writing() as db_session:
        platform = db_session.get(LtiPlatform, int(platform_id))
        course = db_session.get(Course, int(course_id))
        if platform is None or course is None or not platforms.instructs(db_session, user.id, course.id):
            abort(404, "That platform or course does not exist, or is not yours.")
        try:
            platforms.link_context(db_session, platform, context_id, course)
        except ValueError as error:
            abort(409, str(error))
    flash(f"The LMS course {context_id} now opens {course.code}.", "success")
    return redirect(url_for("lti.overview"))  # type: ignore[return-value]


@bp.post("/lti/contexts/<int:context_id>/roster")
def sync_roster(context_id: int) -> Response:
    user = page_instructor()
    context = get_session().get(LtiContext, context_id)
    if context is None or context.course_id not in instructed_course_ids(user.id):
        abort(404, "That LMS course is not connected to one of your courses.")
    try:
        result = nrps.sync_roster(database().sessionmaker, context_id)
    except nrps.RosterUnavailable as error:
        abort(409, str(error))
    flash(f"Roster synced: {result.students} students and {result.instructors} instructors.", "success")
    return redirect(url_for("lti.overview"))  # type: ignore[return-value]


@bp.post("/lti/grade-syncs/<int:sync_id>/retry")
def retry_sync(sync_id: int) -> Response:
    user = page_instructor()
    course_ids = instructed_course_ids(user.id)
    with writing() as db_session:
        sync = db_session.get(LtiGradeSync, sync_id)
        if sync is None or sync.link.assignment is None or sync.link.assignment.course_id not in course_ids:
            abort(404, "That score does not exist, or is not yours to send.")
        ags.send_again(db_session, sync)
    flash("The score will be sent again.", "success")
    return redirect(url_for("lti.overview"))  # type: ignore[return-value]
