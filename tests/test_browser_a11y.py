"""The pages against WCAG 2.1 AA in a real browser: axe-core on each page a student or an
instructor uses, at a laptop's and at a phone's width; then what axe cannot judge: a focus ring
that can be seen at every stop of the Tab key, and no stop that keeps the keyboard; an answer
given with the keyboard alone and its verdict focused; a preview read out and a wide one that
scrolls from the keyboard; an answer's "grading…" and its verdict announced in one live region;
on a phone, a gradebook's assignment title in view, and a question's wide matrix and a long
formula's "read as" each in a box of its own; the assignment form's errors each at its field;
the pages of a join of two accounts (the student's, waiting for a choice, the instructors' join
requests, the answers a join set apart).

axe-core is the copy that the PyPI package axe-playwright-python ships (its ``axe.min.js``),
installed with the test dependencies. A page fails on a serious or critical violation of the
rules axe tags WCAG 2.0 and 2.1 A and AA, or best practice; the others are named in the
failure's message beside them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask

import exercises
from grader.service import db, derivations, practice, submissions, variants
from grader.service.lti import join_requests, linking, platforms
from grader.service.models import Assignment, Course, Item, User
from grader.service.queue import grading_queue
from grader.web import create_app
from tests.conftest import Account, Builder
from tests.lti.fake_platform import AGS_CLAIM, CLAIM, CONTEXT_ID, LEARNER, NRPS_CLAIM, FakePlatform
from tests.lti.test_merging import answer, made_by_lms
from tests.test_browser import (
    LAPTOP,
    PASSWORD,
    PHONE,
    SOFTMAX_CODE,
    expect,
    log_in,
    serving,
)

pytestmark = pytest.mark.browser

axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")
AXE = axe_playwright.Axe()
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING_IMPACTS = ("serious", "critical")
LEASE_SECONDS = 3  # a submission left "grading" by this process: the server's sweep takes it after
FOCUS_RING_CONTRAST = 3.0  # WCAG 1.4.11, non-text contrast
TAB_STOPS_AT_MOST = 150


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A course with a matrix item, a function item and a derivation; Alice has answered both
    items wrongly and has a practice set, Bob has answered nothing."""
    folder = tmp_path_factory.mktemp("browser-a11y")
    url = f"sqlite:///{folder / 'grader.sqlite'}"
    db.upgrade_database(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x", "INSTANCE_PATH": str(folder),
                      "JOB_LEASE_SECONDS": LEASE_SECONDS})
    build = Builder(app)
    teacher = build.user("teacher", "instructor", password=PASSWORD, full_name="Ada Teacher")
    alice = build.user("alice", password=PASSWORD, full_name="Alice Liddell")
    bob = build.user("bob", password=PASSWORD, full_name="Bob Byte")
    course_id = build.course(teacher, [alice, bob])
    assignment_id, items = build.assignment(
        course_id, [{"kind": "layer_jacobian", "n": 3, "K": 4}, {"kind": "softmax", "K": 4}]
    )
    with build.sessionmaker.begin() as session:
        layer = exercises.get("layer_jacobian")
        references = {
            user.id: layer.reference(variants.instance_for(session, session.get(Item, items[0]), user.id))
            for user in (alice, bob)
        }
        derivation = derivations.create(session, session.get(Assignment, assignment_id), "softmax_layer",
                                        n=2, K=3)
        derivation_id = derivation.id
        practice.create_set(session, alice.id, None, 2, seed=3, presets=["cross_entropy"])
    db.database(app).dispose()

    with serving(url, folder, GRADER_JOB_SWEEP_SECONDS="1") as base:
        nan_softmax = "import numpy as np\n\ndef softmax(z):\n    return np.full(len(z), np.nan)\n"
        for answer, item, fmt in (
            (json.dumps(references[alice.id].T.round(6).tolist()), items[0], "json"),  # a transpose
            (nan_softmax, items[1], "python"),
        ):
            stored = requests.post(f"{base}/api/v1/submissions", headers=alice.headers, timeout=60,
                                   json={"item_id": item, "answer": answer, "format": fmt})
            assert stored.status_code in (200, 201), stored.text
        yield {
            "base": base, "app": app, "course": course_id, "assignment": assignment_id,
            "matrix_item": items[0], "code_item": items[1], "derivation": derivation_id,
            "teacher": teacher.id, "alice": alice.id, "bob": bob.id, "references": references,
        }
    db.database(app).dispose()


def _logged_in(browser: Any, site: dict[str, Any], name: str) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    log_in(page, site["base"], name)
    yield page
    context.close()


