"""The FastAPI application and the lifetime of its resources."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import tenants
from service.api import feeds, glossaries, jobs, metrics, system
from service.api.errors import error_body, install_error_handlers
from service.db import Database, prepare_store
from service.limits import Limiter, PayloadTooLarge, make_counter
from service.monitoring import multiprocess
from service.queue import JobQueue
from service.settings import Settings, get_settings
from service.web import routes as desk

log = logging.getLogger("dragoman.api")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; the database and queue clients live as long as the app."""
    current = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prepare_store(current)
        app.state.settings = current
        app.state.db = Database(current.effective_database_url)
        app.state.queue = JobQueue(current)
        counter = make_counter(current, app.state.db)
        app.state.limiter = Limiter(counter)
        if current.auth == "disabled":
            # Open mode's jobs belong to "local"; its webhooks need the tenant's secret.
            tenants.ensure_tenant(app.state.db, tenants.LOCAL_TENANT)
            log.warning(
                "authentication is off (DRAGOMAN_AUTH=disabled): every request is tenant %r",
                tenants.LOCAL_TENANT,
            )
        try:
            yield
        finally:
            # This process's live gauges go; its counters keep counting in the sum.
            multiprocess.mark_dead(os.getpid())
            counter.close()
            app.state.queue.close()
            app.state.db.dispose()

    app = FastAPI(
        title="Dragoman",
        version="0.1.0",
        summary="News summaries and translations into az, fa, hy and any language the model knows.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for family in (jobs, feeds, glossaries, system, metrics):
        app.include_router(family.router)
    app.include_router(desk.router)
    app.add_middleware(BodySizeLimit, max_bytes=current.max_body_bytes)
    return app


class BodySizeLimit:
    """Answers 413 to a request body over ``max_bytes``, declared or streamed.

    A declared Content-Length over the limit is refused before anything is read;
    a chunked body is counted as it arrives and refused once it passes the limit,
    whatever the application was doing with it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise PayloadTooLarge("too large")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the app makes of the cut-off body, the answer is 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            error_body(
                "payload_too_large",
                f"The request body is over {self.max_bytes} bytes (DRAGOMAN_MAX_BODY_BYTES).",
            ),
            status_code=413,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length before we see it
    return None
