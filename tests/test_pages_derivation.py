"""The derivation page: the parts in order, each answered in place, follow-through shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from exercises.layer import logits_weight_jacobian
from exercises.softmax import softmax, softmax_jacobian
from grader.service import derivations, variants
from grader.service.models import Assignment, Derivation
from tests.conftest import Builder
from tests.test_pages import PASSWORD, log_in, post


@pytest.fixture
def layer_steps(build: Builder) -> dict[str, Any]:
    teacher = build.user("teacher", "instructor", password=PASSWORD)
    alice = build.user("alice", password=PASSWORD)
    eve = build.user("eve", password=PASSWORD)
    course_id = build.course(teacher, [alice])
    assignment_id, _ = build.assignment(course_id, [{"kind": "softmax", "K": 3}])
    with build.sessionmaker.begin() as session:
        derivation = derivations.create(
            session, session.get(Assignment, assignment_id), "softmax_layer", n=2, K=3
        )
        did = derivation.id
        instance = variants.instance_for(session, derivation.parts[-1], alice.id)
    W, x = np.array(instance["W"]), np.array(instance["x"])
    return {"teacher": teacher, "alice": alice, "eve": eve, "id": did, "W": W, "x": x, "z": W.T @ x}


def submit(client, did: int, letter: str, array: Any, fmt: str = "auto") -> Any:
    text = array if isinstance(array, str) else json.dumps(np.asarray(array).tolist())
    path = f"/derivations/{did}"
    return post(client, f"{path}/parts/{letter}/submit", {"answer": text, "format": fmt}, token_from=path)


def test_the_page_shows_the_parts_in_order(client, layer_steps):
    log_in(client, "alice")
    page = client.get(f"/derivations/{layer_steps['id']}").get_data(as_text=True)
    headings = [page.index(f'id="part-{letter}-heading"') for letter in "abcd"]
    assert headings == sorted(headings)
    assert "The softmax layer, step by step" in page and "Given values (all parts)" in page


def test_follow_through_is_shown_with_its_pointer_and_later_corrections(client, layer_steps):
    log_in(client, "alice")
    did, W, x, z = layer_steps["id"], layer_steps["W"], layer_steps["x"], layer_steps["z"]
    S = softmax(z)
    diagonal_only = np.diag(S * (1 - S))
    assert submit(client, did, "b", diagonal_only).status_code == 302
    response = submit(client, did, "d", diagonal_only @ logits_weight_jacobian(W, x))
    assert response.status_code == 302 and response.location.endswith("#part-d")
    page = client.get(f"/derivations/{did}").get_data(as_text=True)
    assert "follow_through" in page and "from part (b)" in page and "fix (b)" in page
    assert "again since this answer was graded" not in page
    submit(client, did, "b", softmax_jacobian(z))
    page = client.get(f"/derivations/{did}").get_data(as_text=True)
    assert "follow_through" in page  # (d) keeps its verdict
    assert "again since this answer was graded" in page


@contextmanager
def statements(engine: sa.Engine) -> Iterator[list[str]]:
    """The SQL statements ``engine`` sends while the block runs."""
    sent: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany) -> None:
        sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("preset", ["softmax_layer", "cross_entropy"])
def test_a_view_reads_the_students_answers_once(client, layer_steps, build, preset):
    """One read of the student's answers serves every part's history and latest answer,
    however many parts there are."""
    did = layer_steps["id"]
    if preset != "softmax_layer":
        with build.sessionmaker.begin() as session:
            assignment = session.get(Derivation, did).assignment
            did = derivations.create(session, assignment, preset).id
    log_in(client, "alice")
    for letter in "abc":
        assert submit(client, did, letter, "[[1, 2], [3, 4]]", "text").status_code == 302
    with statements(build.engine) as sent:
        response = client.get(f"/derivations/{did}")
    assert response.status_code == 200
    reads = [statement for statement in sent if "FROM submissions" in statement]
    assert len(reads) == 1, reads


@pytest.mark.parametrize("answered", ["abc", ""])
def test_a_view_reads_the_students_variants_once(client, layer_steps, build, answered):
    """One read of the variants table gives every part its numbers, the draw its form sends and
    which draw each answer was to, answered or not yet (then the numbers are drawn, not stored)."""
    did = layer_steps["id"]
    log_in(client, "alice")
    for letter in answered:
        assert submit(client, did, letter, "[[1, 2], [3, 4]]", "text").status_code == 302
    with statements(build.engine) as sent:
        response = client.get(f"/derivations/{did}")
    assert response.status_code == 200
    reads = [statement for statement in sent if "FROM variants" in statement]
    assert len(reads) == 1, reads


def test_a_part_page_links_to_its_derivation(client, layer_steps, build):
    log_in(client, "alice")
    with build.sessionmaker() as session:
        first = session.get(Derivation, layer_steps["id"]).parts[0].id
    page = client.get(f"/items/{first}").get_data(as_text=True)
    assert f"/derivations/{layer_steps['id']}" in page


@pytest.mark.parametrize(
    ("answer", "fmt", "status"),
    [("", "auto", 422), ("def softmax(z):\n    return z", "python", 422), ("[[1, 2", "text", 302)],
)
def test_bad_answers_get_a_message_or_a_verdict(client, layer_steps, answer, fmt, status):
    log_in(client, "alice")
    response = submit(client, layer_steps["id"], "a", answer, fmt)
    assert response.status_code == status


def test_an_answer_not_stored_says_why_at_its_part(client, layer_steps):
    log_in(client, "alice")
    page = submit(client, layer_steps["id"], "b", "  ").get_data(as_text=True)
    assert '<p class="field-error" role="alert" id="answer-b-error">The answer is empty' in page
    box = page.split('<textarea id="answer-b"', 1)[1].split(">", 1)[0]
    assert 'aria-describedby="answer-b-hint answer-b-error"' in box
    assert 'aria-invalid="true"' in box and " autofocus" in box
    assert "aria-invalid" not in page.split('<textarea id="answer-a"', 1)[1].split(">", 1)[0]


@pytest.mark.parametrize(("who", "path", "status"), [
    ("eve", "/derivations/{id}", 404),
    ("teacher", "/derivations/{id}", 403),
    ("alice", "/derivations/99999", 404),
    ("alice", "/derivations/{id}/parts/q/submit", 404),
])
def test_others_do_not_see_it(client, layer_steps, who, path, status):
    log_in(client, who)
    path = path.format(id=layer_steps["id"])
    response = post(client, path, {"answer": "[1]"}) if path.endswith("submit") else client.get(path)
    assert response.status_code == status


def test_an_edit_of_the_assignment_keeps_the_parts(client, layer_steps, build):
    with build.sessionmaker() as session:
        derivation = session.get(Derivation, layer_steps["id"])
        assignment_id = derivation.assignment_id
        items = derivation.assignment.items
        rows = {"title": "Homework 1", "score_policy": "best", "rows": str(len(items)), "action": "save"}
        for i, item in enumerate(items):
            # the form tries to change every kind and to empty the first part
            rows |= {f"item_id-{i}": str(item.id), f"kind-{i}": "softmax", f"K-{i}": "4", f"points-{i}": "1"}
        rows["kind-1"] = ""
        kinds = [part.kind for part in derivation.parts]
    log_in(client, "teacher")
    path = f"/assignments/{assignment_id}/edit"
    assert "kind and sizes are fixed" in client.get(path).get_data(as_text=True)
    assert post(client, path, rows, path).status_code == 302
    with build.sessionmaker() as session:
        assert [part.kind for part in session.get(Derivation, layer_steps["id"]).parts] == kinds


@pytest.mark.parametrize(
    ("form", "added"),
    [
        ({"preset": "cross_entropy", "share_percent": "50", "points": "2", "n": "2", "K": "3"}, True),
        ({"preset": "no_such_thing"}, False),
        ({"preset": "cross_entropy", "share_percent": "150"}, False),
        ({"preset": "cross_entropy", "K": "many"}, False),
    ],
)
def test_an_instructor_adds_a_derivation_from_the_course_page(client, layer_steps, build, form, added):
    with build.sessionmaker() as session:
        assignment = session.get(Derivation, layer_steps["id"]).assignment
        assignment_id, course_id, before = assignment.id, assignment.course_id, len(assignment.items)
    log_in(client, "teacher")
    page = client.get(f"/courses/{course_id}").get_data(as_text=True)
    assert "Add a derivation" in page and "Cross-entropy" in page
    response = post(client, f"/assignments/{assignment_id}/derivations", form, f"/courses/{course_id}")
    assert response.status_code == 302
    flashed = client.get(response.location).get_data(as_text=True)
    assert ("is added" in flashed) is added and ("is not added" in flashed) is not added
    with build.sessionmaker() as session:
        items = session.get(Assignment, assignment_id).items
        assert len(items) == before + (3 if added else 0)
        if added:
            assert items[-1].derivation.share == 0.5 and items[-1].points == 2


def test_a_student_cannot_add_a_derivation(client, layer_steps, build):
    with build.sessionmaker() as session:
        assignment_id = session.get(Derivation, layer_steps["id"]).assignment_id
    log_in(client, "alice")
    response = post(client, f"/assignments/{assignment_id}/derivations", {"preset": "cross_entropy"})
    assert response.status_code == 403


def test_the_cross_entropy_derivation_renders_with_its_class(client, layer_steps, build):
    with build.sessionmaker.begin() as session:
        assignment = session.get(Derivation, layer_steps["id"]).assignment
        did = derivations.create(session, assignment, "cross_entropy").id
    log_in(client, "alice")
    response = client.get(f"/derivations/{did}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="part-c-heading"' in page and "Cross-entropy" in page and ">c</span>" in page


def test_a_part_is_answered_with_a_formula(client, layer_steps):
    log_in(client, "alice")
    did = layer_steps["id"]
    assert "A formula" in client.get(f"/derivations/{did}").get_data(as_text=True)
    submit(client, did, "a", "exp(z)", "formula")
    assert submit(client, did, "b", "diag(exp(z)) - exp(z) exp(z)^T", "formula").status_code == 302
    page = client.get(f"/derivations/{did}").get_data(as_text=True)
    assert "from part (a)" in page and "fix (a)" in page