@pytest.fixture(scope="module")
def student(browser: Any, site: dict[str, Any]) -> Iterator[Any]:
    yield from _logged_in(browser, site, "alice")


@pytest.fixture(scope="module")
def instructor(browser: Any, site: dict[str, Any]) -> Iterator[Any]:
    yield from _logged_in(browser, site, "teacher")


@pytest.fixture
def bob(browser: Any, site: dict[str, Any]) -> Iterator[Any]:
    yield from _logged_in(browser, site, "bob")


def axe(page: Any, rules: list[str] | None = None) -> tuple[list[str], list[str]]:
    """axe's violations on the page as it is: the serious or critical ones, and the others."""
    run_only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": AXE_TAGS}
    results = AXE.run(page, options={"runOnly": run_only, "resultTypes": ["violations"]})
    failing, others = [], []
    for found in results.response["violations"]:
        targets = ", ".join(" ".join(node["target"]) for node in found["nodes"][:4])
        line = f"{found['id']} ({found['impact']}, {len(found['nodes'])}×): {found['help']} [{targets}]"
        (failing if found["impact"] in FAILING_IMPACTS else others).append(line)
    return failing, others


def _preview_matrix(page: Any) -> None:
    page.get_by_label("Your answer").fill("[[1, 2, 3], [4, 5, 6]]")
    page.get_by_role("button", name="Preview how it is read").click()
    page.locator("#preview-out").get_by_text("no attempt was used").wait_for()


def _submit_empty(page: Any) -> None:
    page.get_by_label("A function softmax(z)").fill("   ")
    page.get_by_role("button", name="Submit code for grading").click()
    page.get_by_role("alert").wait_for()


def _preview_assignment(page: Any) -> None:
    page.get_by_label("Title").fill("Quiz")
    page.get_by_label("Kind").select_option("softmax_jacobian")
    page.get_by_role("button", name="Preview as a student sees it").click()
    page.locator("#preview article").first.wait_for()


# name: (who, the page's address, what is done on it before it is checked)
PAGES: dict[str, tuple[str, str, Callable[[Any], None] | None]] = {
    "student-dashboard": ("student", "/", None),
    "item-matrix-verdict": ("student", "/items/{matrix_item}", None),
    "item-matrix-preview": ("student", "/items/{matrix_item}", _preview_matrix),
    "item-function-verdict": ("student", "/items/{code_item}", None),
    "item-not-stored": ("student", "/items/{code_item}", _submit_empty),
    "history": ("student", "/items/{matrix_item}/history", None),
    "derivation": ("student", "/derivations/{derivation}", None),
    "practice": ("student", "/practice", None),
    "instructor-courses": ("instructor", "/", None),
    "course": ("instructor", "/courses/{course}", None),
    "gradebook": ("instructor", "/courses/{course}/gradebook", None),
    "item-report": ("instructor", "/items/{matrix_item}/report", None),
    "analysis": ("instructor", "/assignments/{assignment}/analysis", None),
    "timeline": ("instructor", "/courses/{course}/students/{alice}", None),
    "assignment-form": ("instructor", "/courses/{course}/assignments/new", None),
    "assignment-preview": ("instructor", "/courses/{course}/assignments/new", _preview_assignment),
}

# The shadows at the edges of a box that scrolls sideways, and a matrix's brackets, are drawn
# as gradients: axe leaves the contrast of the text over them undecided. Without them, the text
# is over the colours it is read on, which axe measures.
WITHOUT_DRAWN_EDGES = """() => {
  for (const box of document.querySelectorAll(".table-wrap, .math-wrap, math mtable")) {
    box.style.backgroundImage = "none";
  }
}"""


@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_nothing_serious(name: str, request: pytest.FixtureRequest, site: dict[str, Any]) -> None:
    who, path, before = PAGES[name]
    page = request.getfixturevalue(who)
    page.set_viewport_size(LAPTOP)
    page.goto(site["base"] + path.format(**site))
    if before:
        before(page)
    failing, others = axe_at_both_widths(page)
    assert not failing, json.dumps({"failing": failing, "also": others}, indent=1, ensure_ascii=False)


