"""The reference engine against the articles, finite differences, and itself."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import exercises
from exercises import DrawOptions, Exercise, Input, InstanceError
from exercises.cross_entropy import cross_entropy_logits_grad, cross_entropy_weight_grad
from exercises.layer import layer_jacobian, logits, logits_weight_jacobian, row_major
from exercises.softmax import softmax, softmax_jacobian
from exercises.warmup import jacobian_warmup
from tests import articles

# ---- the articles' numbers ---------------------------------------------------------------


def test_layer_article_softmax_output() -> None:
    z = logits(np.array(articles.LAYER_W), np.array(articles.LAYER_X))
    np.testing.assert_allclose(softmax(z), articles.LAYER_S, atol=5e-9)


def test_layer_article_softmax_jacobian() -> None:
    z = logits(np.array(articles.LAYER_W), np.array(articles.LAYER_X))
    np.testing.assert_allclose(softmax_jacobian(z), articles.LAYER_DS, atol=1e-6)


def test_layer_article_logits_jacobian_in_denominator_layout() -> None:
    instance = articles.layer_instance("logits_weight_jacobian", "denominator")
    expected = np.zeros((15, 5))
    for i in range(5):
        expected[3 * i : 3 * i + 3, i] = articles.LAYER_X
    np.testing.assert_array_equal(exercises.get("logits_weight_jacobian").reference(instance), expected)


def test_layer_article_layer_jacobian_truncated_print() -> None:
    computed = exercises.get("layer_jacobian").reference(articles.layer_instance("layer_jacobian"))
    printed = np.array(articles.LAYER_DL)
    assert computed.shape == (5, 15)
    # the article truncates to 5 decimals, and prints 0.0810 for 0.081052
    assert np.all(np.abs(computed - printed) <= 6e-5)


def test_step_by_step_article_softmax() -> None:
    np.testing.assert_allclose(softmax(articles.STEP_Z), articles.STEP_S, atol=5e-9)


def test_warmup_formula() -> None:
    x1, x2 = 0.3, -0.5
    e = np.exp(x1)
    expected = [[e, np.exp(x2)], [e * x2, e], [4, 9 * x2**2]]
    np.testing.assert_allclose(jacobian_warmup(x1, x2), expected)


# ---- stability -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("z", "expected"),
    [
        ([1000.0, 1001.0, 1002.0], articles.STEP_S),
        ([-1000.0, -1001.0, -1002.0], articles.STEP_S[::-1]),
        ([5.0], [1.0]),
        ([2.0, 2.0, 2.0], [1 / 3] * 3),
        ([0.0, 0.0], [0.5, 0.5]),
        ([1e308, 0.0], [1.0, 0.0]),
    ],
)
def test_softmax_is_stable(z: list[float], expected: list[float]) -> None:
    S = softmax(z)
    assert np.all(np.isfinite(S))
    np.testing.assert_allclose(S, expected, atol=1e-8)
    assert np.all(np.isfinite(softmax_jacobian(z)))


def test_k_equals_one_has_zero_jacobian() -> None:
    np.testing.assert_array_equal(softmax_jacobian([3.0]), [[0.0]])


# ---- finite differences (hypothesis) -----------------------------------------------------

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)


def central_difference(f, at: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """d f / d at, numerator layout, by central differences."""
    at = np.asarray(at, dtype=np.float64)
    columns = []
    for k in range(at.size):
        step = np.zeros_like(at)
        step.flat[k] = h
        columns.append((np.ravel(f(at + step)) - np.ravel(f(at - step))) / (2 * h))
    return np.stack(columns, axis=-1)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=6))
def test_softmax_jacobian_matches_finite_differences(z: list[float]) -> None:
    np.testing.assert_allclose(softmax_jacobian(z), central_difference(softmax, z), atol=1e-7)


@st.composite
def layers(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    n = draw(st.integers(1, 4))
    K = draw(st.integers(1, 5))
    W = np.array(draw(st.lists(finite, min_size=n * K, max_size=n * K))).reshape(n, K)
    x = np.array(draw(st.lists(finite, min_size=n, max_size=n)))
    c = draw(st.integers(0, K - 1))
    return W, x, c


def vec(W: np.ndarray) -> np.ndarray:
    return W.reshape(-1, order="F")


def unvec(v: np.ndarray, n: int, K: int) -> np.ndarray:
    return v.reshape((n, K), order="F")


@settings(max_examples=60, deadline=None)
@given(layers())
def test_layer_jacobians_match_finite_differences(layer: tuple[np.ndarray, np.ndarray, int]) -> None:
    W, x, _ = layer
    n, K = W.shape
    numeric_z = central_difference(lambda v: logits(unvec(v, n, K), x), vec(W))
    numeric_s = central_difference(lambda v: softmax(logits(unvec(v, n, K), x)), vec(W))
    np.testing.assert_allclose(logits_weight_jacobian(W, x), numeric_z, atol=1e-7)
    np.testing.assert_allclose(layer_jacobian(W, x), numeric_s, atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(layers())
def test_layer_jacobian_is_the_chain_rule(layer: tuple[np.ndarray, np.ndarray, int]) -> None:
    W, x, _ = layer
    chained = softmax_jacobian(logits(W, x)) @ logits_weight_jacobian(W, x)
    np.testing.assert_allclose(layer_jacobian(W, x), chained, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(layers())
def test_cross_entropy_gradients_match_finite_differences(layer: tuple[np.ndarray, np.ndarray, int]) -> None:
    W, x, c = layer
    n, K = W.shape
    z = logits(W, x)

    def loss_of_z(z: np.ndarray) -> np.ndarray:
        return np.array([-np.log(softmax(z)[c])])

    def loss_of_vec_w(v: np.ndarray) -> np.ndarray:
        return loss_of_z(logits(unvec(v, n, K), x))

    np.testing.assert_allclose(
        cross_entropy_logits_grad(z, c), central_difference(loss_of_z, z)[0], atol=1e-6
    )
    numeric_w = unvec(central_difference(loss_of_vec_w, vec(W))[0], n, K)
    np.testing.assert_allclose(cross_entropy_weight_grad(W, x, c), numeric_w, atol=1e-6)
    # the weight gradient is the chain rule through the logits' Jacobian
    chained = unvec(cross_entropy_logits_grad(z, c) @ logits_weight_jacobian(W, x), n, K)
    np.testing.assert_allclose(cross_entropy_weight_grad(W, x, c), chained, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(finite, finite)
def test_warmup_matches_finite_differences(x1: float, x2: float) -> None:
    def f(v: np.ndarray) -> np.ndarray:
        a, b = v
        return np.array([np.exp(a) + np.exp(b), np.exp(a) * b, 4 * a + 3 * b**3])

    np.testing.assert_allclose(jacobian_warmup(x1, x2), central_difference(f, [x1, x2]), rtol=1e-6, atol=1e-6)


def test_row_major_is_the_flattening_by_rows() -> None:
    W = np.arange(6.0).reshape(2, 3)
    jac = vec(W)[np.newaxis, :]  # a Jacobian whose columns are labelled by vec(W)
    np.testing.assert_array_equal(row_major(jac, 2, 3), W.reshape(1, -1))


# ---- the catalog ---------------------------------------------------------------------------


def test_registry_holds_every_kind_of_the_conventions() -> None:
    assert set(exercises.KINDS) == {
        "softmax",
        "softmax_jacobian",
        "logits_weight_jacobian",
        "layer_jacobian",
        "cross_entropy_logits_grad",
        "cross_entropy_weight_grad",
        "jacobian_warmup",
    }


@pytest.mark.parametrize("kind", sorted(exercises.KINDS))
def test_draw_is_reproducible_and_typeable(kind: str) -> None:
    exercise = exercises.get(kind)
    first, again = exercise.draw(42), exercise.draw(42)
    assert first == again
    assert exercise.validate(first) == first  # drawn instances are already normal
    assert first != exercise.draw(43)
    json.dumps(first)
    for key in exercise.given:
        values = np.ravel(first[key])
        np.testing.assert_array_equal(values, np.round(values, 2))  # two decimals
    assert np.all(np.isfinite(exercise.reference(first)))


@pytest.mark.parametrize("kind", ["layer_jacobian", "logits_weight_jacobian", "cross_entropy_weight_grad"])
def test_draw_respects_sizes(kind: str) -> None:
    instance = exercises.get(kind).draw(1, DrawOptions(n=2, K=4))
    assert np.shape(instance["W"]) == (2, 4)
    assert len(instance["x"]) == 2


@pytest.mark.parametrize(
    "kind", ["layer_jacobian", "logits_weight_jacobian", "softmax_jacobian", "jacobian_warmup"]
)
def test_denominator_layout_is_the_transpose(kind: str) -> None:
    exercise = exercises.get(kind)
    numerator = exercise.draw(5)
    denominator = {**numerator, "layout": "denominator"}
    np.testing.assert_array_equal(exercise.reference(denominator), exercise.reference(numerator).T)
    for code, wrong in exercise.mistakes(numerator).items():
        np.testing.assert_array_equal(exercise.mistakes(denominator)[code], wrong.T)


@pytest.mark.parametrize("kind", sorted(exercises.KINDS))
def test_statement_says_what_is_asked(kind: str) -> None:
    exercise = exercises.get(kind)
    for layout in exercise.layouts:
        instance = exercise.draw(3, DrawOptions(layout=layout))
        statement = exercise.statement(instance)
        assert statement.text and statement.latex
        if len(exercise.layouts) > 1:
            assert layout in statement.text
        if "W" in exercise.given and kind != "cross_entropy_weight_grad":
            assert "stacks the columns of W" in statement.text


@pytest.mark.parametrize("kind", sorted(exercises.KINDS))
def test_suite_has_given_random_and_edge_instances(kind: str) -> None:
    exercise = exercises.get(kind)
    given = exercise.draw(9)
    suite = exercise.suite(7, given=given)
    assert suite[0] == given
    assert len(suite) >= 21
    edges = exercise.edge_cases(np.random.default_rng(0))
    assert 0 < len(edges) < len(suite) / 2
    for instance in suite:
        assert exercise.validate(instance) == instance
        assert np.all(np.isfinite(exercise.reference(instance)))


@pytest.mark.parametrize(
    ("instance", "message"),
    [
        ({"kind": "nope"}, "unknown kind"),
        ({"kind": "softmax"}, "needs 'z'"),
        ({"kind": "softmax", "z": []}, "non-empty"),
        ({"kind": "softmax", "z": [1, "a"]}, "numbers only"),
        ({"kind": "softmax", "z": [1, float("nan")]}, "NaN"),
        ({"kind": "layer_jacobian", "W": [[1, 2], [3]], "x": [1, 2]}, "ragged"),
        ({"kind": "layer_jacobian", "W": [[1, 2], [3, 4]], "x": [1, 2, 3]}, "must agree"),
        ({"kind": "cross_entropy_logits_grad", "z": [1, 2], "c": 2}, "out of range"),
        ({"kind": "cross_entropy_logits_grad", "z": [1, 2], "c": 0.5}, "integer"),
        ({"kind": "softmax", "z": [1], "layout": "denominator"}, "not offered"),
        ({"kind": "softmax", "z": [1], "extra": 1}, "unknown field"),
        ({"kind": "jacobian_warmup", "x1": True, "x2": 1}, "number"),
        ({"kind": "softmax", "z": [0.0] * 100}, "too large"),
        ([1, 2], "JSON object"),
    ],
)
def test_malformed_instances_are_refused_with_a_message(instance: object, message: str) -> None:
    with pytest.raises(InstanceError, match=message):
        exercises.validate(instance)


# ---- the declared inputs -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "declared"),
    [
        ("softmax", [("z", "vector", ("K",))]),
        ("softmax_jacobian", [("z", "vector", ("K",))]),
        ("logits_weight_jacobian", [("W", "matrix", ("n", "K")), ("x", "vector", ("n",))]),
        ("layer_jacobian", [("W", "matrix", ("n", "K")), ("x", "vector", ("n",))]),
        ("cross_entropy_logits_grad", [("z", "vector", ("K",)), ("c", "class_index", ("K",))]),
        (
            "cross_entropy_weight_grad",
            [("W", "matrix", ("n", "K")), ("x", "vector", ("n",)), ("c", "class_index", ("K",))],
        ),
        ("jacobian_warmup", [("x1", "scalar", ()), ("x2", "scalar", ())]),
    ],
)
def test_each_kind_declares_the_given_values_of_the_conventions(kind: str, declared: list) -> None:
    exercise = exercises.get(kind)
    assert [(given.name, given.type, given.size) for given in exercise.inputs] == declared
    assert exercise.given == tuple(name for name, _, _ in declared)


@pytest.mark.parametrize(
    ("kind", "options", "drawn"),
    [
        ("softmax", DrawOptions(n=2, K=3), {"z": [0.55, -0.92, -1.84]}),
        ("cross_entropy_logits_grad", None, {"z": [-0.92, -1.84, -1.93, 1.25, 1.65], "c": 3}),
        (
            "cross_entropy_weight_grad",
            DrawOptions(n=2, K=3),
            {"W": [[0.55, -0.92, -1.84], [-1.93, 1.25, 1.65]], "x": [0.43, 0.92], "c": 1},
        ),
        ("jacobian_warmup", None, {"x1": 0.55, "x2": -0.92, "layout": "numerator"}),
    ],
)
def test_a_seed_draws_what_it_always_drew(kind: str, options: DrawOptions | None, drawn: dict) -> None:
    # a student's instance not yet stored is drawn again from its seed: it must not change
    assert exercises.get(kind).draw(0, options) == {"kind": kind, **drawn}


def test_function_arguments_follow_the_declared_types() -> None:
    exercise = exercises.get("cross_entropy_weight_grad")
    arguments = exercise.arguments(exercise.draw(2))
    assert list(arguments) == ["W", "x", "c"]
    assert arguments["W"].dtype == np.float64 and arguments["W"].ndim == 2 and arguments["x"].ndim == 1
    assert type(arguments["c"]) is int
    warmup = exercises.get("jacobian_warmup")
    assert warmup.arguments({"kind": "jacobian_warmup", "x1": 1, "x2": 2}) == {"x1": 1.0, "x2": 2.0}


def test_sizes_come_from_the_declared_symbols() -> None:
    exercise = exercises.get("cross_entropy_weight_grad")
    instance = exercise.draw(1, DrawOptions(n=2, K=4))
    assert exercise.sizes(instance) == {"n": 2, "K": 4} and exercise.num_classes(instance) == 4
    assert exercises.get("jacobian_warmup").num_classes(exercises.get("jacobian_warmup").draw(1)) == 0
    assert exercise.describe(instance) == "W of shape (2, 4), x of shape (2,), c = " + str(instance["c"])


def test_values_that_follow_one_size_must_agree_and_the_message_names_them() -> None:
    instance = {"kind": "cross_entropy_weight_grad", "W": [[1, 2], [3, 4]], "x": [1, 2, 3], "c": 0}
    with pytest.raises(InstanceError, match="W has 2 rows but x has 3 entries: both are n"):
        exercises.validate(instance)
    with pytest.raises(InstanceError, match=r"c = 2 is out of range: classes are 0\.\.1"):
        exercises.validate({**instance, "x": [1, 2], "c": 2})


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ((Input("c", "class_index", ("K",)),), "no vector or matrix"),
        ((Input("z", "vector", ("K",)), Input("z", "scalar")), "distinct"),
        ((Input("layout", "scalar"),), "distinct"),
    ],
)
def test_registering_refuses_declarations_that_do_not_hold_together(declared: tuple, message: str) -> None:
    class Broken(Exercise):
        name = "broken"
        title = "Broken"
        inputs = declared

        def _reference(self, instance: dict) -> np.ndarray:
            return np.zeros(1)

        def statement(self, instance: dict) -> exercises.Statement:
            return exercises.Statement("", "")

    with pytest.raises(ValueError, match=message):
        exercises.register(Broken())
    assert "broken" not in exercises.KINDS


@pytest.mark.parametrize(
    ("arguments", "message"),
    [(("v", "tensor", ("K",)), "unknown type"), (("v", "matrix", ("K",)), "follows 2 size")],
)
def test_an_input_declaration_is_checked(arguments: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Input(*arguments)
