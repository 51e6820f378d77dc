"""What a validated launch creates or updates: the user, the course and enrolment, the link."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service import accounts
from grader.service.lti import ags
from grader.service.lti.launch import RESOURCE_LINK_REQUEST, LaunchClaims, LaunchRefused
from grader.service.lti.models import LtiContext, LtiIdentity, LtiResourceLink
from grader.service.models import Assignment, Course, Enrolment, User

T = TypeVar("T")
NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]")
#: the custom parameter a deep link sets on the resource link it creates
CUSTOM_ASSIGNMENT = "assignment_id"
CUSTOM_PRACTICE = "practice"


@dataclass(frozen=True)
class Landing:
    """Where a launch leads: the user to log in and what they open."""

    user_id: int
    course_id: int | None
    assignment_id: int | None = None
    first_item_id: int | None = None
    practice: bool = False
    teaches: bool = False
    link_id: int | None = None
    #: the launch gave the link its line item: once committed, the scores stored meanwhile are
    #: queued too (lineitems.queue_the_rest)
    newly_graded: bool = False


def found_or_made(session: so.Session, find: Callable[[], T | None], make: Callable[[], T]) -> T:
    """What ``find`` finds, else what ``make`` creates (and flushes) in a savepoint.

    Launches come together (a class opening a new link at once, a student clicking twice).
    On PostgreSQL two may both find nothing: the second one's insert then fails on the
    unique key once the first commits, and it takes the first one's row instead. (On
    SQLite a launch holds the one writer from its first statement: launches take turns.)
    """
    found = find()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            return make()
    except sa.exc.IntegrityError:
        found = find()
        if found is None:  # not a launch beside this one: a real conflict
            raise
        return found


def _user_name(platform_id: int, sub: str) -> str:
    name = f"lti{platform_id}-{sub}"
    if NAME_UNSAFE.search(sub) or len(name) > 64:
        name = f"lti{platform_id}-{hashlib.sha256(sub.encode()).hexdigest()[:32]}"
    return name


def user_for(session: so.Session, platform_id: int, sub: str, name: str, teaches: bool) -> User:
    """The user of a platform's ``sub``, created on first sight."""
    find_identity = sa.select(LtiIdentity).where(
        LtiIdentity.platform_id == platform_id, LtiIdentity.sub == sub
    )

    def make() -> LtiIdentity:
        login = _user_name(platform_id, sub)
        if session.scalar(sa.select(User.id).where(User.name == login)) is not None:
            login = f"lti{platform_id}-{hashlib.sha256(sub.encode()).hexdigest()[:40]}"
        user = accounts.create_user(
            session, login, "instructor" if teaches else "student", None, full_name=name
        )
        identity = LtiIdentity(platform_id=platform_id, sub=sub, user_id=user.id)
        session.add(identity)
        session.flush()
        return identity

    user = found_or_made(session, lambda: session.scalar(find_identity), make).user
    # the LMS names the accounts it made; an account of this service joined to it (it has
    # a password: see :mod:`linking`) keeps the name its owner gave it, or takes the LMS's
    if name and user.full_name != name and (user.password_hash is None or not user.full_name):
        user.full_name = name
    if teaches and not user.is_instructor:
        user.role = "instructor"
    return user


def enrol(session: so.Session, course_id: int, user_id: int, teaches: bool) -> None:
    """The user in the course with the role the LMS gives them (it is the record of truth)."""
    role = "instructor" if teaches else "student"
    find = sa.select(Enrolment).where(Enrolment.course_id == course_id, Enrolment.user_id == user_id)

    def make() -> Enrolment:
        enrolment = Enrolment(course_id=course_id, user_id=user_id, role=role)
        session.add(enrolment)
        session.flush()
        return enrolment

    enrolment = found_or_made(session, lambda: session.scalar(find), make)
    if enrolment.role != role:
        enrolment.role = role
    session.flush()


