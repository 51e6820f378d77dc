"""Accepting a submission: the rules judged in the transaction that stores it, with its job."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from grader.service import submissions
from grader.service.models import GradingJob, Item, Submission, User, Variant, utcnow
from grader.service.queue import GradingQueue


@pytest.fixture
def item_ids(build, people):
    _, ids = build.assignment(
        people["course_id"],
        [{"kind": "softmax", "K": 3, "max_attempts": 2}, {"kind": "softmax", "K": 3}],
    )
    return ids


@pytest.fixture
def queue(build) -> GradingQueue:
    return GradingQueue(build.sessionmaker)


def submit(build, queue, account, item_id, when, per_minute=100) -> int:
    with build.sessionmaker() as session:
        user, item = session.get(User, account.id), session.get(Item, item_id)
        submission = submissions.submit(
            session, user, item, "[1, 0, 0]", "json", queue=queue, per_minute=per_minute, now=when
        )
        return submission.id


def count(build, model) -> int:
    with build.sessionmaker() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_submission_is_stored_with_its_job_and_first_variant(build, people, item_ids, queue):
    submission_id = submit(build, queue, people["alice"], item_ids[0], utcnow())
    with build.sessionmaker() as session:
        submission = session.get(Submission, submission_id)
        job, variant = submission.job, session.scalars(sa.select(Variant)).one()
        assert submission.instance == variant.instance and variant.user_id == people["alice"].id
        assert (job.state, job.attempts, job.lease_owner) == ("running", 1, queue.name)
        assert job.lease_expires_at > utcnow()


def test_the_window_counts_the_last_minute_only(build, people, item_ids, queue):
    alice, unlimited = people["alice"], item_ids[1]
    start = utcnow()
    submit(build, queue, alice, unlimited, start, per_minute=2)
    submit(build, queue, alice, unlimited, start + timedelta(seconds=30), per_minute=2)
    with pytest.raises(submissions.RateLimited):
        submit(build, queue, alice, unlimited, start + timedelta(seconds=45), per_minute=2)
    # a minute on, the first submission has left the window
    submit(build, queue, alice, unlimited, start + timedelta(seconds=61), per_minute=2)
    # another student's submissions are theirs
    submit(build, queue, people["bob"], unlimited, start + timedelta(seconds=61), per_minute=2)


def test_the_limit_refuses_until_the_oldest_leaves_the_window(build, people, item_ids, queue):
    alice, item_id = people["alice"], item_ids[1]
    start = utcnow()
    for i in range(3):
        submit(build, queue, alice, item_id, start + timedelta(seconds=10 * i), per_minute=3)
    with pytest.raises(submissions.RateLimited) as refused:
        submit(build, queue, alice, item_id, start + timedelta(seconds=25), per_minute=3)
    assert refused.value.retry_after == 36  # the one at 0 s leaves at 60 s
    # refused answers are not stored, so they do not count against the next minute
    assert (count(build, Submission), count(build, GradingJob)) == (3, 3)
    submit(build, queue, alice, item_id, start + timedelta(seconds=60.5), per_minute=3)


def test_attempts_run_out_per_item_and_user(build, people, item_ids, queue):
    limited = item_ids[0]
    start = utcnow()
    submit(build, queue, people["alice"], limited, start)
    submit(build, queue, people["alice"], limited, start)
    with pytest.raises(submissions.NoAttemptsLeft, match="all 2 attempts"):
        submit(build, queue, people["alice"], limited, start)
    submit(build, queue, people["bob"], limited, start)
    with build.sessionmaker() as session:
        assert submissions.attempts_used(session, limited, people["alice"].id) == 2
    assert count(build, Submission) == 3


def test_a_late_answer_is_marked_late(build, people, queue):
    due = utcnow() - timedelta(hours=1)
    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3}],
                                     title="Past", due_at=due)
    submission_id = submit(build, queue, people["alice"], item_id, utcnow())
    assert build.get(Submission, submission_id).late is True