def axe_at_both_widths(page: Any) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """axe's violations on the page at a laptop's and a phone's width, and the contrast of the text
    in tables and matrices: the serious or critical ones, and the others, by where found."""
    found = {}
    try:
        for width, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
            page.set_viewport_size(viewport)
            page.wait_for_function("() => new Promise(requestAnimationFrame)")  # site.js's resize
            found[width] = axe(page)
        page.evaluate(WITHOUT_DRAWN_EDGES)
        found["contrast of the text in tables and matrices"] = axe(page, ["color-contrast"])
    finally:
        page.set_viewport_size(LAPTOP)
    failing = {where: lines for where, (lines, _) in found.items() if lines}
    others = {where: lines for where, (_, lines) in found.items() if lines}
    return failing, others


def scrolls_from_the_keyboard(page: Any, box: Any) -> None:
    """``box`` takes the focus and scrolls with an arrow key, and axe finds no violation on the
    page, none of a region that scrolls out of the keyboard's reach among them."""
    box.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("box => box.scrollLeft > 0", arg=box.element_handle())
    failing, others = axe(page)
    assert failing == [], failing
    assert not [line for line in others if line.startswith("scrollable-region-focusable")], others


def test_the_login_page_and_its_error(browser: Any, site: dict[str, Any]) -> None:
    context = browser.new_context(viewport=LAPTOP)
    try:
        page = context.new_page()
        page.goto(f"{site['base']}/login")
        assert axe(page)[0] == []
        page.get_by_label("User name").fill("alice")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("alert").wait_for()
        assert axe(page)[0] == []
        for field in ("User name", "Password"):  # either may be the wrong one: both are marked
            box = page.get_by_label(field)
            assert box.get_attribute("aria-invalid") == "true"
            assert box.get_attribute("aria-describedby") == "login-error"
        assert page.evaluate("document.activeElement.id") == "name"
    finally:
        context.close()


def test_regions_that_scroll_sideways_have_names_of_their_own(instructor: Any, site: dict[str, Any]) -> None:
    """On a phone the item analysis has a table of each item's groups that scrolls: each region is
    named by its table, and each table's caption says which item it is about."""
    instructor.set_viewport_size(PHONE)
    try:
        instructor.goto(f"{site['base']}/assignments/{site['assignment']}/analysis")
        names = instructor.locator(".table-wrap[role=region]").evaluate_all(
            "boxes => boxes.map(box => box.getAttribute('aria-label'))"
        )
        assert len(names) >= 2 and len(set(names)) == len(names), names
        assert "By the instance's parameters: item 1, scrolls sideways" in names
        assert axe(instructor, ["landmark-unique"]) == ([], [])
    finally:
        instructor.set_viewport_size(LAPTOP)


def tab_to(page: Any, selector: str, at_most: int = 20) -> int:
    """Press Tab until the element ``selector`` has the focus; how many presses it took."""
    for presses in range(1, at_most + 1):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return presses
    raise AssertionError(f"{selector} was not reached in {at_most} presses of Tab")


def test_an_answer_with_the_keyboard_alone(bob: Any, site: dict[str, Any]) -> None:
    """Tab to the box, type, Tab to the button, Enter: the focus is then on the verdict, which
    a screen reader reads out, and the next Tab goes on from it."""
    bob.goto(f"{site['base']}/items/{site['matrix_item']}")
    bob.keyboard.press("Tab")
    expect(bob.get_by_role("link", name="Skip to the content")).to_be_focused()
    bob.keyboard.press("Enter")
    tab_to(bob, "#answer")
    bob.keyboard.insert_text(json.dumps(site["references"][site["bob"]].round(6).tolist()))
    assert tab_to(bob, "#answer-heading ~ form button[type=submit]", at_most=3) == 3  # format, preview
    bob.keyboard.press("Enter")
    bob.wait_for_url(f"{site['base']}/items/{site['matrix_item']}#verdict")
    verdict = bob.locator("#verdict")
    expect(verdict).to_be_focused()
    expect(verdict).to_have_attribute("aria-live", "polite")
    expect(verdict.get_by_role("heading")).to_have_text("Your last answer: correct, full marks (100%)")
    bob.keyboard.press("Tab")  # on from the verdict, not from the top of the page
    assert bob.evaluate("document.getElementById('verdict').compareDocumentPosition(document.activeElement)"
                        " & Node.DOCUMENT_POSITION_FOLLOWING")


def test_an_answer_not_stored_puts_the_focus_in_its_box(bob: Any, site: dict[str, Any]) -> None:
    bob.goto(f"{site['base']}/items/{site['code_item']}")
    code = bob.get_by_label("A function softmax(z)")
    code.fill("   ")
    bob.get_by_role("button", name="Submit code for grading").click()
    expect(code).to_be_focused()
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_have_accessible_description(re.compile("The answer is empty"))


