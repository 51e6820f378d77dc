"""The pages in a real browser: Debian's chromium, driven by Playwright, against ``grader serve``.

One server and one browser for the module; the steps run in order, as a student's and an
instructor's afternoon would. Screenshots of each page, at a laptop's and a phone's width,
go to ``screenshots/`` (git-ignored).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import exercises
from grader.service import db, variants
from grader.service.models import Item
from grader.web import create_app
from tests.conftest import CHROMIUM, Builder

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "screenshots"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "browser-password"
SOFTMAX_CODE = """import numpy as np

def softmax(z):
    e = np.exp(z - np.max(z))
    return e / e.sum()
"""

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing on CI: `make system-deps` installs it", pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed (`make system-deps` installs it)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A database with a course, then ``grader serve`` on it on a free port."""
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'grader.sqlite'}"
    db.upgrade_database(url)
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "x", "INSTANCE_PATH": str(folder)}
    )
    build = Builder(app)
    teacher = build.user("teacher", "instructor", password=PASSWORD, full_name="Ada Teacher")
    alice = build.user("alice", password=PASSWORD, full_name="Alice Liddell")
    bob = build.user("bob", password=PASSWORD, full_name="Bob Byte")
    course_id = build.course(teacher, [alice, bob])
    _, items = build.assignment(
        course_id,
        [{"kind": "layer_jacobian", "n": 3, "K": 5, "points": 2.0}, {"kind": "softmax", "K": 4}],
    )
    with build.sessionmaker() as session:
        instance = variants.instance_for(session, session.get(Item, items[0]), alice.id)
    db.database(app).dispose()

    with serving(url, folder) as base:
        yield {
            "base": base,
            "course_id": course_id,
            "items": items,
            "layer_reference": exercises.get("layer_jacobian").reference(instance),
        }


@contextlib.contextmanager
def serving(url: str, folder: Path, **settings: str) -> Iterator[str]:
    """`grader serve` on ``url`` and a free port, until the block ends; its base address.

    ``settings``: more of the server's environment, e.g. ``GRADER_JOB_SWEEP_SECONDS="1"``.
    """
    env = {**os.environ, "GRADER_DATABASE_URL": url, "GRADER_INSTANCE_PATH": str(folder),
           "GRADER_SECRET_KEY": "browser-test", **settings}
    port = free_port()
    with (folder / "server.log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "grader.cli", "serve", "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, server, folder / "server.log")
            yield base
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)


def _wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Until /healthz answers; on a loaded machine a first answer may be slow, not absent."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # refused, or accepted before a worker is ready
            time.sleep(0.2)
    raise AssertionError(f"the server did not start:\n{log.read_text()}")


@pytest.fixture(scope="module")
def shots() -> Path:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir()
    return SHOTS


