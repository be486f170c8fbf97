"""The error answers routes document in the OpenAPI schema (all in one error shape)."""

from __future__ import annotations

from service.schemas import ErrorResponse

ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorResponse} for code in (401, 404, 409, 413, 422, 429, 503)
}
"""What any route under /v1 may answer."""

BODY_ERRORS: dict[int | str, dict[str, object]] = {
    **ERRORS,
    400: {"model": ErrorResponse, "description": "The body is not UTF-8 or is nested too deep."},
}
"""What a route that reads a JSON body may answer."""

EVENT_STREAM: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Server-sent events (`event: status|progress|language`, `id`, `data` "
        "as JSON): `status` carries the job, `progress` `{done, total}`, `language` one "
        "finished language's result with its code under `language`.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}
"""A route that answers with a stream of server-sent events."""