def test_a_derivations_part_puts_the_focus_on_its_verdict(bob: Any, site: dict[str, Any]) -> None:
    bob.goto(f"{site['base']}/derivations/{site['derivation']}")
    bob.get_by_label("Your answer to (a)").fill("[0.2, 0.3, 0.5]")
    bob.get_by_role("button", name="Submit (a) for grading").click()
    bob.wait_for_url(re.compile("#part-a$"))

    expect(bob.locator("#verdict-a")).to_be_focused()


def test_grading_then_the_verdict_are_announced_in_one_live_region(bob: Any, site: dict[str, Any]) -> None:
    """An answer still being graded: its box says so in a live region, and the verdict is put
    in that same region when it is ready, so that a screen reader announces it."""
    app: Flask = site["app"]
    with db.database(app).sessionmaker() as session:
        submissions.submit(  # stored and leased here, never graded here: the server's sweep takes it
            session, session.get(User, site["bob"]), session.get(Item, site["code_item"]), SOFTMAX_CODE,
            "python", queue=grading_queue(app), per_minute=100,
        )
    bob.goto(f"{site['base']}/items/{site['code_item']}")
    box = bob.locator("#verdict")
    expect(box.get_by_role("heading")).to_have_text("Your last answer: grading…")
    expect(box).to_have_attribute("aria-live", "polite")
    region = box.element_handle()
    expect(box.get_by_role("heading")).to_have_text("Your last answer: correct, full marks (100%)",
                                                    timeout=(LEASE_SECONDS + 30) * 1000)
    assert region.evaluate("box => box.isConnected && box === document.getElementById('verdict')")
    assert region.get_attribute("aria-live") == "polite" and region.get_attribute("data-grading") is None
    assert "correct" in region.get_attribute("class")


def test_a_preview_is_announced_and_a_wide_one_scrolls_from_the_keyboard(
    bob: Any, site: dict[str, Any]
) -> None:
    bob.set_viewport_size(PHONE)
    try:
        bob.goto(f"{site['base']}/items/{site['matrix_item']}")
        out = bob.locator("#preview-out")
        # a live region must be rendered before its content changes, or the change is not read
        assert out.evaluate("box => box.childNodes.length === 0 && getComputedStyle(box).display") != "none"
        answer = json.dumps(site["references"][site["bob"]].round(3).tolist())
        bob.get_by_role("textbox", name="Your answer").fill(answer)
        bob.get_by_role("button", name="Preview how it is read").click()
        expect(out.locator(".scroll-hint")).to_have_text(
            "Wider than the screen: scroll sideways to see all 12 columns")
        wide = out.locator(".table-wrap")
        expect(wide).to_have_attribute("tabindex", "0")
        expect(wide).to_have_attribute("aria-label", "Your answer as read, scrolls sideways")
        assert axe(bob)[0] == []
    finally:
        bob.set_viewport_size(LAPTOP)


def luminance(colour: str) -> float:
    """The relative luminance of a CSS rgb() or rgba() colour (WCAG 2.1)."""
    red, green, blue = (float(v) / 255 for v in re.findall(r"[\d.]+", colour)[:3])
    linear = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in (red, green, blue)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


# The focused element, its focus ring, and the colour under the ring: that of the first element
# with a background found just outside the element, at its left side (or its top).
FOCUS_STOP = """() => {
  const focused = document.activeElement;
  if (!focused || focused === document.body) { return null; }
  const box = focused.getBoundingClientRect(), style = getComputedStyle(focused);
  const [x, y] = box.left >= 4 ? [box.left - 3.5, box.top + box.height / 2] : [box.left + 4, box.top - 3.5];
  let under = "rgb(255, 255, 255)";
  for (const element of document.elementsFromPoint(Math.max(x, 0), Math.max(y, 0))) {
    if (element === focused || focused.contains(element)) { continue; }
    const colour = getComputedStyle(element).backgroundColor;
    if (colour !== "rgba(0, 0, 0, 0)" && colour !== "transparent") { under = colour; break; }
  }
  const again = focused.hasAttribute("data-tab-stop-seen");
  focused.setAttribute("data-tab-stop-seen", "");
  return {
    what: focused.outerHTML.slice(0, 90),
    again: again,
    tabIndents: focused.matches("textarea[data-tab-indents]"),
    ring: style.outlineStyle === "none" ? 0 : parseFloat(style.outlineWidth),
    colour: style.outlineColor,
    under: under,
  };
}"""


