"""Names and roles (roster sync), registering platforms in the pages and the API, the docs."""

from __future__ import annotations

import re

import sqlalchemy as sa

from grader.service import db
from grader.service.lti import nrps
from grader.service.lti.models import LtiContext, LtiPlatform
from grader.service.models import Enrolment, User
from tests.lti.conftest import launch
from tests.lti.fake_platform import INSTRUCTOR, LEARNER

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_roster_sync_enrols_the_lms_members_with_their_roles(app, client, lms, course):
    launch(client, lms, lms.launch_claims("teacher-1", [INSTRUCTOR]))  # names the roster service
    lms.members = [
        {"user_id": "s-1", "name": "Ada", "status": "Active", "roles": [LEARNER]},
        {"user_id": "s-2", "name": "Bo", "status": "Inactive", "roles": [LEARNER]},
        {"user_id": "t-2", "name": "Cy", "roles": [INSTRUCTOR]},
    ]
    sessionmaker = db.database(app).sessionmaker
    with sessionmaker() as session:
        context_id = session.scalar(sa.select(LtiContext.id))
    result = nrps.sync_roster(sessionmaker, context_id)
    assert (result.students, result.instructors) == (1, 1)
    assert lms.recorded.roster_requests == [nrps.MEMBERSHIP_TYPE]
    with sessionmaker() as session:
        enrolled = dict(
            session.execute(
                sa.select(User.full_name, Enrolment.role)
                .join(Enrolment, Enrolment.user_id == User.id)
                .where(Enrolment.course_id == course.id)
            ).all()
        )
    assert enrolled["Ada"] == "student" and enrolled["Cy"] == "instructor" and "Bo" not in enrolled


def test_roster_sync_when_the_lms_is_down_says_so(app, client, lms, course):
    launch(client, lms, lms.launch_claims("teacher-1", [INSTRUCTOR]))
    lms.down = True
    sessionmaker = db.database(app).sessionmaker
    with sessionmaker() as session:
        context_id = session.scalar(sa.select(LtiContext.id))
    try:
        nrps.sync_roster(sessionmaker, context_id)
    except nrps.RosterUnavailable as error:
        assert "could not be read" in str(error)
    else:
        raise AssertionError("a roster from a platform that is down")


def login(app, name, password):
    browser = app.test_client()
    token = CSRF.search(browser.get("/login").get_data(as_text=True)).group(1)
    assert (
        browser.post("/login", data={"name": name, "password": password, "csrf_token": token}).status_code
        == 302
    )
    return browser


def test_an_instructor_registers_a_platform_in_the_pages(app, build, lms):
    build.user("prof", "instructor", password="prof-password")
    browser = login(app, "prof", "prof-password")
    page = browser.get("/lti")
    assert page.status_code == 200
    form = {
        **lms.registration(),
        "deployment_ids": "d-1\nd-2",
        "csrf_token": CSRF.search(page.get_data(as_text=True)).group(1),
    }
    assert browser.post("/lti/platforms", data=form).status_code == 302
    assert browser.post("/lti/platforms", data=form).status_code == 409
    assert (
        browser.post("/lti/platforms", data={**form, "key_set_url": "nope", "client_id": "x"}).status_code
        == 422
    )
    with db.database(app).sessionmaker() as session:
        [platform] = session.scalars(sa.select(LtiPlatform)).all()
        assert platform.deployment_ids == ["d-1", "d-2"]


def test_students_do_not_see_the_lti_page(app, build):
    build.user("stu", "student", password="stu-password")
    assert login(app, "stu", "stu-password").get("/lti").status_code == 403


def test_platforms_api_registers_and_lists(client, build, lms):
    teacher = build.user("prof", "instructor")
    created = client.post("/api/v1/lti/platforms", json=lms.registration(), headers=teacher.headers)
    assert created.status_code == 201, created.get_json()
    assert (
        client.post("/api/v1/lti/platforms", json=lms.registration(), headers=teacher.headers).status_code
        == 409
    )
    listed = client.get("/api/v1/lti/platforms", headers=teacher.headers).get_json()
    assert [p["issuer"] for p in listed["platforms"]] == [lms.issuer]
    student = build.user("stu")
    assert client.get("/api/v1/lti/platforms", headers=student.headers).status_code == 403


def test_lti_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {
        "/api/v1/lti/platforms",
        "/api/v1/lti/grade-syncs",
        "/api/v1/lti/grade-syncs/{sync_id}/retry",
    } <= set(paths)


def test_pages_need_a_login(client):
    assert client.get("/lti").status_code == 302
    assert client.get("/lti/deep-link").headers["Location"].startswith("/login")
