"""Derivations in the catalog: each part's instance from the shared one, and follow-through
along every chain from each wrong earlier answer a kind names, with the guard against gaming."""

from __future__ import annotations

import json

import numpy as np
import pytest

import exercises
from exercises import InstanceError
from exercises.chains import CHAINS, truth
from exercises.derivations import PRESETS, draw_shared, letter, part_instance, preset, sources
from grader.judge.follow_through import EarlierAnswer
from grader.judge.grading import grade

SEEDS = range(3)
GENERIC_MISTAKES = {"sign": lambda a: -a, "scale": lambda a: 2 * a, "transpose": lambda a: a.T}


@pytest.mark.parametrize("name", PRESETS)
@pytest.mark.parametrize("seed", SEEDS)
def test_each_part_is_asked_on_the_shared_instance(name, seed):
    chosen = preset(name)
    shared = draw_shared(chosen, seed, n=3, K=4)
    for kind in chosen.parts:
        instance = part_instance(kind, shared)
        exercise = exercises.get(kind)
        assert exercise.validate(instance) == instance
        # the part asks what the chain rule builds from the right earlier parts
        built = CHAINS.get(kind)
        expected = built.build(shared, _truths(kind, shared)) if built else truth(kind, shared)
        assert np.allclose(exercise.reference(instance), expected)


def _truths(kind, shared):
    return {source: truth(source, shared) for source in CHAINS[kind].sources}


def test_unknown_presets_and_parts_without_their_values_are_refused():
    with pytest.raises(InstanceError, match="softmax_layer"):
        preset("no_such_thing")
    with pytest.raises(InstanceError, match="gives no 'W'"):
        part_instance("layer_jacobian", {"kind": "softmax", "z": [1.0, 2.0]})
    assert letter(0) == "a" and letter(3) == "d"
    layer = preset("softmax_layer")
    assert sources(layer, "layer_jacobian") == ("softmax_jacobian", "logits_weight_jacobian")
    assert sources(preset("softmax_layer"), "softmax") == ()


def wrong_earlier_answers():
    """(preset, later kind, earlier kind, code): each wrong earlier answer a kind names, and
    the generic ones, along each chain of each preset."""
    cases = []
    for chosen in PRESETS.values():
        shared = draw_shared(chosen, 0, n=3, K=4)
        for later in chosen.parts:
            for earlier in sources(chosen, later):
                instance = part_instance(earlier, shared)
                codes = [*exercises.get(earlier).mistakes(instance), *GENERIC_MISTAKES]
                cases += [(chosen.name, later, earlier, code) for code in codes]
    return cases


def wrong(earlier: str, code: str, instance: dict) -> np.ndarray:
    exercise = exercises.get(earlier)
    named = exercise.mistakes(instance)
    if code in named:
        return np.asarray(named[code], dtype=np.float64)
    return GENERIC_MISTAKES[code](exercise.reference(instance))


@pytest.mark.parametrize(("name", "later", "earlier", "code"), wrong_earlier_answers())
@pytest.mark.parametrize("seed", SEEDS)
def test_a_later_part_right_for_each_wrong_earlier_part_follows_through(name, later, earlier, code, seed):
    chosen = preset(name)
    shared = draw_shared(chosen, seed, n=3, K=4)
    theirs = wrong(earlier, code, part_instance(earlier, shared))
    given = EarlierAnswer(earlier, json.dumps(theirs.tolist()), "json", part="b")
    right = exercises.get(later).reference(part_instance(later, shared))
    if theirs.shape != truth(earlier, shared).shape:  # the wrong shape is no real attempt
        answer = json.dumps((2 * right).tolist())
        verdict = grade(part_instance(later, shared), answer, "json", earlier=[given])
        assert verdict.follow_through is None
        return
    chained = CHAINS[later].build(shared, {**_truths(later, shared), earlier: theirs})
    verdict = grade(part_instance(later, shared), json.dumps(chained.tolist()), "json", earlier=[given])
    if np.allclose(chained, right):
        assert verdict.correct  # the "mistake" is no mistake here (dS/dz is symmetric): right is right
        return
    assert verdict.follow_through == {"from": [earlier], "share": 0.75}, (code, verdict.codes)
    assert verdict.score == 0.75 and "fix (b)" in verdict.feedback[0].message


def layer_shared():
    return draw_shared(preset("softmax_layer"), 1, n=3, K=4)


def test_no_follow_through_where_the_earlier_answer_makes_the_later_one_a_copy():
    shared = layer_shared()
    identity = EarlierAnswer("softmax_jacobian", json.dumps(np.eye(4).tolist()), "json", part="b")
    copied = truth("logits_weight_jacobian", shared)  # I times dz/dvec(W)
    verdict = grade(part_instance("layer_jacobian", shared), json.dumps(copied.tolist()), "json",
                    earlier=[identity])
    assert verdict.follow_through is None and verdict.score < 0.75


def test_no_follow_through_where_the_earlier_answer_implies_nothing():
    shared = draw_shared(preset("cross_entropy"), 1, n=3, K=4)
    c = shared["c"]
    one_hot_S = np.eye(4)[c]  # their S the one-hot y: dL/dz = S - y would be all zeros
    earlier = EarlierAnswer("softmax", json.dumps(one_hot_S.tolist()), "json", part="a")
    verdict = grade(part_instance("cross_entropy_logits_grad", shared), json.dumps([0.0] * 4), "json",
                    earlier=[earlier])
    assert verdict.follow_through is None and verdict.score == 0.0


@pytest.mark.parametrize("bad", ["", "[0, 0, 0, 0]", "[0.25, 0.25, 0.25, 0.25]", "[[1, 2", "[1, 2]"])
def test_no_follow_through_from_no_real_attempt(bad):
    shared = layer_shared()
    earlier = EarlierAnswer("softmax", bad, "auto", part="a")
    S = np.asarray(json.loads(bad)) if bad.startswith("[") and bad.endswith("]") else np.zeros(4)
    implied = np.diag(S) - np.outer(S, S) if S.size == 4 else np.zeros((4, 4))
    verdict = grade(part_instance("softmax_jacobian", shared), json.dumps(implied.tolist()), "json",
                    earlier=[earlier])
    assert verdict.follow_through is None
