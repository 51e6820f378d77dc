"""Reading typed answers: the articles' prints, every notation, errors that point, and fuzzing."""

from __future__ import annotations

import json
import math
import pickle
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grader.judge.answers import (
    ParseError,
    ReadAnswer,
    common,
    json_reader,
    latex_reader,
    read_answer,
    text_reader,
)
from tests.articles import (
    LAYER_DL,
    LAYER_DL_PRINT,
    LAYER_DL_SHORTCUT_PRINT,
    LAYER_DS,
    LAYER_DS_PRINT,
    LAYER_DZ_PRINT,
    LAYER_S,
    LAYER_S_PRINT,
    LAYER_X,
)

NAN, INF = math.nan, math.inf


def layer_dz() -> np.ndarray:
    """dZ/dW as the article prints it: denominator layout, x down each class's block."""
    dz = np.zeros((15, 5))
    for k in range(5):
        dz[3 * k : 3 * k + 3, k] = LAYER_X
    return dz


# ---- the articles' prints, pasted as a student would ------------------------------------

ARTICLE_PRINTS = [
    pytest.param(LAYER_DS_PRINT, LAYER_DS, id="dS/dz 5x5"),
    pytest.param(LAYER_DZ_PRINT, layer_dz(), id="dZ/dW 15x5"),
    pytest.param(LAYER_DL_PRINT, LAYER_DL, id="dS/dW 5x15 wrapped"),
    pytest.param(
        LAYER_DL_SHORTCUT_PRINT,
        np.where(np.isclose(LAYER_DL, 0.0810), 0.08105, LAYER_DL),
        id="dS/dW shortcut 5x15",
    ),
    pytest.param(LAYER_S_PRINT, LAYER_S, id="S vector"),
]


@pytest.mark.parametrize(("text", "expected"), ARTICLE_PRINTS)
@pytest.mark.parametrize(
    "paste",
    [
        pytest.param(lambda t: t, id="verbatim"),
        pytest.param(lambda t: t + "\n", id="trailing newline"),
        pytest.param(lambda t: "\n  " + t + "  \n\n", id="surrounding whitespace"),
        pytest.param(lambda t: t.replace("\n", "\r\n"), id="CRLF"),
        pytest.param(lambda t: t.replace("-", "\u2212"), id="unicode minus"),
    ],
)
def test_article_prints_read_exactly(text, expected, paste):
    read = read_answer(paste(text), "text")
    expected = np.asarray(expected, dtype=np.float64)
    assert read.array.dtype == np.float64
    assert read.array.shape == expected.shape
    np.testing.assert_array_equal(read.array, expected)
    assert read.notation == "numpy"


def test_article_entries_that_break_the_column_alignment():
    ds = read_answer(LAYER_DS_PRINT, "text").array
    assert ds[2, 2] == 0.1699015  # one space before it, where the others have two
    dl = read_answer(LAYER_DL_PRINT, "text").array
    assert dl[1, 4] == 0.0810
    assert dl.shape == (5, 15)


@pytest.mark.parametrize(
    ("text", "description"),
    [
        (LAYER_DL_PRINT, "read as a 5 x 15 matrix (numpy print)"),
        (LAYER_DZ_PRINT, "read as a 15 x 5 matrix (numpy print)"),
        (LAYER_S_PRINT, "read as a vector of 5 entries (numpy print)"),
    ],
)
def test_article_descriptions(text, description):
    assert read_answer(text, "text").description == description


@pytest.mark.parametrize("text", [LAYER_DS_PRINT, LAYER_DZ_PRINT, LAYER_DL_PRINT])
def test_article_prints_take_the_fast_path_and_agree_with_the_full_reader(text):
    fast = text_reader.read_bracketed_fast(text)
    assert fast is not None
    slow = text_reader.read_text(text)
    np.testing.assert_array_equal(fast[0], slow[0])
    assert fast[1] == slow[1]


# ---- every notation ----------------------------------------------------------------------

