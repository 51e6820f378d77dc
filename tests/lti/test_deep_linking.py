"""Deep linking: an instructor picks an assignment; the LMS gets a link carrying its maximum score."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.lti.conftest import launch
from tests.lti.fake_platform import CLAIM, CLIENT_ID, DEEP_LINKING_CLAIM, DEPLOYMENT_ID, INSTRUCTOR, LEARNER

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
JWT_FIELD = re.compile(r'name="JWT" value="([^"]+)"')


def deep_linking_claims(lms, roles=(INSTRUCTOR,)):
    claims = lms.launch_claims(
        "teacher-1",
        list(roles),
        **{
            CLAIM + "message_type": "LtiDeepLinkingRequest",
            DEEP_LINKING_CLAIM + "deep_linking_settings": {
                "deep_link_return_url": f"{lms.url}/deep_link_return",
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["window"],
                "data": "opaque-platform-data",
            },
        },
    )
    del claims[CLAIM + "resource_link"]
    return claims


def pick(client, choice):
    page = client.get("/lti/deep-link")
    assert page.status_code == 200
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    return client.post("/lti/deep-link", data={"choice": choice, "csrf_token": token})


def verify_with_published_keys(client, token):
    key_set = KeySet.import_key_set(client.get("/.well-known/jwks.json").get_json())
    return jwt.decode(token, key_set, algorithms=["RS256"])


def test_picked_assignment_goes_back_as_a_signed_resource_link_with_its_maximum(client, lms, course):
    response = launch(client, lms, deep_linking_claims(lms))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert urlsplit(response.headers["Location"]).path == "/lti/deep-link"
    assert "Homework 1" in client.get("/lti/deep-link").get_data(as_text=True)

    answer = pick(client, str(course.assignment_id))
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert f'action="{lms.url}/deep_link_return"' in page
    assert "<script>" not in page and "lti-autopost.js" in page  # no inline script
    assert '<button type="submit">' in page  # works without script too

    token = verify_with_published_keys(client, JWT_FIELD.search(page).group(1))
    claims = token.claims
    assert claims["iss"] == CLIENT_ID and claims["aud"] == lms.issuer
    assert claims[CLAIM + "message_type"] == "LtiDeepLinkingResponse"
    assert claims[CLAIM + "version"] == "1.3.0"
    assert claims[CLAIM + "deployment_id"] == DEPLOYMENT_ID
    assert claims[DEEP_LINKING_CLAIM + "data"] == "opaque-platform-data"
    assert claims["nonce"] and claims["exp"] > claims["iat"]
    [item] = claims[DEEP_LINKING_CLAIM + "content_items"]
    assert item["type"] == "ltiResourceLink"
    assert item["title"] == "Homework 1"
    assert item["custom"] == {"assignment_id": str(course.assignment_id)}
    assert item["lineItem"]["scoreMaximum"] == 3.0
    assert urlsplit(item["url"]).path == "/lti/launch"


def test_practice_can_be_picked_and_has_no_line_item(client, lms, course):
    launch(client, lms, deep_linking_claims(lms))
    page = pick(client, "practice").get_data(as_text=True)
    [item] = verify_with_published_keys(client, JWT_FIELD.search(page).group(1)).claims[
        DEEP_LINKING_CLAIM + "content_items"
    ]
    assert item["custom"] == {"practice": "1"} and "lineItem" not in item


def test_an_assignment_of_another_course_cannot_be_picked(client, lms, course, build):
    other = build.course(build.user("other", "instructor"), code="OTHER")
    other_assignment, _ = build.assignment(other, [{"kind": "softmax_jacobian", "K": 2}])
    launch(client, lms, deep_linking_claims(lms))
    assert pick(client, str(other_assignment)).status_code == 422
    assert pick(client, "nonsense").status_code == 422


def test_students_cannot_deep_link(client, lms, course):
    response = launch(client, lms, deep_linking_claims(lms, roles=(LEARNER,)))
    assert response.status_code == 403


def test_deep_link_page_needs_a_pending_request(client, lms, course):
    launch(client, lms, lms.launch_claims("teacher-1", [INSTRUCTOR]))
    assert client.get("/lti/deep-link").status_code == 400
