"""An LMS user's account here joined to the account they already had: their launches open it.

A launch from an LMS makes an account for an LMS user it has not seen (see
:mod:`provision`). Someone who had an account here before (an instructor who built
their course, a student who practised) would then have two. Logged in through the LMS,
they prove the older account is theirs with its password (:func:`link`), and the LMS
identities move to it: from then on their launches log that account in, enrolled in the
LMS's courses with the roles the LMS gives.

Only an account the LMS made, which has no password, is joined. Everything it holds moves
with it, answers and instances included, and it is left empty and closed: see
:mod:`merging` for what moves, and for the one refusal, an item both accounts answered,
which an instructor decides (:mod:`join_requests`).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.service.lti import merging
from grader.service.lti.models import AccountMerge, LtiIdentity
from grader.service.models import User


class CannotLink(ValueError):
    """Why the two accounts are not joined, in the user's words."""


class BothAnswered(CannotLink):
    """Both accounts answered the same assignment items (``conflicts``): an instructor chooses."""

    def __init__(self, refused: merging.ItemsBothAnswered) -> None:
        super().__init__(str(refused))
        self.conflicts = refused.conflicts


def identities(session: so.Session, user: User) -> list[LtiIdentity]:
    return list(session.scalars(sa.select(LtiIdentity).where(LtiIdentity.user_id == user.id)))


def may_link(session: so.Session, user: User) -> bool:
    """Whether ``user`` is an account an LMS made and never given a password (the pages
    offer to join it to an older one)."""
    return user.password_hash is None and bool(identities(session, user))


def link(
    session: so.Session, lms_user: User, target: User, confirmed: str | None = None,
    decision: merging.Decision | None = None,
) -> AccountMerge:
    """Merge ``lms_user`` and all it holds into ``target`` (whose password the caller has
    checked), items both answered as an instructor's ``decision`` says; the caller commits, or
    rolls back on any error. Raises :class:`CannotLink` (:class:`BothAnswered` for items both
    answered and not decided), and :class:`merging.HoldingsChanged` when what it holds is no
    longer the ``confirmed`` fingerprint (or the decision's), before anything is written."""
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
    try:
        return merging.merge(session, lms_user, target, confirmed, decision)
    except merging.ItemsBothAnswered as refused:
        raise BothAnswered(refused) from refused