TEXT_CASES = [
    # numpy print
    ("[1 2 3]", [1, 2, 3], "numpy"),
    ("[ 1.5e-03 -0.  0.  nan inf -inf]", [1.5e-3, -0.0, 0.0, NAN, INF, -INF], "numpy"),
    ("[[1. 2.]\n [3. 4.]]", [[1, 2], [3, 4]], "numpy"),
    ("[[ 1.00000000e+00 -2.50000000e-05]\n [ 3.0e+02  4.0e-01]]", [[1, -2.5e-5], [300, 0.4]], "numpy"),
    ("[[1 2] [3 4]]", [[1, 2], [3, 4]], "numpy"),
    ("[[1 2 3]]", [[1, 2, 3]], "numpy"),
    ("[[1]\n [2]\n [3]]", [[1], [2], [3]], "numpy"),
    ("[[NaN Infinity]\n [-Infinity +5]]", [[NAN, INF], [-INF, 5]], "numpy"),
    (str(np.arange(20) / 8), np.arange(20) / 8, "numpy"),
    # numpy pads "0." to "0.    " on the right, invisibly: the line is full all the same.
    (str(np.r_[np.zeros(11), 0.0625]), np.r_[np.zeros(11), 0.0625], "numpy"),
    (str(np.r_[-np.inf, np.arange(30) * 100.5]), np.r_[-np.inf, np.arange(30) * 100.5], "numpy"),
    ("DS = [[1 2]\n [3 4]]", [[1, 2], [3, 4]], "numpy"),
    # JSON-looking text
    ("[1, 2, 3]", [1, 2, 3], "json"),
    ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]], "json"),
    ("[[1.0, NaN], [Infinity, -Infinity]]", [[1, NAN], [INF, -INF]], "json"),
    ("[\n  [1, 2],\n  [3, 4]\n]", [[1, 2], [3, 4]], "json"),
    ("[\n  1,\n  2\n]", [1, 2], "json"),
    ("[[1], [2], [3]]", [[1], [2], [3]], "json"),
    ("[[1]\n, [2]\n, [3]]", [[1], [2], [3]], "json"),
    ("[1\n, 2\n, 3]", [1, 2, 3], "json"),
    ("[np.float64(0.1), np.float64(-2.5)]", [0.1, -2.5], "json"),
    # numpy repr
    ("array([[ 1. , -0.5],\n       [ 0. ,  2. ]])", [[1, -0.5], [0, 2]], "numpy repr"),
    ("array([1.5e-03, 2.0e+00], dtype=float64)", [1.5e-3, 2.0], "numpy repr"),
    ("np.array([[1, 2], [3, 4]])", [[1, 2], [3, 4]], "numpy repr"),
    ("array([[1., 2.],\n       [3., 4.]],\n      dtype=float64)", [[1, 2], [3, 4]], "numpy repr"),
    (repr(np.arange(20) / 8), np.arange(20) / 8, "numpy repr"),
    # MATLAB
    ("[1 2; 3 4]", [[1, 2], [3, 4]], "matlab"),
    ("[1, 2; 3, 4]", [[1, 2], [3, 4]], "matlab"),
    ("[1 2\n 3 4]", [[1, 2], [3, 4]], "matlab"),
    ("[1 2;\n 3 4;]", [[1, 2], [3, 4]], "matlab"),
    ("[\n1 2\n3 4\n]", [[1, 2], [3, 4]], "matlab"),
    ("A = [1 2; 3 4];", [[1, 2], [3, 4]], "matlab"),
    ("[1; 2; 3]", [[1], [2], [3]], "matlab"),
    ("[1\n2\n3]", [[1], [2], [3]], "matlab"),
    # Ten entries of width 7 never share a numpy line (nine fit): these are rows.
    ("[" + "\n ".join(["0.12345 " * 9 + "0.12345"] * 2) + "]", [[0.12345] * 10] * 2, "matlab"),
    # LaTeX
    (r"\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}", [[1, 2], [3, 4]], "latex"),
    (r"$\begin{pmatrix} 1 & -2 \\ 3 & 4 \\ \end{pmatrix}$", [[1, -2], [3, 4]], "latex"),
    (r"$$\left[\begin{array}{cc} 1 & 2 \\ 3 & 4 \end{array}\right]$$", [[1, 2], [3, 4]], "latex"),
    (r"\[ J = \begin{bmatrix}1\\2\\3\end{bmatrix} \]", [[1], [2], [3]], "latex"),
    (r"\begin{bmatrix} 1 & 2 & 3 \end{bmatrix}", [[1, 2, 3]], "latex"),
    (r"1 & 2 \\ 3 & 4", [[1, 2], [3, 4]], "latex"),
    (
        r"\begin{bmatrix} 1.5 \times 10^{-3} & \phantom{-}2 \\ -\infty & \text{NaN} \end{bmatrix}",
        [[1.5e-3, 2], [-INF, NAN]],
        "latex",
    ),
    (r"\begin{bmatrix*}[r] -0.5 & 1 \\[2pt] 2 & {-3} \end{bmatrix*}", [[-0.5, 1], [2, -3]], "latex"),
    (r"\begin{pmatrix} \hline 1 & 2 \\ 3 & 4 \end{pmatrix}", [[1, 2], [3, 4]], "latex"),
    # plain rows
    ("1 2 3", [1, 2, 3], "rows"),
    ("1, 2, 3", [1, 2, 3], "rows"),
    ("1\t2\t3", [1, 2, 3], "rows"),
    ("0.5", [0.5], "rows"),
    ("1 2\n3 4", [[1, 2], [3, 4]], "rows"),
    ("1,2\n3,4\n", [[1, 2], [3, 4]], "rows"),
    ("1\t2\n3\t4", [[1, 2], [3, 4]], "rows"),
    ("1\n2\n3", [[1], [2], [3]], "rows"),
    ("1 2\n\n3 4\n", [[1, 2], [3, 4]], "rows"),
    ("  1 2\r\n3 4\r\n", [[1, 2], [3, 4]], "rows"),
    ("\u22121 2", [-1, 2], "rows"),
    ("1 2; 3 4", [[1, 2], [3, 4]], "rows"),
    ("[1 2 3]\n[4 5 6]", [[1, 2, 3], [4, 5, 6]], "rows"),
]


