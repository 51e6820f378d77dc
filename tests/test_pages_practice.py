"""The practice page with derivations: asked for on the form, listed with their parts'
standing, answered on the derivation page with follow-through, and no one else's."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from exercises.softmax import softmax
from grader.service import variants
from grader.service.models import Derivation
from tests.conftest import Builder
from tests.test_pages import PASSWORD, log_in, post


@pytest.fixture
def school(build: Builder) -> dict[str, Any]:
    """A teacher and a student of one course, and a student in none who practises."""
    teacher = build.user("teacher", "instructor", password=PASSWORD)
    alice = build.user("alice", password=PASSWORD)
    eve = build.user("eve", password=PASSWORD)
    build.course(teacher, [alice])
    return {"teacher": teacher, "alice": alice, "eve": eve}


def practise_a_derivation(client, build: Builder, eve, preset: str = "cross_entropy") -> int:
    response = post(client, "/practice", {"count": "1", "derivations": "1", "presets": preset}, "/practice")
    assert response.status_code == 302
    with build.sessionmaker() as session:
        return session.scalar(sa.select(Derivation.id).where(Derivation.preset == preset))


def submit(client, did: int, letter: str, array: Any) -> Any:
    path = f"/derivations/{did}"
    text = json.dumps(np.asarray(array).tolist())
    return post(client, f"{path}/parts/{letter}/submit", {"answer": text, "format": "json"}, token_from=path)


def test_the_form_offers_derivations(client, school):
    log_in(client, "eve")
    page = client.get("/practice").get_data(as_text=True)
    assert 'name="derivations"' in page and 'value="cross_entropy"' in page and "Chosen for you" in page


def test_a_practice_derivation_is_listed_answered_and_followed_through(client, school, build):
    log_in(client, "eve")
    did = practise_a_derivation(client, build, school["eve"])
    page = client.get("/practice").get_data(as_text=True)
    assert f'href="/derivations/{did}"' in page and "Cross-entropy" in page
    assert "Why: new to you: you have not done a whole derivation yet" in page
    assert "(a) " in page and "(c) " in page and "0 of 3 parts right" in page
    with build.sessionmaker() as session:
        derivation = session.get(Derivation, did)
        shared = variants.stored_instance(session, derivation.parts[-1].id, school["eve"].id)
    z = np.array(shared["W"]).T @ np.array(shared["x"])
    # a wrong S off by a constant: its S - y is never within tolerance of S itself nor of the
    # true gradient (exp(z) may be too large to tell apart; 2 S near S where S is near one-hot)
    wrong_S = softmax(z) + 0.25
    derivation_page = client.get(f"/derivations/{did}").get_data(as_text=True)
    assert "Practice</a>" in derivation_page and "Why: new to you" in derivation_page
    assert submit(client, did, "a", wrong_S).status_code == 302
    response = submit(client, did, "b", wrong_S - np.eye(z.size)[shared["c"]])
    assert response.status_code == 302 and response.location.endswith("#part-b")
    derivation_page = client.get(f"/derivations/{did}").get_data(as_text=True)
    assert "follow_through" in derivation_page and "from part (a)" in derivation_page
    assert "fix (a)" in derivation_page
    page = client.get("/practice").get_data(as_text=True)
    standing = re.search(r"\(b\) [^<]*<span class=\"muted\">([^<]*)</span>", page).group(1)
    assert "score 75%" in standing and "1 attempt" in standing
    assert "2 answered" in page


def test_only_a_derivation_with_no_single_question(client, school, build):
    log_in(client, "eve")
    response = post(client, "/practice", {"count": "0", "presets": "softmax_layer"}, "/practice")
    assert response.status_code == 302
    assert "A new practice set of 1 derivation is ready." in client.get("/practice").get_data(as_text=True)
    post(client, "/practice", {"count": "0"}, "/practice")
    assert "between 1 and 20 questions" in client.get("/practice").get_data(as_text=True)


@pytest.mark.parametrize(("who", "status"), [("alice", 404), ("teacher", 403)])
def test_others_do_not_see_a_practice_derivation(client, school, build, who, status):
    log_in(client, "eve")
    did = practise_a_derivation(client, build, school["eve"])
    log_in(client, who)
    assert client.get(f"/derivations/{did}").status_code == status
    assert submit(client, did, "a", [0.5, 0.5]).status_code == status


def test_an_instructor_who_takes_a_course_gets_404_as_for_a_practice_item(client, school, build):
    log_in(client, "eve")
    did = practise_a_derivation(client, build, school["eve"])
    with build.sessionmaker() as session:
        part = session.get(Derivation, did).parts[0].id
    colleague = build.user("colleague", "instructor")
    build.enrol(build.course(colleague, code="TAKE1"), school["teacher"])
    log_in(client, "teacher")
    assert client.get(f"/items/{part}").status_code == 404
    assert client.get(f"/derivations/{did}").status_code == 404
