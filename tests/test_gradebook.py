"""The gradebook and the item report as an instructor reads them: per student, in plain words,
totals rounded, points possible shown, the Canvas CSV with its Points Possible row."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from grader.service.models import Submission
from tests.conftest import Builder
from tests.test_pages import PASSWORD, log_in


@pytest.fixture
def course(build: Builder) -> dict[str, Any]:
    teacher = build.user("teacher", "instructor", password=PASSWORD)
    names = ("alice", "bob", "carol", "dan")
    students = [build.user(name, password=PASSWORD, full_name=name.title()) for name in names]
    course_id = build.course(teacher, students)
    _, items = build.assignment(
        course_id,
        [{"kind": "softmax_jacobian", "K": 3, "points": 3.0}, {"kind": "softmax", "K": 3, "points": 1.5}],
        title="Homework 1",
    )
    return {"course_id": course_id, "items": items, "students": {s.name: s for s in students}}


def graded(build: Builder, item_id: int, user_id: int, score: float, codes: list[str]) -> None:
    """A stored, graded submission (the grading itself is tested elsewhere)."""
    feedback = [{"code": code, "message": f"the {code} message"} for code in codes]
    with build.sessionmaker.begin() as session:
        session.add(
            Submission(
                item_id=item_id,
                user_id=user_id,
                instance={"kind": "softmax_jacobian"},
                answer="[[0]]",
                format="json",
                score=score,
                correct=score == 1.0,
                codes=codes,
                verdict={"correct": score == 1.0, "score": score, "feedback": feedback},
            )
        )


@pytest.fixture
def answered(build: Builder, course: dict[str, Any]) -> dict[str, Any]:
    """Alice tries 12 times (11 transposed, then right), Bob is right at once, Carol's code fails."""
    item, students = course["items"][0], course["students"]
    for _ in range(11):
        graded(build, item, students["alice"].id, 0.0, ["transpose"])
    graded(build, item, students["alice"].id, 1.0, [])
    graded(build, item, students["bob"].id, 1.0, [])
    graded(build, item, students["carol"].id, 0.0, ["runtime_error"])
    graded(build, course["items"][1], students["alice"].id, 0.47222, ["partial"])
    return course


def test_item_statistics_count_students_not_attempts(
    client: FlaskClient, build: Builder, answered: dict[str, Any]
) -> None:
    log_in(client, "teacher")
    item = answered["items"][0]
    page = client.get(f"/items/{item}/report").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))
    assert "Answered it 3 of 4 students" in text
    assert "Right at the first try 1 of 3" in text
    assert "Right in the end 2 of 3" in text
    assert "Mean best score 67%" in text
    assert "Attempts to the first right answer 6.5 on average" in text
    assert "14 attempts in all" in text
    maths, errors = page.split('id="maths-chart"')[1], page.split('id="errors-chart"')[1]
    assert "rows and columns swapped" in maths.split("</svg>")[0] and "1 of 3 (33%)" in maths
    assert "code raised an error" not in maths.split("</svg>")[0]
    assert "code raised an error" in errors.split("</svg>")[0]
    assert "rows and columns swapped" not in errors.split("</svg>")[0]
    assert "Best scores of the 3 students" in page


def test_item_statistics_in_the_api(client: FlaskClient, build: Builder, answered: dict[str, Any]) -> None:
    helper = build.user("helper", "instructor")
    build.enrol(answered["course_id"], helper, "instructor")
    stats = client.get(f"/api/v1/items/{answered['items'][0]}/stats", headers=helper.headers).get_json()
    assert (stats["attempts"], stats["students"], stats["enrolled"]) == (14, 3, 4)
    assert (stats["first_try_correct"], stats["solved"], stats["attempts_to_correct"]) == (1, 2, 6.5)
    assert stats["code_students"] == {"transpose": 1, "runtime_error": 1}
    assert stats["labels"]["transpose"] == "rows and columns swapped"
    assert stats["code_errors"] == ["runtime_error"]
    assert sum(b["count"] for b in stats["best_distribution"]) == 3


def test_gradebook_rounds_totals_and_shows_points_and_item_names(
    client: FlaskClient, answered: dict[str, Any]
) -> None:
    log_in(client, "teacher")
    page = client.get(f"/courses/{answered['course_id']}/gradebook").get_data(as_text=True)
    head = page.split("<thead>")[1].split("</thead>")[0]
    assert "1. The Jacobian of softmax, dS/dz" in head and "2. The softmax function" in head
    assert "3 pts" in head and "1.5 pts" in head
    assert "Homework 1" in head and "4.5 pts" in head and "of 4.5 pts" in head
    totals = re.findall(r'<td class="num"><strong>([^<]+)</strong>', page)
    assert "3.71" in totals  # 3 + 0.47222 x 1.5 = 3.70833
    assert all(len(total.partition(".")[2]) <= 2 for total in totals)


def test_canvas_csv_has_its_points_possible_row(client: FlaskClient, answered: dict[str, Any]) -> None:
    log_in(client, "teacher")
    text = client.get(f"/courses/{answered['course_id']}/gradebook.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Student", "SIS Login ID", "Section", "Homework 1"]
    assert rows[1] == ["    Points Possible", "", "", "4.5"]
    assert ["Alice", "alice", "A", "3.7083"] in rows[2:]
