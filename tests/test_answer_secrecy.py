"""A student never receives the expected values of an instance the caller gave.

The item's own instance, or any instance sent to /check, whatever its layout or
the order of its values: its expected values are the answer. Only the hidden
instances the grader draws itself show theirs.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import exercises
from tests.conftest import Builder
from tests.test_pages import PASSWORD, log_in, post

CASES = [(name, layout) for name, exercise in exercises.KINDS.items() for layout in exercise.layouts]


def zeros_source(kind: str, instance: dict[str, Any]) -> str:
    """A function that returns zeros of the right (numerator) shape: wrong on every instance."""
    exercise, normal = exercises.validate({**instance, "layout": "numerator"} if "layout" in instance
                                          else instance)
    shape = tuple(exercise.reference(normal).shape)
    return f"import numpy as np\n\ndef {exercise.signature}:\n    return np.zeros({shape})\n"


def expected_lists(instance: dict[str, Any]) -> list[Any]:
    """The answer to ``instance`` in both layouts, as a verdict would carry it."""
    exercise, normal = exercises.validate(instance)
    right = exercise.reference(normal)
    return [right.tolist(), right.T.tolist()]


def assert_no_given_answer(verdict: dict[str, Any], given: dict[str, Any]) -> None:
    failed = verdict.get("failed_instance")
    assert failed is not None, verdict
    assert failed["index"] == 0  # the given instance is the first the function fails
    assert "expected" not in failed, failed
    assert all(entry["expected"] is None for entry in verdict["wrong_entries"])
    text = json.dumps(verdict)
    for expected in expected_lists(given):
        assert json.dumps(expected) not in text


def permuted(instance: dict[str, Any]) -> dict[str, Any]:
    """The same question with its values in another order (and so another instance)."""
    copy = dict(instance)
    if "z" in copy and len(copy["z"]) > 1:
        copy["z"] = copy["z"][-1:] + copy["z"][:-1]
    elif "W" in copy and np.shape(copy["W"])[1] > 1:
        copy["W"] = [row[-1:] + row[:-1] for row in copy["W"]]
    elif "x1" in copy:
        copy["x1"], copy["x2"] = copy["x2"], copy["x1"]
    return copy


@pytest.fixture
def items(build: Builder, people: dict[str, Any]) -> dict[tuple[str, str], int]:
    specs = [{"kind": kind, "layout": layout, "n": 2, "K": 3} for kind, layout in CASES]
    _, item_ids = build.assignment(people["course_id"], specs)
    return dict(zip(CASES, item_ids, strict=True))


@pytest.mark.parametrize(("kind", "layout"), CASES)
def test_submissions_hide_the_answer_to_the_students_own_instance(client, people, items, kind, layout):
    alice, item_id = people["alice"], items[(kind, layout)]
    instance = client.get(f"/api/v1/items/{item_id}", headers=alice.headers).get_json()["instance"]
    assert instance.get("layout", "numerator") == layout
    response = client.post(
        "/api/v1/submissions",
        json={"item_id": item_id, "answer": zeros_source(kind, instance), "format": "python"},
        headers=alice.headers,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["verdict"]["correct"] is False
    assert_no_given_answer(body["verdict"], instance)
    again = client.get(f"/api/v1/submissions/{body['id']}", headers=alice.headers).get_json()
    assert_no_given_answer(again["verdict"], instance)


@pytest.mark.parametrize(("kind", "layout"), CASES)
def test_check_hides_the_answer_to_a_given_instance_in_any_order(client, people, items, kind, layout):
    alice, item_id = people["alice"], items[(kind, layout)]
    own = client.get(f"/api/v1/items/{item_id}", headers=alice.headers).get_json()["instance"]
    for given in (permuted(own), {**permuted(own), "layout": "numerator"}, own):
        response = client.post(
            "/api/v1/check",
            json={"instance": given, "answer": zeros_source(kind, given), "format": "python"},
            headers=alice.headers,
        )
        if response.status_code == 409:  # the student's own question: a submission, not a check
            continue
        assert response.status_code == 200, response.get_json()
        assert_no_given_answer(response.get_json(), given)


def test_hidden_instances_keep_their_expected_values(client, people):
    """A function right on the given instance but wrong elsewhere learns what a hidden one expects."""
    given = {"kind": "softmax", "z": [1.0, 2.0, 3.0]}
    source = (
        "import numpy as np\n\ndef softmax(z):\n"
        "    if list(z) == [1.0, 2.0, 3.0]:\n"
        "        return np.exp(z) / np.exp(z).sum()\n"
        "    return np.zeros(len(z))\n"
    )
    body = client.post("/api/v1/check", json={"instance": given, "answer": source, "format": "python"},
                       headers=people["alice"].headers).get_json()
    failed = body["failed_instance"]
    assert failed["index"] > 0 and failed["given"] is False
    exercise, hidden = exercises.validate(failed["instance"])
    assert np.allclose(failed["expected"], exercise.reference(hidden))


def test_the_page_never_shows_the_answer_to_the_students_own_instance(client, build, people):
    student = build.user("carol", password=PASSWORD)
    build.enrol(people["course_id"], student)
    _, (item_id,) = build.assignment(
        people["course_id"], [{"kind": "layer_jacobian", "layout": "denominator", "n": 2, "K": 3}]
    )
    log_in(client, "carol")
    instance = client.get(f"/api/v1/items/{item_id}", headers=student.headers).get_json()["instance"]
    page = post(client, f"/items/{item_id}/submit",
                {"answer": zeros_source("layer_jacobian", instance), "format": "python"},
                f"/items/{item_id}")
    html = client.get(page.headers["Location"]).get_data(as_text=True) if page.status_code == 302 \
        else page.get_data(as_text=True)
    assert "hidden instance" in html.lower() or "instance given" in html.lower(), html
    for expected in expected_lists(instance):
        assert json.dumps(expected) not in html
        assert json.dumps(expected, separators=(",", ":")) not in html
