"""Errors as JSON ``{"error": {"code", "message"}}``; a 500 rolls the session back first."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from grader.service import storage

log = logging.getLogger(__name__)

#: paths whose errors are JSON; the pages answer their own errors
JSON_PREFIXES = ("/api/", "/healthz", "/openapi.json")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


class ApiError(Exception):
    """Something the caller did wrong: a status, a stable code and a message for a person."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} does not exist or is not yours to see")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid", message)


def error_response(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.accept_mimetypes.best == (
        "application/json"
    )


def _api_error(error: ApiError) -> Response:
    response = error_response(error.status, error.code, error.message)
    response.headers.update(error.headers)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="grader"'
    return response


def _http_error(error: HTTPException) -> Response | HTTPException | tuple[str, int]:
    if not wants_json():
        if "pages" in current_app.blueprints:  # an address no page matches: the site's own page
            page = render_template("error.html", heading=error.name, message=error.description or "")
            return page, error.code or 500
        return error
    status = error.code or 500
    response = error_response(status, HTTP_CODES.get(status, "error"), error.description or "")
    valid_methods = getattr(error, "valid_methods", None)
    if valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


def _csrf_error(error: CSRFError) -> Response | HTTPException:
    if not wants_json():
        return error
    return error_response(400, "csrf", f"{error.description} (send the X-CSRFToken header)")


def _database_unavailable(error: sa.exc.OperationalError) -> Response | tuple[str, int]:
    # the database is away, overloaded (SQLite: busy beyond the timeout), full or read-only:
    # nothing was applied; the reason is named, a full disk is not "busy"
    rollback()
    trouble = storage.describe(error, current_app.config.get("DATABASE_URL"))
    log.error("database unavailable (%s) on %s %s: %s", trouble.code, request.method, request.path,
              error.orig)
    advice = "try again" if trouble.transient else "tell the operator"
    message = f"{trouble.message}: nothing was applied, {advice}"
    if not wants_json():
        return f"Service Unavailable: {message}", 503
    response = error_response(503, trouble.code if trouble.code != "busy" else "unavailable", message)
    if trouble.transient:
        response.headers["Retry-After"] = "1"
    return response


def _unexpected(error: Exception) -> Response | tuple[str, int]:
    rollback()
    log.exception("unexpected error on %s %s", request.method, request.path)
    if not wants_json():
        return "Internal Server Error", 500
    return error_response(500, "internal", "the server failed; the request was not applied")


def rollback() -> None:
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(sa.exc.OperationalError, _database_unavailable)
    app.register_error_handler(Exception, _unexpected)
