"""LTI 1.3 Core: login initiation, launch validation (each refusal a clear 4xx), provisioning."""

from __future__ import annotations

import html
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from grader.service import db
from grader.service.lti.models import LtiIdentity, LtiLogin
from grader.service.models import Enrolment, User
from tests.lti.conftest import auth_params, launch, start_login
from tests.lti.fake_platform import CLAIM, CLIENT_ID, INSTRUCTOR, LEARNER, new_key


def user_of(app, sub):
    with db.database(app).sessionmaker() as session:
        identity = session.scalar(sa.select(LtiIdentity).where(LtiIdentity.sub == sub))
        assert identity is not None
        user = session.get(User, identity.user_id)
        roles = dict(
            session.execute(
                sa.select(Enrolment.course_id, Enrolment.role).where(Enrolment.user_id == user.id)
            ).all()
        )
        return user, roles


def test_login_initiation_redirects_to_the_platform_with_state_and_nonce(client, lms, platform_id):
    response = start_login(client, lms, lti_message_hint="msg-7")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{lms.url}/auth?")
    params = auth_params(response)
    assert params["client_id"] == CLIENT_ID
    assert params["response_type"] == "id_token"
    assert params["response_mode"] == "form_post"
    assert params["scope"] == "openid"
    assert params["prompt"] == "none"
    assert params["login_hint"] == "hint-1"
    assert params["lti_message_hint"] == "msg-7"
    assert urlsplit(params["redirect_uri"]).path == "/lti/launch"
    assert params["state"] and params["nonce"] and params["state"] != params["nonce"]


def test_login_from_an_unregistered_platform_is_refused(client, lms):
    response = start_login(client, lms)
    assert response.status_code == 400
    assert "no platform is registered" in response.get_data(as_text=True)


def test_student_launch_provisions_the_user_and_lands_on_the_assignment(app, client, lms, course):
    claims = lms.launch_claims(
        "student-1",
        [LEARNER],
        **{
            CLAIM + "custom": {"assignment_id": str(course.assignment_id)},
        },
    )
    response = launch(client, lms, claims)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert urlsplit(response.headers["Location"]).path == f"/items/{course.item_ids[0]}"
    user, roles = user_of(app, "student-1")
    assert user.role == "student" and user.full_name == "User student-1"
    assert roles == {course.id: "student"}
    page = client.get(response.headers["Location"])  # logged in by the launch
    assert page.status_code == 200


def test_instructor_launch_enrols_as_instructor(app, client, lms, course):
    claims = lms.launch_claims("teacher-1", [INSTRUCTOR])
    response = launch(client, lms, claims)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert urlsplit(response.headers["Location"]).path == f"/courses/{course.id}"
    user, roles = user_of(app, "teacher-1")
    assert user.role == "instructor"
    assert roles == {course.id: "instructor"}


def test_one_lms_user_teaches_one_course_and_learns_in_another(app, client, lms, course, build):
    """One account per LMS user: an instructor account answers as a student where it learns."""
    tutorials = {CLAIM + "context": {"id": "tutorials", "title": "Tutorials"}}
    assert launch(client, lms, lms.launch_claims("ta-1", [INSTRUCTOR], **tutorials)).status_code == 302
    claims = lms.launch_claims(
        "ta-1", [LEARNER], **{CLAIM + "custom": {"assignment_id": str(course.assignment_id)}}
    )
    response = launch(client, lms, claims)
    assert urlsplit(response.headers["Location"]).path == f"/items/{course.item_ids[0]}"
    user, roles = user_of(app, "ta-1")
    assert user.role == "instructor" and sorted(roles.values()) == ["instructor", "student"]
    assert client.get(response.headers["Location"]).status_code == 200
    assert "Courses you take" in client.get("/").get_data(as_text=True)
    # a link to an assignment with no items yet lands on the dashboard, not on the courses it teaches
    empty, _ = build.assignment(course.id, [], title="Coming soon")
    claims = lms.launch_claims(
        "ta-1", [LEARNER], **{CLAIM + "custom": {"assignment_id": str(empty)}},
        **{CLAIM + "resource_link": {"id": "link-2"}},
    )
    response = launch(client, lms, claims)
    assert response.headers["Location"] == f"/dashboard#course-{course.id}"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "Coming soon" in page.get_data(as_text=True)


