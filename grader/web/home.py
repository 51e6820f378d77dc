"""A placeholder front page until the pages blueprint replaces it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> tuple[str, int, dict[str, str]]:
    body = (
        "<!doctype html><title>Softmax grader</title>"
        "<p>The softmax grader is running. The API is at <code>/api/v1</code>, "
        'described at <a href="/openapi.json">/openapi.json</a>.</p>'
    )
    return body, 200, {"Content-Type": "text/html; charset=utf-8"}
