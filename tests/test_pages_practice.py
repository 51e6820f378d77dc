"""The practice page with derivations: asked for on the form, listed with their parts'
standing, answered on the derivation page with follow-through, and no one else's."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from exercises.derivations import part_instance
from exercises.softmax import softmax
from grader.service import variants
from grader.service.models import Derivation, Item, Submission
from tests.conftest import Builder
from tests.test_pages import PASSWORD, given_values, log_in, post


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


# ---- another version ------------------------------------------------------------------


def practise_an_item(client, build: Builder) -> int:
    response = post(client, "/practice", {"count": "1", "kinds": "softmax", "derivations": "0"}, "/practice")
    assert response.status_code == 302
    with build.sessionmaker() as session:
        return session.scalar(sa.select(Item.id).where(Item.practice_set_id.is_not(None)))


def another_version(client, path: str, draw: int | None = None) -> Any:
    data = {} if draw is None else {"draw": str(draw)}
    return post(client, f"{path}/another-version", data, token_from=path)


def test_another_version_of_a_practice_item_keeps_the_earlier_answers_as_history(client, school, build):
    log_in(client, "eve")
    item = practise_an_item(client, build)
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert f'action="/items/{item}/another-version"' in page and 'name="draw" value="0"' in page
    with build.sessionmaker() as session:
        before = variants.stored_instance(session, item, school["eve"].id)
    right = softmax(np.array(before["z"]))
    assert post(client, f"/items/{item}/submit", {"answer": json.dumps(right.tolist()), "format": "json"},
                token_from=f"/items/{item}").status_code == 302
    response = another_version(client, f"/items/{item}", draw=0)
    assert response.status_code == 302 and response.location.endswith(f"/items/{item}")
    with build.sessionmaker() as session:
        after = variants.stored_instance(session, item, school["eve"].id)
    assert after != before
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert "Another version: the given values are new." in page
    assert "You asked for another version of it" in page
    assert "your 1 earlier answer was to the values before" in page
    assert "Your last answer" not in page  # the verdict shown is of the question on the page
    assert 'name="draw" value="1"' in page
    history = client.get(f"/items/{item}/history").get_data(as_text=True)
    assert "Answered an earlier question (draw 0)" in history
    listing = client.get("/practice").get_data(as_text=True)
    assert "score 100%" in listing and "1 attempt" in listing  # nothing lost, nothing added


def test_a_second_click_draws_one_version_only(client, school, build):
    log_in(client, "eve")
    item = practise_an_item(client, build)
    another_version(client, f"/items/{item}", draw=0)
    another_version(client, f"/items/{item}", draw=0)  # the same page's button, again
    with build.sessionmaker() as session:
        assert variants.find(session, session.get(Item, item), school["eve"].id).draw_number == 1
    assert "had a new version already" in client.get(f"/items/{item}").get_data(as_text=True)


def test_another_version_of_a_practice_derivation_moves_every_part(client, school, build):
    log_in(client, "eve")
    did = practise_a_derivation(client, build, school["eve"])
    eve = school["eve"].id
    page = client.get(f"/derivations/{did}").get_data(as_text=True)
    assert f'action="/derivations/{did}/another-version"' in page
    with build.sessionmaker() as session:
        parts = session.get(Derivation, did).parts
        before = [variants.stored_instance(session, part.id, eve) for part in parts]
    assert submit(client, did, "a", [0.2, 0.3, 0.5]).status_code == 302
    assert "Your last answer to (a)" in client.get(f"/derivations/{did}").get_data(as_text=True)
    response = another_version(client, f"/derivations/{did}", draw=0)
    assert response.status_code == 302 and response.location.endswith(f"/derivations/{did}")
    with build.sessionmaker() as session:
        derivation = session.get(Derivation, did)
        after = [variants.find(session, part, eve) for part in derivation.parts]
        assert {variant.draw_number for variant in after} == {1}
        shared = after[-1].instance
        assert [v.instance for v in after] == [part_instance(p.kind, shared) for p in derivation.parts]
    assert all(new.instance != old for new, old in zip(after, before, strict=True))
    page = client.get(f"/derivations/{did}").get_data(as_text=True)
    assert "The values have changed." in page and "You asked for another version" in page
    assert "Your last answer to (a)" not in page
    assert "Your 1 earlier answer to (a) was to the values before" in page
    # a part's own page asks for the whole derivation again, and goes back to it
    response = another_version(client, f"/items/{derivation.parts[1].id}", draw=1)
    assert response.status_code == 302 and response.location.endswith(f"/derivations/{did}")


@pytest.mark.parametrize(("who", "status"), [("alice", 404), ("teacher", 403)])
def test_others_get_no_other_version(client, school, build, who, status):
    log_in(client, "eve")
    did = practise_a_derivation(client, build, school["eve"])
    with build.sessionmaker() as session:
        part = session.get(Derivation, did).parts[0].id
    log_in(client, who)
    assert client.get(f"/items/{part}").status_code == status  # as the existing pages answer
    assert another_version(client, f"/derivations/{did}").status_code == status
    assert another_version(client, f"/items/{part}").status_code == status
    with build.sessionmaker() as session:
        assert variants.find(session, session.get(Item, part), school["eve"].id).draw_number == 0
    log_in(client, "eve")
    assert another_version(client, f"/derivations/{did}").status_code == 302  # hers to ask for


def test_an_assignment_item_has_no_other_version_for_its_student(client, school, build):
    course = build.course(school["teacher"], [school["alice"]], code="REDRAW1")
    _, (item,) = build.assignment(course, [{"kind": "softmax", "K": 3}])
    log_in(client, "alice")
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert "another-version" not in page
    response = another_version(client, f"/items/{item}")
    assert response.status_code == 403 and "your instructor" in response.get_data(as_text=True)


# ---- a page loaded before another version ------------------------------------------------


def answers(build: Builder) -> int:
    with build.sessionmaker() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Submission))


def test_an_answer_from_a_tab_showing_the_earlier_version_is_refused(client, school, build):
    log_in(client, "eve")
    item = practise_an_item(client, build)
    path = f"/items/{item}"
    loaded = client.get(path).get_data(as_text=True)  # the first tab
    with build.sessionmaker() as session:
        before = variants.stored_instance(session, item, school["eve"].id)
    typed = json.dumps(softmax(np.array(before["z"])).tolist())
    assert another_version(client, path, draw=0).status_code == 302  # asked for in the second tab
    response = post(client, f"{path}/submit", {"answer": typed, "format": "json", "draw": "0"}, path)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "the given values changed after this page was loaded" in page and "No attempt was used" in page
    assert f">{typed}</textarea>" in page
    assert given_values(page) == given_values(client.get(path).get_data(as_text=True)) != given_values(loaded)
    assert "attempts used: 0" in page and answers(build) == 0
    # a page from before forms carried their draw sends none: graded on the current numbers, as before
    response = post(client, f"{path}/submit", {"answer": typed, "format": "json"}, path)
    assert response.status_code == 302 and answers(build) == 1


def test_a_part_answered_from_a_tab_showing_the_earlier_version_is_refused(client, school, build):
    log_in(client, "eve")
    did = practise_a_derivation(client, build, school["eve"])
    path = f"/derivations/{did}"
    loaded = client.get(path).get_data(as_text=True)
    assert another_version(client, path, draw=0).status_code == 302
    typed = "[0.2, 0.3, 0.5]"
    response = post(client, f"{path}/parts/b/submit", {"answer": typed, "format": "json", "draw": "0"}, path)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    form_b = page.split('id="part-b"', 1)[1].split("</form>", 1)[0]
    assert "the given values changed after this page was loaded" in form_b
    assert f">{typed}</textarea>" in form_b
    assert given_values(page) == given_values(client.get(path).get_data(as_text=True)) != given_values(loaded)
    assert answers(build) == 0
