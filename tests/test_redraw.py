"""Re-drawing a student's instance: confirmed first, told to the student, each attempt marked
with the draw it answered, and the summary about the question on the page only."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient

from grader.service import variants
from grader.service.models import Item
from tests.conftest import Builder
from tests.test_pages import log_in, post, reference, school  # noqa: F401  (school is a fixture)


def draw_number(build: Builder, item_id: int, user_id: int) -> int | None:
    with build.sessionmaker() as session:
        variant = variants.find(session, session.get(Item, item_id), user_id)
        return None if variant is None else variant.draw_number


def test_redraw_is_confirmed_told_and_marked(
    client: FlaskClient,
    build: Builder,
    school: dict[str, Any],  # noqa: F811
) -> None:
    item, alice = school["items"][0], school["alice"]
    log_in(client, "alice")
    right = reference(build, item, alice.id)
    post(client, f"/items/{item}/submit", {"answer": json.dumps(right.tolist()), "format": "json"})
    assert "correct, full marks" in client.get(f"/items/{item}").get_data(as_text=True)

    log_in(client, "teacher")
    timeline_path = f"/courses/{school['course_id']}/students/{alice.id}"
    timeline = client.get(timeline_path).get_data(as_text=True)
    confirm_path = f"/items/{item}/students/{alice.id}/redraw"
    assert f'href="{confirm_path}"' in timeline
    confirm = client.get(confirm_path)
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Give Alice Liddell a new instance?" in page
    assert "Their 1 submission so far keeps the instance it answered" in page
    assert f'action="{confirm_path}"' in page and "Cancel" in page
    assert draw_number(build, item, alice.id) == 0  # looking asks nothing
    done = post(client, confirm_path, {}, confirm_path)
    assert done.status_code == 302 and draw_number(build, item, alice.id) == 1
    marked = client.get(timeline_path).get_data(as_text=True)
    assert "Answered an earlier question (draw 0)" in marked

    log_in(client, "alice")
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert "This question has changed." in page
    assert "your 1 earlier answer was to the values before" in page
    assert "Your last answer" not in page and "correct, full marks" not in page
    history = client.get(f"/items/{item}/history").get_data(as_text=True)
    assert "Answered an earlier question (draw 0)" in history

    new = reference(build, item, alice.id)
    post(client, f"/items/{item}/submit", {"answer": json.dumps(new.T.tolist()), "format": "json"})
    page = client.get(f"/items/{item}").get_data(as_text=True)
    verdict = page.split('id="verdict"')[1].split("</section>")[0]
    assert "not right yet" in verdict and "rows and columns swapped" in verdict
    history = client.get(f"/items/{item}/history").get_data(as_text=True)
    assert history.index("Answered the current question (draw 1)") < history.index(
        "Answered an earlier question (draw 0)"
    )


def test_items_never_redrawn_carry_no_draw_marks(
    client: FlaskClient,
    build: Builder,
    school: dict[str, Any],  # noqa: F811
) -> None:
    item = school["items"][0]
    log_in(client, "alice")
    post(client, f"/items/{item}/submit", {"answer": "[1]", "format": "json"})
    assert "question" not in client.get(f"/items/{item}/history").get_data(as_text=True).split("<main")[1]
    assert "This question has changed" not in client.get(f"/items/{item}").get_data(as_text=True)


def test_redraw_is_for_the_courses_instructors_only(
    client: FlaskClient,
    school: dict[str, Any],  # noqa: F811
) -> None:
    path = f"/items/{school['items'][0]}/students/{school['alice'].id}/redraw"
    log_in(client, "other")
    assert client.get(path).status_code == 404
    log_in(client, "teacher")
    assert client.get(f"/items/{school['items'][0]}/students/{school['eve'].id}/redraw").status_code == 404
    log_in(client, "alice")
    assert client.get(path).status_code == 403