def shoot(page: Any, shots: Path, name: str) -> None:
    """The page at the laptop's width, then at the phone's (the viewport restored after)."""
    page.screenshot(path=str(shots / f"{name}-laptop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
    # a phone must not scroll sideways: wide matrices and tables scroll inside their own box
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1, name
    page.set_viewport_size(LAPTOP)


def log_in(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


@pytest.fixture(scope="module")
def student(browser: Any, site: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site["base"])
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def instructor(browser: Any, site: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


def gradebook_cell(page: Any, site: dict[str, Any], student_name: str) -> str:
    page.goto(f"{site['base']}/courses/{site['course_id']}/gradebook")
    row = page.get_by_role("row").filter(has_text=student_name)
    return row.locator(f"td[data-item='{site['items'][0]}']").inner_text().strip()


def test_login_page_and_wrong_password(student: Any, site: dict[str, Any], shots: Path) -> None:
    student.goto(f"{site['base']}/login")
    student.keyboard.press("Tab")  # the first stop is the skip link, shown when focused
    skip = student.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    assert skip.bounding_box()["x"] >= 0
    student.keyboard.press("Enter")
    student.keyboard.press("Tab")
    expect(student.get_by_label("User name")).to_be_focused()
    student.get_by_label("User name").fill("alice")
    student.get_by_label("Password").fill("not the password")
    student.get_by_role("button", name="Log in").click()
    assert student.get_by_role("alert").inner_text().startswith("That user name and password do not match")
    shoot(student, shots, "01-login")


def test_instructor_sees_an_empty_cell_first(instructor: Any, site: dict[str, Any]) -> None:
    log_in(instructor, site["base"], "teacher")
    assert gradebook_cell(instructor, site, "Alice Liddell") == "—"


def test_student_dashboard_and_exercise(student: Any, site: dict[str, Any], shots: Path) -> None:
    log_in(student, site["base"], "alice")
    assert student.get_by_role("heading", name="ML101: Course ML101").is_visible()
    shoot(student, shots, "02-dashboard")
    student.get_by_role("link", name="1. The softmax layer's Jacobian dS/dvec(W)").click()
    assert student.locator(".statement math").count() > 0
    student.get_by_role("button", name="Copy as JSON").click()
    expect(student.locator("#copy-status")).to_have_text("Copied as JSON.")
    copied = json.loads(student.evaluate("navigator.clipboard.readText()"))
    assert sorted(copied) == ["W", "x"]
    shoot(student, shots, "03-exercise")


def test_preview_then_transpose_feedback(student: Any, site: dict[str, Any], shots: Path) -> None:
    transposed = json.dumps(site["layer_reference"].T.round(6).tolist())
    student.get_by_label("Your answer").fill(transposed)
    student.get_by_role("button", name="Preview how it is read").click()
    preview = student.locator("#preview-out")
    preview.get_by_text("no attempt was used").wait_for()
    assert "15 x 5 matrix" in preview.inner_text() and "asks for shape 5 × 15" in preview.inner_text()
    assert "attempts used: 0" in student.content()
    shoot(student, shots, "04-preview")
    student.get_by_role("button", name="Submit for grading", exact=True).click()
    verdict = student.locator("#verdict")
    assert "not right yet" in verdict.inner_text()
    assert "transpose" in verdict.inner_text()
    shoot(student, shots, "05-transpose-verdict")


def test_a_formula_is_previewed_as_it_is_typed(student: Any, site: dict[str, Any], shots: Path) -> None:
    formula = student.get_by_label("Your formula for dS_t/dW_ji")
    formula.press_sequentially("S_t(δ_ti − S_i)x_j")
    preview = student.locator("#formula-preview-out")
    preview.get_by_text("no attempt was used").wait_for()  # no click: it follows the typing
    assert "(S_t * (delta_ti - S_i)) * x_j" in preview.inner_text()
    assert preview.locator("math").count() == 1
    assert "attempts used: 1" in student.content()
    shoot(student, shots, "05b-formula-preview")


def test_right_answer_full_marks(student: Any, site: dict[str, Any], shots: Path) -> None:
    student.get_by_label("Your answer").fill(json.dumps(site["layer_reference"].round(6).tolist()))
    student.get_by_role("button", name="Submit for grading", exact=True).click()
    assert "correct, full marks" in student.locator("#verdict").inner_text()
    assert "(100%)" in student.locator("#verdict").inner_text()
    shoot(student, shots, "06-full-marks")
    student.get_by_role("link", name="history of attempts").click()
    assert student.locator("article.card").count() == 2
    shoot(student, shots, "07-history")


def test_on_a_phone_nothing_is_cut_and_a_wide_matrix_says_it_scrolls(
    student: Any, site: dict[str, Any], shots: Path
) -> None:
    student.set_viewport_size(PHONE)
    try:
        student.goto(f"{site['base']}/")
        table = student.locator("table.data").first
        right_edge = table.locator("xpath=..").bounding_box()
        for name in ("Attempts", "Status"):
            box = table.get_by_role("columnheader", name=name).bounding_box()
            assert box["x"] + box["width"] <= right_edge["x"] + right_edge["width"] + 1, name
        assert table.evaluate("t => t.parentElement.scrollWidth <= t.parentElement.clientWidth")
        assert student.locator(".scroll-hint").count() == 0
        shoot(student, shots, "06b-dashboard-after-answers")
        student.set_viewport_size(PHONE)
        student.goto(f"{site['base']}/items/{site['items'][0]}")
        hint = student.locator("#verdict .scroll-hint")  # the 5 x 15 answer, as read
        expect(hint).to_have_text("Wider than the screen: scroll sideways to see all 15 columns")
        expect(student.locator("#verdict .table-wrap")).to_have_attribute("tabindex", "0")
        x_values = student.get_by_role("heading", name="x: vector of 3")
        assert x_values.locator("xpath=following-sibling::p[1][contains(@class, 'scroll-hint')]").count() == 0
        student.screenshot(path=str(shots / "06c-wide-verdict-phone.png"), full_page=True)
    finally:
        student.set_viewport_size(LAPTOP)


def test_code_answer_with_tab_indents(student: Any, site: dict[str, Any], shots: Path) -> None:
    student.goto(f"{site['base']}/items/{site['items'][1]}")
    code = student.get_by_label("A function softmax(z)")
    code.fill("")
    code.press_sequentially("def softmax(z):\n")
    code.press("Tab")
    assert code.input_value() == "def softmax(z):\n    "
    code.fill(SOFTMAX_CODE)
    student.get_by_role("button", name="Submit code for grading").click()
    verdict = student.locator("#verdict")
    assert "correct, full marks" in verdict.inner_text()
    assert "hidden instances" in verdict.inner_text()
    shoot(student, shots, "08-code-verdict")


def test_practice_set(student: Any, site: dict[str, Any], shots: Path) -> None:
    student.get_by_role("link", name="Practice").first.click()
    student.get_by_label("How many questions").fill("3")
    student.get_by_role("button", name="Build a new practice set").click()
    assert "A new practice set of 3 questions is ready." in student.get_by_role("status").first.inner_text()
    assert student.locator("ol.practice-items > li").count() == 3
    shoot(student, shots, "09-practice")


def test_instructor_sees_the_gradebook_change(instructor: Any, site: dict[str, Any], shots: Path) -> None:
    cell = gradebook_cell(instructor, site, "Alice Liddell")
    assert "100%" in cell and "2 attempts" in cell
    shoot(instructor, shots, "10-gradebook")
    total = instructor.get_by_role("columnheader", name="Total (sort)")
    total.get_by_role("link").click()
    expect(total).to_have_attribute("aria-sort", "ascending")
    total.get_by_role("link").click()
    expect(total).to_have_attribute("aria-sort", "descending")
    names = instructor.locator("tbody th[scope=row]").all_inner_texts()
    assert names == ["Alice Liddell", "Bob Byte"]


def test_instructor_downloads_the_csv(instructor: Any, site: dict[str, Any]) -> None:
    with instructor.expect_download() as download:
        instructor.get_by_role("link", name="Download CSV (Canvas import)").click()
    text = Path(download.value.path()).read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Student", "SIS Login ID", "Section", "Homework 1"]
    assert ["Alice Liddell", "alice", "A", "3"] in rows  # 2 points for the Jacobian, 1 for the code


def test_instructor_item_report(instructor: Any, site: dict[str, Any], shots: Path) -> None:
    instructor.get_by_role("link", name="scores and mistakes").first.click()
    instructor.wait_for_url(f"{site['base']}/items/{site['items'][0]}/report")
    assert instructor.locator("svg.chart").count() == 2
    assert instructor.locator("#maths-chart").get_by_text("rows and columns swapped").count() >= 1
    assert instructor.locator("#maths-chart").get_by_text("1 of 1 (100%)").count() >= 1
    instructor.get_by_text("Rows and columns swapped: 1 student, 1 time").click()
    assert "transpose of the expected one" in instructor.locator("#code-transpose").inner_text()
    shoot(instructor, shots, "11-item-report")


def test_instructor_timeline_and_a_confirmed_redraw(
    instructor: Any, site: dict[str, Any], shots: Path
) -> None:
    instructor.goto(f"{site['base']}/courses/{site['course_id']}")
    shoot(instructor, shots, "12-course")
    instructor.get_by_role("link", name="Alice Liddell").click()
    expect(instructor.locator("ol.timeline > li")).to_have_count(3)
    instructor.get_by_role("link", name="Re-draw… Homework 1 item 1 for Alice Liddell").click()
    expect(instructor.get_by_role("heading", name="Give Alice Liddell a new instance?")).to_be_visible()
    shoot(instructor, shots, "13-redraw-confirm")
    instructor.get_by_role("button", name="Yes, re-draw it for Alice Liddell").click()
    assert "has a new instance" in instructor.get_by_role("status").first.inner_text()
    expect(instructor.get_by_text("Answered an earlier question (draw 0)")).to_have_count(2)
    shoot(instructor, shots, "14-timeline")


def test_student_is_told_the_question_changed(student: Any, site: dict[str, Any], shots: Path) -> None:
    student.goto(f"{site['base']}/items/{site['items'][0]}")
    expect(student.locator("#redrawn")).to_contain_text("This question has changed.")
    assert student.locator("#verdict").count() == 0  # the last answer was to the old values
    shoot(student, shots, "15-redrawn-exercise")
    student.get_by_role("link", name="Your history").click()
    expect(student.get_by_text("Answered an earlier question (draw 0)")).to_have_count(2)
    shoot(student, shots, "16-history-with-draws")


def test_a_failing_function_shows_matrices(student: Any, site: dict[str, Any], shots: Path) -> None:
    student.goto(f"{site['base']}/items/{site['items'][1]}")
    code = student.get_by_label("A function softmax(z)")
    code.fill("import numpy as np\n\ndef softmax(z):\n    return np.full(len(z), np.nan)\n")
    student.get_by_role("button", name="Submit code for grading").click()
    failed = student.locator("#verdict details.failed-instance")
    expect(failed).to_be_visible()
    assert failed.locator("table.matrix").count() == 2
    assert failed.locator("td", has_text="NaN").count() == 4
    shoot(student, shots, "19-function-failure")


def test_assignment_form_rows_layouts_and_preview(instructor: Any, site: dict[str, Any], shots: Path) -> None:
    instructor.goto(f"{site['base']}/courses/{site['course_id']}/assignments/new")
    rows = instructor.locator("[data-rows] > fieldset")
    assert rows.count() == 1
    instructor.get_by_role("button", name="Add an item").click()
    instructor.get_by_role("button", name="Add an item").click()
    assert rows.count() == 3 and "/assignments/new" in instructor.url  # no round trip
    expect(rows.nth(2).get_by_label("Kind")).to_be_focused()
    rows.nth(1).get_by_label("Kind").select_option("softmax")
    layouts = rows.nth(1).get_by_label("Layout").locator("option:not([disabled])").all_inner_texts()
    assert layouts == ["numerator"]
    rows.nth(2).get_by_label("Kind").select_option("softmax_jacobian")
    rows.nth(2).get_by_label("Layout").select_option("denominator")
    rows.nth(2).get_by_label("K", exact=True).fill("3")
    rows.nth(1).get_by_role("button", name="Remove item 2").click()
    assert rows.count() == 2
    assert rows.nth(1).locator("legend").inner_text() == "Item 2"
    instructor.get_by_label("Title").fill("Quiz 1")
    shoot(instructor, shots, "17-assignment-form")
    instructor.get_by_role("button", name="Preview as a student sees it").click()
    preview = instructor.locator("#preview")
    expect(preview.locator("article")).to_have_count(2)
    assert preview.locator("math").count() > 0
    expect(preview).to_be_in_viewport()
    shoot(instructor, shots, "18-assignment-preview")
    instructor.get_by_role("button", name="Save the assignment").click()
    assert "“Quiz 1” is saved." in instructor.get_by_role("status").first.inner_text()
    assert "denominator" in instructor.locator("section.card").filter(has_text="Quiz 1").inner_text()
