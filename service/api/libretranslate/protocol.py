"""LibreTranslate 1.9's wire protocol: where fields come from, language codes, errors.

LibreTranslate reads its fields from a JSON body, a url-encoded or multipart form, or
the query string; answers errors as ``{"error": "message"}`` with its own status codes
and messages; and names a few languages its own way (``zt`` for Traditional Chinese,
``pb`` for Brazilian Portuguese).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from service.errors import DragomanError, TransientError, UnsupportedLanguage
from service.languages import AUTO, normalize_code

# LibreTranslate's codes that are not the canonical code of the same language.
_FROM_CLIENT = {"zt": "zh-Hant", "pb": "pt"}
_TO_CLIENT = {"zh-Hant": "zt"}


class ErrorOut(BaseModel):
    """LibreTranslate's error answer."""

    error: str


# What each LibreTranslate route may answer besides 200, documented for clients.
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": description}
    for code, description in {
        400: "Invalid request (a missing field, an unknown language, over the limit...)",
        403: "Invalid API key",
        404: "Not found",
        429: "Slow down: over the key's rate or daily characters",
        500: "The translation failed",
        503: "No worker or queue to answer",
        504: "No answer in time",
    }.items()
}


class ClientError(DragomanError, code="bad_request", status_code=400):
    """A request LibreTranslate answers 400 (its message is the whole answer)."""


class Forbidden(DragomanError, code="forbidden", status_code=403):
    """A key LibreTranslate refuses with 403."""


def to_canonical(code: str) -> str:
    """The canonical code of a LibreTranslate client's code.

    Raises:
        ClientError: ``<code> is not supported`` (LibreTranslate's message).
    """
    text = code.strip()
    if text.lower() == AUTO:
        return AUTO
    mapped = _FROM_CLIENT.get(text.lower(), text)
    try:
        return normalize_code(mapped)
    except UnsupportedLanguage as exc:
        raise ClientError(f"{code} is not supported") from exc


def to_client(code: str) -> str:
    """The code a LibreTranslate client knows for a canonical code."""
    return _TO_CLIENT.get(code, code)


async def read_fields(request: Request) -> dict[str, Any]:
    """The request's fields: the query string, overridden by a JSON or form body.

    A field given several times in a form or the query string (``q=a&q=b``) is a list.

    Raises:
        ClientError: a JSON body that is not an object.
    """
    fields: dict[str, Any] = _multi(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        raw = await request.body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ClientError("Invalid JSON format") from exc
            if not isinstance(body, dict):
                raise ClientError("Invalid JSON format")
            fields.update(body)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        async with request.form() as form:
            items: list[tuple[str, Any]] = []
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):  # read now: the form's files close below
                    items.append((name, FilePart(value.filename or "", await value.read())))
                else:
                    items.append((name, value))
        fields.update(_multi(items))
    return fields


@dataclass(frozen=True)
class FilePart:
    """A file sent in a multipart form: its name and its bytes."""

    filename: str
    data: bytes


def _multi(items: list[tuple[str, Any]]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in items:
        if name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = value
    return fields


def text_field(fields: dict[str, Any], name: str) -> str | None:
    """A field that must be one string; None when absent or empty."""
    value = fields.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int | float):
        raise ClientError(f"Invalid request: {name} must be a string")
    return str(value)


def required(fields: dict[str, Any], name: str) -> str:
    """A required string field (``Invalid request: missing <name> parameter``)."""
    value = text_field(fields, name)
    if value is None:
        raise ClientError(f"Invalid request: missing {name} parameter")
    return value


def error_response(exc: DragomanError) -> JSONResponse:
    """A Dragoman error as LibreTranslate answers it: ``{"error": message}``."""
    status = exc.status_code
    message = exc.message
    if status == 429:
        message = f"Slowdown: {message}"
    elif status in (413, 422):  # LibreTranslate refuses every bad input with 400
        status = 400
    headers = None
    if isinstance(exc, TransientError):
        headers = {"Retry-After": str(exc.details.get("retry_after", 5))}
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class LibreTranslateRoute(APIRoute):
    """A route whose errors are answered in LibreTranslate's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except DragomanError as exc:
                return error_response(exc)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
                return JSONResponse(
                    {"error": f"Invalid request: {where} {first.get('msg', '')}".strip()},
                    status_code=400,
                )

        return route