@pytest.mark.parametrize(("who", "path"), [
    ("student", "/items/{code_item}"),
    ("student", "/items/{matrix_item}"),
    ("instructor", "/courses/{course}/gradebook"),
    ("instructor", "/courses/{course}/assignments/new"),
])
def test_every_tab_stop_shows_its_focus_and_none_keeps_the_keyboard(
    who: str, path: str, request: pytest.FixtureRequest, site: dict[str, Any]
) -> None:
    """Tab from the top of the page to its end: each stop shows a focus ring of 2 px or more at
    3:1 against what is under it, and none is reached twice (the code box lets go after Escape)."""
    page = request.getfixturevalue(who)
    page.goto(site["base"] + path.format(**site))
    tab_through(page)


def tab_through(page: Any) -> list[str]:
    """Tab through the page from its top (see above) and check each stop; the stops."""
    seen: list[str] = []
    faint: list[str] = []
    for _ in range(TAB_STOPS_AT_MOST):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUS_STOP)
        if stop is None:  # past the last stop, out of the page
            break
        # a date's fields are stops of one element, in a row; an element met again after others is a loop
        assert not stop["again"] or stop["what"] == seen[-1], f"the keyboard is kept at {stop['what']}"
        seen.append(stop["what"])
        if stop["ring"] < 2 or contrast(stop["colour"], stop["under"]) < FOCUS_RING_CONTRAST:
            faint.append(f"{stop['what']}: {stop['ring']}px {stop['colour']} on {stop['under']}")
        if stop["tabIndents"]:
            page.keyboard.press("Escape")  # then Tab leaves the code box
    else:
        raise AssertionError(f"Tab did not leave the page in {TAB_STOPS_AT_MOST} presses")
    assert len(seen) > 5
    assert not faint, "\n".join(faint)
    return seen


@pytest.fixture(scope="module")
def wide_course(site: dict[str, Any]) -> dict[str, Any]:
    """A second course, of Alice's, with one assignment of a long title over three items, the
    first of which gives a weight matrix wider than a phone (n = 3, K = 8)."""
    app: Flask = site["app"]
    build = Builder(app)
    course_id = build.course(Account(site["teacher"], "teacher", ""), [Account(site["alice"], "alice", "")],
                             code="ML202")
    _, items = build.assignment(
        course_id,
        [{"kind": "layer_jacobian", "n": 3, "K": 8}, {"kind": "softmax_jacobian", "K": 8},
         {"kind": "softmax", "K": 3}],
        title="Week 2: the Jacobian of a whole softmax layer",
    )
    db.database(app).dispose()
    return {"course": course_id, "wide_item": items[0], "formula_item": items[1]}


# The box of an element's text (its contents, whatever their markup) and of the scroll box around it.
TEXT_AND_ITS_BOX = """element => {
  const range = document.createRange();
  range.selectNodeContents(element);
  const text = range.getBoundingClientRect(), box = element.closest(".table-wrap").getBoundingClientRect();
  return {left: text.left, right: text.right, boxLeft: box.left, boxRight: box.right};
}"""


def test_on_a_phone_an_assignments_title_is_in_view_in_the_gradebook(
    instructor: Any, site: dict[str, Any], wide_course: dict[str, Any]
) -> None:
    """The title spans its items' columns, which go on past the screen's edge: it is read in the
    scroll box, and stays there while the box is scrolled through its columns; on a laptop, where
    the table fits, it is centred over them as before."""
    instructor.set_viewport_size(PHONE)
    try:
        instructor.goto(f"{site['base']}/courses/{wide_course['course']}/gradebook")
        title = instructor.get_by_role("columnheader", name=re.compile("^Week 2: the Jacobian"))
        wrap = instructor.locator(".table-wrap")
        assert wrap.evaluate("box => box.scrollWidth > box.clientWidth")  # the columns do go past the edge
        for scrolled in (0, 150, 300):
            wrap.evaluate("(box, x) => { box.scrollLeft = x; }", scrolled)
            seen = title.evaluate(TEXT_AND_ITS_BOX)
            assert seen["boxLeft"] <= seen["left"] and seen["right"] <= seen["boxRight"], (scrolled, seen)
            assert seen["left"] >= 0 and seen["right"] <= PHONE["width"], (scrolled, seen)
        instructor.set_viewport_size(LAPTOP)
        wrap.evaluate("box => { box.scrollLeft = 0; }")
        seen, cell = title.evaluate(TEXT_AND_ITS_BOX), title.bounding_box()
        middle = cell["x"] + cell["width"] / 2
        assert abs((seen["left"] + seen["right"]) / 2 - middle) < 2, (seen, cell)
    finally:
        instructor.set_viewport_size(LAPTOP)