def context_for(session: so.Session, claims: LaunchClaims) -> LtiContext:
    """The course of the launch's context; an instructor's first launch creates it."""
    if claims.context_id is None:
        raise LaunchRefused(400, "the launch names no course (context claim): launch from a course")
    find = sa.select(LtiContext).where(
        LtiContext.platform_id == claims.platform_id, LtiContext.context_id == claims.context_id
    )

    def make() -> LtiContext:
        if not claims.teaches:
            raise LaunchRefused(
                409,
                "this LMS course is not connected to a course here yet: "
                "its instructor opens the tool from the LMS first",
            )
        digest = hashlib.sha256(f"{claims.platform_id}:{claims.context_id}".encode()).hexdigest()
        course = Course(
            code=f"LTI-{digest[:12]}",
            title=claims.context_title or claims.context_label or "Course from the LMS",
        )
        session.add(course)
        session.flush()
        context = LtiContext(
            platform_id=claims.platform_id, context_id=claims.context_id, course_id=course.id
        )
        session.add(context)
        session.flush()
        return context

    context = found_or_made(session, lambda: session.scalar(find), make)
    if claims.memberships_url:
        context.memberships_url = claims.memberships_url
    session.flush()
    return context


def _custom_assignment(claims: LaunchClaims) -> int | None:
    value = claims.custom.get(CUSTOM_ASSIGNMENT)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        raise LaunchRefused(
            400, f"the link's custom {CUSTOM_ASSIGNMENT!r} is not a number: {value!r}"
        ) from None


def link_for(session: so.Session, claims: LaunchClaims, course_id: int) -> tuple[LtiResourceLink, bool]:
    """The resource link of the launch, with its assignment and line item brought up to date;
    and whether the launch gave it its line item (the scores earned before are queued)."""
    assert claims.resource_link_id is not None
    find = sa.select(LtiResourceLink).where(
        LtiResourceLink.platform_id == claims.platform_id,
        LtiResourceLink.resource_link_id == claims.resource_link_id,
    )

    def make() -> LtiResourceLink:
        link = LtiResourceLink(
            platform_id=claims.platform_id, resource_link_id=claims.resource_link_id, ags_scopes=[]
        )
        session.add(link)
        session.flush()
        return link

    link = found_or_made(session, lambda: session.scalar(find), make)
    wanted = _custom_assignment(claims)
    if wanted is not None and wanted != link.assignment_id:
        assignment = session.get(Assignment, wanted)
        # a link opens only its own course's assignments: a platform reaches no other course
        if assignment is None or assignment.course_id != course_id:
            raise LaunchRefused(403, "this link names an assignment that is not in this LMS course's course")
        link.assignment_id = assignment.id
    newly_graded = claims.lineitem_url is not None and link.lineitem_url != claims.lineitem_url
    if claims.lineitem_url:
        link.lineitem_url = claims.lineitem_url
        link.ags_scopes = claims.ags_scopes
    session.flush()
    newly_graded = newly_graded and link.assignment_id is not None
    if newly_graded:
        ags.request_all(session, link)  # the scores earned before the LMS gave a line item
    return link, newly_graded


def provision(session: so.Session, claims: LaunchClaims) -> Landing:
    """Create or update what the launch implies; where it leads. The caller commits."""
    user = user_for(session, claims.platform_id, claims.sub, claims.name, claims.teaches)
    context = context_for(session, claims)
    enrol(session, context.course_id, user.id, claims.teaches)
    if claims.message_type != RESOURCE_LINK_REQUEST:
        return Landing(user.id, context.course_id, teaches=claims.teaches)
    if claims.custom.get(CUSTOM_PRACTICE):
        return Landing(user.id, context.course_id, practice=True, teaches=claims.teaches)
    link, newly_graded = link_for(session, claims, context.course_id)
    assignment = session.get(Assignment, link.assignment_id) if link.assignment_id else None
    if assignment is None:
        return Landing(user.id, context.course_id, teaches=claims.teaches, link_id=link.id)
    first = assignment.items[0].id if assignment.items else None
    return Landing(user.id, context.course_id, assignment.id, first, teaches=claims.teaches,
                   link_id=link.id, newly_graded=newly_graded)
