"""LibreTranslate 1.9-compatible routes: /translate, /detect, /languages,
/frontend/settings, /translate_file and its download.

Thin routes over ``service.interactive``: each call is an interactive job the
workers answer while the request waits. Dragoman's keys (``api_key`` in the fields,
or the usual headers), tenants, rate limits and quotas apply.
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service import interactive
from service.api.deps import DatabaseDep, LimiterDep, QueueDep, SettingsDep, WaiterDep
from service.api.libretranslate.protocol import (
    ERRORS,
    ClientError,
    FilePart,
    Forbidden,
    LibreTranslateRoute,
    read_fields,
    required,
    text_field,
    to_canonical,
    to_client,
)
from service.auth import Principal, Unauthorized, authenticate
from service.db import Database
from service.errors import NotFound
from service.languages import AUTO, language_name
from service.limits import Limiter
from service.settings import Settings
from service.store.interactive import interactive_job

router = APIRouter(route_class=LibreTranslateRoute, tags=["LibreTranslate"], responses=ERRORS)

FILE_FORMATS = {".txt": "text", ".html": "html", ".htm": "html"}
MAX_ALTERNATIVES = 10
DEFAULT_TARGET = "az"


def _key(request: Request, fields: dict[str, Any]) -> str | None:
    key = text_field(fields, "api_key")
    if key:
        return key
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


def _authorize(
    db: Database, settings: Settings, limiter: Limiter, key: str | None, *, count: bool = True
) -> Principal:
    """The caller, as LibreTranslate answers a refused key (403 bad key, 400 no key)."""
    try:
        principal = authenticate(db, settings, key)
    except Unauthorized as exc:
        if key:
            raise Forbidden("Invalid API key") from exc
        raise ClientError("Please contact the server operator to get an API key") from exc
    if count:
        limiter.check_rate(principal)
    return principal


def _texts(fields: dict[str, Any]) -> tuple[list[str], bool]:
    """``q`` as a list of texts, and whether it came as a list."""
    q = fields.get("q")
    if q is None or q == "" or q == []:
        raise ClientError("Invalid request: missing q parameter")
    if isinstance(q, list):
        if not all(isinstance(item, str) for item in q):
            raise ClientError("Invalid request: q must be a string or a list of strings")
        return list(q), True
    if not isinstance(q, str):
        raise ClientError("Invalid request: q must be a string or a list of strings")
    return [q], False


def _alternatives(fields: dict[str, Any]) -> int:
    value = fields.get("alternatives", 0)
    if value in (None, ""):
        return 0
    try:
        count = int(value)
    except (TypeError, ValueError) as exc:
        raise ClientError("Invalid request: alternatives must be a number") from exc
    return max(0, min(count, MAX_ALTERNATIVES))


def _format(fields: dict[str, Any]) -> str:
    fmt = text_field(fields, "format") or "text"
    if fmt not in ("text", "html"):
        raise ClientError(f"{fmt} format is not supported")
    return fmt


def _check_chars(texts: list[str], limit: int) -> None:
    chars = sum(len(text) for text in texts)
    if chars > limit:
        raise ClientError(f"Invalid request: request ({chars}) exceeds character limit ({limit})")


def _glossaries(fields: dict[str, Any]) -> list[str] | None:
    value = fields.get("glossary")
    if value in (None, ""):
        return None
    values = value if isinstance(value, list) else str(value).split(",")
    return [str(v).strip() for v in values if str(v).strip()]


def _detected(result: dict[str, Any]) -> dict[str, Any] | None:
    detected = result.get("detected")
    if not detected:
        return None
    return {"confidence": detected["confidence"], "language": to_client(detected["language"])}


@router.post("/translate")
async def translate(
    request: Request,
    db: DatabaseDep,
    queue: QueueDep,
    limiter: LimiterDep,
    settings: SettingsDep,
    waiter: WaiterDep,
) -> JSONResponse:
    """Translate text (LibreTranslate): ``q`` a string or a list, ``source`` a code or auto."""
    fields = await read_fields(request)
    key = _key(request, fields)
    principal = await run_in_threadpool(_authorize, db, settings, limiter, key)
    texts, batch = _texts(fields)
    source_code = required(fields, "source")
    target_code = required(fields, "target")
    fmt = _format(fields)
    count = _alternatives(fields)
    _check_chars(texts, settings.interactive_char_limit)
    source, target = to_canonical(source_code), to_canonical(target_code)
    if target == AUTO:
        raise ClientError(f"{target_code} is not supported")
    ask = interactive.TranslateRequest(texts, source, target, fmt, count, _glossaries(fields))
    job_id = await run_in_threadpool(
        interactive.submit_translation, db, queue, limiter, settings, principal, ask
    )
    result = await interactive.await_result(db, waiter, settings, job_id)
    translated: list[str] = result["translated"]
    answer: dict[str, Any] = {"translatedText": translated if batch else translated[0]}
    detected = _detected(result)
    if detected is not None:
        answer["detectedLanguage"] = [detected] * len(texts) if batch else detected
    if count:
        alternatives: list[list[str]] = result.get("alternatives") or [[] for _ in texts]
        answer["alternatives"] = alternatives if batch else alternatives[0]
    return JSONResponse(answer)


@router.post("/detect")
async def detect(
    request: Request,
    db: DatabaseDep,
    queue: QueueDep,
    limiter: LimiterDep,
    settings: SettingsDep,
    waiter: WaiterDep,
) -> JSONResponse:
    """Detect the language of a text (LibreTranslate): likely languages, best first."""
    fields = await read_fields(request)
    key = _key(request, fields)
    principal = await run_in_threadpool(_authorize, db, settings, limiter, key)
    texts, _ = _texts(fields)
    _check_chars(texts, settings.interactive_char_limit)
    job_id = await run_in_threadpool(
        interactive.submit_detection, db, queue, limiter, settings, principal, "\n".join(texts)
    )
    result = await interactive.await_result(db, waiter, settings, job_id)
    return JSONResponse(
        [
            {"confidence": d["confidence"], "language": to_client(d["language"])}
            for d in result.get("detections", [])
        ]
    )


def _model_languages(db: Database, settings: Settings) -> list[str]:
    """What the workers' model translates; none while no worker answers."""
    try:
        return interactive.model_languages(db, settings)
    except interactive.NoWorker:
        return []


@router.get("/languages")
@router.post("/languages", include_in_schema=False)  # LibreTranslate answers both
def languages(db: DatabaseDep, settings: SettingsDep) -> JSONResponse:
    """The languages the workers' model translates (LibreTranslate), each into every other."""
    codes = _model_languages(db, settings)
    clients = [to_client(code) for code in codes]
    return JSONResponse(
        [
            {"code": client, "name": language_name(code), "targets": clients}
            for code, client in zip(codes, clients, strict=True)
        ]
    )


@router.get("/frontend/settings")
def frontend_settings(db: DatabaseDep, settings: SettingsDep) -> JSONResponse:
    """What a LibreTranslate front end needs to know about this server."""
    codes = _model_languages(db, settings)
    target = DEFAULT_TARGET if DEFAULT_TARGET in codes or not codes else codes[0]
    keys = settings.auth != "disabled"
    return JSONResponse(
        {
            "apiKeys": keys,
            "charLimit": settings.interactive_char_limit,
            "frontendTimeout": 500,
            "keyRequired": keys,
            "language": {
                "source": {"code": "auto", "name": "Auto Detect"},
                "target": {"code": to_client(target), "name": language_name(target)},
            },
            "suggestions": False,
            "filesTranslation": True,
            "supportedFilesFormat": sorted(FILE_FORMATS),
        }
    )


@router.post("/translate_file")
async def translate_file(
    request: Request,
    db: DatabaseDep,
    queue: QueueDep,
    limiter: LimiterDep,
    settings: SettingsDep,
    waiter: WaiterDep,
) -> JSONResponse:
    """Translate a .txt or .html file (LibreTranslate); answers the translated file's URL."""
    fields = await read_fields(request)
    key = _key(request, fields)
    principal = await run_in_threadpool(_authorize, db, settings, limiter, key)
    upload = fields.get("file")
    if not isinstance(upload, FilePart):
        raise ClientError("Invalid request: missing file parameter")
    source_code = required(fields, "source")
    target_code = required(fields, "target")
    name = os.path.basename(upload.filename or "file.txt")
    extension = os.path.splitext(name)[1].lower()
    if extension not in FILE_FORMATS:
        raise ClientError("Invalid request: file format not supported")
    try:
        text = upload.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ClientError("Invalid request: the file is not UTF-8 text") from exc
    if not text.strip():
        raise ClientError("Invalid request: the file is empty")
    _check_chars([text], settings.max_text_chars)
    source, target = to_canonical(source_code), to_canonical(target_code)
    if target == AUTO:
        raise ClientError(f"{target_code} is not supported")
    ask = interactive.TranslateRequest([text], source, target, FILE_FORMATS[extension])
    job_id = await run_in_threadpool(
        interactive.submit_translation, db, queue, limiter, settings, principal, ask
    )
    await interactive.await_result(db, waiter, settings, job_id)
    base = str(request.base_url).rstrip("/")
    stem, _ = os.path.splitext(name)
    filename = f"{stem}_{to_client(target)}{extension}"
    return JSONResponse({"translatedFileUrl": f"{base}/download_file/{job_id}/{filename}"})


@router.get("/download_file/{job_id}/{filename}")
def download_file(
    job_id: str,
    filename: str,
    request: Request,
    db: DatabaseDep,
    limiter: LimiterDep,
    settings: SettingsDep,
) -> Response:
    """A file translated by /translate_file, for the tenant that sent it (until it expires)."""
    key = _key(request, dict(request.query_params))
    principal = _authorize(db, settings, limiter, key, count=False)
    limiter.check_reads(principal, settings.read_rate_limit_per_minute)
    job = interactive_job(db, job_id, tenant=principal.tenant)
    if job is None or not job.result or not job.result.get("translated"):
        raise NotFound("Not found: the file is unknown or has expired.")
    fmt = (job.payload or {}).get("format", "text")
    media = "text/html" if fmt == "html" else "text/plain"
    safe = "".join(ch for ch in filename if ch.isalnum() or ch in "._-") or "translated.txt"
    return Response(
        job.result["translated"][0],
        media_type=f"{media}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )
