"""The JSON API (``/api/v1``, shared/contract.md), ``/healthz`` and ``/openapi.json``."""

from __future__ import annotations

import json

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import BadRequest

from grader.web.api.spec import spec
from grader.web.errors import ApiError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
BODY_METHODS = ("POST", "PUT", "PATCH")


@bp.before_request
def require_json_body() -> None:
    """A body must be JSON, said so and well formed; spectree would read garbage as {}."""
    if request.method not in BODY_METHODS or (not request.content_length and not request.data):
        return
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the body as JSON with 'Content-Type: application/json', "
            f"not {request.mimetype or 'no content type'!r}",
        )
    try:
        request.get_json()  # parsed once: the view's validation reads the cached result
    except BadRequest:
        raise ApiError(400, "bad_json", f"the body is not valid JSON: {_json_problem()}") from None
    except RecursionError:
        raise ApiError(400, "bad_json", "the body is nested too deeply") from None


def _json_problem() -> str:
    """What the JSON reader says is wrong with the body (Flask says it only in debug mode)."""
    try:
        json.loads(request.get_data())
    except (ValueError, RecursionError) as error:
        return str(error) or type(error).__name__
    return "it could not be read"


def openapi() -> Response:
    return current_app.json.response(spec.spec)


def init_app(app: Flask) -> None:
    # Each module registers its routes on bp when it is first imported, and /openapi.json
    # lists its tags in the order their first routes were registered. The first four modules
    # come first, in this order, so that the document keeps its published order of tags
    # (assignments, submissions, regrading, reports, grading, ...) whichever of them another
    # module imports (the pages import assignments, before this runs).
    from grader.web.api import (  # noqa: F401, I001
        assignments,
        derivations,
        regrading,
        analysis,
        check,
        courses,
        extensions,
        health,
        items,
        lti,
        lti_joins,
        other_instances,
        practice,
        queue,
        reports,
        sessions,
        submissions,
        tokens,
    )

    app.register_blueprint(health.bp)
    app.register_blueprint(bp)
    app.add_url_rule("/openapi.json", "openapi", openapi)
    spec.register(app)
