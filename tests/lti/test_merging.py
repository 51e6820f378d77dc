"""Merging an account the LMS made into the older account of its user: every row it holds
moves, an item both answered stops the merge, and a failure midway leaves both as they were."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.service import accounts, db, derivations, extensions, gradebook, variants
from grader.service.instructor_models import Extension, Redraw
from grader.service.lti import ags, linking, merging, provision
from grader.service.lti.models import (
    AccountMerge,
    JoinRequest,
    LtiGradeSync,
    LtiIdentity,
    LtiPlatform,
    LtiResourceLink,
)
from grader.service.lti.services import SCORE_SCOPE
from grader.service.models import Assignment, Base, Item, PracticeSet, Submission, User, Variant, utcnow

PASSWORD = "alices-password"
subs = itertools.count(1)


def made_by_lms(session, platform_id: int, course_id: int | None = None) -> User:
    """An account a launch made (its LMS identity, no password), enrolled as a student."""
    sub = f"student-{next(subs)}"
    user = provision.user_for(session, platform_id, sub, f"User {sub}", False)
    if course_id is not None:
        provision.enrol(session, course_id, user.id, False)
    return user


def answer(session, item: Item, user_id: int, score: float = 1.0, when=None) -> Submission:
    """A graded answer to the student's current instance (stored now if it was not yet)."""
    instance = variants.ensure(session, item, user_id).instance
    submission = Submission(
        item_id=item.id, user_id=user_id, instance=instance, answer="[]", format="json",
        submitted_at=when or utcnow(), verdict={"correct": score == 1.0, "score": score, "feedback": []},
        score=score, correct=score == 1.0, codes=[], graded_at=utcnow(),
    )
    session.add(submission)
    session.flush()
    return submission


def instances_of(session, user_id: int) -> dict[int, dict[str, Any]]:
    owned = session.scalars(sa.select(Variant).where(Variant.user_id == user_id))
    return {variant.item_id: variant.instance for variant in owned}


def references(session, user_id: int) -> dict[str, int]:
    """How many rows of each user reference point at ``user_id``."""
    counted = {}
    for reference in merging.user_references():
        table_name, column = reference.split(".")
        table = Base.metadata.tables[table_name]
        counted[reference] = session.scalar(
            sa.select(sa.func.count()).select_from(table).where(table.c[column] == user_id)
        )
    return counted


