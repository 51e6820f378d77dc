"""The tolerance rules of the conventions, on the articles' prints and on random roundings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import exercises
from grader.judge.compare import FUNCTION, TYPED, agrees, close
from tests import articles


def round_significant(a: np.ndarray, figures: int) -> np.ndarray:
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log10(np.abs(np.where(a == 0, 1, a))))
    scale = 10.0 ** (figures - 1 - exponent)
    return np.round(a * scale) / scale


LAYER = exercises.get("layer_jacobian")


@pytest.mark.parametrize(
    ("kind", "layout", "printed"),
    [
        ("layer_jacobian", "numerator", articles.LAYER_DL),
        ("logits_weight_jacobian", "denominator", None),
    ],
)
def test_articles_prints_are_accepted(kind: str, layout: str, printed: list | None) -> None:
    instance = articles.layer_instance(kind, layout)
    expected = exercises.get(kind).reference(instance)
    if printed is None:  # dz/dW prints exact values at one decimal
        printed = np.round(expected, 1)
    assert agrees(expected, np.array(printed), TYPED)


def test_article_softmax_jacobian_print_is_accepted() -> None:
    z = (np.array(articles.LAYER_W).T @ np.array(articles.LAYER_X)).tolist()
    expected = exercises.get("softmax_jacobian").reference({"kind": "softmax_jacobian", "z": z})
    assert agrees(expected, np.array(articles.LAYER_DS), TYPED)


def test_entry_off_by_more_than_one_percent_is_rejected() -> None:
    expected = LAYER.reference(articles.layer_instance("layer_jacobian"))
    received = expected.copy()
    received[1, 4] *= 1.011
    mask = close(expected, received, TYPED)
    assert not mask[1, 4] and mask.sum() == mask.size - 1


def test_negligible_entries_are_compared_against_the_largest() -> None:
    expected = np.array([1.0, 1e-7])
    assert agrees(expected, np.array([1.0, 0.0]), TYPED)
    assert not agrees(expected, np.array([1.0, 0.01]), TYPED)


def test_non_finite_entries_never_agree() -> None:
    assert not agrees(np.array([1.0, 2.0]), np.array([1.0, np.nan]), TYPED)
    assert not agrees(np.array([1.0, 2.0]), np.array([1.0, np.inf]), FUNCTION)


def test_shapes_must_match() -> None:
    assert not agrees(np.zeros((2, 3)), np.zeros((3, 2)), TYPED)


def test_function_tolerance_is_tight() -> None:
    expected = np.array([0.2, 0.3, 0.5])
    assert agrees(expected, expected * (1 + 1e-9), FUNCTION)
    assert not agrees(expected, expected * (1 + 1e-4), FUNCTION)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(sorted(exercises.KINDS)), st.integers(0, 10_000))
def test_any_three_figure_rounding_is_accepted(kind: str, seed: int) -> None:
    exercise = exercises.get(kind)
    expected = exercise.reference(exercise.draw(seed))
    assert agrees(expected, round_significant(expected, 3), TYPED)


@pytest.mark.parametrize("kind", sorted(exercises.KINDS))
def test_one_figure_rounding_is_rejected(kind: str) -> None:
    exercise = exercises.get(kind)
    rejected = 0
    for seed in range(20):
        expected = exercise.reference(exercise.draw(seed))
        rejected += not agrees(expected, round_significant(expected, 1), TYPED)
    assert rejected == 20


def test_one_figure_rounding_of_the_articles_is_rejected() -> None:
    expected = LAYER.reference(articles.layer_instance("layer_jacobian"))
    assert not agrees(expected, round_significant(expected, 1), TYPED)