@pytest.mark.parametrize(("text", "expected", "notation"), TEXT_CASES)
def test_text_notations(text, expected, notation):
    read = read_answer(text, "text")
    expected = np.asarray(expected, dtype=np.float64)
    assert isinstance(read, ReadAnswer)
    assert read.array.dtype == np.float64
    assert read.array.shape == expected.shape
    np.testing.assert_array_equal(read.array, expected)
    assert read.notation == notation
    assert common.NOTATION_LABELS[notation] in read.description


JSON_CASES = [
    ("[1, 2, 3]", [1, 2, 3]),
    ("[[1, 2, 3]]", [[1, 2, 3]]),
    ("[[1], [2], [3]]", [[1], [2], [3]]),
    ("[[1, 2.5], [-3e-2, 4]]", [[1, 2.5], [-0.03, 4]]),
    ("2.5", [2.5]),
    ('"nan"', [NAN]),
    ("[NaN, Infinity, -Infinity]", [NAN, INF, -INF]),
    ('["nan", "inf", "-inf", "Infinity", " NaN "]', [NAN, INF, -INF, INF, NAN]),
    ('[[1, "nan"], ["-inf", 2]]', [[1, NAN], [-INF, 2]]),
    ("[1e400, -1e400]", [INF, -INF]),
    ("[" + "1" * 400 + "]", [INF]),
    ("[-0.0, 0]", [-0.0, 0.0]),
    ("\n[\n  [1, 2],\n  [3, 4]\n]\n", [[1, 2], [3, 4]]),
    ("[\u22121]", [-1]),
]


@pytest.mark.parametrize(("text", "expected"), JSON_CASES)
def test_json(text, expected):
    read = read_answer(text, "json")
    expected = np.asarray(expected, dtype=np.float64)
    assert read.array.dtype == np.float64
    assert read.array.shape == expected.shape
    np.testing.assert_array_equal(read.array, expected)
    assert read.notation == "json"


