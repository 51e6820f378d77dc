"""Creating and editing an assignment from a form, with a preview of each item as a student sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from werkzeug.datastructures import MultiDict

import exercises
from exercises import InstanceError
from exercises.base import LAYOUTS
from grader.judge.verdict import ANSWER_FORMS
from grader.service import variants
from grader.service.db import get_session
from grader.service.models import Assignment, Course, Item, Submission, Variant
from grader.web.api.assignments import check_item, title_taken
from grader.web.api.schemas import AssignmentIn, ItemSpec
from grader.web.errors import ApiError
from grader.web.pages.base import bp, not_found, page_instructor
from grader.web.pages.display import instance_view
from grader.web.pages.instructor import instructed_course

MAX_ROWS = 50
MIN_CLASSES = 2  # softmax over a single class is the constant 1: nothing to compute
PREVIEW_SEED = 20240601  # the same preview on every click, so edits can be compared
#: the form's own fields, in the page's order, and the id of the input each message is put at (no
#: item chosen: the first row's kind); any other message, such as a score policy no page sends, is
#: said in the summary only
FORM_INPUTS = {"title": "title", "due_at": "due_at", "items": "kind-0"}
#: an item row's fields, in the page's order (its answer forms: their first box)
ROW_FIELDS = ("kind", "n", "K", "layout", "points", "max_attempts", "answer_forms")


@dataclass(frozen=True)
class FieldError:
    """One of the form's messages: as its summary says it, as it is said at its input, and that
    input's id (None: about the form as a whole, said in the summary only)."""

    input_id: str | None
    summary: str
    at_input: str


class FieldProblem(ValueError):
    """A value of an item row that the form refuses, and the field it was typed in."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


def row_input_id(field_name: str, index: int) -> str:
    """The id of the input of ``field_name`` in the form's row ``index``, as the template writes it."""
    return f"forms-{index}-matrix" if field_name == "answer_forms" else f"{field_name}-{index}"


@dataclass
class ItemRow:
    """One row of the form's items: what was typed, and whether the item is locked."""

    kind: str = ""
    n: str = ""
    K: str = ""
    layout: str = "numerator"
    points: str = "1"
    max_attempts: str = ""
    item_id: int | None = None
    locked: bool = False  # answered already: only points and attempts may change
    answer_forms: list[str] = field(default_factory=lambda: list(ANSWER_FORMS))
    errors: dict[str, str] = field(default_factory=dict)  # what is wrong, by field (ROW_FIELDS)


@dataclass
class AssignmentForm:
    title: str = ""
    due_at: str = ""
    score_policy: str = "best"
    feedback_before_due: bool = True
    rows: list[ItemRow] = field(default_factory=list)
    # what is wrong with the form's own fields (FORM_INPUTS), or, under "", with the whole form
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(row.errors for row in self.rows)

    def problems(self) -> list[FieldError]:
        """Every message, in the order of the fields on the page, each with its input's id."""
        said = [FieldError(input_id, self.errors[name], self.errors[name])
                for name, input_id in FORM_INPUTS.items() if name in self.errors]
        for index, row in enumerate(self.rows):
            for name in ROW_FIELDS:
                if name in row.errors:
                    message = row.errors[name]
                    summary = f"Item {index + 1}: {message}"
                    said.append(FieldError(row_input_id(name, index), summary, message))
        said += [FieldError(None, message, message)
                 for name, message in self.errors.items() if name not in FORM_INPUTS]
        return said

    def spec(self) -> AssignmentIn | None:
        """The form as the API's validated model, or None with the errors of the form and of its
        rows filled in."""
        items = []
        for position, row in enumerate(self.rows):
            if not row.kind:
                continue
            try:
                items.append(_item_spec(row))
            except FieldProblem as problem:
                row.errors[problem.field_name] = str(problem)
                continue
            except ValidationError as error:
                row.errors.update(said_of(error))
                continue
            try:
                check_item(items[-1], position)
            except ApiError as error:  # the kind cannot be drawn at these sizes
                row.errors["kind"] = error.message.split(": ", 1)[-1]
        try:
            due = _parse_due(self.due_at)
        except ValueError:
            self.errors["due_at"] = "The due date must be a date and time, e.g. 2026-12-01 23:59."
            due = None
        if not items and not self.has_errors:
            self.errors["items"] = "Add at least one item: choose its kind."
        rows_wrong = any(row.errors for row in self.rows)
        # checked whatever the rows hold, so that a title's own problems are said with theirs
        try:
            spec = AssignmentIn(
                title=self.title.strip(),
                due_at=due,
                score_policy=self.score_policy,  # type: ignore[arg-type]
                feedback_before_due=self.feedback_before_due,
                items=items,
            )
        except ValidationError as error:
            for name, message in said_of(error).items():
                if name == "items" and (rows_wrong or "items" in self.errors):
                    continue  # the rows refused are not in ``items``: their own messages say why
                self.errors.setdefault(name if name in FORM_INPUTS else "", message)
            return None
        return None if self.has_errors else spec


