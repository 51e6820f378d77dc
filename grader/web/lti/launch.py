"""What the LMS calls: login initiation, the launch, deep linking, and this tool's key set."""

from __future__ import annotations

import logging

from flask import Response, abort, jsonify, redirect, render_template, request, session, url_for

from grader.service.db import database, get_session
from grader.service.lti import deep_linking, keys, lineitems
from grader.service.lti import launch as lti_launch
from grader.service.lti.deep_linking import DeepLinkRequest
from grader.service.lti.launch import DEEP_LINKING_REQUEST, LaunchRefused
from grader.service.lti.provision import Landing, provision
from grader.service.models import Assignment, User
from grader.web.auth import csrf_exempt, login_user
from grader.web.limits import lti_logins_per_address
from grader.web.lti import bp, writing
from grader.web.pages.base import page_user

log = logging.getLogger(__name__)

DEEP_LINK_KEY = "lti_deep_link"
MAX_FIELD = 20_000  # an id_token is a few kilobytes


@bp.route("/lti/login", methods=["GET", "POST"])
@csrf_exempt
@lti_logins_per_address
def login() -> Response:
    """OIDC third-party login initiation: on to the platform's authorisation endpoint."""
    params = {key: value[:2000] for key, value in request.values.items()}
    with writing() as db_session:
        target = lti_launch.begin_login(db_session, params, url_for("lti.launch", _external=True))
    return redirect(target)  # type: ignore[return-value]


@bp.post("/lti/launch")
@csrf_exempt
def launch() -> Response:
    """The platform's id_token, posted by the user's browser: validated, then the user is in."""
    id_token = request.form.get("id_token", "")[:MAX_FIELD]
    state = request.form.get("state", "")[:MAX_FIELD]
    with writing() as db_session:
        claims = lti_launch.validate(db_session, id_token, state)
        landing = provision(db_session, claims)
        user = db_session.get(User, landing.user_id)
    assert user is not None
    if landing.newly_graded and landing.link_id is not None:
        lineitems.queue_the_rest(database().sessionmaker, landing.link_id)
    if landing.link_id is not None:  # a line item, if the launch may and the link has none
        try:
            lineitems.ensure(database().sessionmaker, landing.link_id, claims)
        except Exception:  # the launch goes on without it: a later launch tries again
            log.exception("giving resource link %s a line item failed", landing.link_id)
    login_user(user)
    if claims.message_type == DEEP_LINKING_REQUEST:
        if not landing.teaches or landing.course_id is None:
            raise LaunchRefused(403, "only the course's instructors may add links to it")
        settings = claims.deep_linking or {}
        data = settings.get("data")
        session[DEEP_LINK_KEY] = DeepLinkRequest(
            platform_id=claims.platform_id,
            deployment_id=claims.deployment_id,
            course_id=landing.course_id,
            return_url=str(settings["deep_link_return_url"]),
            data=data if isinstance(data, str) else None,
        ).as_dict()
        return redirect(url_for("lti.deep_link"))  # type: ignore[return-value]
    return redirect(landing_url(landing))  # type: ignore[return-value]


def landing_url(landing: Landing) -> str:
    if landing.teaches and landing.course_id is not None:
        return url_for("pages.course", course_id=landing.course_id)
    if landing.practice:
        return url_for("pages.practice_page")
    if landing.first_item_id is not None:
        return url_for("pages.exercise", item_id=landing.first_item_id)
    if landing.assignment_id is not None:
        # the dashboard, not the start page: an instructor account's start page is its courses
        return url_for("pages.student_dashboard", _anchor=f"course-{landing.course_id}")
    raise LaunchRefused(404, "this link opens no assignment yet: your instructor sets it up in the LMS")


def _pending_deep_link() -> DeepLinkRequest:
    stored = session.get(DEEP_LINK_KEY)
    if not isinstance(stored, dict):
        abort(400, "There is no deep linking request to answer: start again from the LMS.")
    return DeepLinkRequest(**stored)


@bp.get("/lti/deep-link")
def deep_link() -> str:
    """The instructor picks what the LMS link opens."""
    page_user()
    pending = _pending_deep_link()
    assignments = deep_linking.course_assignments(get_session(), pending.course_id)
    return render_template("lti/deep_link.html", assignments=assignments)


@bp.post("/lti/deep-link")
def deep_link_choose() -> str:
    """The choice, signed and posted back to the LMS by the user's browser."""
    page_user()
    pending = _pending_deep_link()
    choice = request.form.get("choice", "")
    launch_url = url_for("lti.launch", _external=True)
    with writing() as db_session:
        if choice == "practice":
            items = [deep_linking.practice_item(launch_url)]
        else:
            assignment = db_session.get(Assignment, int(choice)) if choice.isdigit() else None
            if assignment is None or assignment.course_id != pending.course_id:
                abort(422, "Choose one of this course's assignments, or practice.")
            items = [deep_linking.assignment_item(assignment, launch_url)]
        token = deep_linking.response_token(db_session, pending, items)
    session.pop(DEEP_LINK_KEY, None)
    return render_template("lti/autopost.html", action=pending.return_url, jwt=token)


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    """This tool's public keys (every unretired one), for platforms to verify what it signs."""
    key_set = keys.public_key_set(get_session())
    if not key_set["keys"]:
        with writing() as db_session:
            keys.signing_key(db_session)
            key_set = keys.public_key_set(db_session)
    response = jsonify(key_set)
    response.cache_control.max_age = 300
    return response
