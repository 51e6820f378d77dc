"""Accepting a submission: the rules judged in the transaction that stores it, with its job."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.service import db, extensions, practice, redraws, submissions, variants
from grader.service.models import GradingJob, Item, PracticeSet, Submission, User, Variant, utcnow
from grader.service.queue import GradingQueue, grading_queue
from grader.web import create_app
from tests.conftest import Builder


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


def submit(
    build, queue, account, item_id, when, per_minute=100, draw_number=None, instance_digest=None
) -> int:
    with build.sessionmaker() as session:
        user, item = session.get(User, account.id), session.get(Item, item_id)
        submission = submissions.submit(
            session, user, item, "[1, 0, 0]", "json", queue=queue, per_minute=per_minute, now=when,
            draw_number=draw_number, instance_digest=instance_digest,
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



@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The items whose instance was drawn, in order."""
    drawn: list[int] = []
    draw = variants.draw

    def counted(item: Item, seed: int):
        drawn.append(item.id)
        return draw(item, seed)

    monkeypatch.setattr(variants, "draw", counted)
    return drawn


def test_a_refused_answer_draws_no_instance(build, people, item_ids, queue, draws):
    """A refusal costs the server no draw: the student's first instance is drawn only for an
    answer the rules accept, however many are refused."""
    alice, limited, unlimited = people["alice"], item_ids[0], item_ids[1]
    start = utcnow()
    submit(build, queue, alice, limited, start, per_minute=2)
    submit(build, queue, alice, limited, start, per_minute=2)
    assert draws == [limited]
    for _ in range(3):  # a first answer to the other item, over the rate
        with pytest.raises(submissions.RateLimited):
            submit(build, queue, alice, unlimited, start, per_minute=2)
    with build.sessionmaker.begin() as session:  # no instance stored, whatever the reason
        session.execute(sa.delete(Variant))
    with pytest.raises(submissions.NoAttemptsLeft):
        submit(build, queue, alice, limited, start + timedelta(minutes=2), per_minute=2)
    assert draws == [limited]
    submit(build, queue, alice, unlimited, start + timedelta(minutes=2), per_minute=2)
    assert draws == [limited, unlimited]


def test_a_late_answer_is_marked_late(build, people, queue):
    due = utcnow() - timedelta(hours=1)
    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3}],
                                     title="Past", due_at=due)
    submission_id = submit(build, queue, people["alice"], item_id, utcnow())
    assert build.get(Submission, submission_id).late is True


# ---- answers to numbers drawn again since ----------------------------------------------


def redraw(build, item_id: int, user_id: int, times: int = 1) -> None:
    with build.sessionmaker.begin() as session:
        for _ in range(times):
            redraws.redraw(session, session.get(Item, item_id), user_id)


def test_an_answer_to_a_draw_since_redrawn_is_refused_and_stores_nothing(build, people, item_ids, queue):
    alice, item_id = people["alice"], item_ids[0]
    with pytest.raises(submissions.StaleDraw):  # nothing drawn again yet: draw 0 is current
        submit(build, queue, alice, item_id, utcnow(), draw_number=1)
    submit(build, queue, alice, item_id, utcnow(), draw_number=0)
    redraw(build, item_id, alice.id)
    with pytest.raises(submissions.StaleDraw) as refused:
        submit(build, queue, alice, item_id, utcnow(), draw_number=0)
    assert (refused.value.code, refused.value.sent, refused.value.current) == ("stale_version", 0, 1)
    assert "numbers changed" in refused.value.message and "no attempt was used" in refused.value.message
    assert count(build, Submission) == count(build, GradingJob) == 1
    with build.sessionmaker() as session:
        assert submissions.attempts_used(session, item_id, alice.id) == 1
    stored = submit(build, queue, alice, item_id, utcnow(), draw_number=1)
    unchecked = submit(build, queue, alice, item_id, utcnow())  # no draw sent: as before
    with build.sessionmaker() as session:
        current = variants.find(session, session.get(Item, item_id), alice.id).instance
        answered = [session.get(Submission, id).instance for id in (stored, unchecked)]
        assert answered == [current, current]


def test_the_draw_is_checked_before_the_attempts_are_counted(build, people, item_ids, queue):
    """A student out of attempts on numbers since re-drawn (attempts kept) hears of the new numbers."""
    alice, limited = people["alice"], item_ids[0]  # two attempts
    for _ in range(2):
        submit(build, queue, alice, limited, utcnow(), draw_number=0)
    with build.sessionmaker.begin() as session:
        redraws.redraw(session, session.get(Item, limited), alice.id, give_back=False)
    with pytest.raises(submissions.StaleDraw):
        submit(build, queue, alice, limited, utcnow(), draw_number=0)
    with pytest.raises(submissions.NoAttemptsLeft):
        submit(build, queue, alice, limited, utcnow(), draw_number=1)


