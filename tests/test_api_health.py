"""The service answers: /healthz, the front page, /openapi.json, JSON errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest


def test_healthz_answers_without_a_token(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True}


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_wrong_method_is_a_json_405(client):
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert set(response.get_json()["error"]) == {"code", "message"}


def test_openapi_document_is_generated(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert "/healthz" in document["paths"]


def test_every_api_route_is_in_the_openapi_document(app, client):
    documented = client.get("/openapi.json").get_json()["paths"]
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # <int:id> and <letter> alike
            assert path in documented, path
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert method.lower() in documented[path], (method, path)


def test_request_bodies_are_described_from_the_models(client):
    document = client.get("/openapi.json").get_json()
    body = document["paths"]["/api/v1/submissions"]["post"]["requestBody"]
    schema_ref = body["content"]["application/json"]["schema"]["$ref"]
    name = schema_ref.rsplit("/", 1)[-1]
    described = document["components"]["schemas"][name]
    assert set(described["properties"]) == {"item_id", "answer", "format", "draw_number", "instance_digest"}
    assert set(described["required"]) == {"item_id", "answer", "format"}  # the draw's two are optional
    assert "sizes" in described["properties"]["instance_digest"]["description"]
    item = document["components"]["schemas"][name.replace("SubmissionIn", "ItemOut")]
    assert "instance_digest" in item["properties"] and "instance_digest" in item["properties"]["draw_number"][
        "description"]


def test_schema_names_do_not_depend_on_the_module_inside_the_schemas_package(client):
    from spectree.utils import hash_module_path

    names = client.get("/openapi.json").get_json()["components"]["schemas"]
    package = hash_module_path("grader.web.api.schemas")
    assert {f"SubmissionIn.{package}", f"GradebookOut.{package}", f"TokenIn.{package}"} <= set(names)


@pytest.mark.parametrize(
    ("models", "published_from"),
    [
        (["RegradeIn", "ExtensionsOut", "AnalysisOut"], "grader.web.api.instructor_schemas"),
        (["DerivationIn", "PartAnswerIn", "DerivationsOut"], "grader.web.api.derivations"),
        (["PlatformOut", "PlatformsOut", "GradeSyncOut", "GradeSyncsOut"], "grader.web.api.lti"),
    ],
)
def test_models_moved_into_the_schemas_package_keep_the_names_they_were_published_under(
    client, models, published_from
):
    from spectree.utils import hash_module_path

    names = client.get("/openapi.json").get_json()["components"]["schemas"]
    published = hash_module_path(published_from)
    assert {f"{model}.{published}" for model in models} <= set(names)


def test_a_fresh_service_lists_its_tags_in_their_published_order(tmp_path):
    # the order is that in which the process first registered the tags' routes, and the
    # suite imports views before any app is built: so a process of its own, as a server
    script = textwrap.dedent("""
        import json, sys
        from grader.web import create_app
        folder = sys.argv[1]
        app = create_app({"TESTING": True, "SECRET_KEY": "test secret", "INSTANCE_PATH": folder,
                          "DATABASE_URL": f"sqlite:///{folder}/grader.sqlite"})
        document = app.test_client().get("/openapi.json").get_json()
        print(json.dumps([tag["name"] for tag in document["tags"]]))
    """)
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(run.stdout) == [
        "service", "assignments", "submissions", "regrading", "reports", "grading",
        "courses", "extensions", "lti", "practice", "accounts",
    ]


def test_a_server_error_is_json_and_rolls_back(app, build, people):
    import sqlalchemy as sa

    from grader.service.db import get_session
    from grader.service.models import Course

    def boom():
        get_session().add(Course(code="HALF", title="Half written"))
        get_session().flush()
        raise RuntimeError("a defect")

    app.add_url_rule("/api/v1/boom", "boom", boom, methods=["POST"])
    response = app.test_client().post("/api/v1/boom", headers=people["alice"].headers)
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal"
    assert "a defect" not in response.get_data(as_text=True)  # no traceback for the caller
    with build.sessionmaker() as session:
        assert session.scalar(sa.select(Course).where(Course.code == "HALF")) is None


def test_a_busy_database_is_a_503_not_a_traceback(app, people, monkeypatch):
    import sqlalchemy as sa

    from grader.web.api import check

    def locked():
        raise sa.exc.OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(check, "current_user", locked)
    response = app.test_client().get("/api/v1/kinds", headers=people["alice"].headers)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"] == "1"
