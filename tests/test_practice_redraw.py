"""Another version of a practice item or derivation: drawn again from the set's seed, never on
the current numbers, a derivation's parts together on one instance; earlier answers keep
theirs, and the set's standing is neither lost nor inflated."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.orm as so
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exercises.derivations import PRESETS, part_instance
from grader.service import db, practice, variants
from grader.service.models import Item, PracticeSet, Submission, Variant, utcnow
from tests.conftest import Builder

FIXTURE_PER_TEST = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def new_set(build: Builder, user_id: int, seed: int, **options: Any) -> int:
    with build.sessionmaker.begin() as session:
        return practice.create_set(session, user_id, options.pop("kinds", None), seed=seed, **options).id


def stored(session, item: Item, user_id: int) -> Variant:
    variant = variants.find(session, item, user_id)
    assert variant is not None
    return variant


# ---- drawing again --------------------------------------------------------------------


@FIXTURE_PER_TEST
@given(
    seed=st.integers(0, 2**62), times=st.integers(1, 4), kind=st.sampled_from(["softmax", "jacobian_warmup"])
)
def test_a_redraw_never_repeats_a_seed_nor_the_current_numbers(build, people, seed, times, kind):
    eve = people["eve"].id
    set_id = new_set(build, eve, seed, kinds=[kind], count=1, derivation_count=0)
    with build.sessionmaker.begin() as session:
        item = session.get(PracticeSet, set_id).items[0]
        seeds = [variants.seed_for(item, eve, 0)]
        before = stored(session, item, eve).instance
        for _ in range(times):
            variant = practice.another_version(session, item)
            seeds.append(variants.seed_for(item, eve, variant.draw_number))
            assert variant.instance != before
            # reproducible: the stored version is the one its seed draws
            assert variant.instance == variants.draw(item, seeds[-1])
            before = variant.instance
        assert len(set(seeds)) == len(seeds)


@FIXTURE_PER_TEST
@given(
    seed=st.integers(0, 2**62),
    name=st.sampled_from(sorted(PRESETS)),
    asked_from=st.lists(st.integers(0, 3), min_size=1, max_size=4),
)
def test_the_parts_of_a_derivation_share_one_instance_after_any_redraws(
    build, people, seed, name, asked_from
):
    eve = people["eve"].id
    set_id = new_set(build, eve, seed, count=0, presets=[name])
    with build.sessionmaker.begin() as session:
        derivation = session.get(PracticeSet, set_id).derivations[0]
        parts = derivation.parts
        shared = stored(session, parts[-1], eve).instance
        for number, index in enumerate(asked_from, start=1):
            asked = parts[index % len(parts)]  # any part asks for the whole derivation
            practice.another_version(session, asked)
            now = [stored(session, part, eve) for part in parts]
            assert {variant.draw_number for variant in now} == {now[0].draw_number}
            assert now[0].draw_number >= number
            assert now[-1].instance != shared
            shared = now[-1].instance
            for part, variant in zip(parts, now, strict=True):
                assert variant.instance == part_instance(part.kind, shared)


def test_a_draw_that_repeats_the_current_numbers_is_passed_over(build, people, monkeypatch):
    eve = people["eve"].id
    set_id = new_set(build, eve, 5, kinds=["softmax"], count=1, derivation_count=0)
    with build.sessionmaker.begin() as session:
        item = session.get(PracticeSet, set_id).items[0]
        current = dict(stored(session, item, eve).instance)
        real_draw, calls = variants.draw, []

        def first_repeats(drawn_item: Item, seed: int) -> dict[str, Any]:
            calls.append(seed)
            return current if len(calls) == 1 else real_draw(drawn_item, seed)

        monkeypatch.setattr(variants, "draw", first_repeats)
        variant = practice.another_version(session, item)
    assert variant.draw_number == 2 and variant.instance != current
    assert variant.instance == real_draw(item, variants.seed_for(item, eve, 2))


def test_the_same_seed_draws_the_same_versions(build, people):
    eve = people["eve"].id

    def versions(seed: int) -> list[dict[str, Any]]:
        set_id = new_set(build, eve, seed, count=2, derivation_count=1)
        with build.sessionmaker.begin() as session:
            items = session.get(PracticeSet, set_id).items
            return [practice.another_version(session, item).instance for item in items]

    assert versions(11) == versions(11) != versions(12)


def test_an_assignment_item_is_not_drawn_again_by_its_student(build, people):
    _, (item_id,) = build.assignment(people["course_id"], [{"kind": "softmax", "K": 3}])
    with build.sessionmaker.begin() as session, pytest.raises(ValueError, match="not a practice item"):
        practice.another_version(session, session.get(Item, item_id))


# ---- the standing ---------------------------------------------------------------------


def answer(session, item: Item, user_id: int, score: float) -> None:
    session.add(Submission(
        item_id=item.id, user_id=user_id, instance=stored(session, item, user_id).instance,
        answer="[]", format="json", verdict={"correct": score == 1, "score": score},
        correct=score == 1, score=score, graded_at=utcnow(),
    ))
    session.flush()


def test_a_new_version_neither_loses_nor_inflates_the_standing(build, people):
    eve = people["eve"].id
    set_id = new_set(build, eve, 3, kinds=["softmax"], count=1, derivation_count=0)
    with build.sessionmaker.begin() as session:
        item = session.get(PracticeSet, set_id).items[0]
        answer(session, item, eve, 0.0)
        answer(session, item, eve, 1.0)
        practice.another_version(session, item)
        cell = practice.standing(session, [item], eve)[item.id]
        assert (cell.score, cell.attempts) == (1.0, 2)  # asking is no attempt, and loses nothing
        answer(session, item, eve, 0.5)
        cell = practice.standing(session, [item], eve)[item.id]
        assert (cell.score, cell.attempts) == (1.0, 3)  # nor does it start the count again


# ---- sets made before their seed ------------------------------------------------------


def test_the_migration_gives_sets_made_before_a_seed_to_draw_again_from(tmp_path):
    path = tmp_path / "before.sqlite"
    url = f"sqlite:///{path}"
    db.migrate(url, "0011")
    instance = {"kind": "softmax", "z": [0.5, -1.0, 2.0]}
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO users (id, name, full_name, role, created_at, session_version) "
                           "VALUES (1, 'eve', '', 'student', '2026-01-01 00:00:00', 0)")
        connection.execute(
            "INSERT INTO practice_sets (id, user_id, created_at) VALUES (1, 1, '2026-01-01 00:00:00')"
        )
        connection.execute(
            "INSERT INTO items (id, practice_set_id, position, kind, K, layout, points, answer_forms) "
            """VALUES (1, 1, 0, 'softmax', 3, 'numerator', 1.0, '["matrix"]')"""
        )
        connection.execute("INSERT INTO variants (item_id, user_id, draw_number, instance, created_at) "
                           "VALUES (1, 1, 0, ?, '2026-01-01 00:00:00')", (json.dumps(instance),))
        connection.execute(
            "INSERT INTO submissions (item_id, user_id, instance, answer, format, submitted_at, late) "
            "VALUES (1, 1, ?, '[1]', 'json', '2026-01-01 00:00:00', 0)", (json.dumps(instance),)
        )
    db.upgrade_database(url)
    engine = db.make_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT seed FROM practice_sets")).scalar() != 0
            # the set's items and answers are all still there
            assert connection.execute(sa.text("SELECT count(*) FROM submissions")).scalar() == 1
        with so.Session(engine) as session:
            item = session.get(Item, 1)
            variant = practice.another_version(session, item)
            session.commit()
            assert variant.draw_number == 1 and variant.instance != instance
            assert variant.instance["kind"] == "softmax" and len(variant.instance["z"]) == 3
    finally:
        engine.dispose()

