"""``GET /metrics``: the API's Prometheus metrics (and, under ``dragoman serve``, the worker's)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST

from service.api.deps import DatabaseDep, QueueDep, SettingsDep
from service.auth import Unauthorized
from service.monitoring import multiprocess
from service.monitoring.metrics import exposition

router = APIRouter()

_bearer = HTTPBearer(auto_error=False, description="DRAGOMAN_METRICS_TOKEN, when it is set.")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"},
        401: {"description": "DRAGOMAN_METRICS_TOKEN is set and the request lacks it"},
    },
)
def metrics(
    request: Request,
    db: DatabaseDep,
    queue: QueueDep,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Response:
    """Prometheus metrics: jobs submitted, queue depth, and what the workers here record."""
    if settings.metrics_token:
        given = bearer.credentials if bearer else ""
        if not hmac.compare_digest(given.encode(), settings.metrics_token.encode()):
            raise Unauthorized(
                "This endpoint needs the metrics token (DRAGOMAN_METRICS_TOKEN) as a bearer token."
            )
    body = exposition(db, queue, multiprocess=multiprocess.enabled())
    return Response(body, media_type=CONTENT_TYPE_LATEST)
