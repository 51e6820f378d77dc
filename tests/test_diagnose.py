"""Every misconception is named on generated wrong answers, for every kind it applies to."""

from __future__ import annotations

import numpy as np
import pytest

import exercises
from exercises import DrawOptions
from grader.judge.diagnose import MESSAGES, judge_array
from tests import articles

SEEDS = range(8)


def cases_of_kind_mistakes() -> list[tuple[str, str, str]]:
    cases = []
    for kind, exercise in sorted(exercises.KINDS.items()):
        for layout in exercise.layouts:
            for code in exercise.mistakes(exercise.draw(0, DrawOptions(layout=layout))):
                cases.append((kind, layout, code))
    return cases


@pytest.mark.parametrize(("kind", "layout", "code"), cases_of_kind_mistakes())
def test_kind_mistakes_are_named(kind: str, layout: str, code: str) -> None:
    exercise = exercises.get(kind)
    for seed in SEEDS:
        instance = exercise.draw(seed, DrawOptions(layout=layout))
        wrong = exercise.mistakes(instance)[code]
        verdict = judge_array(exercise, instance, wrong)
        assert not verdict.correct
        assert verdict.feedback[0].code == code, (seed, verdict.feedback)
        assert verdict.score < 1


@pytest.mark.parametrize("kind", sorted(exercises.KINDS))
def test_sign_and_scale_are_named(kind: str) -> None:
    exercise = exercises.get(kind)
    for seed in SEEDS:
        instance = exercise.draw(seed)
        expected = exercise.reference(instance)
        assert judge_array(exercise, instance, -expected).codes == ["sign"]
        scaled = judge_array(exercise, instance, 2.0 * expected)
        assert scaled.codes == ["scale"]
        assert "2 times" in scaled.feedback[0].message


@pytest.mark.parametrize(
    "kind",
    ["layer_jacobian", "logits_weight_jacobian", "cross_entropy_weight_grad", "jacobian_warmup"],
)
def test_transpose_is_named_even_though_the_shape_differs(kind: str) -> None:
    exercise = exercises.get(kind)
    for seed in SEEDS:
        instance = exercise.draw(seed)
        verdict = judge_array(exercise, instance, exercise.reference(instance).T)
        assert verdict.codes == ["transpose"]
        assert verdict.score < 1.0


def test_a_symmetric_answer_in_the_other_layout_is_simply_correct() -> None:
    exercise = exercises.get("softmax_jacobian")
    instance = exercise.draw(2, DrawOptions(layout="denominator"))
    numerator = exercise.reference({**instance, "layout": "numerator"})
    verdict = judge_array(exercise, instance, numerator)
    assert verdict.correct and verdict.score == 1.0


def test_vec_order_in_the_other_layout_names_both() -> None:
    exercise = exercises.get("layer_jacobian")
    instance = exercise.draw(3)
    wrong = exercise.mistakes(instance)["vec_order"].T
    assert judge_array(exercise, instance, wrong).codes == ["vec_order", "transpose"]


def test_the_articles_layer_jacobian_as_printed_is_correct() -> None:
    exercise = exercises.get("layer_jacobian")
    verdict = judge_array(exercise, articles.layer_instance("layer_jacobian"), np.array(articles.LAYER_DL))
    assert verdict.correct and verdict.score == 1.0 and verdict.feedback == []
    assert verdict.catalog_version == exercises.CATALOG_VERSION
    assert verdict.tolerance["name"] == "typed"


def test_wrong_shape_says_both_shapes() -> None:
    exercise = exercises.get("layer_jacobian")
    verdict = judge_array(exercise, exercise.draw(1, DrawOptions(n=3, K=5)), np.zeros((5, 5)))
    assert verdict.codes == ["shape"]
    assert "(5, 15)" in verdict.feedback[0].message and "(5, 5)" in verdict.feedback[0].message
    assert verdict.expected_shape == [5, 15] and verdict.received_shape == [5, 5]


def test_a_vector_as_a_row_or_a_column_is_the_same_vector() -> None:
    exercise = exercises.get("softmax")
    instance = {"kind": "softmax", "z": articles.STEP_Z}
    S = np.array(articles.STEP_S)
    assert judge_array(exercise, instance, S[np.newaxis, :]).correct
    assert judge_array(exercise, instance, S[:, np.newaxis]).correct


