"""Writing a formula back: plain text that reads the same, LaTeX that renders and evaluates alike."""

from __future__ import annotations

import numpy as np
import pytest
from latex2mathml.converter import convert

import exercises
from grader.judge.formulas.grading import answer_on
from grader.judge.formulas.parser import parse
from grader.judge.formulas.tree import children, write_latex, write_plain
from tests.test_formulas_grading import CASES


@pytest.mark.parametrize(("kind", "formula"), CASES)
def test_read_as_reads_back_to_the_same_tree(kind: str, formula: str) -> None:
    notation = exercises.get(kind).notation
    tree = parse(formula, notation)
    assert parse(write_plain(tree), notation) == tree


@pytest.mark.parametrize(("kind", "formula"), CASES)
def test_the_latex_write_back_renders_and_evaluates_alike(kind: str, formula: str) -> None:
    exercise = exercises.get(kind)
    instance = exercise.draw(3)
    tree = parse(formula, exercise.notation)
    latex = write_latex(tree)
    assert "<math" in convert(latex)
    again = parse(latex, exercise.notation)
    np.testing.assert_allclose(answer_on(again, exercise, instance), answer_on(tree, exercise, instance))


def test_children_in_reading_order() -> None:
    tree = parse("S_i (delta_ij - S_j)", exercises.get("softmax_jacobian").notation)
    assert [write_plain(c) for c in children(tree)] == ["S_i", "delta_ij - S_j"]