def snapshot(app) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table."""
    with db.database(app).sessionmaker() as session:
        return {
            table.name: sorted(map(tuple, session.execute(sa.select(table)).all()), key=repr)
            for table in Base.metadata.sorted_tables
        }


def merge(app, lms_id: int, target_id: int) -> AccountMerge:
    with db.database(app).sessionmaker.begin() as session:
        record = linking.link(session, session.get(User, lms_id), session.get(User, target_id))
        session.flush()
        session.expunge(record)
        return record


def items_of(session, course) -> list[Item]:
    return [session.get(Item, item_id) for item_id in course.item_ids]


def test_every_column_that_refers_to_a_user_has_a_rule():
    """A table added with a user reference fails here until the merge says what becomes of it."""
    assert merging.user_references() == set(merging.USER_REFERENCES)


def test_every_row_of_the_lms_account_moves_and_nothing_is_left_on_it(app, build, course, platform_id, lms):
    alice = build.user("alice", password=PASSWORD)
    sessionmaker = db.database(app).sessionmaker
    with sessionmaker.begin() as session:
        user = made_by_lms(session, platform_id, course.id)
        lms_id = user.id
        item = items_of(session, course)[0]
        answer(session, item, lms_id, 0.0)
        answer(session, item, lms_id, 1.0)
        practice = PracticeSet(user_id=lms_id, seed=7)
        practice.items = [Item(position=0, kind="softmax", K=3)]
        session.add(practice)
        session.flush()
        session.add(variants.first_practice_draw(practice.items[0], lms_id))
        answer(session, practice.items[0], lms_id)
        session.add(Extension(assignment_id=course.assignment_id, user_id=lms_id, extra_attempts=1))
        session.add(Redraw(item_id=item.id, user_id=lms_id, draw_number=0, attempts_used=0,
                           attempts_given_back=0, gave_back=True, by_id=lms_id))
        link = LtiResourceLink(platform_id=platform_id, resource_link_id="rl-1",
                               assignment_id=course.assignment_id, lineitem_url=lms.lineitem(),
                               ags_scopes=[SCORE_SCOPE])
        session.add(link)
        session.flush()
        session.add(LtiGradeSync(link_id=link.id, user_id=lms_id, state="done"))
        accounts.issue_token(session, user)
        session.get(LtiPlatform, platform_id).registered_by = lms_id
        earlier = accounts.create_user(session, "earlier", "student")
        session.add(AccountMerge(from_user_id=earlier.id, from_name="earlier", into_user_id=lms_id,
                                 course_ids=[], moved={}))
        session.add(JoinRequest(lms_user_id=earlier.id, target_user_id=lms_id, resolved_by=lms_id,
                                conflicts=[], state="withdrawn"))
        session.flush()
        held = references(session, lms_id)
        kept = references(session, alice.id)
        instances = instances_of(session, lms_id)
    assert all(held[ref] for ref in merging.USER_REFERENCES if ref not in merging.KEPT_ON_MERGED)

    record = merge(app, lms_id, alice.id)

    with sessionmaker() as session:
        # nothing is left on the account merged away but the record of its merge
        assert references(session, lms_id) == {ref: int(ref == "account_merges.from_user_id") for ref in held}
        merged_away = sa.select(AccountMerge.id).where(AccountMerge.from_user_id == lms_id)
        assert session.scalar(merged_away) == record.id
        now = references(session, alice.id)
        for reference, count in now.items():
            if reference == "api_tokens.user_id":  # revoked, never moved: it opened the LMS account only
                assert count == kept[reference]
            elif reference == "account_merges.into_user_id":  # and this merge's own record
                assert count == kept[reference] + held[reference] + 1
            elif reference not in merging.KEPT_ON_MERGED:
                assert count == kept[reference] + held[reference], reference
        assert instances_of(session, alice.id) == instances  # the numbers answered stay the numbers shown
        closed = session.get(User, lms_id)
        assert closed.password_hash is None and closed.session_version == 1
        sync = session.scalar(sa.select(LtiGradeSync).where(LtiGradeSync.user_id == alice.id))
        assert sync.state == "waiting"  # the LMS is sent the merged score
    assert record.moved["assignment_answers"] == 2 and record.moved["practice_answers"] == 1
    assert record.moved["tokens_revoked"] == 1 and record.moved["scores_sent_again"] == 1
    assert record.course_ids == [course.id]


def test_an_item_both_accounts_answered_stops_the_merge_and_names_it(app, build, course, platform_id):
    alice = build.user("alice", password=PASSWORD)
    build.enrol(course.id, alice)
    sessionmaker = db.database(app).sessionmaker
    with sessionmaker.begin() as session:
        lms_id = made_by_lms(session, platform_id, course.id).id
        first, second = items_of(session, course)
        answer(session, first, lms_id)
        answer(session, second, lms_id)
        answer(session, first, alice.id, 0.0)
    before = snapshot(app)
    with pytest.raises(linking.CannotLink, match="both accounts have answers to") as refused:
        merge(app, lms_id, alice.id)
    assert "Homework 1: question 1 (" in str(refused.value)
    assert "question 2" not in str(refused.value)  # answered by one account only: no conflict
    assert snapshot(app) == before


def test_a_failure_midway_leaves_both_accounts_as_they_were(app, build, course, platform_id, monkeypatch):
    alice = build.user("alice", password=PASSWORD)
    sessionmaker = db.database(app).sessionmaker
    with sessionmaker.begin() as session:
        lms_id = made_by_lms(session, platform_id, course.id).id
        answer(session, items_of(session, course)[0], lms_id)
        session.add(Extension(assignment_id=course.assignment_id, user_id=lms_id, extra_attempts=2))
    before = snapshot(app)

    def cut(*args):
        raise OSError("the database went away")

    # after the answers, instances, extensions and enrolments have moved
    monkeypatch.setattr(merging, "_merge_grade_syncs", cut)
    with pytest.raises(OSError):
        merge(app, lms_id, alice.id)
    assert snapshot(app) == before


@pytest.mark.parametrize("answered_by", ["lms", "older"])
def test_where_one_account_answered_an_item_the_other_held_unanswered_its_numbers_are_kept(
    app, build, course, platform_id, answered_by
):
    alice = build.user("alice", password=PASSWORD)
    build.enrol(course.id, alice)
    sessionmaker = db.database(app).sessionmaker
    with sessionmaker.begin() as session:
        lms_id = made_by_lms(session, platform_id, course.id).id
        item = items_of(session, course)[0]
        answering, holding = (lms_id, alice.id) if answered_by == "lms" else (alice.id, lms_id)
        answer(session, item, answering)
        variants.redraw(session, item, holding)  # an instructor's re-draw, never answered
        answered = variants.find(session, item, answering).instance
    record = merge(app, lms_id, alice.id)
    with sessionmaker() as session:
        item = session.get(Item, course.item_ids[0])
        assert variants.find(session, item, alice.id).instance == answered
        [submission] = session.scalars(sa.select(Submission).where(Submission.item_id == item.id))
        assert submission.user_id == alice.id and submission.instance == answered
        assert record.moved["instances_left_out"] == [merging.unit_name(item)]


def test_a_derivation_answered_in_part_keeps_one_instance_for_all_its_parts(app, build, course, platform_id):
    alice = build.user("alice", password=PASSWORD)
    sessionmaker = db.database(app).sessionmaker
    with sessionmaker.begin() as session:
        lms_id = made_by_lms(session, platform_id, course.id).id
        assignment = session.get(Assignment, course.assignment_id)
        derivation = derivations.create(session, assignment, "cross_entropy", n=2, K=3)
        part_ids = [part.id for part in derivation.parts]
        answer(session, derivation.parts[0], lms_id)  # only (a) is stored, as a submission stores it
        drawn_for_them = {part.id: variants.instance_for(session, part, lms_id) for part in derivation.parts}
    merge(app, lms_id, alice.id)
    with sessionmaker() as session:
        now = {pid: variants.instance_for(session, session.get(Item, pid), alice.id) for pid in part_ids}
    assert now == drawn_for_them


def test_extensions_of_both_keep_the_later_date_and_the_more_attempts(app, build, course, platform_id):
    alice = build.user("alice", password=PASSWORD)
    build.enrol(course.id, alice)
    sessionmaker = db.database(app).sessionmaker
    due = utcnow() - timedelta(days=2)
    with sessionmaker.begin() as session:
        assignment = session.get(Assignment, course.assignment_id)
        assignment.due_at = due
        lms_id = made_by_lms(session, platform_id, course.id).id
        first, second = items_of(session, course)
        late = answer(session, first, alice.id, when=due + timedelta(hours=12))
        late.late = True
        extensions.grant(session, assignment, alice.id, extra_attempts=3)
        extensions.grant(session, assignment, lms_id, due_at=due + timedelta(days=1), extra_attempts=1)
        answer(session, second, lms_id, when=due + timedelta(hours=20))
    record = merge(app, lms_id, alice.id)
    with sessionmaker() as session:
        [kept] = session.scalars(sa.select(Extension).where(Extension.user_id == alice.id))
        assert (kept.due_at, kept.extra_attempts) == (due + timedelta(days=1), 3)
        assert not any(session.scalars(sa.select(Submission.late)))  # each inside the later date
    assert record.moved["late_marks_changed"] == 1


def test_the_gradebook_and_the_attempts_are_those_each_account_used(app, build, course, platform_id):
    alice = build.user("alice", password=PASSWORD)
    build.enrol(course.id, alice)
    sessionmaker = db.database(app).sessionmaker
    with sessionmaker.begin() as session:
        for item in items_of(session, course):
            item.max_attempts = 3
        lms_id = made_by_lms(session, platform_id, course.id).id
        first, second = items_of(session, course)
        answer(session, first, lms_id, 0.0)
        answer(session, first, lms_id, 1.0)
        answer(session, second, alice.id, 0.5)
    merge(app, lms_id, alice.id)
    with sessionmaker() as session:
        assignment = session.get(Assignment, course.assignment_id)
        cells = gradebook.cells(session, [assignment], [alice.id, lms_id])
        first, second = items_of(session, course)
        assert (cells[alice.id, first.id].attempts, cells[alice.id, first.id].score) == (2, 1.0)
        assert (cells[alice.id, second.id].attempts, cells[alice.id, second.id].score) == (1, 0.5)
        assert not any(cells[lms_id, item.id].attempts for item in (first, second))
        assert extensions.allowance(session, first, alice.id).attempts_left(2) == 1
        assert ags.assignment_score(session, assignment, alice.id).given == 2.5  # 1.0 x 2 + 0.5 x 1
        assert [user.name for user, _ in gradebook.students(session, course.id)] == ["alice"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    answers=st.lists(st.tuples(st.sampled_from(["lms", "older"]), st.integers(0, 3)), min_size=2, max_size=2),
    practice=st.integers(0, 3),
)
def test_a_merge_keeps_every_answer_on_the_numbers_it_answered(
    app, build, course, platform_id, answers, practice
):
    """Whatever either account answered (an item by one of them only), every answer moves to
    the older account, none is lost, and each is to the instance its item now shows."""
    sessionmaker = db.database(app).sessionmaker
    older = build.user(f"older-{next(subs)}", password=PASSWORD)
    build.enrol(course.id, older)
    with sessionmaker.begin() as session:
        lms_id = made_by_lms(session, platform_id, course.id).id
        for item, (who, count) in zip(items_of(session, course), answers, strict=True):
            for _ in range(count):
                answer(session, item, lms_id if who == "lms" else older.id, 0.5)
        if practice:
            own = PracticeSet(user_id=lms_id, seed=3)
            own.items = [Item(position=0, kind="softmax", K=2)]
            session.add(own)
            session.flush()
            session.add(variants.first_practice_draw(own.items[0], lms_id))
            for _ in range(practice):
                answer(session, own.items[0], lms_id)
        mine = [lms_id, older.id]
        total = session.scalar(sa.select(sa.func.count()).where(Submission.user_id.in_(mine)))
    merge(app, lms_id, older.id)
    with sessionmaker() as session:
        moved = session.scalars(sa.select(Submission).where(Submission.user_id.in_(mine))).all()
        assert len(moved) == total
        assert {s.user_id for s in moved} <= {older.id}
        for submission in moved:
            assert submission.instance == variants.find(session, submission.item, older.id).instance
        assert session.scalar(sa.select(LtiIdentity.user_id).where(LtiIdentity.user_id == lms_id)) is None
