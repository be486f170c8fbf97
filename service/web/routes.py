"""The desk's routes: the page at ``/`` and its static files."""

from __future__ import annotations

import functools
from pathlib import Path

import jinja2
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from service.errors import NotFound
from service.languages import language_name, native_name, text_direction
from service.settings import Settings
from service.web.assets import IMMUTABLE, assets

TEMPLATES = Path(__file__).parent / "templates"
# The languages the desk is for, preselected: az, fa, hy (azb offered beside them).
FIRST_LANGUAGES = ("az", "fa", "hy", "azb")
PRESELECTED = frozenset({"az", "fa", "hy"})

# No inline script or style, nothing from elsewhere, and no HTML sinks at all: with
# Trusted Types required, assigning a string to innerHTML throws in the browser.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

router = APIRouter(include_in_schema=False)


@functools.cache
def templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return Jinja2Templates(env=env)


@router.get("/", response_class=HTMLResponse)
def desk(request: Request) -> Response:
    """The desk: submit an article, follow it, read its summary and translations."""
    settings: Settings = request.app.state.settings
    static = assets()
    first = [
        {
            "code": code,
            "name": language_name(code),
            "native_name": native_name(code),
            "direction": text_direction(code),
            "checked": code in PRESELECTED,
        }
        for code in FIRST_LANGUAGES
    ]
    return templates().TemplateResponse(
        request,
        "desk.html",
        {
            "static": static.url,
            "auth_required": settings.auth == "required",
            "max_text_chars": settings.max_text_chars,
            "max_target_languages": settings.max_target_languages,
            "max_summary_sentences": min(settings.max_summary_sentences, 10),
            "first_languages": first,
        },
        headers=PAGE_HEADERS,
    )


@router.get("/static/{version}/{path:path}")
def static_file(version: str, path: str) -> Response:
    """A static file of the desk; cached for good under the current version."""
    static = assets()
    asset = static.files.get(path)
    if asset is None:
        raise NotFound(f"No file {path!r}.")
    cache = IMMUTABLE if version == static.version else "no-cache"
    return Response(
        asset.content,
        media_type=asset.media_type,
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )
