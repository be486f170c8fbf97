"""``GET /metrics``: the API's Prometheus metrics (and, under ``dragoman serve``, the worker's)."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.api.deps import DatabaseDep, QueueDep, SettingsDep
from service.auth import Unauthorized
from service.monitoring import multiprocess
from service.monitoring.metrics import exposition

router = APIRouter()


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
) -> Response:
    """Prometheus metrics: jobs submitted, queue depth, and what the workers here record."""
    # The token is read here, not declared as a security scheme: /metrics is open
    # unless the operator sets one.
    if settings.metrics_token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.encode(), settings.metrics_token.encode()
        ):
            raise Unauthorized(
                "This endpoint needs the metrics token (DRAGOMAN_METRICS_TOKEN) as a bearer token."
            )
    body = exposition(db, queue, multiprocess=multiprocess.enabled())
    return Response(body, media_type=CONTENT_TYPE_LATEST)
