"""A worker's heartbeat: "I am alive, and this is where my model stands".

A thread in the worker's main process writes a row to the ``workers`` table every
few seconds: the model's state (pulling, loading, ready, unavailable and why), its
languages and the engine that runs it, as the worker's model loader reports them.
The API reads these rows for ``/readyz`` and ``/v1/languages``. The heartbeat itself
never touches the model, so it keeps beating while a model loads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable

from service import store
from service.db import Database
from service.errors import DragomanError
from service.settings import Settings
from worker.runtime.lifecycle import WORKER_ID
from worker.runtime.model import ModelReport, ModelState

log = logging.getLogger("dragoman.heartbeat")


class Heartbeat(threading.Thread):
    def __init__(
        self,
        settings: Settings,
        report: Callable[[], ModelReport],
        name: str = WORKER_ID,
    ) -> None:
        super().__init__(name="dragoman-heartbeat", daemon=True)
        self.settings = settings
        self.report = report
        self.worker_name = name
        self._stop_event = threading.Event()
        self._wake = threading.Event()

    def wake(self) -> None:
        """Beat now (the model's state changed), not at the next interval."""
        self._wake.set()

    def run(self) -> None:
        db = Database(self.settings.effective_database_url)
        try:
            while True:
                self._wake.clear()
                self._beat(db)
                self._wake.wait(self.settings.worker_heartbeat_seconds)
                if self._stop_event.is_set():
                    break
            with contextlib.suppress(DragomanError):
                store.remove_worker(db, self.worker_name)
        finally:
            db.dispose()

    def _beat(self, db: Database) -> None:
        report = self.report()
        try:
            store.record_heartbeat(
                db,
                name=self.worker_name,
                pid=os.getpid(),
                translation_model=self.settings.translation_model,
                languages=report.languages,
                model_status=report.state.value,
                model_error=report.error if report.state is ModelState.UNAVAILABLE else None,
                model_info=report.info or None,
            )
        except DragomanError as exc:
            log.warning("heartbeat not recorded: %s", exc.message)

    def stop(self, timeout: float = 10) -> None:
        self._stop_event.set()
        self._wake.set()
        self.join(timeout=timeout)
