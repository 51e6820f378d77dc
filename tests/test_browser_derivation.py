"""A derivation in a real browser: a student carries a mistake from (b) into (d) and sees
follow-through credit that points to (b); the instructor sees the parts in the item report;
a student who practises answers a part of a practice derivation, then asks for another
version and answers it on the new numbers, and an answer from a second tab still showing
the earlier numbers is not stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import requests

from exercises.layer import logits_weight_jacobian
from exercises.softmax import softmax
from grader.service import db, derivations, practice, variants
from grader.service.models import Assignment
from grader.web import create_app
from tests.conftest import Builder
from tests.test_browser import (
    LAPTOP,
    PASSWORD,
    expect,
    log_in,
    serving,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("browser-derivation")
    url = f"sqlite:///{folder / 'grader.sqlite'}"
    db.upgrade_database(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "INSTANCE_PATH": str(folder)})
    build = Builder(app)
    teacher = build.user("teacher", "instructor", password=PASSWORD, full_name="Ada Teacher")
    alice = build.user("alice", password=PASSWORD, full_name="Alice Liddell")
    pia = build.user("pia", password=PASSWORD, full_name="Pia Practice")  # in no course: she practises
    course_id = build.course(teacher, [alice])
    assignment_id, _ = build.assignment(course_id, [{"kind": "softmax", "K": 3}])
    with build.sessionmaker.begin() as session:
        assignment = session.get(Assignment, assignment_id)
        derivation = derivations.create(session, assignment, "softmax_layer", n=2, K=3)
        parts = [part.id for part in derivation.parts]
        shared = variants.instance_for(session, derivation.parts[-1], alice.id)
        did = derivation.id
        practised = practice.create_set(session, pia.id, None, 0, seed=5, presets=["cross_entropy"])
        practice_id = practised.derivations[0].id
    db.database(app).dispose()

    with serving(url, folder) as base:
        W, x = np.array(shared["W"]), np.array(shared["x"])
        yield {"base": base, "id": did, "parts": parts, "W": W, "x": x,
               "practice_id": practice_id, "pia": pia.headers}


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP)
    yield context.new_page()
    context.close()


def answer_part(page: Any, site: dict[str, Any], letter: str, array: Any) -> None:
    page.get_by_label(f"Your answer to ({letter})").fill(json.dumps(np.asarray(array).tolist()))
    page.get_by_role("button", name=f"Submit ({letter}) for grading").click()
    page.wait_for_url(f"{site['base']}/derivations/{site['id']}#part-{letter}")


def test_follow_through_from_the_diagonal_only_jacobian(page: Any, site: dict[str, Any]) -> None:
    log_in(page, site["base"], "alice")
    page.goto(f"{site['base']}/derivations/{site['id']}")
    expect(page.get_by_role("heading", name="(a)")).to_be_visible()
    W, x = site["W"], site["x"]
    S = softmax(W.T @ x)
    diagonal_only = np.diag(S * (1 - S))
    answer_part(page, site, "b", diagonal_only)
    expect(page.locator("#part-b")).to_contain_text("Only the diagonal terms")
    answer_part(page, site, "d", diagonal_only @ logits_weight_jacobian(W, x))
    part_d = page.locator("#part-d")
    expect(part_d).to_contain_text("carried over from an earlier part")
    expect(part_d).to_contain_text("from part (b)")
    expect(part_d).to_contain_text("fix (b)")
    expect(part_d).to_contain_text("75%")


def test_the_instructor_sees_the_parts_in_the_item_report(page: Any, site: dict[str, Any]) -> None:
    log_in(page, site["base"], "teacher")
    page.goto(f"{site['base']}/items/{site['parts'][3]}/report")
    parts = page.get_by_role("navigation", name="The parts of this derivation")
    expect(parts).to_contain_text("(b) softmax_jacobian")
    expect(parts).to_contain_text("(d) layer_jacobian")
    expect(page.get_by_text("Carried over from an earlier part: 1 student, 1 time")).to_be_visible()


def practised_softmax(site: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """Pia's shared instance as the API gives it now, and the right S for it."""
    response = requests.get(f"{site['base']}/api/v1/derivations/{site['practice_id']}", headers=site["pia"],
                            timeout=30)
    shared = response.json()["shared_instance"]
    return shared, softmax(np.array(shared["W"]).T @ np.array(shared["x"]))


def test_another_version_of_a_practice_derivation(page: Any, site: dict[str, Any]) -> None:
    base, did = site["base"], site["practice_id"]
    practised = {"base": base, "id": did}
    log_in(page, base, "pia")
    page.goto(f"{base}/practice")
    page.get_by_role("link", name="Cross-entropy").click()
    page.wait_for_url(f"{base}/derivations/{did}")
    given = page.locator("section[aria-labelledby=given-heading]")
    values_before = given.inner_text()
    shared, S = practised_softmax(site)
    answer_part(page, practised, "a", S)
    expect(page.locator("#verdict-a")).to_contain_text("correct, full marks")
    page.get_by_role("button", name="Another version").click()
    page.wait_for_url(f"{base}/derivations/{did}")
    expect(page.get_by_text("Another version: the given values are new.")).to_be_visible()
    expect(page.locator("#redrawn")).to_contain_text("You asked for another version")
    assert given.inner_text() != values_before  # new numbers on the page
    expect(page.locator("#verdict-a")).to_have_count(0)  # the verdict was to the values before
    expect(page.locator("#part-a")).to_contain_text("Your 1 earlier answer to (a) was to the values before")
    new_shared, new_S = practised_softmax(site)
    assert new_shared != shared
    answer_part(page, practised, "a", new_S)  # right for the new numbers only
    expect(page.locator("#verdict-a")).to_contain_text("correct, full marks")
    page.get_by_role("link", name="see the history of (a)").click()
    expect(page.get_by_text("Answered an earlier question (draw 0)")).to_be_visible()
    expect(page.get_by_text("Answered the current question (draw 1)")).to_be_visible()


def test_an_answer_from_a_tab_showing_the_earlier_version_is_not_stored(
    browser: Any, site: dict[str, Any]
) -> None:
    """Two tabs on one practice derivation: another version asked for in the first, an answer
    then sent from the second, still showing the earlier numbers."""
    base, did = site["base"], site["practice_id"]
    context = browser.new_context(viewport=LAPTOP)
    try:
        first, second = context.new_page(), context.new_page()
        log_in(first, base, "pia")
        for tab in (first, second):
            tab.goto(f"{base}/derivations/{did}")
        given = "section[aria-labelledby=given-heading]"
        values_shown = second.locator(given).inner_text()
        attempts_before = _attempts_at_a(site)
        first.get_by_role("button", name="Another version").click()
        expect(first.get_by_text("Another version: the given values are new.")).to_be_visible()

        typed = "[0.2, 0.3, 0.5]"
        box = second.get_by_label("Your answer to (a)")
        box.fill(typed)
        second.get_by_role("button", name="Submit (a) for grading").click()
        expect(second.locator("#answer-a-error")).to_contain_text(
            "the given values changed after this page was loaded"
        )
        expect(second.locator("#answer-a-error")).to_contain_text("No attempt was used")
        expect(box).to_have_value(typed)
        assert second.locator(given).inner_text() == first.locator(given).inner_text() != values_shown
        assert _attempts_at_a(site) == attempts_before
    finally:
        context.close()


def _attempts_at_a(site: dict[str, Any]) -> int:
    response = requests.get(f"{site['base']}/api/v1/derivations/{site['practice_id']}", headers=site["pia"],
                            timeout=30)
    return response.json()["parts"][0]["item"]["attempts_used"]