def shown(build, item_id: int, user_id: int) -> variants.Drawn:
    with build.sessionmaker() as session:
        return variants.drawn_for(session, session.get(Item, item_id), user_id)


@pytest.mark.parametrize("stored_first", [False, True])
def test_an_answer_to_a_first_draw_whose_item_changed_since_is_refused(
    build, people, item_ids, queue, stored_first
):
    """Draw 0, not yet stored, follows the item's sizes: changed while the student had it open,
    the answer to the old numbers is refused by their digest, though its draw number is still 0.
    Once stored (another student's answer does not store it), a change no longer moves it."""
    alice, bob, item_id = people["alice"], people["bob"], item_ids[1]
    if stored_first:
        submit(build, queue, alice, item_id, utcnow())
    before = shown(build, item_id, alice.id)
    submit(build, queue, bob, item_id, utcnow())  # someone else answered: not alice's first draw
    with build.sessionmaker.begin() as session:
        session.get(Item, item_id).K = 4
    after = shown(build, item_id, alice.id)
    assert after.draw_number == before.draw_number == 0
    if stored_first:
        assert after == before
        submit(build, queue, alice, item_id, utcnow(), draw_number=0, instance_digest=before.digest)
        return
    assert after.instance != before.instance and after.digest != before.digest
    held = count(build, Submission)
    with pytest.raises(submissions.StaleDraw) as refused:
        submit(build, queue, alice, item_id, utcnow(), draw_number=0, instance_digest=before.digest)
    assert refused.value.code == "stale_version" and "no attempt was used" in refused.value.message
    assert count(build, Submission) == held and shown(build, item_id, alice.id) == after
    stored = submit(build, queue, alice, item_id, utcnow(), draw_number=0, instance_digest=after.digest)
    assert build.get(Submission, stored).instance == after.instance


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(redrawn=st.integers(0, 3), sent=st.none() | st.integers(0, 4))
def test_an_answer_is_stored_exactly_when_its_draw_is_current(build, people, queue, redrawn, sent):
    """Whatever the re-draws and the draw sent: stored, on the current instance, when the draw sent
    is the current one or none is sent; otherwise refused, nothing stored and no attempt used."""
    alice = people["alice"]
    _, (item_id,) = build.assignment(
        people["course_id"], [{"kind": "softmax", "K": 3}], title=uuid.uuid4().hex
    )
    redraw(build, item_id, alice.id, redrawn)
    before = count(build, Submission)
    if sent is None or sent == redrawn:
        stored = submit(build, queue, alice, item_id, utcnow(), draw_number=sent)
        with build.sessionmaker() as session:
            variant = variants.drawn_for(session, session.get(Item, item_id), alice.id)
            assert variant.draw_number == redrawn
            assert session.get(Submission, stored).instance == variant.instance
        assert count(build, Submission) == before + 1
    else:
        with pytest.raises(submissions.StaleDraw):
            submit(build, queue, alice, item_id, utcnow(), draw_number=sent)
        assert count(build, Submission) == before


def test_another_practice_version_waits_for_a_submission_that_checked_its_draw(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL, where no write lock is taken at BEGIN: the student asks for another version
    (another tab) while an answer to the current one is between its check and its store. The new
    version waits for that answer to be stored, so the answer is to the version that was current."""
    app = create_app({"TESTING": True, "DATABASE_URL": postgres_url, "SECRET_KEY": "x",
                      "INSTANCE_PATH": str(tmp_path)})
    build = Builder(app)
    eve = build.user("eve")
    with build.sessionmaker.begin() as session:
        item_id = practice.create_set(session, eve.id, ["softmax"], 1, seed=3, derivation_count=0).items[0].id

    def another_version() -> None:
        with build.sessionmaker.begin() as session:
            practice.another_version(session, session.get(Item, item_id))

    asker = threading.Thread(target=another_version)
    blocked: list[bool] = []
    allowance = extensions.allowance

    def asked_between_check_and_store(*args, **kwargs):  # read after the draw is checked
        if not blocked:
            asker.start()
            asker.join(timeout=1.5)
            blocked.append(asker.is_alive())
        return allowance(*args, **kwargs)

    monkeypatch.setattr(extensions, "allowance", asked_between_check_and_store)
    try:
        stored = submit(build, GradingQueue(build.sessionmaker), eve, item_id, utcnow(), draw_number=0)
        asker.join(timeout=30)
        assert blocked == [True] and not asker.is_alive()
        with build.sessionmaker() as session:
            item = session.get(Item, item_id)
            first = variants.draw(item, variants.seed_for(item, eve.id, 0))
            assert session.get(Submission, stored).instance == first
            assert variants.drawn_for(session, item, eve.id).draw_number == 1
            assert session.get(PracticeSet, item.practice_set_id).user_id == eve.id
    finally:
        grading_queue(app).stop()
        db.database(app).dispose()