def test_a_second_launch_is_the_same_user(app, client, lms, course):
    claims = lms.launch_claims("student-1", [LEARNER])
    launch(client, lms, claims)
    launch(client, lms, claims)
    with db.database(app).sessionmaker() as session:
        assert session.scalar(sa.select(sa.func.count(LtiIdentity.id))) == 1


def test_instructors_first_launch_from_an_unconnected_course_creates_it(app, client, lms, platform_id):
    claims = lms.launch_claims(
        "teacher-9",
        [INSTRUCTOR],
        **{
            CLAIM + "context": {"id": "new-course", "title": "Deep learning"},
        },
    )
    response = launch(client, lms, claims)
    assert response.status_code == 302, response.get_data(as_text=True)
    _user, roles = user_of(app, "teacher-9")
    assert list(roles.values()) == ["instructor"]


def test_student_from_an_unconnected_course_is_told_to_wait(client, lms, platform_id):
    claims = lms.launch_claims("student-9", [LEARNER], **{CLAIM + "context": {"id": "elsewhere"}})
    response = launch(client, lms, claims)
    assert response.status_code == 409
    assert "not connected" in response.get_data(as_text=True)


def test_a_link_to_another_courses_assignment_is_refused(app, client, lms, course, build):
    other_teacher = build.user("other", "instructor")
    other_course = build.course(other_teacher, code="OTHER")
    other_assignment, _ = build.assignment(other_course, [{"kind": "softmax_jacobian", "K": 2}])
    claims = lms.launch_claims(
        "student-1",
        [LEARNER],
        **{
            CLAIM + "custom": {"assignment_id": str(other_assignment)},
        },
    )
    response = launch(client, lms, claims)
    assert response.status_code == 403


def post_token(client, lms, make_token):
    """Initiate a login, then post a token made from its nonce (the platform's part skipped)."""
    params = auth_params(start_login(client, lms))
    return client.post(
        "/lti/launch", data={"id_token": make_token(params["nonce"]), "state": params["state"]}
    )


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("bad signature", 401, "signature does not match"),
        ("unpublished key", 401, "key the platform does not publish"),
        ("wrong issuer", 401, "issuer is not"),
        ("wrong audience", 401, "not meant for this tool"),
        ("expired", 401, "expired"),
        ("wrong nonce", 401, "nonce is not the one"),
        ("unknown deployment", 403, "deployment 'rogue' is not registered"),
        ("missing roles", 400, "roles claim"),
        ("garbage", 400, "could not be read"),
    ],
)
def test_launch_refusals(client, lms, course, case, status, message):
    claims = lms.launch_claims("student-1", [LEARNER])
    impostor = new_key()

    def make(nonce: str) -> str:
        if case == "bad signature":  # signed by another key under the platform's key id
            return lms.id_token(nonce, claims, key=impostor)
        if case == "unpublished key":
            from joserfc import jwt

            return jwt.encode(
                {"alg": "RS256", "kid": impostor.kid},
                {"iss": lms.issuer, "aud": CLIENT_ID, "nonce": nonce, **claims},
                impostor,
            )
        if case == "wrong issuer":
            return lms.id_token(nonce, {**claims, "iss": "https://impostor.example"})
        if case == "wrong audience":
            return lms.id_token(nonce, {**claims, "aud": "some-other-tool"})
        if case == "expired":
            return lms.id_token(nonce, claims, lifetime=-3600)
        if case == "wrong nonce":
            return lms.id_token("not-the-nonce", claims)
        if case == "unknown deployment":
            return lms.id_token(nonce, {**claims, CLAIM + "deployment_id": "rogue"})
        if case == "missing roles":
            return lms.id_token(nonce, {k: v for k, v in claims.items() if k != CLAIM + "roles"})
        return "not.a.token"

    response = post_token(client, lms, make)
    assert response.status_code == status, response.get_data(as_text=True)
    assert message in html.unescape(response.get_data(as_text=True))


def test_a_replayed_launch_is_refused(client, lms, course):
    lms.next_launch = lms.launch_claims(
        "student-1",
        [LEARNER],
        **{
            CLAIM + "custom": {"assignment_id": str(course.assignment_id)},
        },
    )
    started = start_login(client, lms)
    form = requests.get(started.headers["Location"], timeout=10).json()
    assert client.post("/lti/launch", data=form).status_code == 302
    replay = client.post("/lti/launch", data=form)
    assert replay.status_code == 401
    assert "used already" in replay.get_data(as_text=True)


