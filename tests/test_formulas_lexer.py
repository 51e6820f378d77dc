"""The formula lexer: a whitelist of tokens, unicode and LaTeX read as what they mean."""

from __future__ import annotations

import pytest

from grader.judge.formulas.lexer import MAX_CHARS, FormulaError, right_hand_side, tokenize


def texts(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in tokenize(text)]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        (
            "S_i − S_j",
            [
                ("name", "S"),
                ("sub", "_"),
                ("name", "i"),
                ("op", "-"),
                ("name", "S"),
                ("sub", "_"),
                ("name", "j"),
            ],
        ),
        ("σ·δ", [("name", "sigma"), ("op", "*"), ("name", "delta")]),
        ("ŷ ŷ", [("name", "y_hat"), ("name", "y_hat")]),
        ("y_hat", [("name", "y_hat")]),
        ("Sᵀ", [("name", "S"), ("sup", "^"), ("name", "T")]),
        ("x2²", [("name", "x2"), ("sup", "^"), ("num", "2")]),
        ("a**b", [("name", "a"), ("sup", "^"), ("name", "b")]),
        (r"\left( S \right)", [("open", "("), ("name", "S"), ("close", ")")]),
        (r"\operatorname{diag}(S)", [("name", "diag"), ("open", "("), ("name", "S"), ("close", ")")]),
        (r"\sum\limits_{k}", [("cmd", "sum"), ("sub", "_"), ("open", "{"), ("name", "k"), ("close", "}")]),
        (r"a \, \cdot b", [("name", "a"), ("cmd", "cdot"), ("name", "b")]),
        ("2e", [("num", "2"), ("name", "e")]),
        ("1.5e-3", [("num", "1.5e-3")]),
        ("(i==t)", [("open", "("), ("name", "i"), ("compare", "=="), ("name", "t"), ("close", ")")]),
        ("S ⊗ x", [("name", "S"), ("op", "kron"), ("name", "x")]),
    ],
)
def test_tokens(text: str, tokens: list[tuple[str, str]]) -> None:
    assert texts(text) == tokens


@pytest.mark.parametrize(("text", "offset"), [("S . x", 2), ("S_i # 1", 4), (r"S \input{x}", 2), ('"', 0)])
def test_anything_else_is_refused_at_its_place(text: str, offset: int) -> None:
    with pytest.raises(FormulaError) as caught:
        tokenize(text)
    assert caught.value.offset == offset and caught.value.code == "parse"


def test_too_long_is_refused() -> None:
    with pytest.raises(FormulaError, match="too long"):
        tokenize("S" * (MAX_CHARS + 1))
    assert tokenize("S" * MAX_CHARS)


@pytest.mark.parametrize(
    ("text", "start"),
    [("S_i", 0), ("dS_i/dz_j = S_i", 11), (r"\sum_{j=1}^K z_j", 0), ("(i==t) x_j", 0), ("a = b = c", 7)],
)
def test_the_formula_is_the_right_hand_side(text: str, start: int) -> None:
    assert right_hand_side(text) == start
