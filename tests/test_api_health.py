"""The service answers: /healthz, the front page, /openapi.json, JSON errors."""

from __future__ import annotations


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
