"""A demo course for a first look: an instructor, three students, two assignments, submissions.

Loaded by ``grader serve --demo`` (``make run``) into a database with no users. The
passwords are drawn at loading and kept in the instance folder (mode 0600), so that
every later start can print them again.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask

import exercises
from grader.service import accounts, submissions, variants
from grader.service.db import database
from grader.service.models import Assignment, Course, Enrolment, Item, User, utcnow
from grader.service.queue import GradingQueue, grading_queue

LOGINS_FILE = "demo-logins.json"
COURSE_CODE = "ML101"
PEOPLE = (
    ("ada", "instructor", "Ada Lovelace", ""),
    ("alan", "student", "Alan Turing", "Mon 10:00"),
    ("grace", "student", "Grace Hopper", "Mon 10:00"),
    ("edsger", "student", "Edsger Dijkstra", "Wed 14:00"),
)
HOMEWORK = [
    {"kind": "softmax", "K": 3, "points": 1.0},
    {"kind": "softmax_jacobian", "K": 3, "points": 2.0},
    {"kind": "layer_jacobian", "n": 2, "K": 3, "points": 3.0, "max_attempts": 5},
    {"kind": "cross_entropy_logits_grad", "K": 4, "points": 1.0},
]
QUIZ = [{"kind": "jacobian_warmup", "points": 1.0, "max_attempts": 3}]
#: (student, assignment, item position, answer): "right", "transpose" or a mistake's code
SUBMISSIONS = (
    ("alan", 0, 0, "right"),
    ("alan", 0, 2, "transpose"),
    ("alan", 0, 2, "right"),
    ("alan", 0, 1, "right"),
    ("grace", 0, 1, "transpose"),
    ("grace", 0, 2, "vec_order"),
    ("grace", 0, 3, "forgot_one_hot"),
    ("grace", 1, 0, "right"),
    ("edsger", 1, 0, "transpose"),
)


@dataclass(frozen=True)
class Login:
    name: str
    role: str
    password: str


def load_if_empty(app: Flask) -> list[Login] | None:
    """Load the demo into an empty database; the demo logins, or None if it has users."""
    sessionmaker = database(app).sessionmaker
    with sessionmaker() as session:
        if session.scalar(sa.select(sa.func.count(User.id))):
            return None
    logins = [Login(name, role, secrets.token_urlsafe(9)) for name, role, _, _ in PEOPLE]
    with sessionmaker() as session:
        _load(session, grading_queue(app), logins)
    _save_logins(Path(app.instance_path), logins)
    return logins


def saved_logins(app: Flask) -> list[Login] | None:
    try:
        data = json.loads((Path(app.instance_path) / LOGINS_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return [Login(**entry) for entry in data]


def _save_logins(folder: Path, logins: list[Login]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOGINS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump([asdict(login) for login in logins], file, indent=2)


def _load(session: so.Session, queue: GradingQueue, logins: list[Login]) -> None:
    users = {}
    for (name, role, full_name, _), login in zip(PEOPLE, logins, strict=True):
        users[name] = accounts.create_user(session, name, role, login.password, full_name)
    course = Course(code=COURSE_CODE, title="Neural networks: the softmax layer")
    session.add(course)
    session.flush()
    for name, role, _, section in PEOPLE:
        session.add(Enrolment(course_id=course.id, user_id=users[name].id, role=role, section=section))
    now = utcnow()
    homework = _assignment(course, "Homework 1: the softmax layer", HOMEWORK, now + timedelta(days=7))
    quiz = _assignment(course, "Quiz 0: warm-up", QUIZ, now - timedelta(days=1))
    quiz.feedback_before_due = False
    session.add_all([homework, quiz])
    session.commit()

    for name, which, position, answer in SUBMISSIONS:
        item = (homework, quiz)[which].items[position]
        _submit(session, queue, users[name], item, answer)


def _assignment(course: Course, title: str, items: list[dict], due: datetime) -> Assignment:
    assignment = Assignment(
        course_id=course.id, title=title, due_at=due, seed=secrets.randbits(62), score_policy="best"
    )
    assignment.items = [Item(position=i, **spec) for i, spec in enumerate(items)]
    return assignment


def _submit(session: so.Session, queue: GradingQueue, user: User, item: Item, answer: str) -> None:
    instance = variants.ensure(session, item, user.id).instance
    submission = submissions.submit(
        session, user, item, _answer(instance, answer), "json", queue=queue, per_minute=len(SUBMISSIONS)
    )
    queue.grade_now(submission.job)


def _answer(instance: dict, answer: str) -> str:
    exercise, normal = exercises.validate(instance)
    reference = exercise.reference(normal)
    if answer == "right":
        array = reference
    elif answer == "transpose":
        array = reference.T
    else:
        array = exercise.mistakes(normal)[answer]
    return json.dumps(array.round(4).tolist())
