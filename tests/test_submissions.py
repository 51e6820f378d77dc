"""Accepting a submission: the counts the rules judge, read in the one query that stores it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from grader.service import jobs, submissions
from grader.service.models import Item, User, utcnow

POLICY = jobs.JobPolicy()


@pytest.fixture
def item_ids(build, people):
    _, ids = build.assignment(
        people["course_id"],
        [{"kind": "softmax", "K": 3, "max_attempts": 2}, {"kind": "softmax", "K": 3}],
    )
    return ids


def accept(build, account, item_id, when, per_minute=100):
    with build.sessionmaker() as session:
        user, item = session.get(User, account.id), session.get(Item, item_id)
        accepted, _ = submissions.accept(
            session, user, item, "[1, 0, 0]", "json",
            per_minute=per_minute, owner=None, policy=POLICY, now=when,
        )
        session.commit()
        return accepted


def standing(build, account, item_id, when, per_minute=100):
    with build.sessionmaker() as session:
        return submissions.target(session, item_id, account.id, per_minute=per_minute, now=when)


def test_the_target_counts_the_window_and_the_attempts(build, people, item_ids):
    limited, unlimited = item_ids
    alice, bob = people["alice"], people["bob"]
    start = utcnow()
    accept(build, alice, limited, start)
    accept(build, alice, unlimited, start + timedelta(seconds=30))
    accept(build, bob, limited, start + timedelta(seconds=30))

    seen = standing(build, alice, limited, start + timedelta(seconds=45))
    assert (seen.recent, seen.attempts, seen.max_attempts) == (2, 1, 2)
    # a minute on, the first submission has left the window; attempts never leave
    seen = standing(build, alice, limited, start + timedelta(seconds=61))
    assert (seen.recent, seen.attempts) == (1, 1)
    # no limit on the item: its attempts are not counted at all
    seen = standing(build, alice, unlimited, start + timedelta(seconds=45))
    assert (seen.recent, seen.attempts) == (2, None)
    assert standing(build, alice, 10_000, start) is None


def test_the_window_is_counted_no_further_than_the_limit(build, people, item_ids):
    start = utcnow()
    for i in range(5):
        accept(build, people["alice"], item_ids[1], start + timedelta(seconds=i))
    seen = standing(build, people["alice"], item_ids[1], start + timedelta(seconds=10), per_minute=3)
    assert seen.recent == 3


def test_the_limit_refuses_until_the_oldest_leaves_the_window(build, people, item_ids):
    alice, item_id = people["alice"], item_ids[1]
    start = utcnow()
    for i in range(3):
        accept(build, alice, item_id, start + timedelta(seconds=10 * i), per_minute=3)
    with pytest.raises(submissions.RateLimited) as refused:
        accept(build, alice, item_id, start + timedelta(seconds=25), per_minute=3)
    assert refused.value.retry_after == 36  # the one at 0 s leaves at 60 s
    # refused answers are not stored, so they do not count against the next minute
    accept(build, alice, item_id, start + timedelta(seconds=60.5), per_minute=3)


def test_attempts_run_out_per_item_and_user(build, people, item_ids):
    limited = item_ids[0]
    start = utcnow()
    accept(build, people["alice"], limited, start)
    accept(build, people["alice"], limited, start)
    with pytest.raises(submissions.NoAttemptsLeft, match="all 2 attempts"):
        accept(build, people["alice"], limited, start)
    accept(build, people["bob"], limited, start)
    with build.sessionmaker() as session:
        assert submissions.attempts_used(session, limited, people["alice"].id) == 2