def test_not_finite_is_named() -> None:
    exercise = exercises.get("softmax")
    verdict = judge_array(exercise, {"kind": "softmax", "z": [1.0, 2.0, 3.0]}, np.array([np.nan, 0.24, 0.66]))
    assert verdict.codes[0] == "not_finite"
    assert verdict.wrong_entries[0].received is None


def test_partial_says_which_entries_and_where() -> None:
    exercise = exercises.get("layer_jacobian")
    instance = exercise.draw(4, DrawOptions(n=3, K=4))
    wrong = exercise.reference(instance)
    wrong[2, 7] += 0.5
    verdict = judge_array(exercise, instance, wrong)
    assert verdict.codes[0] == "partial"
    assert verdict.score == pytest.approx(1 - 1 / wrong.size)
    assert verdict.wrong_count == 1
    assert verdict.wrong_entries[0].index == [2, 7]
    assert verdict.wrong_entries[0].label == "dS_3/dW[2,3]"  # column 7 = class 3, input 2
    assert "dS_3/dW[2,3]" in verdict.feedback[0].message
    assert "row 3" in verdict.feedback[0].message


def test_wrong_entries_in_one_block_of_w_are_located() -> None:
    exercise = exercises.get("layer_jacobian")
    instance = exercise.draw(4, DrawOptions(n=3, K=4))
    wrong = exercise.reference(instance)
    wrong[:, 3:6] *= 3
    verdict = judge_array(exercise, instance, wrong)
    assert "the block of W's column 2" in verdict.feedback[0].message


def test_wrong_diagonal_is_located_and_a_failing_property_is_said() -> None:
    exercise = exercises.get("softmax_jacobian")
    instance = exercise.draw(6, DrawOptions(K=4))
    wrong = exercise.reference(instance)
    wrong[np.diag_indices(4)] *= 1.5
    verdict = judge_array(exercise, instance, wrong)
    assert verdict.codes == ["partial", "property"]
    assert "the diagonal" in verdict.feedback[0].message
    assert "each row sums to zero" in verdict.feedback[1].message


def test_nothing_right_is_incorrect() -> None:
    exercise = exercises.get("cross_entropy_logits_grad")
    instance = {"kind": "cross_entropy_logits_grad", "z": [1.0, 2.0, 3.0], "c": 1}
    verdict = judge_array(exercise, instance, np.array([0.3, 0.3, 0.3]))
    assert verdict.codes == ["incorrect", "property"]
    assert "sum to zero" in verdict.feedback[1].message
    assert verdict.score == 0.0


# ---- whose message is whose ---------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(exercises.KINDS))
def test_each_kind_declares_a_message_for_every_mistake_it_lists(kind: str) -> None:
    exercise = exercises.get(kind)
    # some mistakes exist only at some sizes: other_instance at the articles' sizes
    sizes = (DrawOptions(), DrawOptions(K=3), DrawOptions(n=3, K=5))
    listed = {code for options in sizes for code in exercise.mistakes(exercise.draw(0, options))}
    assert {m.code for m in exercise.misconceptions} == listed
    assert all(exercise.message(code) for code in listed)


def test_the_grader_keeps_only_the_messages_every_kind_shares() -> None:
    own = {m.code for exercise in exercises.KINDS.values() for m in exercise.misconceptions}
    assert not own & set(MESSAGES)
    assert {"transpose", "sign"} <= set(MESSAGES)


@pytest.mark.parametrize(
    ("kind", "code", "words"),
    [
        ("softmax", "not_normalised", "You have exp(z_i), shifted or not, without dividing"),
        ("softmax_jacobian", "diagonal_only", "the off-diagonal terms -S_i S_j are missing"),
        ("softmax_jacobian", "outer_only", "the diag(S) term is missing"),
        ("layer_jacobian", "used_logits", "You applied the right formula to the logits z instead"),
        ("layer_jacobian", "missing_input_factor", "The factor x_j is missing"),
        ("layer_jacobian", "vec_order", "Your columns follow W flattened row by row"),
        ("cross_entropy_weight_grad", "forgot_one_hot", "Your gradient is S itself"),
        ("cross_entropy_logits_grad", "used_logits", "compute S first, then use it"),
        ("jacobian_warmup", "power_rule", "by the power rule it is 9 x2^2"),
    ],
)
def test_a_kinds_mistake_is_named_with_its_own_message(kind: str, code: str, words: str) -> None:
    exercise = exercises.get(kind)
    instance = exercise.draw(1)
    verdict = judge_array(exercise, instance, exercise.mistakes(instance)[code])
    assert verdict.codes == [code]
    assert verdict.feedback[0].message == exercise.message(code) and words in verdict.feedback[0].message


