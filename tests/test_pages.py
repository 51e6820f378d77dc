"""The pages: each renders for its role, refuses the others, and keeps its forms safe."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

import exercises
from grader.judge.answers.detect import detect_format
from grader.service import variants
from grader.service.models import Item, Submission
from grader.web import charts
from grader.web.mathml import render_statement
from grader.web.pages import display
from tests.conftest import Builder

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "a long password"


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    match = CSRF.search(client.get(path, follow_redirects=True).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def log_in(client: FlaskClient, name: str) -> None:
    response = client.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def post(client: FlaskClient, path: str, data: dict[str, Any], token_from: str | None = None) -> Any:
    return client.post(path, data={**data, "csrf_token": csrf_token(client, token_from or "/")})


@pytest.fixture
def school(build: Builder) -> dict[str, Any]:
    """An instructor, two students of one course, an outsider, and a homework of two items."""
    teacher = build.user("teacher", "instructor", password=PASSWORD, full_name="Ada Teacher")
    alice = build.user("alice", password=PASSWORD, full_name="Alice Liddell")
    bob = build.user("bob", password=PASSWORD)
    eve = build.user("eve", password=PASSWORD)
    other = build.user("other", "instructor", password=PASSWORD)
    course_id = build.course(teacher, [alice, bob])
    assignment_id, items = build.assignment(
        course_id,
        [
            {"kind": "layer_jacobian", "n": 3, "K": 5, "points": 2.0},
            {"kind": "softmax", "K": 3, "max_attempts": 1},
        ],
        due_at=datetime.now(UTC) + timedelta(days=7),
    )
    return {
        "teacher": teacher,
        "alice": alice,
        "bob": bob,
        "eve": eve,
        "other": other,
        "course_id": course_id,
        "assignment_id": assignment_id,
        "items": items,
    }


def reference(build: Builder, item_id: int, user_id: int) -> Any:
    with build.sessionmaker() as session:
        item = session.get(Item, item_id)
        instance = variants.instance_for(session, item, user_id)
    return exercises.get(instance["kind"]).reference(instance)


def given_values(page: str) -> str:
    """The section of an exercise's or a derivation's page that shows its given values."""
    return page.split('aria-labelledby="given-heading"', 1)[1].split("</section>", 1)[0]


# ---- logging in -----------------------------------------------------------------------


def test_anonymous_pages_redirect_to_login(client: FlaskClient, school: dict[str, Any]) -> None:
    item = school["items"][0]
    for path in ["/", f"/items/{item}", "/practice", f"/courses/{school['course_id']}/gradebook"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


def test_login_logout(client: FlaskClient, school: dict[str, Any]) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<label for="name">' in page and '<label for="password">' in page
    wrong = client.post(
        "/login", data={"name": "alice", "password": "nope", "csrf_token": csrf_token(client)}
    )
    assert wrong.status_code == 401
    assert "do not match" in wrong.get_data(as_text=True)
    response = client.post(
        "/login",
        data={"name": "alice", "password": PASSWORD, "next": "/practice", "csrf_token": csrf_token(client)},
    )
    assert response.headers["Location"] == "/practice"
    assert "Alice Liddell" in client.get("/").get_data(as_text=True)
    assert post(client, "/logout", {}).status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example/", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(client: FlaskClient, school: dict[str, Any], target: str) -> None:
    response = client.post(
        "/login",
        data={"name": "alice", "password": PASSWORD, "next": target, "csrf_token": csrf_token(client)},
    )
    assert response.headers["Location"] == "/"


def test_forms_need_the_csrf_token(client: FlaskClient, school: dict[str, Any]) -> None:
    response = client.post("/login", data={"name": "alice", "password": PASSWORD})
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    log_in(client, "alice")
    item = school["items"][0]
    response = client.post(f"/items/{item}/submit", data={"answer": "[1]", "format": "json"})
    assert response.status_code == 400
    response = client.post("/logout")
    assert response.status_code == 400


# ---- students ------------------------------------------------------------------------


def test_dashboard_lists_courses_assignments_and_progress(
    client: FlaskClient, school: dict[str, Any]
) -> None:
    log_in(client, "alice")
    page = client.get("/").get_data(as_text=True)
    assert "ML101" in page and "Homework 1" in page
    assert "0 of 2 answered" in page
    assert f'href="/items/{school["items"][0]}"' in page


def test_exercise_page_shows_mathml_given_values_and_forms(
    client: FlaskClient, school: dict[str, Any]
) -> None:
    log_in(client, "alice")
    page = client.get(f"/items/{school['items'][0]}").get_data(as_text=True)
    assert "<math" in page and "$" not in page.split("<main", 1)[1].split("<form", 1)[0]
    for label in ("Copy as numpy", "Copy as JSON", "Copy as MATLAB"):
        assert label in page
    assert 'id="copy-numpy">import numpy as np' in page
    assert '<label for="answer">' in page and '<label for="code">' in page
    assert "data-tab-indents" in page and "def layer_jacobian(W, x):" in page
    assert "the weights, one row per input, one column per class, 3 × 5 matrix" in page
    assert "It receives W and x as numpy arrays" in page and "large logits included" in page


def test_transpose_then_right_answer(client: FlaskClient, build: Builder, school: dict[str, Any]) -> None:
    log_in(client, "alice")
    item = school["items"][0]
    right = reference(build, item, school["alice"].id)
    response = post(
        client, f"/items/{item}/submit", {"answer": json.dumps(right.T.tolist()), "format": "auto"}
    )
    assert response.status_code == 302
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert "transpose" in page and "not right yet" in page
    post(client, f"/items/{item}/submit", {"answer": json.dumps(right.tolist()), "format": "auto"})
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert "correct, full marks" in page and "(100%)" in page
    history = client.get(f"/items/{item}/history").get_data(as_text=True)
    assert history.count('class="card"') == 2


def test_off_entries_are_marked_in_the_grid(
    client: FlaskClient, build: Builder, school: dict[str, Any]
) -> None:
    log_in(client, "alice")
    item = school["items"][0]
    wrong = reference(build, item, school["alice"].id)
    wrong[1, 2] += 0.5
    post(client, f"/items/{item}/submit", {"answer": json.dumps(wrong.tolist()), "format": "json"})
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert page.count('class="off"') == 1
    assert "partial" in page


def test_preview_reads_without_using_an_attempt(
    client: FlaskClient, build: Builder, school: dict[str, Any]
) -> None:
    log_in(client, "alice")
    item = school["items"][1]  # one attempt allowed
    path = f"/items/{item}"
    shown = post(client, f"{path}/preview", {"answer": "[0.1 0.2 0.7]", "format": "auto"}, path)
    assert shown.status_code == 200
    assert "vector of 3" in shown.get_data(as_text=True)
    bad = post(client, f"{path}/preview", {"answer": "[0.1, oops]", "format": "auto"}, path)
    assert "Not readable" in bad.get_data(as_text=True)
    wrong_shape = post(client, f"{path}/preview", {"answer": "[[1, 2], [3, 4]]", "format": "auto"}, path)
    assert "asks for shape 3" in wrong_shape.get_data(as_text=True)
    with build.sessionmaker() as session:
        assert session.query(Submission).count() == 0
    page = client.get(path).get_data(as_text=True)
    assert "left: <strong>1</strong>" in page


def test_attempts_run_out_with_a_clear_message(client: FlaskClient, school: dict[str, Any]) -> None:
    log_in(client, "alice")
    path = f"/items/{school['items'][1]}"
    post(client, f"{path}/submit", {"answer": "[0.1, 0.2, 0.7]", "format": "json"}, path)
    page = client.get(path).get_data(as_text=True)
    assert "You have used every attempt" in page
    response = post(client, f"{path}/submit", {"answer": "[0.1, 0.2, 0.7]", "format": "json"}, "/")
    assert response.status_code == 409
    assert "attempts at this item are used" in response.get_data(as_text=True)


def test_empty_answer_is_refused_and_not_stored(
    client: FlaskClient, build: Builder, school: dict[str, Any]
) -> None:
    log_in(client, "alice")
    response = post(client, f"/items/{school['items'][0]}/submit", {"answer": "  ", "format": "auto"})
    assert response.status_code == 422
    assert "The answer is empty" in response.get_data(as_text=True)
    with build.sessionmaker() as session:
        assert session.query(Submission).count() == 0


def test_code_answer_gets_a_verdict(client: FlaskClient, school: dict[str, Any]) -> None:
    log_in(client, "alice")
    item = school["items"][1]
    code = "import numpy as np\n\ndef softmax(z):\n    e = np.exp(z - z.max())\n    return e / e.sum()\n"
    post(client, f"/items/{item}/submit", {"answer": code, "format": "python"})
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert "correct, full marks" in page


def test_feedback_waits_for_the_due_date_when_the_assignment_says_so(
    client: FlaskClient, build: Builder, school: dict[str, Any]
) -> None:
    _, (item,) = build.assignment(
        school["course_id"],
        [{"kind": "softmax_jacobian", "K": 3}],
        title="Exam",
        due_at=datetime.now(UTC) + timedelta(days=1),
        feedback_before_due=False,
    )
    log_in(client, "alice")
    right = reference(build, item, school["alice"].id)
    post(client, f"/items/{item}/submit", {"answer": json.dumps(right.T.tolist()), "format": "json"})
    page = client.get(f"/items/{item}").get_data(as_text=True)
    assert "The feedback on it is shown after the due date" in page
    assert "transpose" not in page.split('id="verdict"', 1)[1].split("</section>", 1)[0]


def test_too_many_submissions_are_refused_with_a_message(
    client: FlaskClient, app: Any, school: dict[str, Any]
) -> None:
    app.config["SUBMISSIONS_PER_MINUTE"] = 1
    log_in(client, "alice")
    path = f"/items/{school['items'][0]}"
    assert post(client, f"{path}/submit", {"answer": "[1]", "format": "json"}).status_code == 302
    response = post(client, f"{path}/submit", {"answer": "[2]", "format": "json"})
    assert response.status_code == 429
    assert "at most 1 submissions a minute" in response.get_data(as_text=True)
    assert "[2]" in response.get_data(as_text=True)  # the answer is kept in the box


def test_students_see_only_their_own(client: FlaskClient, build: Builder, school: dict[str, Any]) -> None:
    log_in(client, "eve")  # in no course
    assert client.get(f"/items/{school['items'][0]}").status_code == 404
    assert client.get(f"/items/{school['items'][0]}/history").status_code == 404
    assert client.get("/items/999999").status_code == 404
    log_in(client, "alice")
    for path in (
        f"/courses/{school['course_id']}",
        f"/courses/{school['course_id']}/gradebook",
        f"/courses/{school['course_id']}/gradebook.csv",
        f"/items/{school['items'][0]}/report",
        f"/courses/{school['course_id']}/assignments/new",
        f"/assignments/{school['assignment_id']}/edit",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "instructors" in response.get_data(as_text=True)


def test_practice_set_on_request_says_why(client: FlaskClient, school: dict[str, Any]) -> None:
    log_in(client, "bob")
    page = client.get("/practice").get_data(as_text=True)
    assert "no practice sets yet" in page
    response = post(client, "/practice", {"count": "3", "kinds": "softmax"}, "/practice")
    assert response.status_code == 302
    page = client.get("/practice").get_data(as_text=True)
    assert page.count("new to you") == 3
    item_id = int(re.search(r'href="/items/(\d+)"', page).group(1))
    exercise_page = client.get(f"/items/{item_id}").get_data(as_text=True)
    assert "Why this one" in exercise_page
    log_in(client, "alice")
    assert client.get(f"/items/{item_id}").status_code == 404  # bob's, not hers
    bad = post(client, "/practice", {"count": "99"}, "/practice")
    assert bad.status_code == 302
    assert "between 1 and 20" in client.get("/practice").get_data(as_text=True)


# ---- instructors -----------------------------------------------------------------------


def _submit_as(
    client: FlaskClient, build: Builder, school: dict[str, Any], name: str, transpose: bool
) -> None:
    log_in(client, name)
    item = school["items"][0]
    right = reference(build, item, school[name].id)
    answer = right.T if transpose else right
    post(client, f"/items/{item}/submit", {"answer": json.dumps(answer.tolist()), "format": "json"})
    post(client, "/logout", {})


def test_instructor_pages(client: FlaskClient, build: Builder, school: dict[str, Any]) -> None:
    _submit_as(client, build, school, "alice", transpose=True)
    _submit_as(client, build, school, "alice", transpose=False)
    _submit_as(client, build, school, "bob", transpose=True)
    log_in(client, "teacher")
    course_id, item = school["course_id"], school["items"][0]
    home = client.get("/").get_data(as_text=True)
    assert "Your courses" in home and "ML101" in home
    course = client.get(f"/courses/{course_id}").get_data(as_text=True)
    assert "Homework 1" in course and "Alice Liddell" in course

    book = client.get(f"/courses/{course_id}/gradebook?sort=total&order=desc").get_data(as_text=True)
    assert 'aria-sort="descending"' in book
    assert book.index("Alice Liddell") < book.index(">bob<")
    assert "2 attempts" in book
    csv = client.get(f"/courses/{course_id}/gradebook.csv")
    assert csv.mimetype == "text/csv" and "attachment" in csv.headers["Content-Disposition"]
    assert csv.get_data(as_text=True).splitlines()[0] == "Student,SIS Login ID,Section,Homework 1"

    report = client.get(f"/items/{item}/report").get_data(as_text=True)
    assert report.count("<svg") == 2 and 'role="img"' in report
    assert 'id="code-transpose"' in report and "the transpose of the expected one" in report

    timeline = client.get(f"/courses/{course_id}/students/{school['alice'].id}").get_data(as_text=True)
    assert timeline.count('<li class="card">') == 2
    before = reference(build, item, school["bob"].id)
    response = post(client, f"/items/{item}/students/{school['bob'].id}/redraw", {})
    assert response.status_code == 302
    assert not (reference(build, item, school["bob"].id) == before).all()


def test_other_instructors_and_unknown_students(client: FlaskClient, school: dict[str, Any]) -> None:
    log_in(client, "other")
    assert client.get(f"/courses/{school['course_id']}/gradebook").status_code == 404
    assert client.get(f"/items/{school['items'][0]}/report").status_code == 404
    log_in(client, "teacher")
    assert client.get(f"/courses/{school['course_id']}/students/{school['eve'].id}").status_code == 404
    assert client.get(f"/items/{school['items'][0]}").status_code == 403  # the student view


def test_create_preview_and_edit_an_assignment(
    client: FlaskClient, build: Builder, school: dict[str, Any]
) -> None:
    log_in(client, "teacher")
    path = f"/courses/{school['course_id']}/assignments/new"
    form = {
        "title": "Quiz",
        "due_at": "2030-01-02T10:00",
        "score_policy": "latest",
        "rows": "2",
        "kind-0": "softmax_jacobian",
        "K-0": "3",
        "layout-0": "denominator",
        "points-0": "3",
        "max_attempts-0": "2",
        "kind-1": "",
    }
    preview = post(client, path, {**form, "action": "preview"}, path)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "as a student sees it" in page and "<math" in page
    bad = post(client, path, {**form, "K-0": "many", "action": "save"}, path)
    assert bad.status_code == 422 and "not a whole number" in bad.get_data(as_text=True)
    dup = post(client, path, {**form, "title": "Homework 1", "action": "save"}, path)
    assert dup.status_code == 422 and "already has an assignment" in dup.get_data(as_text=True)
    saved = post(client, path, {**form, "action": "save"}, path)
    assert saved.status_code == 302
    course = client.get(f"/courses/{school['course_id']}").get_data(as_text=True)
    assert "Quiz" in course and "2030-01-02 10:00 UTC" in course
    edit_id = int(re.findall(r'href="/assignments/(\d+)/edit"', course)[-1])
    edit_path = f"/assignments/{edit_id}/edit"
    assert 'value="Quiz"' in client.get(edit_path).get_data(as_text=True)
    response = post(
        client, edit_path, {**form, "title": "Quiz 1", "points-0": "4", "action": "save"}, edit_path
    )
    assert response.status_code == 302
    assert "Quiz 1" in client.get(f"/courses/{school['course_id']}").get_data(as_text=True)


@pytest.mark.parametrize("rows", ["abc", "1.5", "²", "0x2"])
def test_a_damaged_row_count_is_a_400_that_says_so(
    client: FlaskClient, school: dict[str, Any], rows: str
) -> None:
    log_in(client, "teacher")
    path = f"/courses/{school['course_id']}/assignments/new"
    response = post(client, path, {"title": "Quiz", "rows": rows, "kind-0": "softmax"}, path)
    assert response.status_code == 400
    assert "row count" in response.get_data(as_text=True)


def test_answered_items_keep_their_kind(client: FlaskClient, build: Builder, school: dict[str, Any]) -> None:
    _submit_as(client, build, school, "alice", transpose=False)
    log_in(client, "teacher")
    edit_path = f"/assignments/{school['assignment_id']}/edit"
    page = client.get(edit_path).get_data(as_text=True)
    assert "answered: kind and sizes are fixed" in page
    form = {
        "title": "Homework 1",
        "score_policy": "best",
        "rows": "2",
        "item_id-0": str(school["items"][0]),
        "kind-0": "softmax",
        "K-0": "4",
        "points-0": "5",
        "item_id-1": str(school["items"][1]),
        "kind-1": "softmax",
        "K-1": "3",
        "points-1": "1",
        "max_attempts-1": "1",
        "action": "save",
    }
    assert post(client, edit_path, form, edit_path).status_code == 302
    with build.sessionmaker() as session:
        item = session.get(Item, school["items"][0])
        assert (item.kind, item.K, item.points) == ("layer_jacobian", 5, 5.0)


def test_unknown_url_and_method(client: FlaskClient, school: dict[str, Any]) -> None:
    log_in(client, "alice")
    assert client.get(f"/items/{school['items'][0]}/submit").status_code == 405


# ---- the helpers -------------------------------------------------------------------------


def test_statement_math_becomes_mathml_and_text_is_escaped() -> None:
    html = str(render_statement("Let <b>$x_1 = 2$</b> & $\\frac{a}{b}$"))
    assert "&lt;b&gt;" in html and "&amp;" in html
    assert html.count("<math") == 2 and "<mfrac>" in html


def test_only_a_formula_with_a_matrix_is_put_in_a_box_that_can_scroll() -> None:
    html = str(render_statement(r"Let $W = \begin{bmatrix} 1 & 2 \end{bmatrix}$ and $K = 2$."))
    assert html.count('<span class="math-wrap"><math') == 1 and html.count("<math") == 2
    assert re.search(r'<span class="math-wrap"><math[^>]*><mrow><mi>W</mi>.*?</math></span>', html)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[1, 2], [3, 4]]", "json"),
        ("[1 2; 3 4]", "text"),
        ("def softmax(z):\n    return z", "python"),
        ("import numpy as np\n", "python"),
        ("array([1., 2.])", "text"),
        ("3", "json"),
        ("[1/3, 2e]", "text"),
        ("S_i (delta_ij - S_j)", "formula"),
        (r"\operatorname{diag}(S) - S S^\top", "formula"),
        ("[0.1, oops]", "text"),
    ],
)
def test_detect_format(text: str, expected: str) -> None:
    assert detect_format(text) == expected


def test_notations_paste_back() -> None:
    exercise = exercises.get("cross_entropy_weight_grad")
    instance = exercise.draw(3)
    found = {n.key: n.text for n in display.notations(exercise, instance)}
    assert json.loads(found["json"]) == {k: instance[k] for k in exercise.given}
    namespace: dict[str, Any] = {}
    exec(found["numpy"], namespace)
    assert namespace["W"].tolist() == instance["W"]
    assert "W = [" in found["matlab"] and "; " in found["matlab"]


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("softmax", "z as a numpy array"),
        ("cross_entropy_weight_grad", "W and x as numpy arrays and c as an int"),
        ("jacobian_warmup", "x1 and x2 as floats"),
    ],
)
def test_the_arguments_a_function_receives_follow_the_declaration(kind: str, hint: str) -> None:
    assert display.arguments_hint(exercises.get(kind)) == hint


def test_given_values_are_shown_by_their_declared_type() -> None:
    exercise = exercises.get("cross_entropy_weight_grad")
    instance = {"kind": exercise.name, "W": [[1.0, -0.5], [0.25, 2.0]], "x": [0.5, -1.0], "c": 1}
    shown = {given.name: (given.what, given.rows) for given in display.given_values(exercise, instance)}
    assert shown["W"][1] == [["1", "-0.5"], ["0.25", "2"]] and shown["W"][0].endswith("2 × 2 matrix")
    assert shown["x"] == ("the inputs, vector of 2", [["0.5", "-1"]])
    assert shown["c"] == ("the true class, 0-based index", [["1"]])
    matlab = {n.key: n.text for n in display.notations(exercise, instance)}["matlab"]
    assert "c = 1;  % 0-based class index" in matlab and "x = [0.5; -1];  % a column" in matlab


def test_charts_are_accessible_svg() -> None:
    bins = [charts.Bar("0–50%", 1), charts.Bar("50–100%", 3)]
    svg = str(charts.histogram(bins, "Scores <all>", "score", chart_id="h"))
    assert svg.startswith("<svg") and 'aria-labelledby="h-title h-desc"' in svg and "&lt;all&gt;" in svg
    bars = str(charts.frequency_bars([charts.Bar("transpose", 3), charts.Bar("sign", 5)], "Codes"))
    assert bars.index("sign") < bars.index("transpose")
    assert "No data yet" in str(charts.frequency_bars([], "Codes"))


@pytest.mark.parametrize("answer", ["[" * 5000 + "]" * 5000, "[" * 100_000, "{" * 5000 + "}" * 5000])
def test_deeply_nested_answers_get_a_message_not_an_error(
    client: FlaskClient, school: dict[str, Any], answer: str
) -> None:
    log_in(client, "alice")
    path = f"/items/{school['items'][0]}"
    preview = post(client, f"{path}/preview", {"answer": answer, "format": "auto"}, path)
    assert preview.status_code == 200
    assert "Not readable" in preview.get_data(as_text=True)
    submitted = post(client, f"{path}/submit", {"answer": answer, "format": "auto"}, path)
    assert submitted.status_code in (200, 302, 422)
    page = client.get(path).get_data(as_text=True)
    assert "Something went wrong" not in submitted.get_data(as_text=True) + page


def test_the_formula_tab_previews_and_grades_a_formula(
    client: FlaskClient, build: Builder, school: dict[str, Any]
) -> None:
    log_in(client, "alice")
    item = school["items"][0]  # layer_jacobian
    path = f"/items/{item}"
    page = client.get(path).get_data(as_text=True)
    assert 'id="formula-heading"' in page and 'href="#formula-heading">Formula</a>' in page
    assert "dS_t/dW_ji" in page
    shown = post(client, f"{path}/preview", {"answer": "S_t(δ_ti − S_i)x_j", "format": "formula"}, path)
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "<math" in html and "(S_t * (delta_ti - S_i)) * x_j" in html
    free = post(client, f"{path}/preview", {"answer": "S_t x_m", "format": "formula"}, path)
    free = free.get_data(as_text=True)
    assert "index m is free" in free and "<math" in free
    bad = post(client, f"{path}/preview", {"answer": "S_t (", "format": "formula"}, path)
    bad = bad.get_data(as_text=True)
    assert "Not readable as a formula" in bad
    with build.sessionmaker() as session:
        assert session.query(Submission).count() == 0
    post(client, f"{path}/submit", {"answer": "S_t (delta_ti - S_i)", "format": "formula"}, path)
    page = client.get(path).get_data(as_text=True)
    assert "missing_input_factor" in page or "factor x_j" in page
    assert "Your formula was read as" in page and "<math" in page


def test_the_instructor_chooses_the_answer_forms_and_the_page_keeps_to_them(
    client: FlaskClient, build: Builder, school: dict[str, Any]
) -> None:
    log_in(client, "teacher")
    path = f"/courses/{school['course_id']}/assignments/new"
    form = {"title": "Formulas only", "score_policy": "best", "rows": "1", "kind-0": "softmax", "K-0": "3",
            "layout-0": "numerator", "points-0": "1", "forms-shown-0": "1", "forms-0": "formula",
            "action": "save"}
    none = post(client, path, {**form, "forms-0": ""}, path)
    assert none.status_code == 422
    assert post(client, path, form, path).status_code == 302
    with build.sessionmaker() as session:
        item = session.query(Item).filter(Item.kind == "softmax").order_by(Item.id.desc()).first()
        assert item.answer_forms == ["formula"]
        item_id = item.id
    edit = client.get(f"/assignments/{item.assignment_id}/edit").get_data(as_text=True)
    assert 'value="formula" checked' in edit and 'value="matrix" >' in edit
    log_in(client, "alice")
    page = client.get(f"/items/{item_id}").get_data(as_text=True)
    assert 'id="formula-heading"' in page
    assert 'id="answer-heading"' not in page and 'id="code-heading"' not in page
    refused = post(client, f"/items/{item_id}/submit", {"answer": "[0.1, 0.2, 0.7]", "format": "json"})
    assert refused.status_code == 409
    assert "does not accept an answer as a matrix" in refused.get_data(as_text=True)


@pytest.mark.parametrize(
    ("answer", "fmt"),
    [("hello I think it is 0.5 maybe?", "auto"), ("S_k (delta_ij - S_j)", "formula")],
    ids=["parse", "formula_index"],
)
def test_an_unreadable_answer_is_kept_but_uses_no_attempt_and_no_score(
    client: FlaskClient, build: Builder, school: dict[str, Any], answer: str, fmt: str
) -> None:
    log_in(client, "alice")
    item = school["items"][1]  # one attempt allowed
    path = f"/items/{item}"
    post(client, f"{path}/submit", {"answer": answer, "format": fmt}, path)
    page = client.get(path).get_data(as_text=True)
    assert "left: <strong>1</strong>" in page
    history = client.get(f"{path}/history").get_data(as_text=True)
    assert answer.split()[0] in history  # kept, and shown
    with build.sessionmaker() as session:
        stored = session.scalars(sa.select(Submission)).one()
        assert stored.graded_at is not None and stored.score is None
        assert stored.codes and stored.codes[0] in ("parse", "formula_index")
    right = json.dumps(reference(build, item, school["alice"].id).tolist())
    accepted = post(client, f"{path}/submit", {"answer": right, "format": "json"}, path)
    assert accepted.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "correct, full marks" in page
    assert "You have used every attempt" in page  # the right answer was the one attempt


@pytest.mark.parametrize(
    ("answer", "fmt"),
    [("[0.3, 0.3, 0.4]", "json"),
     ("import numpy as np\n\ndef softmax(z):\n    return np.exp(z)\n", "python")],
)
def test_the_students_text_stays_in_its_box_after_a_submit(
    client: FlaskClient, school: dict[str, Any], answer: str, fmt: str
) -> None:
    log_in(client, "alice")
    path = f"/items/{school['items'][0]}"
    post(client, f"{path}/submit", {"answer": answer, "format": fmt}, path)
    page = client.get(path).get_data(as_text=True)
    assert html.escape(answer, quote=False) in page