def test_on_a_phone_a_wide_matrix_in_the_question_scrolls_in_its_own_box(
    student: Any, site: dict[str, Any], wide_course: dict[str, Any]
) -> None:
    """W, 3 × 8, is wider than a phone: the page does not scroll sideways, the matrix's box does,
    and the box can be reached and scrolled from the keyboard."""
    student.set_viewport_size(PHONE)
    try:
        student.goto(f"{site['base']}/items/{wide_course['wide_item']}")
        student.wait_for_function("() => new Promise(requestAnimationFrame)")
        assert student.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        matrix = student.locator(".statement math").filter(has=student.locator("mtable")).filter(
            has_text=re.compile("^W"))
        box = matrix.locator("xpath=..")
        assert box.evaluate("box => box.scrollWidth > box.clientWidth + 1")
        expect(box).to_have_attribute("tabindex", "0")
        expect(box).to_have_attribute("role", "region")
        expect(box).to_have_attribute("aria-label", "W in the question, scrolls sideways")
        scrolls_from_the_keyboard(student, box)
    finally:
        student.set_viewport_size(LAPTOP)


#: dS/dz as a sum of seven sevenths: right, and read as a formula far wider than a phone
LONG_FORMULA = " + ".join(["S_i (delta_ij - S_j) / 7"] * 7)
SCROLLS_SIDEWAYS = "box => box.scrollWidth > box.clientWidth + 1"
PAGE_SCROLLS_SIDEWAYS = "document.documentElement.scrollWidth > window.innerWidth"


def test_on_a_phone_a_long_formula_is_read_as_in_a_box_of_its_own(
    student: Any, site: dict[str, Any], wide_course: dict[str, Any]
) -> None:
    """The preview of a long formula as it is typed, and its verdict's "read as", each scroll in
    a box of their own, which the keyboard reaches and which is named, not the page."""
    student.set_viewport_size(PHONE)
    try:
        student.goto(f"{site['base']}/items/{wide_course['formula_item']}")
        student.get_by_role("textbox", name=re.compile("^Your formula")).fill(LONG_FORMULA)
        preview = student.locator("#formula-preview-out")
        preview.get_by_text("no attempt was used").wait_for()
        assert not student.evaluate(PAGE_SCROLLS_SIDEWAYS)
        box = preview.locator(".math-wrap")
        expect(box).to_have_attribute("role", "region")
        expect(box).to_have_attribute("tabindex", "0")
        expect(box).to_have_attribute("aria-label", "The preview of your formula, scrolls sideways")
        assert box.evaluate(SCROLLS_SIDEWAYS)
        assert axe(student)[0] == []

        student.get_by_role("button", name="Submit formula for grading").click()
        verdict = student.locator("#verdict")
        expect(verdict.get_by_role("heading")).to_have_text("Your last answer: correct, full marks (100%)")
        student.wait_for_function("() => new Promise(requestAnimationFrame)")
        assert not student.evaluate(PAGE_SCROLLS_SIDEWAYS)
        box = verdict.locator(".math-wrap")
        expect(box).to_have_attribute("aria-label",
                                      "Your last answer: your formula as read, scrolls sideways")
        assert box.evaluate(SCROLLS_SIDEWAYS)
        scrolls_from_the_keyboard(student, box)
    finally:
        student.set_viewport_size(LAPTOP)


def test_the_assignment_forms_errors_are_each_at_their_field(instructor: Any, site: dict[str, Any]) -> None:
    """A title taken already and an item that lets students answer in no form: each message is
    at its field and describes it, the field is marked invalid, and the first has the focus."""
    instructor.goto(f"{site['base']}/courses/{site['course']}/assignments/new")
    instructor.get_by_label("Title").fill("Homework 1")
    for form in ("a matrix", "a formula", "Python code"):
        instructor.get_by_label(form).uncheck()
    instructor.get_by_role("button", name="Save the assignment").click()
    expect(instructor.get_by_role("alert")).to_contain_text("Nothing was saved")

    title = instructor.get_by_label("Title")
    expect(title).to_be_focused()
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(title).to_have_accessible_description("ML101 already has an assignment named “Homework 1”.")
    forms = instructor.get_by_role("group", name="Students may answer with")
    expect(forms).to_have_accessible_description(re.compile("choose one at least"))
    for form in ("a matrix", "a formula", "Python code"):
        expect(instructor.get_by_label(form)).to_have_attribute("aria-invalid", "true")
    expect(instructor.get_by_label("K", exact=True)).not_to_have_attribute("aria-invalid", "true")
    assert axe(instructor)[0] == []

    instructor.get_by_label("Title").fill("Homework 2")  # the form came back as it was sent
    instructor.get_by_role("button", name="Save the assignment").click()
    expect(instructor.get_by_label("a matrix")).to_be_focused()
    expect(instructor.get_by_label("Title")).not_to_have_attribute("aria-invalid", "true")


