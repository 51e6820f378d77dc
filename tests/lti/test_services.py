"""Calling a platform's services: each call's timeout, and a budget that bounds them all."""

from __future__ import annotations

from typing import Any

import pytest

from grader.service.lti.services import PlatformClient, PlatformInfo, ServiceError
from tests.lti.fake_platform import new_key

PLATFORM = PlatformInfo(1, "grader-tool-client", "https://lms.example/token", None)
SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"


class Answer:
    status_code = 200
    text = ""

    def json(self) -> dict[str, Any]:
        return {"access_token": "token", "expires_in": 3600}


class RecordingHttp:
    """A requests session that answers every call and records the timeout it was given."""

    def __init__(self) -> None:
        self.timeouts: list[float] = []

    def post(self, url: str, **options: Any) -> Answer:
        self.timeouts.append(options["timeout"])
        return Answer()

    def request(self, method: str, url: str, **options: Any) -> Answer:
        self.timeouts.append(options["timeout"])
        return Answer()


@pytest.fixture(scope="module")
def key():
    return new_key()


@pytest.mark.parametrize(
    ("timeout_seconds", "budget_seconds", "most"),
    [(15.0, None, 15.0), (5.0, 60.0, 5.0), (5.0, 2.0, 2.0)],
)
def test_each_call_waits_at_most_its_timeout_and_what_is_left_of_the_budget(
    key, timeout_seconds, budget_seconds, most
):
    http = RecordingHttp()
    client = PlatformClient(PLATFORM, key, http, timeout_seconds=timeout_seconds,  # type: ignore[arg-type]
                            budget_seconds=budget_seconds)
    client.request("GET", "https://lms.example/lineitems", SCOPE)
    assert len(http.timeouts) == 2  # the token, then the call
    assert all(0 < timeout <= most for timeout in http.timeouts)


def test_a_spent_budget_makes_no_call(key):
    http = RecordingHttp()
    client = PlatformClient(PLATFORM, key, http, budget_seconds=0.0)  # type: ignore[arg-type]
    with pytest.raises(ServiceError, match="time allowed"):
        client.request("GET", "https://lms.example/lineitems", SCOPE)
    assert http.timeouts == []
