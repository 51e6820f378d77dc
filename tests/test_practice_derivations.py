"""Whole derivations in practice sets: one shared instance stored per part, chosen by weight
from the student's history, carried mistakes first, each with its reason."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

import exercises
from exercises import InstanceError
from exercises.chains import CHAINS
from exercises.derivations import PRESETS, draw_shared, part_instance, preset
from grader.service import practice, practice_derivations, variants
from grader.service.models import Derivation, Item, PracticeSet, Submission, Variant
from grader.service.practice_derivations import ChainRecord

CARRIED_LAYER = Counter({("layer_jacobian", "softmax_jacobian"): 2})
FROM_SOFTMAX = {"from": ["softmax"], "share": 0.75}  # a verdict's follow-through


def kind_weights(records=None):
    kinds = {kind for chosen in PRESETS.values() for kind in chosen.parts}
    return {kind: practice.weigh(kind, records or {}) for kind in kinds}


# ---- drawing: one instance, each part's share of it -----------------------------------


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(sorted(PRESETS)),
    seed=st.integers(0, 2**62),
    n=st.integers(*practice_derivations.SIZES_N),
    K=st.integers(*practice_derivations.SIZES_K),
)
def test_every_part_is_drawn_from_one_shared_instance(name, seed, n, K):
    chosen = preset(name)
    derivation = Derivation(preset=name, n=n, K=K)
    parts = [Item(kind=kind, derivation=derivation) for kind in chosen.parts]
    shared = draw_shared(chosen, seed, n, K)
    for part in parts:
        instance = variants.draw(part, seed)
        assert instance == part_instance(part.kind, shared)
        exercise = exercises.get(part.kind)
        assert exercise.validate(instance) == instance
    last = variants.draw(parts[-1], seed)
    assert np.array(last["W"]).shape == (n, K) and len(last["x"]) == n


def test_a_set_stores_each_part_with_its_variant_of_one_instance(build, people):
    eve = people["eve"]
    with build.sessionmaker.begin() as session:
        practice_set = practice.create_set(session, eve.id, None, 2, seed=7, derivation_count=2)
        set_id = practice_set.id
    with build.sessionmaker() as session:
        practice_set = session.get(PracticeSet, set_id)
        assert len(practice_set.single_items) == 2
        assert {d.preset for d in practice_set.derivations} == set(PRESETS)  # no preset twice
        positions = [item.position for item in practice_set.items]
        assert len(set(positions)) == len(positions)
        for derivation in practice_set.derivations:
            assert derivation.assignment_id is None and derivation.practice_set_id == set_id
            assert derivation.reason == "new to you: you have not done a whole derivation yet"
            assert [part.kind for part in derivation.parts] == list(preset(derivation.preset).parts)
            stored = {
                part.kind: session.scalar(
                    sa.select(Variant.instance).where(Variant.item_id == part.id, Variant.user_id == eve.id)
                )
                for part in derivation.parts
            }
            shared = stored[derivation.parts[-1].kind]
            for part in derivation.parts:
                assert part.assignment_id is None and part.practice_set_id == set_id
                assert part.reason == derivation.reason
                assert stored[part.kind] == part_instance(part.kind, shared)
                assert (part.n, part.K) == (derivation.n, derivation.K)


def test_the_same_seed_draws_the_same_set(build, people):
    def drawn(seed):
        with build.sessionmaker.begin() as session:
            eve = people["eve"].id
            practice_set = practice.create_set(session, eve, None, 1, seed=seed, derivation_count=1)
            part = practice_set.derivations[0].parts[-1]
            return practice_set.derivations[0].preset, variants.stored_instance(session, part.id, eve)

    assert drawn(3) == drawn(3)


def test_unknown_presets_are_refused(build, people):
    with pytest.raises(InstanceError, match="unknown derivation"), build.sessionmaker.begin() as session:
        practice.create_set(session, people["eve"].id, None, 1, presets=["nope"])


# ---- choosing ------------------------------------------------------------------------


def test_carried_mistakes_weigh_a_preset_up_and_are_said():
    plain, _ = practice_derivations.weigh(preset("softmax_layer"), kind_weights(), ChainRecord())
    weight, reason = practice_derivations.weigh(
        preset("softmax_layer"), kind_weights(), ChainRecord(carried=CARRIED_LAYER)
    )
    assert weight > plain
    assert reason == "a chain: your answers to (d) dS/dvec(W) carried a wrong (b) dS/dz twice"
    # a link the preset does not have is no reason to choose it
    other, other_reason = practice_derivations.weigh(
        preset("cross_entropy"), kind_weights(), ChainRecord(carried=CARRIED_LAYER)
    )
    assert other == pytest.approx(
        practice_derivations.weigh(preset("cross_entropy"), kind_weights(), ChainRecord())[0]
    )
    assert "carried" not in other_reason


def test_a_student_who_carried_mistakes_gets_that_chain_more_often():
    chains = ChainRecord(carried=CARRIED_LAYER, completed={"softmax_layer", "cross_entropy"})
    rng = np.random.default_rng(0)
    names = list(PRESETS)
    picks = [
        practice_derivations.choose(names, kind_weights(), chains, 1, rng)[0].preset for _ in range(400)
    ]
    counts = Counter(picks)
    assert counts["softmax_layer"] > 2 * counts["cross_entropy"]
    unweighted = [
        practice_derivations.choose(names, kind_weights(), ChainRecord(), 1, np.random.default_rng(i))[0]
        for i in range(400)
    ]
    assert Counter(c.preset for c in unweighted)["softmax_layer"] < counts["softmax_layer"]


def test_misconceptions_of_its_parts_weigh_a_preset_up():
    records = {"softmax": practice.KindRecord(recent=[False], attempts=1, codes=Counter(not_normalised=3))}
    before, _ = practice_derivations.weigh(preset("cross_entropy"), kind_weights(), ChainRecord())
    after, _ = practice_derivations.weigh(preset("cross_entropy"), kind_weights(records), ChainRecord())
    assert after > before


@pytest.mark.parametrize(
    ("chains", "said"),
    [
        (ChainRecord(), "new to you: you have not done a whole derivation yet"),
        (
            ChainRecord(completed={"softmax_layer"}),
            "new to you: you have not done “Cross-entropy” as a whole yet",
        ),
        (ChainRecord(completed={"cross_entropy"}), "a chain through "),
    ],
)
def test_a_reason_in_plain_words(chains, said):
    _, reason = practice_derivations.weigh(preset("cross_entropy"), kind_weights(), chains)
    assert reason.startswith(said)
    assert "_" not in reason


@settings(deadline=None)  # the first example fills practice's cache of each kind's codes
@given(carried=st.dictionaries(
    st.sampled_from([(later, source) for later, chain in CHAINS.items() for source in chain.sources]),
    st.integers(1, 20),
    max_size=4,
))
def test_carrying_a_mistake_never_weighs_a_preset_down(carried):
    for chosen in PRESETS.values():
        plain, _ = practice_derivations.weigh(chosen, kind_weights(), ChainRecord())
        chains = ChainRecord(carried=Counter(carried))
        weight, reason = practice_derivations.weigh(chosen, kind_weights(), chains)
        assert plain <= weight <= plain + practice_derivations.MAX_CARRIED_WEIGHT
        assert reason


@pytest.mark.parametrize(
    ("answers", "carried", "kinds_chosen", "count"),
    [(0, False, False, 0), (4, False, False, 0), (5, False, False, 1), (1, True, False, 1),
     (9, True, True, 0)],
)
def test_a_default_set_holds_a_derivation_once_the_student_has_answered_a_few(
    answers, carried, kinds_chosen, count
):
    chains = ChainRecord(carried=CARRIED_LAYER if carried else Counter())
    assert practice_derivations.default_count(answers, chains, kinds_chosen) == count


def test_the_history_counts_carried_mistakes_and_whole_derivations(build, people):
    eve = people["eve"]
    with build.sessionmaker.begin() as session:
        practice_set = practice.create_set(session, eve.id, None, 1, seed=1, presets=["cross_entropy"])
        parts = practice_set.derivations[0].parts
        verdicts = [
            ({"correct": False, "score": 0.0}, False, 0.0),
            ({"correct": False, "score": 0.75, "follow_through": FROM_SOFTMAX}, False, 0.75),
            ({"correct": True, "score": 1.0}, True, 1.0),
        ]
        for part, (verdict, correct, score) in zip(parts, verdicts, strict=True):
            session.add(Submission(item_id=part.id, user_id=eve.id, instance={}, answer="[]", format="json",
                                   verdict=verdict, correct=correct, score=score))
    with build.sessionmaker() as session:
        chains = practice_derivations.history(session, eve.id)
    assert chains.carried == Counter({("cross_entropy_logits_grad", "softmax"): 1})
    assert chains.completed == {"cross_entropy"}


def store_follow_through(build, user_id: int, times: int) -> None:
    """``times`` answers to (b) of cross-entropy practice, right only for a wrong (a)."""
    for seed in range(times):
        with build.sessionmaker.begin() as session:
            practice_set = practice.create_set(session, user_id, ["softmax"], 1, seed=100 + seed,
                                               presets=["cross_entropy"])
            later = practice_set.derivations[0].parts[1]
            verdict = {"correct": False, "score": 0.75, "follow_through": FROM_SOFTMAX}
            session.add(Submission(item_id=later.id, user_id=user_id, instance={}, answer="[]", format="json",
                                   verdict=verdict, correct=False, score=0.75, codes=["follow_through"]))


def chosen_presets(build, user_id: int, seeds: range) -> Counter[str]:
    picks: Counter[str] = Counter()
    for seed in seeds:
        with build.sessionmaker() as session:  # never committed: the history stays as it is
            practice_set = practice.create_set(session, user_id, None, 1, seed=seed, derivation_count=1)
            picks[practice_set.derivations[0].preset] += 1
            session.rollback()
    return picks


def test_follow_through_verdicts_weigh_their_chain_up_in_the_sets_drawn(build, people):
    alice, bob = people["alice"], people["bob"]
    store_follow_through(build, alice.id, 3)
    carried = chosen_presets(build, alice.id, range(40))
    plain = chosen_presets(build, bob.id, range(40))
    assert carried["cross_entropy"] > plain["cross_entropy"]
    assert carried["cross_entropy"] > carried["softmax_layer"]
    with build.sessionmaker() as session:
        practice_set = practice.create_set(session, alice.id, None, 1, seed=0, presets=["cross_entropy"])
        assert practice_set.derivations[0].reason == (
            "a chain: your answers to (b) dL/dz carried a wrong (a) softmax(z) 3 times"
        )
        session.rollback()
