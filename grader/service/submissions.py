"""Submissions: the rules that accept one (attempts, rate, lateness), storing it with its
grading job, and what a viewer may see of its grading."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
import sqlalchemy.orm as so

from grader.judge.verdict import FORM_OF_FORMAT, Verdict
from grader.service import derivations, extensions, variants
from grader.service.extensions import IS_ATTEMPT
from grader.service.jobs import VERDICT_COLUMNS
from grader.service.models import Assignment, Item, Submission, User, Variant, utcnow
from grader.service.queue import GradingQueue

if TYPE_CHECKING:
    from grader.service.remote.web import RemoteQueue

RATE_WINDOW = timedelta(minutes=1)

# Built once, with bound parameters: SQLAlchemy caches their compilation.
ATTEMPTS = sa.select(sa.func.count(Submission.id)).where(
    Submission.item_id == sa.bindparam("item_id"),
    Submission.user_id == sa.bindparam("user_id"),
    IS_ATTEMPT,
)
LOCK_USER = sa.select(User.id).where(User.id == sa.bindparam("user_id")).with_for_update()
# counted no further than the rule needs: a count's cost grows with the rows it reads
_recent = (
    sa.select(Submission.id)
    .where(
        Submission.user_id == sa.bindparam("user_id"),
        Submission.submitted_at > sa.bindparam("since"),
    )
    .limit(sa.bindparam("per_minute"))
    .subquery()
)
_own_variant = (Variant.item_id == sa.bindparam("item_id"), Variant.user_id == sa.bindparam("user_id"))
# what the rules judge, in one query: recent submissions, attempts, the stored instance and its
# draw (read together, so that the instance stored is the draw that was checked)
RECORD = sa.select(
    sa.select(sa.func.count()).select_from(_recent).scalar_subquery(),
    ATTEMPTS.scalar_subquery(),
    sa.select(Variant.instance).where(*_own_variant).scalar_subquery(),
    sa.select(Variant.draw_number).where(*_own_variant).scalar_subquery(),
)


class Refused(Exception):
    """A submission the rules do not accept; ``code`` names the rule."""

    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RateLimited(Refused):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoAttemptsLeft(Refused):
    code = "no_attempts_left"


class FormNotAccepted(Refused):
    code = "form_not_accepted"


class StaleDraw(Refused):
    """An answer to numbers the student no longer has: the item was re-drawn since its page
    (or the caller) showed draw ``sent``, or, ``sent`` being ``current``, the numbers of that
    draw changed (see :func:`grader.service.variants.digest`); ``current`` is the draw they have now."""

    code = "stale_version"  # as the practice re-draws name a version that is gone

    def __init__(self, sent: int, current: int) -> None:
        if sent == current:
            which = f"other numbers than those of draw {current} now (the item was changed since)"
        else:
            which = f"draw {sent}, and draw {current} is the current one"
        super().__init__(
            f"the question's numbers changed: this answer is to {which}. Nothing was stored and no "
            "attempt was used; get the item again for its new numbers"
        )
        self.sent = sent
        self.current = current


def attempts_used(session: so.Session, item_id: int, user_id: int) -> int:
    return session.scalar(ATTEMPTS, {"item_id": item_id, "user_id": user_id}) or 0


def lock_user(session: so.Session, user_id: int) -> None:
    """Hold the user's row until the transaction ends, so that no other submission or re-draw
    of theirs comes between what it reads and what it writes (SQLite's BEGIN IMMEDIATE holds
    the write lock already)."""
    if session.get_bind().dialect.name != "sqlite":
        session.execute(LOCK_USER, {"user_id": user_id})


def is_attempt(submission: Submission) -> bool:
    """Whether ``submission`` uses an attempt (the rule of :data:`~grader.service.extensions.IS_ATTEMPT`,
    in Python)."""
    return submission.graded_at is None or submission.score is not None


def submit(
    session: so.Session,
    user: User,
    item: Item,
    answer: str,
    fmt: str,
    *,
    queue: GradingQueue | RemoteQueue,
    per_minute: int,
    now: datetime | None = None,
    draw_number: int | None = None,
    instance_digest: str | None = None,
) -> Submission:
    """Store the answer to ``item`` with its grading job (leased to ``queue``), and commit.

    The caller has checked that ``user`` may answer ``item``. Raises :class:`Refused`
    (nothing stored, the transaction rolled back) when a rule says no, and
    ``InstanceError`` when the item's instance cannot be drawn. The rules read their
    counts in the transaction that stores the answer, so no other submission of the
    user's comes between: SQLite's BEGIN IMMEDIATE holds the write lock already,
    elsewhere the user's row is locked first.

    ``draw_number``: the draw of the instance the answer was given to, as its page or the
    caller was shown it; when the item has been re-drawn since, :class:`StaleDraw`. It is
    checked in that same transaction, and re-draws lock the user's row too, so none comes
    between the check and the store. ``instance_digest``: the digest of the instance it was
    shown (:func:`grader.service.variants.digest`); another one is :class:`StaleDraw` too.
    """
    now = now or utcnow()
    try:
        form = FORM_OF_FORMAT.get(fmt)
        if form not in item.answer_forms:
            accepted = " or ".join(item.answer_forms)
            raise FormNotAccepted(
                f"this item does not accept an answer as a {form or fmt}: it accepts {accepted}"
            )
        lock_user(session, user.id)
        params = {"item_id": item.id, "user_id": user.id, "since": now - RATE_WINDOW,
                  "per_minute": per_minute}
        recent, attempts, instance, stored_draw = session.execute(RECORD, params).one()
        current_draw = stored_draw or 0  # none stored yet: the first draw is the one shown
        if draw_number is not None and draw_number != current_draw:
            raise StaleDraw(draw_number, current_draw)
        first: Variant | None = None  # the student's first instance, when none is stored yet
        if instance_digest is not None:
            if instance is None:  # the numbers the page showed are needed to check them
                first = variants.first_draw(item, user.id)
                instance = first.instance
            if instance_digest != variants.digest(instance):
                raise StaleDraw(current_draw, current_draw)
        if recent >= per_minute:
            check_rate(session, user.id, per_minute, now)
        allowed = extensions.allowance(session, item, user.id)  # the student's own date and limit
        if allowed.attempts_left(attempts) == 0:
            raise NoAttemptsLeft(all_used(allowed))
        if instance is None:  # drawn only now: a refused answer costs no draw
            first = variants.first_draw(item, user.id)
            instance = first.instance
        if first is not None:
            session.add(first)
        submission = Submission(
            item=item,  # what is shown of it follows its assignment, already loaded
            user_id=user.id,
            instance=instance,
            answer=answer,
            format=fmt,
            submitted_at=now,
            late=allowed.late(now),
            earlier=derivations.earlier_record(session, item, user.id) if item.derivation_id else None,
            # empty until graded, said so: showing it then reads nothing more
            **dict.fromkeys(VERDICT_COLUMNS),
        )
        submission.job = queue.new_job(now)
        session.add(submission)
        queue.enqueue(session, submission)  # a task queue's task goes in the same transaction
        session.commit()  # one flush: the submission, its job, and a first variant if drawn
    except BaseException:
        session.rollback()
        raise
    return submission


def all_used(allowed: extensions.Allowance) -> str:
    """The refusal of an answer with no attempt left: the student's own limit, and what it is
    made of where it is more than the item's (one question's limit would read as a miscount)."""
    more = [f"{allowed.extra_attempts} from an extension"] if allowed.extra_attempts else []
    if allowed.given_back:
        more.append(f"{allowed.given_back} given back by a re-draw")
    limit = allowed.max_attempts
    if not more or limit is None:
        return f"all {limit} attempts at this item are used"
    parts = [f"the item's {limit - allowed.extra_attempts - allowed.given_back}", *more]
    return f"all {limit} attempts at this item are used ({', '.join(parts[:-1])} and {parts[-1]})"


def check_rate(session: so.Session, user_id: int, per_minute: int, now: datetime) -> None:
    """Raise :class:`RateLimited` when the user has used up the last minute's submissions."""
    window_start = now - RATE_WINDOW
    # the oldest submission that keeps the user at the limit leaves the window first
    blocking = session.scalar(
        sa.select(Submission.submitted_at)
        .where(Submission.user_id == user_id, Submission.submitted_at > window_start)
        .order_by(Submission.submitted_at.desc())
        .offset(per_minute - 1)
        .limit(1)
    )
    if blocking is None:
        return
    wait = blocking + RATE_WINDOW - now
    retry_after = max(1, int(wait.total_seconds()) + 1)
    raise RateLimited(
        f"at most {per_minute} submissions a minute: try again in {retry_after} s", retry_after
    )


