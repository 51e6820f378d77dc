"""The instructor tools' pages: regrading (dry run, apply) and extensions, for instructors only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from grader.service import extensions, regrade, variants
from grader.service.instructor_models import Extension
from grader.service.models import Assignment, Item, Submission, utcnow
from tests import test_pages
from tests.conftest import Builder
from tests.test_pages import log_in, post, reference

school = test_pages.school  # the pages' fixture: an instructor, students, a homework


def store_answer(build: Builder, item_id: int, account: Any, score: float) -> int:
    """A graded submission of the right answer, stored with ``score`` by an older grader."""
    answer = str(reference(build, item_id, account.id).tolist())
    with build.sessionmaker.begin() as session:
        instance = variants.instance_for(session, session.get(Item, item_id), account.id)
        submission = Submission(
            item_id=item_id, user_id=account.id, instance=instance, answer=answer, format="json",
            submitted_at=utcnow(), verdict={"correct": score == 1.0, "score": score, "feedback": [],
                                            "grader_version": "0.0.1"},
            score=score, correct=score == 1.0, codes=[],
        )
        session.add(submission)
        session.flush()
        return submission.id


def test_the_regrade_page_runs_dry_then_applies(client: FlaskClient, build: Builder, school) -> None:
    layer, _ = school["items"]
    submission_id = store_answer(build, layer, school["alice"], 0.0)
    log_in(client, "teacher")
    path = f"/assignments/{school['assignment_id']}/regrade"
    page = client.get(path)
    assert page.status_code == 200 and "Dry run" in page.get_data(as_text=True)
    dry = post(client, path, {"action": "dry_run", f"points-{layer}": "3"}, token_from=path)
    text = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "alice" in text and "+3" in text
    assert "worth 3 points instead of 2" in text
    with build.sessionmaker() as session:
        assert session.get(Submission, submission_id).score == 0.0
    applied = post(client, path, {"action": "apply", f"points-{layer}": "3"}, token_from=path)
    assert applied.status_code == 200 and "Applied" in applied.get_data(as_text=True)
    with build.sessionmaker() as session:
        assert session.get(Submission, submission_id).score == 1.0
        assert session.get(Item, layer).points == 3.0
        assert len(regrade.history(session, submission_id)) == 1


@pytest.mark.parametrize("field, value", [("points", "lots"), ("points", "-1"), ("attempts", "1.5"),
                                          ("points", "nan")])
def test_a_bad_setting_is_named_not_a_500(client: FlaskClient, school, field: str, value: str) -> None:
    layer, _ = school["items"]
    log_in(client, "teacher")
    path = f"/assignments/{school['assignment_id']}/regrade"
    response = post(client, path, {"action": "dry_run", f"{field}-{layer}": value}, token_from=path)
    assert response.status_code == 422 and "item 1" in response.get_data(as_text=True)


def test_the_extensions_page_gives_and_takes_back(client: FlaskClient, build: Builder, school) -> None:
    log_in(client, "teacher")
    path = f"/assignments/{school['assignment_id']}/extensions"
    later = (datetime.now(UTC) + timedelta(days=9)).strftime("%Y-%m-%dT%H:%M")
    saved = post(client, path, {"user_id": school["alice"].id, "item_id": "", "due_at": later,
                                "extra_attempts": "2"}, token_from=path)
    assert saved.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "Alice Liddell" in page and "Take back" in page
    with build.sessionmaker() as session:
        (extension,) = session.scalars(sa.select(Extension)).all()
        assert extension.extra_attempts == 2 and extension.due_at.strftime("%Y-%m-%dT%H:%M") == later
    gone = post(client, f"/extensions/{extension.id}/delete", {}, token_from=path)
    assert gone.status_code == 302
    assert "None yet" in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize(
    "data",
    [
        {"user_id": "999", "extra_attempts": "1"},
        {"extra_attempts": "-1"},
        {"due_at": "next tuesday"},
        {"extra_attempts": "0"},
        {"item_id": "424242", "extra_attempts": "1"},
    ],
)
def test_a_bad_extension_is_named_not_a_500(client: FlaskClient, school, data) -> None:
    log_in(client, "teacher")
    path = f"/assignments/{school['assignment_id']}/extensions"
    response = post(client, path, {"user_id": str(school["alice"].id), **data}, token_from=path)
    assert response.status_code == 422


@pytest.mark.parametrize("who, status", [("alice", 403), ("other", 404)])
def test_only_the_courses_instructors_see_the_tools(client: FlaskClient, school, who, status) -> None:
    log_in(client, who)
    for tool in ("regrade", "extensions"):
        assert client.get(f"/assignments/{school['assignment_id']}/{tool}").status_code == status


def test_the_other_instance_page_lists_whose_variant(client: FlaskClient, build: Builder, school) -> None:
    _, softmax = school["items"]
    bobs = str(reference(build, softmax, school["bob"].id).tolist())
    with build.sessionmaker() as session:
        variants.ensure(session, session.get(Item, softmax), school["bob"].id)
        session.commit()
    log_in(client, "alice")
    sent = post(client, f"/items/{softmax}/submit", {"answer": bobs, "format": "auto"})
    assert sent.status_code == 302
    assert "use your own values" in client.get(f"/items/{softmax}").get_data(as_text=True)
    post(client, "/logout", {})
    log_in(client, "teacher")
    page = client.get(f"/assignments/{school['assignment_id']}/other-instances")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Alice Liddell" in text and ">bob<" in text


def test_the_analysis_page_draws_its_charts(client: FlaskClient, build: Builder, school) -> None:
    layer, _ = school["items"]
    store_answer(build, layer, school["alice"], 1.0)
    log_in(client, "teacher")
    page = client.get(f"/assignments/{school['assignment_id']}/analysis")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in text and "Facility" in text and "100%" in text
    csv_page = client.get(f"/assignments/{school['assignment_id']}/analysis.csv")
    assert csv_page.mimetype == "text/csv"
    log_in(client, "alice")
    assert client.get(f"/assignments/{school['assignment_id']}/analysis").status_code == 403


def test_a_student_with_extra_attempts_gets_the_form_back(
    client: FlaskClient, build: Builder, school
) -> None:
    _, softmax = school["items"]  # one attempt
    log_in(client, "alice")
    post(client, f"/items/{softmax}/submit", {"answer": "[1, 0, 0]", "format": "auto"})
    assert "used every attempt" in client.get(f"/items/{softmax}").get_data(as_text=True)
    with build.sessionmaker() as session:
        extensions.grant(session, session.get(Assignment, school["assignment_id"]), school["alice"].id,
                         item_id=softmax, extra_attempts=1)
        session.commit()
    page = client.get(f"/items/{softmax}").get_data(as_text=True)
    assert "used every attempt" not in page and "left: <strong>1</strong>" in page
