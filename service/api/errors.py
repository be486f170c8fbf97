"""One rendering for every error: ``{"error": {"code", "message"}}``, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.auth import Unauthorized
from service.db import is_unavailable
from service.errors import DatabaseUnavailable, DragomanError, TransientError

log = logging.getLogger("dragoman.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DragomanError, _dragoman_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _dragoman_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DragomanError)
    return JSONResponse(exc_body(exc), status_code=exc.status_code, headers=error_headers(exc))


def error_headers(exc: DragomanError) -> dict[str, str] | None:
    """Retry-After for errors that pass (limits say when), WWW-Authenticate for 401."""
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    retry_after = exc.details.get("retry_after")
    if retry_after is not None:
        return {"Retry-After": str(retry_after)}
    return {"Retry-After": "5"} if isinstance(exc, TransientError) else None


def exc_body(exc: DragomanError) -> dict[str, Any]:
    return {"error": exc.to_dict()}


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        # The offending input is left out: it may be huge or private.
        problems.append({"field": location or "body", "problem": str(error.get("msg", ""))})
    if any(error.get("type") == "json_invalid" for error in exc.errors()):
        message = "The request body is not valid JSON."
    else:
        message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems) or "Invalid request."
    return JSONResponse(error_body("invalid_input", message, problems), status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if is_unavailable(exc):
        # A database error that escaped Database.session: still an outage, not a bug.
        return await _dragoman_error(
            request, DatabaseUnavailable("The database is not reachable; try again shortly.")
        )
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "An internal error occurred; it has been logged."),
        status_code=500,
    )