# ---- what a viewer sees --------------------------------------------------------------


def status(submission: Submission, *, grades_elsewhere: bool = False) -> str:
    """``graded``; ``failed`` for good (until an instructor grades it again); else its verdict
    is to come: ``grading`` where workers grade (``grades_elsewhere``: the queue holds it, or a
    worker), ``pending`` where the process that stored it grades (a sweep takes what it left).

    One word for every reader of one deployment: the answer to the POST that stored it, and
    every GET until the verdict is there.
    """
    if submission.verdict is not None:
        return "graded"
    job = submission.job
    if job is not None and job.state == "failed":
        return "failed"
    return "grading" if grades_elsewhere else "pending"


def feedback_hidden(
    assignment: Assignment | None,
    *,
    teaches: bool,
    now: datetime | None = None,
    due_at: datetime | None = None,
) -> bool:
    """Whether feedback waits for the due date (the score does not), for a viewer who does
    not teach the course (``teaches``: their role in that course, not their account's).
    ``due_at``: the student's own date where an extension moved it."""
    if assignment is None or assignment.feedback_before_due or teaches:
        return False
    due = due_at if due_at is not None else assignment.due_at
    return due is not None and (now or utcnow()) < due


def own_due_at(submission: Submission) -> datetime | None:
    """The due date of the submission's author, extended or not (None without a session)."""
    session = so.object_session(submission)
    if session is None or submission.item.assignment is None:
        return None
    return extensions.allowance(session, submission.item, submission.user_id).due_at


