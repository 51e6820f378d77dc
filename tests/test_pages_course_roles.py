"""The student pages follow the role in a course, as the API does, not the account's role.

An instructor or TA account enrolled as a student in another course (a TA taking a
course; an LMS user who teaches one LMS course and learns in another) opens, answers
and reviews that course's work through the pages; the course it teaches it still sees
only as its instructor.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from grader.service import derivations
from grader.service.models import Assignment, Submission
from tests.conftest import Builder
from tests.test_pages import PASSWORD, log_in, post, reference


@pytest.fixture
def campus(build: Builder) -> dict[str, Any]:
    """ML101 taught by teacher, taken by alice and by ivy, an instructor account that teaches ML200."""
    teacher = build.user("teacher", "instructor", password=PASSWORD)
    ivy = build.user("ivy", "instructor", password=PASSWORD, full_name="Ivy Assistant")
    alice = build.user("alice", password=PASSWORD, full_name="Alice Liddell")
    taken = build.course(teacher, [alice, ivy], code="ML101")
    taught = build.course(ivy, code="ML200")
    _, taken_items = build.assignment(taken, [{"kind": "softmax", "K": 3}], title="Homework 1")
    _, taught_items = build.assignment(taught, [{"kind": "softmax", "K": 3}], title="Quiz 1")
    return {
        "teacher": teacher, "ivy": ivy, "alice": alice,
        "taken": taken, "taught": taught, "taken_item": taken_items[0], "taught_item": taught_items[0],
    }


def derivation_in(build: Builder, course_id: int) -> int:
    with build.sessionmaker.begin() as session:
        assignment = session.query(Assignment).filter_by(course_id=course_id).one()
        return derivations.create(session, assignment, "softmax_layer", n=2, K=3).id


def submissions_of(build: Builder, user_id: int) -> int:
    with build.sessionmaker() as session:
        return session.query(Submission).filter_by(user_id=user_id).count()


def test_an_instructor_enrolled_as_a_student_answers_through_the_pages(
    client: FlaskClient, build: Builder, campus: dict[str, Any]
) -> None:
    log_in(client, "ivy")
    path = f"/items/{campus['taken_item']}"
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    assert '<label for="answer">' in page.get_data(as_text=True)
    # the header names the role it has here, not its account's
    assert '<span class="who">Ivy Assistant (student)</span>' in page.get_data(as_text=True)
    taught = client.get(f"/courses/{campus['taught']}").get_data(as_text=True)
    assert '<span class="who">Ivy Assistant (instructor)</span>' in taught
    shown = post(client, f"{path}/preview", {"answer": "[0.1 0.2 0.7]", "format": "auto"}, path)
    assert shown.status_code == 200 and "vector of 3" in shown.get_data(as_text=True)
    assert submissions_of(build, campus["ivy"].id) == 0  # the preview stores nothing
    right = reference(build, campus["taken_item"], campus["ivy"].id)
    response = post(client, f"{path}/submit", {"answer": json.dumps(right.tolist()), "format": "auto"}, path)
    assert response.status_code == 302
    assert "correct, full marks" in client.get(path).get_data(as_text=True)
    history = client.get(f"{path}/history")
    assert history.status_code == 200 and history.get_data(as_text=True).count('class="card"') == 1
    assert submissions_of(build, campus["ivy"].id) == 1


def test_it_opens_the_derivations_of_the_course_it_takes(
    client: FlaskClient, build: Builder, campus: dict[str, Any]
) -> None:
    taken, taught = derivation_in(build, campus["taken"]), derivation_in(build, campus["taught"])
    log_in(client, "ivy")
    page = client.get(f"/derivations/{taken}")
    assert page.status_code == 200 and 'id="part-a-heading"' in page.get_data(as_text=True)
    response = post(client, f"/derivations/{taken}/parts/a/submit", {"answer": "[1, 2]", "format": "json"},
                    f"/derivations/{taken}")
    assert response.status_code == 302 and submissions_of(build, campus["ivy"].id) == 1
    refused = client.get(f"/derivations/{taught}")
    assert refused.status_code == 403 and "a course you teach" in refused.get_data(as_text=True)


def test_it_still_cannot_answer_the_course_it_teaches_as_a_student(
    client: FlaskClient, build: Builder, campus: dict[str, Any]
) -> None:
    log_in(client, "ivy")
    path = f"/items/{campus['taught_item']}"
    for response in (
        client.get(path),
        client.get(f"{path}/history"),
        post(client, f"{path}/preview", {"answer": "[0.1 0.2 0.7]", "format": "auto"}),
        post(client, f"{path}/submit", {"answer": "[0.1, 0.2, 0.7]", "format": "json"}),
    ):
        assert response.status_code == 403
        assert "This item is in a course you teach" in response.get_data(as_text=True)
    assert submissions_of(build, campus["ivy"].id) == 0
    # it teaches ML200 as before, and gets no instructor's view of the course it takes
    assert client.get(f"/courses/{campus['taught']}").status_code == 200
    assert client.get(f"/courses/{campus['taken']}").status_code == 403
    assert client.get(f"/items/{campus['taken_item']}/report").status_code == 403


def test_its_start_page_leads_to_the_courses_it_teaches_and_those_it_takes(
    client: FlaskClient, campus: dict[str, Any]
) -> None:
    log_in(client, "ivy")
    home = client.get("/").get_data(as_text=True)
    assert "Courses you teach" in home and f'href="/courses/{campus["taught"]}"' in home
    assert "Courses you take" in home and f'href="/dashboard#course-{campus["taken"]}"' in home
    nav = home.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    assert 'href="/dashboard"' in nav and 'href="/practice"' in nav and 'href="/lti"' in nav
    dashboard = client.get("/dashboard")
    page = dashboard.get_data(as_text=True)
    assert dashboard.status_code == 200
    assert "ML101" in page and f'href="/items/{campus["taken_item"]}"' in page
    assert "ML200" not in page and f'href="/items/{campus["taught_item"]}"' not in page
    item_page = client.get(f"/items/{campus['taken_item']}").get_data(as_text=True)
    assert '<p class="crumbs"><a href="/dashboard">Dashboard</a>' in item_page
    assert client.get("/practice").status_code == 200


def test_a_plain_student_sees_what_it_saw(client: FlaskClient, campus: dict[str, Any]) -> None:
    log_in(client, "alice")
    home = client.get("/").get_data(as_text=True)
    assert "Homework 1" in home and f'href="/items/{campus["taken_item"]}"' in home
    assert "Courses you t" not in home and 'href="/lti"' not in home
    assert client.get("/dashboard").status_code == 200
    item_page = client.get(f"/items/{campus['taken_item']}")
    assert item_page.status_code == 200
    assert '<p class="crumbs"><a href="/">Dashboard</a>' in item_page.get_data(as_text=True)
    assert client.get(f"/items/{campus['taught_item']}").status_code == 404  # not her course
    assert client.get(f"/courses/{campus['taken']}").status_code == 403


def test_a_plain_instructor_sees_what_it_saw(client: FlaskClient, campus: dict[str, Any]) -> None:
    log_in(client, "teacher")
    home = client.get("/").get_data(as_text=True)
    assert "Your courses" in home and f'href="/courses/{campus["taken"]}"' in home
    assert "Courses you t" not in home
    nav = home.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    assert 'href="/dashboard"' not in nav and 'href="/practice"' not in nav
    for path in ("/dashboard", "/practice", f"/items/{campus['taken_item']}",
                 f"/items/{campus['taken_item']}/history"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "This page is for students" in response.get_data(as_text=True)
    preview = post(client, f"/items/{campus['taken_item']}/preview", {"answer": "[1]", "format": "auto"})
    assert preview.status_code == 403
    assert "The preview is for students answering an item" in preview.get_data(as_text=True)
