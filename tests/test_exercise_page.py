"""The exercise page's verdict as a student reads it: mistakes in plain words, a failing function
call shown as matrices with NaN written as NaN; an answer that is not stored says why at its box."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from grader.judge import labels
from tests.conftest import Builder
from tests.test_pages import log_in, post, reference, school  # noqa: F401  (school is a fixture)

CONVENTION_CODES = [
    "shape",
    "not_finite",
    "parse",
    "transpose",
    "vec_order",
    "sign",
    "scale",
    "diagonal_only",
    "outer_only",
    "used_logits",
    "missing_input_factor",
    "forgot_one_hot",
    "partial",
    "not_normalised",
    "precision",
    "class_index",
    "power_rule",
    "other_instance",
    "follow_through",
    "formula_index",
    "incorrect",
    "property",
    "unstable_softmax",
    "timeout",
    "memory",
    "runtime_error",
    "forbidden",
    "syntax_error",
    "missing_function",
    "too_long",
    "sandbox_unavailable",
]


def test_every_code_has_plain_words() -> None:
    for code in CONVENTION_CODES:
        assert code in labels.LABELS, code
        assert labels.label(code) != code and labels.did(code)
    assert labels.label("transpose") == "rows and columns swapped"
    assert labels.label("a_new_code") == "a new code"  # the list is open
    assert set(CONVENTION_CODES) >= labels.CODE_ERRORS


def test_a_verdict_badge_speaks_plain_words(
    client: FlaskClient,
    build: Builder,
    school: dict[str, Any],  # noqa: F811
) -> None:
    log_in(client, "alice")
    item = school["items"][0]
    right = reference(build, item, school["alice"].id)
    post(client, f"/items/{item}/submit", {"answer": json.dumps(right.T.tolist()), "format": "json"})
    verdict = (
        client.get(f"/items/{item}").get_data(as_text=True).split('id="verdict"')[1].split("</section>")[0]
    )
    assert '<span class="badge bad" title="code transpose">rows and columns swapped</span>' in verdict
    exported = client.get("/api/v1/submissions", headers=school["alice"].headers).get_json()
    feedback = exported["submissions"][0]["verdict"]["feedback"][0]
    assert (feedback["code"], feedback["label"]) == ("transpose", "rows and columns swapped")


def test_a_failing_function_shows_its_instance_and_result_as_matrices(
    client: FlaskClient,
    school: dict[str, Any],  # noqa: F811
) -> None:
    log_in(client, "alice")
    item = school["items"][1]  # softmax, K = 3
    code = "import numpy as np\n\ndef softmax(z):\n    return np.full(len(z), np.nan)\n"
    post(client, f"/items/{item}/submit", {"answer": code, "format": "python"})
    page = client.get(f"/items/{item}").get_data(as_text=True)
    failed = page.split('class="failed-instance"')[1].split("</details>")[0]
    assert failed.count('<table class="matrix">') == 2  # z, then what was returned
    assert "<td>NaN</td>" in failed and "null" not in failed
    assert "Your function returned a vector of 3" in failed
    assert "NaN or infinity" in page  # the not_finite badge


def test_a_number_where_a_matrix_is_due_says_so(
    client: FlaskClient,
    build: Builder,
    school: dict[str, Any],  # noqa: F811
) -> None:
    _, (item,) = build.assignment(school["course_id"], [{"kind": "softmax_jacobian", "K": 3}], title="Quiz")
    log_in(client, "alice")
    post(
        client,
        f"/items/{item}/submit",
        {"answer": "def softmax_jacobian(z):\n    return 0.5\n", "format": "python"},
    )
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert "returned a single number (0.5); a 3 x 3 matrix is due" in page
    failed = page.split('class="failed-instance"')[1].split("</details>")[0]
    assert "Your function returned a single number" in failed and "<td>0.5</td>" in failed


def textarea(page: str, box: str) -> str:
    """The opening tag of the answer box ``box`` (its id)."""
    found = re.search(rf'<textarea id="{box}"[^>]*>', page)
    assert found, box
    return found.group(0)


@pytest.mark.parametrize(
    ("fmt", "box"), [("auto", "answer"), ("json", "answer"), ("formula", "formula"), ("python", "code")]
)
def test_an_answer_not_stored_says_why_at_its_own_box(
    client: FlaskClient,
    school: dict[str, Any],  # noqa: F811
    fmt: str,
    box: str,
) -> None:
    log_in(client, "alice")
    item = school["items"][0]  # a layer's Jacobian: answered with a matrix, a formula or code
    path = f"/items/{item}"
    response = post(client, f"{path}/submit", {"answer": "   ", "format": fmt}, token_from=path)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert page.count("The answer is empty") == 1
    assert f'<p class="field-error" role="alert" id="{box}-error">The answer is empty' in page
    tag = textarea(page, box)
    assert f'aria-describedby="{box}-hint {box}-error"' in tag
    assert 'aria-invalid="true"' in tag and " autofocus" in tag  # the box to fix has the focus
    for other in {"answer", "formula", "code"} - {box}:
        assert "aria-invalid" not in textarea(page, other) and "autofocus" not in textarea(page, other)