@pytest.fixture(scope="module")
def lms() -> Iterator[FakePlatform]:
    platform = FakePlatform().start()
    yield platform
    platform.stop()


@pytest.fixture(scope="module")
def joins(site: dict[str, Any], lms: FakePlatform) -> dict[str, Any]:
    """The course linked to a local LMS. Dana's LMS account and her older account both answered
    question 1: her join waits for the instructor's choice. Carol's did too, and the instructor
    chose her older account's record: the LMS account's answers are set apart."""
    app: Flask = site["app"]
    build = Builder(app)
    with build.sessionmaker.begin() as session:
        platform = platforms.register(session, platforms.PlatformIn(**lms.registration()))
        platforms.link_context(session, platform, CONTEXT_ID, session.get_one(Course, site["course"]))
        platform_id = platform.id
    people = {}
    for name in ("dana", "carol"):
        older = build.user(name, password=PASSWORD, full_name=f"{name.title()} Older")
        build.enrol(site["course"], older)
        with build.sessionmaker.begin() as session:
            made = made_by_lms(session, platform_id, site["course"])
            item = session.get_one(Item, site["matrix_item"])
            answer(session, item, made.id, 0.0)
            answer(session, item, older.id, 0.5)
            [identity] = linking.identities(session, made)
            people[name] = (made.id, older.id, identity.sub)
    with build.sessionmaker.begin() as session:
        for name in ("dana", "carol"):
            made, older = (session.get_one(User, user_id) for user_id in people[name][:2])
            with pytest.raises(linking.BothAnswered) as refused:
                linking.link(session, made, older)
            people[name] = (*people[name], join_requests.ask(session, made, older, refused.value.conflicts))
        _, _, _, carols = people["carol"]
        decided_on = join_requests.state_of(session, carols).fingerprint
        join_requests.resolve(session, carols, session.get_one(User, site["teacher"]),
                              {site["matrix_item"]: "older"}, decided_on)
    db.database(app).dispose()
    return {"dana_sub": people["dana"][2], "dana": people["dana"][1], "carol": people["carol"][1],
            "platform": lms}


@pytest.fixture(scope="module")
def lms_student(browser: Any, site: dict[str, Any], joins: dict[str, Any]) -> Iterator[Any]:
    """Dana's LMS account, logged in by a launch from the LMS."""
    lms: FakePlatform = joins["platform"]
    started = requests.post(f"{site['base']}/lti/login", allow_redirects=False, timeout=30, data={
        "iss": lms.issuer, "login_hint": "hint-1", "client_id": "grader-tool-client",
        "target_link_uri": f"{site['base']}/lti/launch",
    })
    assert started.status_code == 302, started.text
    claims = lms.launch_claims(joins["dana_sub"], [LEARNER],
                               **{CLAIM + "custom": {"assignment_id": str(site["assignment"])}})
    for service in (AGS_CLAIM, NRPS_CLAIM):  # no scores or roster: the pages are what is checked
        del claims[service]
    lms.next_launch = claims
    form = requests.get(started.headers["Location"], timeout=30).json()
    context = browser.new_context(viewport=LAPTOP)
    launched = context.request.post(f"{site['base']}/lti/launch", form=form, max_redirects=0)
    assert launched.status == 302, launched.text()
    yield context.new_page()
    context.close()


JOIN_PAGES = {
    "join-account-waiting": ("lms_student", "/lti/join-account"),
    "join-requests": ("instructor", "/lti/join-requests"),
    "timeline-set-apart": ("instructor", "/courses/{course}/students/{carol}"),
}


@pytest.mark.parametrize("name", list(JOIN_PAGES))
def test_axe_finds_nothing_on_the_pages_of_a_join(
    name: str, request: pytest.FixtureRequest, site: dict[str, Any], joins: dict[str, Any]
) -> None:
    """The pages of a join have no violation at all, of any impact."""
    who, path = JOIN_PAGES[name]
    page = request.getfixturevalue(who)
    page.set_viewport_size(LAPTOP)
    page.goto(site["base"] + path.format(**site, **joins))
    shown = {"join-account-waiting": page.get_by_role("button", name="Withdraw the request"),
             "join-requests": page.get_by_role("radio").first,
             "timeline-set-apart": page.get_by_role("table", name="Answers set apart by this join")}[name]
    expect(shown).to_be_visible()
    failing, others = axe_at_both_widths(page)
    assert not failing and not others, json.dumps({"failing": failing, "also": others}, indent=1,
                                                  ensure_ascii=False)


