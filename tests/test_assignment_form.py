"""The assignment form without script: rows added and removed by the server, only the layouts a kind
allows, K of at least 2, messages in the instructor's words, the preview brought into view.
(The same in a browser, with script: tests/test_browser.py.)"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.test_pages import log_in, post, school  # noqa: F401  (school is a fixture)

ROW = re.compile(r"<fieldset data-row>")


def rows_outside_template(page: str) -> int:
    return len(ROW.findall(re.sub(r"<template.*?</template>", "", page, flags=re.S)))


def form(**changes: str) -> dict[str, str]:
    values = {
        "title": "Quiz",
        "score_policy": "best",
        "rows": "2",
        "kind-0": "softmax",
        "K-0": "3",
        "layout-0": "numerator",
        "points-0": "1",
        "kind-1": "layer_jacobian",
        "n-1": "2",
        "K-1": "3",
        "layout-1": "denominator",
        "points-1": "2",
    }
    return {**values, **changes}


@pytest.fixture
def new_path(client: FlaskClient, school: dict[str, Any]) -> str:  # noqa: F811
    log_in(client, "teacher")
    return f"/courses/{school['course_id']}/assignments/new"


def test_the_form_has_one_row_a_row_template_and_no_inline_script(client: FlaskClient, new_path: str) -> None:
    page = client.get(new_path).get_data(as_text=True)
    assert rows_outside_template(page) == 1
    assert '<template id="item-row-template">' in page and 'name="kind-__i__"' in page
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None
    assert re.search(r"\son[a-z]+=", page) is None
    assert f'formaction="{new_path}#preview"' in page


def test_rows_are_added_and_removed_without_a_failed_save(client: FlaskClient, new_path: str) -> None:
    added = post(client, new_path, {**form(), "action": "add"}, new_path)
    page = added.get_data(as_text=True)
    assert added.status_code == 200 and "Nothing was saved" not in page
    assert rows_outside_template(page) == 3
    removed = post(client, new_path, {**form(), "action": "remove-0"}, new_path)
    page = removed.get_data(as_text=True)
    assert removed.status_code == 200 and "Nothing was saved" not in page
    assert rows_outside_template(page) == 1
    assert '<option value="layer_jacobian" data-layouts="numerator denominator" selected>' in page


def test_only_the_layouts_a_kind_allows_are_offered(client: FlaskClient, new_path: str) -> None:
    page = post(client, new_path, {**form(), "action": "add"}, new_path).get_data(as_text=True)
    softmax_row = page.split('id="layout-0"')[1].split("</select>")[0]
    assert '<option value="denominator"  hidden disabled>' in softmax_row
    layer_row = page.split('id="layout-1"')[1].split("</select>")[0]
    assert "hidden" not in layer_row
    assert '<option value="softmax" data-layouts="numerator" ' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": " "}, "Give the assignment a title"),
        ({"K-0": "1"}, "Item 1: K (the number of classes) must be at least 2"),
        ({"points-1": "0"}, "Item 2: the points must be above 0"),
        ({"max_attempts-0": "0"}, "Item 1: the number of attempts must be at least 1"),
        ({"n-1": "99"}, "Item 2: n (the number of inputs) must be at most 64"),
        ({"layout-0": "denominator"}, "Item 1: “The softmax function” is asked in numerator layout only"),
        ({"kind-0": "nonsense"}, "Item 1: choose its kind from the list"),
        ({"points-0": "lots"}, "Item 1: the points: “lots” is not a number"),
    ],
)
def test_messages_in_plain_words(
    client: FlaskClient, new_path: str, changes: dict[str, str], message: str
) -> None:
    response = post(client, new_path, {**form(**changes), "action": "save"}, new_path)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Nothing was saved" in page
    assert message in page
    for jargon in ("String should", "Input should", "greater than", "items.0", "softmax_jacobian:", "'"):
        assert jargon not in page.split('id="form-errors"')[1].split("</div>")[0]


@pytest.mark.parametrize(
    ("changes", "input_id"),
    [
        ({"title": " "}, "title"),
        ({"due_at": "soon"}, "due_at"),
        ({"kind-0": "nonsense"}, "kind-0"),
        ({"kind-0": "", "kind-1": ""}, "kind-0"),  # no item at all
        ({"K-0": "1"}, "K-0"),
        ({"n-1": "99"}, "n-1"),
        ({"layout-0": "denominator"}, "layout-0"),
        ({"points-1": "0"}, "points-1"),
        ({"max_attempts-0": "0"}, "max_attempts-0"),
    ],
)
def test_a_message_is_at_its_input_which_it_describes_and_which_has_the_focus(
    client: FlaskClient, new_path: str, changes: dict[str, str], input_id: str
) -> None:
    page = post(client, new_path, {**form(**changes), "action": "save"}, new_path).get_data(as_text=True)
    tag = re.search(rf'<(?:input|select)\b[^>]*\bid="{input_id}"[^>]*>', page, flags=re.S).group(0)
    assert re.search(rf'aria-describedby="([\w-]+ )?{input_id}-error"', tag)
    assert 'aria-invalid="true"' in tag and " autofocus" in tag
    assert page.count(f'id="{input_id}-error"') == 1 and page.count(" autofocus") == 1
    assert page.count('aria-invalid="true"') == 1
    assert f'<a href="#{input_id}">' in page.split('id="form-errors"')[1].split("</div>")[0]


def test_an_item_with_no_answer_form_marks_its_boxes_and_their_group(
    client: FlaskClient, new_path: str
) -> None:
    page = post(client, new_path, {**form(), "forms-shown-1": "1", "title": "Quiz 2", "action": "save"},
                new_path).get_data(as_text=True)
    assert "Item 2: the forms students may answer in: choose one at least" in page
    assert 'role="group" aria-labelledby="forms-label-1" aria-describedby="forms-1-matrix-error"' in page
    boxes = re.findall(r'<input type="checkbox" id="forms-1-[^>]*>', page)
    assert len(boxes) == 3 and all('aria-invalid="true"' in box for box in boxes)
    assert " autofocus" in boxes[0] and page.count(" autofocus") == 1


def test_every_message_is_said_at_once(client: FlaskClient, new_path: str) -> None:
    """A title taken is said with an item's mistakes, not only once they are mended."""
    page = post(client, new_path, {**form(**{"K-0": "1"}), "title": "Homework 1", "action": "save"},
                new_path).get_data(as_text=True)
    summary = page.split('id="form-errors"')[1].split("</div>")[0]
    assert summary.index("already has an assignment named “Homework 1”") < summary.index("Item 1: K")
    assert re.search(r'<input type="text" id="title"[^>]*autofocus', page)