@pytest.mark.parametrize(
    ("text", "fmt", "shape", "description"),
    [
        ("[1 2 3]", "text", (3,), "read as a vector of 3 entries (numpy print)"),
        ("[[1 2 3]]", "text", (1, 3), "read as a row of 3 entries, a 1 x 3 matrix (numpy print)"),
        ("[[1],[2],[3]]", "text", (3, 1), "read as a column of 3 entries, a 3 x 1 matrix (JSON)"),
        ("[1; 2; 3]", "text", (3, 1), "read as a column of 3 entries, a 3 x 1 matrix (MATLAB)"),
        ("1\n2\n3", "text", (3, 1), "read as a column of 3 entries, a 3 x 1 matrix (rows of numbers)"),
        ("1 2 3", "text", (3,), "read as a vector of 3 entries (rows of numbers)"),
        ("[1, 2, 3]", "json", (3,), "read as a vector of 3 entries (JSON)"),
        ("[[1, 2, 3]]", "json", (1, 3), "read as a row of 3 entries, a 1 x 3 matrix (JSON)"),
        ("[[1], [2]]", "json", (2, 1), "read as a column of 2 entries, a 2 x 1 matrix (JSON)"),
        ("7", "json", (1,), "read as a vector of 1 entry (JSON)"),
        ("[[7]]", "json", (1, 1), "read as a 1 x 1 matrix (JSON)"),
    ],
)
def test_rows_and_columns_keep_the_shape_written(text, fmt, shape, description):
    read = read_answer(text, fmt)
    assert read.array.shape == shape
    assert read.description == description


# ---- errors that point at the place ------------------------------------------------------

ERROR_CASES = [
    ("[1 2 3", "text", 1, 7, "expected ']' to close the '[' at line 1, column 1"),
    ("[[1 2]\n [3]]", "text", 2, 2, "row 2 has 1 entry but row 1 has 2"),
    ("1 2 3\n4 5", "text", 2, 1, "row 2 has 2 entries but row 1 has 3"),
    ("[1 2 3] [4 5]", "text", 1, 9, "row 2 has 2 entries but row 1 has 3"),
    (r"\begin{bmatrix} 1 & 2 \\ 3 \end{bmatrix}", "text", 1, 26, "row 2 has 1 entry but row 1 has 2"),
    ("[1 2; 3]", "text", 1, 7, "row 2 has 1 entry but row 1 has 2"),
    ("[[1, 2], [3]]", "json", 1, 10, "row 2 has 1 entry but row 1 has 2"),
    ("[1, 2, abc]", "text", 1, 8, "expected a number, found 'abc'"),
    ("[[1 2]\n [3 abc]]", "text", 2, 5, "expected a number, found 'abc'"),
    ("[1, 2, abc]", "json", 1, 8, "not valid JSON: expected a number, found 'abc'"),
    ("[1, 2]\n  oops", "json", 2, 3, "unexpected text after the end of the answer"),
    ("[1, 2", "json", 1, 6, "found the end of the answer"),
    ("[[[1]]]", "json", 1, 3, "too many nested brackets"),
    ("[[[1]]]", "text", 1, 3, "too many nested brackets"),
    ("[[1, 2],\n [3, [4]]]", "json", 2, 6, "too many nested brackets"),
    ("[" * 5000, "json", 1, 3, "too many nested brackets"),
    ("[" * 5000, "text", 1, 3, "too many nested brackets"),
    ("[1, 2,\n 3,, 4]", "text", 2, 4, "expected a number, found ','"),
    ("0,5 0,3", "text", 1, 5, "decimal comma"),
    ("[1, 2 3]", "text", 1, 7, "separated by commas in one place and by spaces in another"),
    ("[1 2]]", "text", 1, 6, "found ']' without a matching '['"),
    ("1-2", "text", 1, 1, "expected a number, found '1-2'"),
    ("[1.2.3]", "text", 1, 2, "found '1.2.3'"),
    ("[1 2 [3]]", "text", 1, 6, "expected a number, found '['"),
    ("[[1 2] 3]", "text", 1, 8, "expected a row '[...]', found '3'"),
    ("1 2 [3 4]", "text", 1, 5, "put the whole answer inside one pair"),
    ("[1 2 3]\n  x", "text", 2, 3, "expected a number, found 'x'"),
    ("[1, 2, ..., 9]", "text", 1, 8, "abbreviated with '...'"),
    (r"\begin{bmatrix} 1 & \cdots \end{bmatrix}", "text", 1, 21, "abbreviated"),
    ("[]", "text", 1, 1, "the brackets hold no numbers"),
    ("[[1 2]\n []]", "text", 2, 2, "row 2 is empty"),
    ("[]", "json", 1, 1, "the list is empty"),
    ("[[1], []]", "json", 1, 7, "row 2 is empty"),
    ('{"a": 1}', "json", 1, 1, "expected a number, found an object"),
    ("[true, 1]", "json", 1, 2, "expected a number, found true"),
    ("[1, null]", "json", 1, 5, "found null"),
    ('[1, "abc"]', "json", 1, 5, 'found the string "abc"'),
    ("[[1, 2], 3]", "json", 1, 10, "expected a row '[...]' like the first, found '3.0'"),
    ("[1, [2]]", "json", 1, 5, "expected a number, found a list"),
    ("array([1, 2]", "text", 1, 13, "expected ')' to close 'array('"),
    ("array([1, 2]) 3", "text", 1, 15, "after the end of the array"),
    (r"\begin{bmatrix} 1 & x \\ 3 & 4 \end{bmatrix}", "text", 1, 21, "expected a number, found 'x'"),
    (r"\begin{bmatrix} 1 & 2", "text", 1, 22, r"expected \end{bmatrix}"),
    (r"\begin{tabular}{cc} 1 & 2 \end{tabular}", "text", 1, 8, "unknown LaTeX environment"),
    (r"\begin{bmatrix} 1 & \\ 3 & 4 \end{bmatrix}", "text", 1, 21, "row 1, entry 2 is empty"),
    (r"\begin{bmatrix} 1 & 2 \end{bmatrix} oops", "text", 1, 37, "unexpected 'oops'"),
    (r"M \begin{bmatrix} 1 \end{bmatrix}", "text", 1, 1, r"expected \begin{bmatrix}"),
]


