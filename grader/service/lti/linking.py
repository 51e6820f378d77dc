"""An LMS user's account here joined to the account they already had: their launches open it.

A launch from an LMS makes an account for an LMS user it has not seen (see
:mod:`provision`). Someone who had an account here before (an instructor who built
their course, a student who practised) would then have two. Logged in through the LMS,
they prove the older account is theirs with its password (:func:`link`), and the LMS
identities move to it: from then on their launches log that account in, enrolled in the
LMS's courses with the roles the LMS gives.

Only an account the LMS made, which has no password, and has no answers yet, is joined:
its enrolments move (the LMS's role wins where both were enrolled), and it is left
without an identity or an enrolment, so nothing opens it again. An account with answers
is refused rather than merged: its submissions, instances and LMS scores would have to be
merged into another student's record.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service.lti.models import LtiIdentity
from grader.service.models import Enrolment, Submission, User


class CannotLink(ValueError):
    """Why the two accounts are not joined, in the user's words."""


def identities(session: so.Session, user: User) -> list[LtiIdentity]:
    return list(session.scalars(sa.select(LtiIdentity).where(LtiIdentity.user_id == user.id)))


def may_link(session: so.Session, user: User) -> bool:
    """Whether ``user`` is an account an LMS made and never given a password (the pages
    offer to join it to an older one)."""
    return user.password_hash is None and bool(identities(session, user))


def link(session: so.Session, lms_user: User, target: User) -> None:
    """Move ``lms_user``'s LMS identities and enrolments to ``target`` (whose password the
    caller has checked); the caller commits. Raises :class:`CannotLink`."""
    moving = identities(session, lms_user)
    if not moving or lms_user.password_hash is not None:
        raise CannotLink("this account was not made by an LMS launch: there is nothing to join")
    if target.id == lms_user.id:
        raise CannotLink("that is the account you are logged in with")
    platforms = {identity.platform_id for identity in moving}
    if session.scalar(sa.select(LtiIdentity.id).where(
        LtiIdentity.user_id == target.id, LtiIdentity.platform_id.in_(platforms)
    )) is not None:
        raise CannotLink(f"{target.name} is joined to another user of this LMS already")
    if session.scalar(sa.select(Submission.id).where(Submission.user_id == lms_user.id).limit(1)) is not None:
        raise CannotLink(
            "this LMS account has answers already, which cannot be moved into another account: "
            "ask your instructor"
        )
    enrolments_of = sa.select(Enrolment).where(Enrolment.user_id == sa.bindparam("user_id"))
    theirs = {e.course_id: e for e in session.scalars(enrolments_of, {"user_id": target.id})}
    for enrolment in session.scalars(enrolments_of, {"user_id": lms_user.id}).all():
        kept = theirs.get(enrolment.course_id)
        if kept is None:
            enrolment.user_id = target.id
        else:  # the LMS is the record of truth of the role in its course
            kept.role = enrolment.role
            session.delete(enrolment)
    for identity in moving:
        identity.user_id = target.id
    if lms_user.is_instructor and not target.is_instructor:
        target.role = "instructor"  # as the LMS's next launch would make it
    session.flush()
