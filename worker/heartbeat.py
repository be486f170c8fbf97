"""A worker's heartbeat: "I am alive, and this is what my model can do".

A thread in the worker's main process writes a row to the ``workers`` table every
few seconds. The API reads these rows for ``/readyz`` (is any worker answering?) and
``/v1/languages`` (which languages does the configured model know?). Only the
model's config and tokenizer are read here, never its weights: those load in the
pool processes, on their first job.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading

from service import store
from service.db import Database
from service.errors import DragomanError
from service.settings import Settings
from worker.context import WORKER_ID

log = logging.getLogger("dragoman.heartbeat")


class Heartbeat(threading.Thread):
    def __init__(self, settings: Settings, name: str = WORKER_ID) -> None:
        super().__init__(name="dragoman-heartbeat", daemon=True)
        self.settings = settings
        self.worker_name = name
        self._stop_event = threading.Event()
        self._languages: list[str] | None = None
        self._model_error: str | None = None

    def run(self) -> None:
        db = Database(self.settings.effective_database_url)
        try:
            while True:
                if self._languages is None:
                    self._describe_model()
                self._beat(db)
                if self._stop_event.wait(self.settings.worker_heartbeat_seconds):
                    break
            with contextlib.suppress(DragomanError):
                store.remove_worker(db, self.worker_name)
        finally:
            db.dispose()

    def _describe_model(self) -> None:
        from worker.translation import model_languages

        try:
            self._languages = model_languages(self.settings)
            self._model_error = None
        except DragomanError as exc:
            if exc.message != self._model_error:
                log.error("translation model unavailable: %s", exc.message)
            self._model_error = exc.message

    def _beat(self, db: Database) -> None:
        try:
            store.record_heartbeat(
                db,
                name=self.worker_name,
                pid=os.getpid(),
                translation_model=self.settings.translation_model,
                languages=self._languages,
                model_status="available" if self._languages is not None else "unavailable",
                model_error=self._model_error,
            )
        except DragomanError as exc:
            log.warning("heartbeat not recorded: %s", exc.message)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=10)