@pytest.mark.parametrize(("text", "fmt", "line", "column", "fragment"), ERROR_CASES)
def test_unreadable_answers_point_at_the_place(text, fmt, line, column, fragment):
    with pytest.raises(ParseError) as caught:
        read_answer(text, fmt)
    error = caught.value
    assert fragment in error.message
    assert (error.line, error.column) == (line, column)
    assert str(error) == f"line {line}, column {column}: {error.message}"


def test_error_sentence_names_line_and_column():
    with pytest.raises(ParseError) as caught:
        read_answer("[[1 2]\n [3 abc]]", "text")
    assert str(caught.value) == "line 2, column 5: expected a number, found 'abc'"


@pytest.mark.parametrize("fmt", ["json", "text"])
@pytest.mark.parametrize("text", ["", "   ", "\n\n", " \t\r\n "])
def test_empty_answer(text, fmt):
    with pytest.raises(ParseError) as caught:
        read_answer(text, fmt)
    assert caught.value.message == "the answer is empty"
    assert str(caught.value) == "the answer is empty"


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_too_long_is_refused(fmt):
    text = "0 " * 100_001
    with pytest.raises(ParseError) as caught:
        read_answer(text, fmt)
    assert "too long" in caught.value.message
    assert (caught.value.line, caught.value.column) == (1, common.MAX_CHARS + 1)


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("[[" + "1 " * 60 + "]]", "text"),
        ("[" + "1, " * 59 + "1]", "text"),
        ("1 " * 60, "text"),
        (r"\begin{bmatrix}" + "1 & " * 59 + r"1 \end{bmatrix}", "text"),
        ("[" + "1, " * 59 + "1]", "json"),
        ("[[" + "1, " * 59 + "1]]", "json"),
    ],
)
def test_too_many_entries_is_refused(text, fmt, monkeypatch):
    for reader in (json_reader, text_reader, latex_reader):
        monkeypatch.setattr(reader, "MAX_ENTRIES", 50)
    with pytest.raises(ParseError) as caught:
        read_answer(text, fmt)
    assert "too many entries" in caught.value.message
    assert caught.value.line == 1


@pytest.mark.parametrize(
    "text",
    [
        "[" * 200_000,
        "]" * 200_000,
        "1" * 200_000,
        "1 " * 99_999,
        "[[" + "1 " * 99_990 + "]]",
        "[[" + "1 " * 99_990 + "]",
        "[" + "1," * 99_990 + "]",
        "1e" + "9" * 199_990,
        "\\" * 200_000,
        "&" * 200_000,
        "\\begin{bmatrix}" * 10_000,
        "\n" * 199_999 + "x",
        "9" * 100_000 + "-" + "9" * 99_000,
    ],
)
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_big_hostile_inputs_end_quickly(text, fmt):
    started = time.perf_counter()
    try:
        read = read_answer(text, fmt)
    except ParseError as error:
        assert error.line is not None
    else:
        assert read.array.ndim in (1, 2)
    assert time.perf_counter() - started < 5.0


