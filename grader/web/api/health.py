"""``GET /healthz``: the service and its database answer."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint
from spectree import Response

from grader.service.db import get_session
from grader.web.api.schemas import ErrorOut, HealthOut
from grader.web.api.spec import spec
from grader.web.errors import ApiError

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@spec.validate(resp=Response(HTTP_200=HealthOut, HTTP_503=ErrorOut), security={}, tags=["service"])
def healthz() -> HealthOut:
    try:
        get_session().execute(sa.select(1))
    except sa.exc.OperationalError as error:
        raise ApiError(503, "unavailable", f"the database does not answer: {error.orig}") from None
    return HealthOut(ok=True)