def test_a_launch_without_a_login_is_refused(client, lms, course):
    token = lms.id_token("any", lms.launch_claims("student-1", [LEARNER]))
    response = client.post("/lti/launch", data={"id_token": token, "state": "made-up"})
    assert response.status_code == 400
    assert "no login initiation" in response.get_data(as_text=True)


def test_a_student_link_without_an_assignment_says_so(client, lms, course):
    response = launch(client, lms, lms.launch_claims("student-1", [LEARNER]))
    assert response.status_code == 404
    assert "opens no assignment yet" in response.get_data(as_text=True)


def test_a_launch_needs_its_fields(client):
    response = client.post("/lti/launch", data={})
    assert response.status_code == 400


def test_the_nonce_is_spent_once(app, client, lms, course):
    launch(client, lms, lms.launch_claims("student-1", [LEARNER]))
    with db.database(app).sessionmaker() as session:
        logins = session.scalars(sa.select(LtiLogin)).all()
        assert [login.used_at is not None for login in logins] == [True]


def test_a_platform_whose_keys_cannot_be_fetched_is_named(client, lms, course):
    params = auth_params(start_login(client, lms))
    token = lms.id_token(params["nonce"], lms.launch_claims("student-1", [LEARNER]))
    lms.stop()  # the LMS goes away between the login and the launch
    response = client.post("/lti/launch", data={"id_token": token, "state": params["state"]})
    assert response.status_code == 502
    assert "key set" in response.get_data(as_text=True)


def test_a_login_without_client_id_among_several_registrations_is_refused(app, client, lms, platform_id):
    from grader.service.lti import platforms

    with db.database(app).sessionmaker.begin() as session:
        platforms.register(session, platforms.PlatformIn(**{**lms.registration(), "client_id": "second"}))
    response = client.post("/lti/login", data={"iss": lms.issuer, "login_hint": "h"})
    assert response.status_code == 400
    assert "must name its client_id" in response.get_data(as_text=True)
    assert start_login(client, lms).status_code == 302  # with its client_id: found


@pytest.mark.config(LTI_LOGINS_PER_ADDRESS="3 per minute")
def test_login_starts_from_one_address_are_limited_and_store_nothing_beyond(app, client, lms, platform_id):
    assert [start_login(client, lms).status_code for _ in range(3)] == [302, 302, 302]
    refused = start_login(client, lms)
    assert refused.status_code == 429
    assert "Too many LTI logins from this address" in refused.get_data(as_text=True)
    with db.database(app).sessionmaker() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LtiLogin)) == 3


@pytest.mark.parametrize("claim", ["context", "resource_link", "custom", "ags", "nrps"])
@pytest.mark.parametrize("value", ["a string", ["a", "list"], 42])
def test_a_claim_that_is_not_an_object_is_read_as_empty_never_a_500(client, lms, course, claim, value):
    claims = lms.launch_claims("student-1", [LEARNER])
    services = {"ags": "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint",
                "nrps": "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"}
    name = services.get(claim, CLAIM + claim)
    intact = post_token(client, lms, lambda nonce: lms.id_token(nonce, claims))
    response = post_token(client, lms, lambda nonce: lms.id_token(nonce, {**claims, name: value}))
    # the services' claims are optional: the launch goes as it would without them; one
    # that lacks its course, link or assignment (read from custom) is refused in words
    if claim in ("ags", "nrps"):
        assert response.status_code == intact.status_code
    else:
        assert response.status_code in (400, 404)
        assert "flash error" in response.get_data(as_text=True)


def test_an_ags_scope_sent_as_one_string_is_one_scope(app, lms, platform_id):
    from grader.service.lti.launch import read_claims
    from grader.service.lti.models import LtiPlatform

    claims = lms.launch_claims("student-1", [LEARNER])
    ags = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
    claims[ags] = {**claims[ags], "scope": "https://purl.imsglobal.org/spec/lti-ags/scope/score"}
    with db.database(app).sessionmaker() as session:
        platform = session.get(LtiPlatform, platform_id)
        read = read_claims(platform, claims)
    assert read.ags_scopes == ["https://purl.imsglobal.org/spec/lti-ags/scope/score"]