def test_parse_error_interface():
    error = ParseError("expected a number, found 'abc'", 2, 7)
    assert isinstance(error, ValueError)
    assert (error.message, error.line, error.column) == ("expected a number, found 'abc'", 2, 7)
    assert str(error) == "line 2, column 7: expected a number, found 'abc'"
    assert str(ParseError("oops", 3)) == "line 3: oops"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.message, copy.line, copy.column, str(copy)) == (
        error.message,
        error.line,
        error.column,
        str(error),
    )


def test_unknown_format_is_a_parse_error():
    with pytest.raises(ParseError, match="unknown answer format"):
        read_answer("[1]", "yaml")  # type: ignore[arg-type]


# ---- fuzzing: anything in, a ReadAnswer or a ParseError out -------------------------------

VALID_SAMPLES = [
    LAYER_DS_PRINT,
    LAYER_DL_PRINT,
    LAYER_S_PRINT,
    *(text for text, _, _ in TEXT_CASES),
    *(text for text, _ in JSON_CASES),
]
ALPHABET = "[](),;&\\ \n\t-+.eE0123456789naifINF$_{}xy=\"'…\u2212"


def assert_read_or_refused(text: str, fmt: str) -> None:
    try:
        read = read_answer(text, fmt)  # type: ignore[arg-type]
    except ParseError as error:
        assert error.message
        if error.message != "the answer is empty":
            assert isinstance(error.line, int)
            assert isinstance(error.column, int)
            assert error.line >= 1
            assert error.column >= 1
        return
    assert isinstance(read, ReadAnswer)
    assert isinstance(read.array, np.ndarray)
    assert read.array.dtype == np.float64
    assert read.array.ndim in (1, 2)
    assert read.array.size >= 1
    assert read.notation in common.NOTATION_LABELS
    assert read.description.startswith("read as ")


@st.composite
def mutated_answers(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID_SAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        char = draw(st.one_of(st.sampled_from(ALPHABET), st.characters()))
        if edit == "insert":
            text = text[:position] + char + text[position:]
        elif edit == "delete":
            text = text[:position] + text[position + 1 :]
        elif edit == "replace":
            text = text[:position] + char + text[position + 1 :]
        else:
            end = draw(st.integers(position, min(len(text), position + 20)))
            text = text[:end] + text[position:end] + text[end:]
    return text


@settings(max_examples=500, deadline=None)
@given(text=st.text(), fmt=st.sampled_from(["json", "text"]))
def test_fuzz_arbitrary_text(text, fmt):
    assert_read_or_refused(text, fmt)


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=ALPHABET, max_size=60), fmt=st.sampled_from(["json", "text"]))
def test_fuzz_text_made_of_answer_characters(text, fmt):
    assert_read_or_refused(text, fmt)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated_answers(), fmt=st.sampled_from(["json", "text"]))
def test_fuzz_mutated_answers(text, fmt):
    assert_read_or_refused(text, fmt)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated_answers())
def test_fast_path_agrees_with_the_full_reader(text):
    fast = text_reader.read_bracketed_fast(text.replace("\u2212", "-"))
    if fast is None:
        return
    slow = text_reader.read_text(text.replace("\u2212", "-"))
    np.testing.assert_array_equal(fast[0], slow[0])
    assert fast[1] == slow[1]


# ---- round trips: what numpy and json print reads back -----------------------------------

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
tiny_or_huge = st.floats(allow_nan=False, allow_infinity=False).filter(lambda v: abs(v) < 1e300)
any_float = st.one_of(finite, tiny_or_huge, st.sampled_from([NAN, INF, -INF, 0.0, -0.0]))
shapes = st.one_of(
    hnp.array_shapes(min_dims=1, max_dims=1, min_side=1, max_side=40),
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9),
)


def assert_printed_values(read: np.ndarray, original: np.ndarray) -> None:
    assert read.shape == original.shape
    # numpy prints 8 digits: after the point in fixed notation, of the mantissa otherwise.
    np.testing.assert_allclose(read, original, rtol=1e-7, atol=1e-8, equal_nan=True)