def _item_spec(row: ItemRow) -> ItemSpec:
    """A row as the API's item, or a FieldProblem (or pydantic's ValidationError) in the
    instructor's words."""
    if row.kind not in exercises.KINDS:
        raise FieldProblem("kind", "choose its kind from the list")
    exercise = exercises.get(row.kind)
    if row.layout not in exercise.layouts:
        layouts = " or ".join(exercise.layouts)
        raise FieldProblem("layout", f"“{exercise.title}” is asked in {layouts} layout only")
    K = _optional_int(row.K, "K")
    if K is not None and K < MIN_CLASSES:
        raise FieldProblem("K", f"{FIELD_WORDS['K']} must be at least {MIN_CLASSES}: "
                                "softmax over one class is 1")
    return ItemSpec(
        kind=row.kind,
        n=_optional_int(row.n, "n"),
        K=K,
        layout=row.layout,  # type: ignore[arg-type]
        points=_points(row.points),
        max_attempts=_optional_int(row.max_attempts, "max_attempts"),
        answer_forms=row.answer_forms,  # type: ignore[arg-type]
    )


#: what each field is, as the form's messages name it
FIELD_WORDS = {
    "title": "the title",
    "n": "n (the number of inputs)",
    "K": "K (the number of classes)",
    "points": "the points",
    "max_attempts": "the number of attempts",
    "answer_forms": "the forms students may answer in",
}


def said_of(error: ValidationError) -> dict[str, str]:
    """Pydantic's complaints about the form, by the field each is about, in the form's own words."""
    said: dict[str, list[str]] = {}
    for problem in error.errors():
        field_name = str(problem["loc"][0]) if problem["loc"] else ""
        what = FIELD_WORDS.get(field_name, field_name or "the form")
        limits = problem.get("ctx", {})
        if field_name == "title" and problem["type"] == "string_too_short":
            message = "Give the assignment a title"
        elif problem["type"] == "string_too_long":
            message = f"{what.capitalize()} is too long: at most {limits.get('max_length')} characters"
        elif problem["type"] == "too_short":
            message = f"{what}: choose one at least"
        elif "ge" in limits or "gt" in limits or "le" in limits:
            bound = (
                f"at least {limits['ge']}" if "ge" in limits
                else f"above {limits['gt']}" if "gt" in limits
                else f"at most {limits['le']}"
            )
            message = f"{what} must be {bound}"
        else:
            message = f"{what}: {problem['msg']}"
        said.setdefault(field_name, []).append(message)
    return {field_name: "; ".join(messages) for field_name, messages in said.items()}