@pytest.mark.parametrize("name", list(JOIN_PAGES))
def test_every_tab_stop_of_the_pages_of_a_join_shows_its_focus(
    name: str, request: pytest.FixtureRequest, site: dict[str, Any], joins: dict[str, Any]
) -> None:
    who, path = JOIN_PAGES[name]
    page = request.getfixturevalue(who)
    page.goto(site["base"] + path.format(**site, **joins))
    seen = tab_through(page)
    wanted = {"join-account-waiting": "Withdraw the request", "join-requests": 'type="radio"',
              "timeline-set-apart": "<summary"}[name]
    assert any(wanted in stop for stop in seen), seen


def test_each_choice_of_a_join_request_is_reached_and_named_from_the_keyboard(
    instructor: Any, site: dict[str, Any], joins: dict[str, Any]
) -> None:
    """A question's two choices are a group named by the question, each radio by whose record it
    is; Tab reaches the group, the arrows the other choice, and Tab again the button that joins."""
    instructor.goto(f"{site['base']}/lti/join-requests")
    request = instructor.get_by_role("region", name=re.compile("^Dana Older"))
    group = request.get_by_role("group", name=re.compile(r"question 1 \(.*\): whose record counts\?$"))
    theirs = group.get_by_role("radio", name="the LMS account's: 1 answer, best score 0.00")
    olders = group.get_by_role("radio", name="the older account's: 1 answer, best score 0.50")
    tab_to(instructor, "section.join-request input[type=radio]")
    expect(theirs).to_be_focused()
    instructor.keyboard.press("Space")
    expect(theirs).to_be_checked()
    instructor.keyboard.press("ArrowDown")
    expect(olders).to_be_focused()
    expect(olders).to_be_checked()
    instructor.keyboard.press("Tab")
    expect(request.get_by_role("button", name="Join with these choices for dana")).to_be_focused()


def test_a_join_request_answered_since_it_was_shown_says_so_at_its_choices(
    instructor: Any, site: dict[str, Any], joins: dict[str, Any]
) -> None:
    """The instructor chose, but the older account answered again meanwhile: the request is shown
    again as it is now, its message at its choices, describing them, and the first has the focus."""
    instructor.goto(f"{site['base']}/lti/join-requests")
    instructor.get_by_role("region", name=re.compile("^Dana Older")).get_by_role("radio").first.check()
    app: Flask = site["app"]
    with db.database(app).sessionmaker.begin() as session:
        answer(session, session.get_one(Item, site["matrix_item"]), joins["dana"], 1.0)
    db.database(app).dispose()
    instructor.get_by_role("button", name="Join with these choices for dana").click()

    request = instructor.get_by_role("region", name=re.compile("^Dana Older"))
    expect(request.get_by_role("alert")).to_contain_text("answers changed since the page was shown")
    group = request.get_by_role("group").first
    expect(group).to_have_accessible_description(re.compile("answers changed since the page was shown"))
    expect(group.get_by_role("radio", name=re.compile("^the older account's: 2 answers"))).to_be_visible()
    expect(group.get_by_role("radio").first).to_be_focused()
    failing, others = axe(instructor)
    assert failing == [] and others == [], (failing, others)


def test_a_join_refused_for_its_password_says_so_at_both_fields(
    lms_student: Any, site: dict[str, Any], joins: dict[str, Any]
) -> None:
    lms_student.goto(f"{site['base']}/lti/join-account")
    lms_student.get_by_label("User name of your other account").fill("dana")
    lms_student.get_by_label("Its password").fill("not the password")
    lms_student.get_by_role("button", name="Join and move all of the above").click()

    expect(lms_student.get_by_role("alert")).to_contain_text("do not match")
    name, password = lms_student.get_by_label("User name of your other account"), lms_student.get_by_label(
        "Its password")
    expect(name).to_be_focused()
    for field in (name, password):
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_accessible_description(re.compile("do not match"))
    expect(lms_student.get_by_role("button", name="Withdraw the request")).to_be_visible()
    failing, others = axe(lms_student)
    assert failing == [] and others == [], (failing, others)