@settings(max_examples=300, deadline=None)
@given(matrix=hnp.arrays(np.float64, shapes, elements=finite))
def test_round_trip_numpy_str(matrix):
    assert_printed_values(read_answer(str(matrix), "text").array, matrix)


@settings(max_examples=300, deadline=None)
@given(matrix=hnp.arrays(np.float64, shapes, elements=any_float))
def test_round_trip_numpy_str_any_float(matrix):
    assert_printed_values(read_answer(str(matrix), "text").array, matrix)


@settings(max_examples=300, deadline=None)
@given(matrix=hnp.arrays(np.float64, shapes, elements=any_float))
def test_round_trip_numpy_repr(matrix):
    read = read_answer(repr(matrix), "text")
    assert read.notation == "numpy repr"
    assert_printed_values(read.array, matrix)


@settings(max_examples=300, deadline=None)
@given(
    matrix=hnp.arrays(np.float64, shapes, elements=any_float),
    fmt=st.sampled_from(["json", "text"]),
)
def test_round_trip_json_dumps(matrix, fmt):
    read = read_answer(json.dumps(matrix.tolist()), fmt)
    # A one-entry list has no comma, so as text it reads as a numpy print.
    assert read.notation == "json" or (fmt == "text" and matrix.size == 1)
    np.testing.assert_array_equal(read.array, matrix)


@settings(max_examples=200, deadline=None)
@given(
    matrix=hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6), elements=finite
    ),
    separator=st.sampled_from([" ", "\t", ", ", ","]),
)
def test_round_trip_rows_and_matlab(matrix, separator):
    lines = [separator.join(repr(float(v)) for v in row) for row in matrix]
    rows = read_answer("\n".join(lines), "text").array
    matlab = read_answer("[" + "; ".join(lines) + "]", "text").array
    expected = matrix if matrix.shape[0] > 1 else matrix[0]
    np.testing.assert_array_equal(rows, expected)
    np.testing.assert_array_equal(matlab, expected)


@settings(max_examples=200, deadline=None)
@given(
    matrix=hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6), elements=finite
    )
)
def test_round_trip_latex(matrix):
    body = r" \\ ".join(" & ".join(repr(float(v)) for v in row) for row in matrix)
    read = read_answer(r"\begin{bmatrix} " + body + r" \end{bmatrix}", "text")
    np.testing.assert_array_equal(read.array, matrix)


EXACT = [1 / 3, math.exp(0.3), math.e**2, 2 * math.e, math.sqrt(2) / 2, 2.25]


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("[1/3, exp(0.3), e^2, 2e, sqrt(2)/2, 9*0.25]", "text"),
        ("[1/3 exp(0.3) e^2 2e sqrt(2)/2 9*0.25]", "text"),
        ("1/3, exp(0.3), e^2, 2e, sqrt(2)/2, 9*0.25", "text"),
        ("array([1/3, exp(0.3), e^2, 2e, sqrt(2)/2, 9*0.25])", "text"),
        (
            r"\begin{bmatrix} \frac{1}{3} & \exp(0.3) & e^{2} & 2e & \sqrt{2}/2 & 9 \cdot 0.25 \end{bmatrix}",
            "text",
        ),
        ('["1/3", "exp(0.3)", "e^2", "2e", "sqrt(2)/2", "9*0.25"]', "json"),
    ],
)
def test_exact_entries_in_every_notation(text, fmt):
    array = read_answer(text, fmt).array.ravel()
    np.testing.assert_allclose(array, EXACT, rtol=1e-12)


def test_exact_entries_in_matlab_and_rows_keep_the_shape():
    assert read_answer("[1/3 2e; e^2 -1/2]", "text").array.shape == (2, 2)
    assert read_answer("1/3 2e\ne^2 exp(-0.3)", "text").array[1, 1] == pytest.approx(math.exp(-0.3))


@pytest.mark.parametrize("text", ["[1, __import__('os')]", "[1, x.real]", "[1-2 3]", "[exp(1,2)]"])
def test_exact_entries_are_never_run(text):
    with pytest.raises(ParseError, match="expected a number"):
        read_answer(text, "text")
