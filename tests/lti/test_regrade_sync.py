"""An applied regrade that moves a student's points sends their new score to the LMS."""

from __future__ import annotations

from grader.service import db, regrade
from grader.service.models import Assignment
from tests.lti import test_ags
from tests.lti.test_ags import deliver, submit_right_answer, syncs

student = test_ags.student  # an LMS student who launched the assignment's link


def test_new_points_reach_the_lms(app, client, lms, course, student):
    submit_right_answer(client, student, course.item_ids[0])
    assert deliver(app).sent == 1
    with db.database(app).sessionmaker() as session:
        assignment = session.get(Assignment, course.assignment_id)
        plan = regrade.plan(session, assignment, [regrade.ItemEdit(course.item_ids[0], points=5.0)])
        regrade.apply(session, plan, by="teacher")
    [sync] = syncs(app)
    assert sync.state == "waiting"
    assert deliver(app).sent == 1
    assert lms.recorded.scores[-1]["scoreGiven"] == 5.0


def test_a_dry_run_sends_nothing(app, client, lms, course, student):
    submit_right_answer(client, student, course.item_ids[0])
    assert deliver(app).sent == 1
    with db.database(app).sessionmaker() as session:
        regrade.plan(session, session.get(Assignment, course.assignment_id),
                     [regrade.ItemEdit(course.item_ids[0], points=5.0)])
    assert deliver(app).sent == 0