@pytest.mark.parametrize(
    ("title", "message"),
    [(" ", "Give the assignment a title"), ("x" * 201, "The title is too long: at most 200 characters")],
)
def test_a_titles_own_problem_is_said_with_the_items_mistakes(
    client: FlaskClient, new_path: str, title: str, message: str
) -> None:
    """A blank or too long title is said in the same round as an item's mistakes, at the title."""
    response = post(client, new_path, {**form(**{"K-0": "1", "points-1": "0"}), "title": title,
                                       "action": "save"}, new_path)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = page.split('id="form-errors"')[1].split("</div>")[0]
    assert summary.index(message) < summary.index("Item 1: K") < summary.index("Item 2: the points")
    assert re.search(r'<input type="text" id="title"[^>]*aria-invalid="true"[^>]*autofocus', page, flags=re.S)
    assert re.search(rf'id="title-error"[^>]*>{re.escape(message)}', page)
    assert page.count(" autofocus") == 1


def test_a_row_answered_by_students_cannot_be_removed(
    client: FlaskClient,
    school: dict[str, Any],  # noqa: F811
) -> None:
    log_in(client, "alice")
    post(client, f"/items/{school['items'][0]}/submit", {"answer": "[1]", "format": "json"})
    log_in(client, "teacher")
    path = f"/assignments/{school['assignment_id']}/edit"
    page = client.get(path).get_data(as_text=True)
    assert 'value="remove-0"' not in page and 'value="remove-1"' in page
    kept = post(
        client,
        path,
        {"title": "Homework 1", "rows": "1", "item_id-0": str(school["items"][0]), "action": "remove-0"},
        path,
    ).get_data(as_text=True)
    assert "answered: kind and sizes are fixed" in kept