# ---- the sharper typed diagnosis: not_normalised, precision, class_index, other_instance ----


def test_exp_z_shifted_or_not_is_not_normalised() -> None:
    exercise = exercises.get("softmax")
    for seed in SEEDS:
        instance = exercise.draw(seed)
        z = np.asarray(instance["z"])
        for typed in (np.exp(z), np.exp(z - z.max())):
            verdict = judge_array(exercise, instance, typed)
            assert verdict.codes == ["not_normalised"], (seed, verdict.feedback)


def _significant(values: np.ndarray, figures: int) -> np.ndarray:
    return np.array([float(f"{v:.{figures - 1}e}") for v in values.ravel()]).reshape(values.shape)


@pytest.mark.parametrize("kind", sorted(exercises.KINDS))
def test_a_rounding_too_far_is_precision_and_three_figures_pass(kind: str) -> None:
    exercise = exercises.get(kind)
    named = 0
    for seed in SEEDS:
        instance = exercise.draw(seed)
        expected = exercise.reference(instance)
        assert judge_array(exercise, instance, _significant(expected, 3)).correct
        verdict = judge_array(exercise, instance, _significant(expected, 1))
        if not verdict.correct:
            assert verdict.codes == ["precision"], (seed, verdict.feedback)
            assert "3 significant figures" in verdict.feedback[0].message
            named += 1
    assert named > 0


def test_precision_is_not_claimed_for_wrong_values() -> None:
    exercise = exercises.get("softmax")
    instance = {"kind": "softmax", "z": articles.STEP_Z}
    assert judge_array(exercise, instance, np.array([0.09, 0.2, 0.7])).codes == ["precision"]
    assert "precision" not in judge_array(exercise, instance, np.array([0.2, 0.3, 0.5])).codes


@pytest.mark.parametrize("kind", ["cross_entropy_logits_grad", "cross_entropy_weight_grad"])
def test_the_one_hot_at_the_neighbouring_class_is_class_index(kind: str) -> None:
    exercise = exercises.get(kind)
    for seed in SEEDS:
        instance = exercise.draw(seed)
        K = exercise.num_classes(instance)
        neighbour = instance["c"] + 1 if instance["c"] + 1 < K else instance["c"] - 1
        wrong = exercise.reference({**instance, "c": neighbour})
        verdict = judge_array(exercise, instance, wrong)
        assert verdict.codes == ["class_index"], (seed, verdict.feedback)


OTHER_INSTANCE_KINDS = [
    ("softmax", {"z": [0.5, -1.0, 2.0]}, {"z": articles.STEP_Z}),
    ("softmax_jacobian", {"z": [0.5, -1.0, 2.0]}, {"z": articles.STEP_Z}),
    ("cross_entropy_logits_grad", {"z": [0.5, -1.0, 2.0], "c": 1}, {"z": articles.STEP_Z, "c": 1}),
    ("logits_weight_jacobian", "drawn", "article"),
    ("layer_jacobian", "drawn", "article"),
    ("cross_entropy_weight_grad", "drawn", "article"),
]


@pytest.mark.parametrize(("kind", "own", "article"), OTHER_INSTANCE_KINDS)
def test_the_answer_for_the_articles_example_is_other_instance(kind, own, article) -> None:
    exercise = exercises.get(kind)
    if own == "drawn":
        own = exercise.draw(0, DrawOptions(n=3, K=5))
        article = {**own, "W": articles.LAYER_W, "x": articles.LAYER_X}
    else:
        own, article = {"kind": kind, **own}, {"kind": kind, **article}
    own, article = exercise.validate(own), exercise.validate(article)
    verdict = judge_array(exercise, own, exercise.reference(article))
    assert verdict.codes == ["other_instance"], verdict.feedback
    assert "worked example" in verdict.feedback[0].message
    assert judge_array(exercise, article, exercise.reference(article)).correct


@pytest.mark.parametrize("kind", sorted(exercises.KINDS))
def test_answers_near_the_float_range_are_verdicts_without_warnings(kind: str) -> None:
    exercise = exercises.get(kind)
    instance = exercise.draw(0)
    expected = exercise.reference(instance)
    for typed in (np.full(expected.shape, 1e308), -np.full(expected.shape, 1.7e308), expected * 1e300):
        verdict = judge_array(exercise, instance, typed)  # warnings are errors in the tests
        assert not verdict.correct and verdict.feedback
