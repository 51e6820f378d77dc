"""A derivation in a real browser: a student carries a mistake from (b) into (d) and sees
follow-through credit that points to (b); the instructor sees the parts in the item report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from exercises.layer import logits_weight_jacobian
from exercises.softmax import softmax
from grader.service import db, derivations, variants
from grader.service.models import Assignment
from grader.web import create_app
from tests.conftest import Builder
from tests.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LAPTOP,
    PASSWORD,
    expect,
    log_in,
    serving,
    sync_api,
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
    course_id = build.course(teacher, [alice])
    assignment_id, _ = build.assignment(course_id, [{"kind": "softmax", "K": 3}])
    with build.sessionmaker.begin() as session:
        assignment = session.get(Assignment, assignment_id)
        derivation = derivations.create(session, assignment, "softmax_layer", n=2, K=3)
        parts = [part.id for part in derivation.parts]
        shared = variants.instance_for(session, derivation.parts[-1], alice.id)
        did = derivation.id
    db.database(app).dispose()

    with serving(url, folder) as base:
        W, x = np.array(shared["W"]), np.array(shared["x"])
        yield {"base": base, "id": did, "parts": parts, "W": W, "x": x}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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
