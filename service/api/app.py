"""The FastAPI application and the lifetime of its resources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.api.errors import install_error_handlers
from service.api.routes import router
from service.db import Database, upgrade_database
from service.queue import JobQueue
from service.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; the database and queue clients live as long as the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = settings or get_settings()
        current.ensure_dirs()
        upgrade_database(current.effective_database_url, current.data_dir)
        app.state.settings = current
        app.state.db = Database(current.effective_database_url)
        app.state.queue = JobQueue(current)
        try:
            yield
        finally:
            app.state.queue.close()
            app.state.db.dispose()

    app = FastAPI(
        title="Dragoman",
        version="0.1.0",
        summary="News summaries and translations into az, fa, hy and any language the model knows.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(router)
    return app