@dataclass(frozen=True)
class Seen:
    """A submission's grading as one viewer may see it."""

    status: str
    verdict: Verdict | None  # without what the viewer may not see
    feedback_hidden: bool


def as_seen(
    submission: Submission, *, teaches: bool, grades_elsewhere: bool = False, now: datetime | None = None
) -> Seen:
    """The status and the verdict of ``submission`` as a viewer may see them.

    ``teaches``: the viewer is an instructor of the submission's course (for practice,
    which has no course, an instructor account that takes none); ``grades_elsewhere``: workers grade (see
    :func:`status`). Before the due date of an assignment
    that says so, anyone else sees whether the answer is right and its score only;
    and never the expected values of an instance they were given (see
    :meth:`Verdict.without_answers`).
    """
    assignment = submission.item.assignment
    waits = assignment is not None and not assignment.feedback_before_due and not teaches
    hidden = feedback_hidden(assignment, teaches=teaches, now=now,
                             due_at=own_due_at(submission) if waits else None)
    verdict = Verdict.model_validate(submission.verdict) if submission.verdict is not None else None
    if verdict is not None and hidden:
        verdict = Verdict(correct=verdict.correct, score=verdict.score, kind=verdict.kind)
    elif verdict is not None and not teaches:
        verdict = verdict.without_answers()
    return Seen(status(submission, grades_elsewhere=grades_elsewhere), verdict, hidden)