def _optional_int(text: str, field_name: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise FieldProblem(field_name, f"{FIELD_WORDS[field_name]}: “{text}” is not a whole number") from None


def _points(text: str) -> float:
    try:
        return float(text or 1)
    except ValueError:
        raise FieldProblem("points", f"the points: “{text}” is not a number (such as 1 or 2.5)") from None


def _parse_due(text: str) -> datetime | None:
    """A datetime-local value, read as UTC (the page says so)."""
    text = text.strip()
    if not text:
        return None
    return datetime.fromisoformat(text.replace(" ", "T")).replace(tzinfo=UTC)


def read_form(values: MultiDict[str, str], locked: dict[int, Item]) -> AssignmentForm:
    form = AssignmentForm(
        title=values.get("title", ""),
        due_at=values.get("due_at", ""),
        score_policy=values.get("score_policy", "best"),
        feedback_before_due=values.get("feedback_before_due") == "on",
    )
    count = min(_row_count(values.get("rows", "")), MAX_ROWS)
    for i in range(count):
        item_id = values.get(f"item_id-{i}")
        item = locked.get(int(item_id)) if item_id and item_id.isdigit() else None
        row = ItemRow(
            kind=values.get(f"kind-{i}", ""),
            n=values.get(f"n-{i}", ""),
            K=values.get(f"K-{i}", ""),
            layout=values.get(f"layout-{i}", "numerator"),
            points=values.get(f"points-{i}", "1"),
            max_attempts=values.get(f"max_attempts-{i}", ""),
            item_id=int(item_id) if item_id and item_id.isdigit() else None,
        )
        if values.get(f"forms-shown-{i}"):  # the checkboxes were on the page: none ticked is none
            row.answer_forms = values.getlist(f"forms-{i}")
        if item is not None:  # what students answered cannot change under them
            row.kind, row.layout, row.locked = item.kind, item.layout, True
            row.n, row.K = _text(item.n), _text(item.K)
        form.rows.append(row)
    return form


def _row_count(text: str) -> int:
    """The form's hidden row count; anything but a whole number is a broken form, a 400."""
    try:
        return max(0, int(text or 0))
    except ValueError:
        abort(400, description=f"The form is damaged: its row count {text[:20]!r} is not a whole "
              "number. Reload the page and try again.")


def _text(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def form_of(assignment: Assignment, locked: dict[int, Item]) -> AssignmentForm:
    return AssignmentForm(
        title=assignment.title,
        due_at=assignment.due_at.strftime("%Y-%m-%dT%H:%M") if assignment.due_at else "",
        score_policy=assignment.score_policy,
        feedback_before_due=assignment.feedback_before_due,
        rows=[
            ItemRow(
                item.kind,
                _text(item.n),
                _text(item.K),
                item.layout,
                _text(item.points),
                _text(item.max_attempts),
                item.id,
                item.id in locked,
                list(item.answer_forms),
            )
            for item in assignment.items
        ],
    )


def answered_items(assignment: Assignment | None) -> dict[int, Item]:
    """Items that have a submission or a stored instance, and the parts of a derivation
    (their kinds follow its preset): their kind and sizes stay."""
    if assignment is None or not assignment.items:
        return {}
    ids = [item.id for item in assignment.items]
    session = get_session()
    used = set(session.scalars(sa.select(Submission.item_id).where(Submission.item_id.in_(ids))))
    used |= set(session.scalars(sa.select(Variant.item_id).where(Variant.item_id.in_(ids))))
    return {item.id: item for item in assignment.items if item.id in used or item.derivation_id}


def previews(spec: AssignmentIn) -> list[dict[str, Any]]:
    found = []
    for position, item_spec in enumerate(spec.items):
        item = Item(kind=item_spec.kind, n=item_spec.n, K=item_spec.K, layout=item_spec.layout)
        try:
            instance = variants.draw(item, PREVIEW_SEED + position)
        except InstanceError as error:  # checked already; a catalog change must not crash the page
            found.append({"position": position, "error": str(error)})
            continue
        found.append({"position": position, "view": instance_view(item.kind, instance), "spec": item_spec})
    return found


def render_form(
    course: Course,
    form: AssignmentForm,
    assignment: Assignment | None = None,
    preview: list[dict[str, Any]] | None = None,
    status: int = 200,
    blank: int = 0,
) -> tuple[str, int]:
    form.rows = [row for row in form.rows if row.kind or row.item_id is not None]
    form.rows += [ItemRow() for _ in range(blank if form.rows else max(blank, 1))]
    problems = form.problems()
    return render_template(
        "instructor/assignment_form.html",
        course=course,
        form=form,
        problems=problems,
        # each message is at its input and describes it; the first input with one has the focus
        field_errors={problem.input_id: problem.at_input for problem in problems if problem.input_id},
        first_invalid=next((problem.input_id for problem in problems if problem.input_id), None),
        assignment=assignment,
        preview=preview,
        kinds=[(kind, exercise.title, exercise.layouts) for kind, exercise in exercises.KINDS.items()],
        kind_layouts={kind: exercise.layouts for kind, exercise in exercises.KINDS.items()},
        layouts=LAYOUTS,
        min_classes=MIN_CLASSES,
    ), status


@bp.route("/courses/<int:course_id>/assignments/new", methods=["GET", "POST"])
def new_assignment(course_id: int) -> Response | tuple[str, int]:
    course = instructed_course(course_id)
    if request.method == "GET":
        return render_form(course, AssignmentForm(rows=[ItemRow(kind="layer_jacobian", n="3", K="5")]))
    return _save(course, None)


@bp.route("/assignments/<int:assignment_id>/edit", methods=["GET", "POST"])
def edit_assignment(assignment_id: int) -> Response | tuple[str, int]:
    page_instructor()
    assignment = get_session().get(Assignment, assignment_id)
    if assignment is None:
        not_found("This assignment")
    course = instructed_course(assignment.course_id)
    if request.method == "GET":
        return render_form(course, form_of(assignment, answered_items(assignment)), assignment)
    return _save(course, assignment)


def _save(course: Course, assignment: Assignment | None) -> Response | tuple[str, int]:
    locked = answered_items(assignment)
    form = read_form(request.form, locked)
    action = request.form.get("action", "save")
    if action == "add":  # without script: the same form, one row more, nothing checked yet
        return render_form(course, form, assignment, blank=1)
    if action.startswith("remove-"):
        index = action.removeprefix("remove-")
        if index.isdigit() and int(index) < len(form.rows) and not form.rows[int(index)].locked:
            del form.rows[int(index)]
        return render_form(course, form, assignment)
    spec = form.spec()
    but = assignment.id if assignment else None
    title = form.title.strip()
    if title and "title" not in form.errors and title_taken(get_session(), course.id, title, but):
        form.errors["title"] = f"{course.code} already has an assignment named “{title}”."
        spec = None
    if spec is None:
        return render_form(course, form, assignment, status=422)
    if request.form.get("action") == "preview":
        return render_form(course, form, assignment, previews(spec))

    session = get_session()
    if assignment is None:
        assignment = Assignment(course_id=course.id, seed=variants.fresh_seed() >> 2)
        session.add(assignment)
    assignment.title = spec.title
    assignment.due_at = spec.due_at
    assignment.score_policy = spec.score_policy
    assignment.feedback_before_due = spec.feedback_before_due
    existing = {item.id: item for item in assignment.items}
    kept = []
    specs = iter(spec.items)
    for row in form.rows:
        if not row.kind:
            continue  # a row emptied: the item goes, unless it was answered
        item_spec = next(specs)
        item = existing.pop(row.item_id, None) if row.item_id is not None else None
        item = item or Item()
        for key, value in item_spec.model_dump().items():
            if not (item.id in locked and key in ("kind", "n", "K", "layout")):
                setattr(item, key, value)
        kept.append(item)
    kept += [item for item_id, item in existing.items() if item_id in locked]
    for position, item in enumerate(kept):
        item.position = position
    assignment.items = kept
    session.commit()
    flash(f"“{assignment.title}” is saved.", "success")
    return redirect(url_for("pages.course", course_id=course.id))  # type: ignore[return-value]
