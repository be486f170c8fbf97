"""The interactive lane: a consumer thread beside the Celery pool for interactive requests.

LibreTranslate-style calls are synchronous, so they must never wait for a pool slot
held by a long article. Each worker process that holds the model (the thread and solo
pools) runs this thread: it consumes the interactive queue itself, on its own broker
connection, and runs up to ``DRAGOMAN_INTERACTIVE_CONCURRENCY`` requests at once in
its own threads. They only wait on the batch scheduler, which takes their sentences
before any article's, so the engine is shared and the capacity reserved.

A message is acknowledged when a thread is free to take it (at most one more is held
unacknowledged), not when it is answered: a request lost with its worker is answered
504 by the API and retried by the caller, which is what a synchronous API expects.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kombu.entity import Exchange, Queue
from kombu.message import Message

from service.contract import QueueName
from service.settings import Settings

log = logging.getLogger("dragoman.interactive")

RECONNECT_SECONDS = 1.0


def interactive_queue() -> Queue:
    """The interactive queue, declared as Celery declares a queue it routes to by name."""
    name = QueueName.INTERACTIVE.value
    return Queue(name, Exchange(name, type="direct"), routing_key=name)  # type: ignore[no-untyped-call]


def job_id_of(body: Any) -> str | None:
    """The job id a task message carries (Celery's message protocol 2, or 1)."""
    if isinstance(body, list | tuple) and body and isinstance(body[0], list | tuple):
        args = body[0]
    elif isinstance(body, dict):
        args = body.get("args") or []
    else:
        return None
    return args[0] if args and isinstance(args[0], str) else None


class InteractiveLane(threading.Thread):
    """Consumes the interactive queue and runs each request with ``handle(job_id)``.

    Args:
        connect: Opens a broker connection (the Celery app's ``connection_for_read``).
    """

    def __init__(
        self,
        settings: Settings,
        connect: Callable[[], Any],
        handle: Callable[[str], None],
        warm: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="dragoman-interactive", daemon=True)
        self.settings = settings
        self.connect = connect
        self.handle = handle
        self.warm = warm
        self._stop_event = threading.Event()
        self._slots = threading.Semaphore(settings.interactive_concurrency)
        self._executor = ThreadPoolExecutor(
            settings.interactive_concurrency, thread_name_prefix="dragoman-interactive"
        )
        self.consuming = threading.Event()  # set while the consumer is attached

    def run(self) -> None:
        if self.warm is not None:
            # Beside consuming, not before it: what the first requests need (the
            # language detectors) is built while they may already come in.
            self._executor.submit(self._warm_up)
        try:
            while not self._stop_event.is_set():
                try:
                    self._consume()
                except Exception as exc:  # noqa: BLE001 - the broker went away: reconnect
                    self.consuming.clear()
                    log.warning("interactive lane: %s; reconnecting", exc)
                    self._stop_event.wait(RECONNECT_SECONDS)
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def _warm_up(self) -> None:
        assert self.warm is not None
        try:
            self.warm()
        except Exception:
            log.exception("interactive lane: warming up failed")

    def stop(self, timeout: float = 2) -> None:
        self._stop_event.set()
        self.join(timeout=timeout)

    def _consume(self) -> None:
        with self.connect() as connection:
            queue = interactive_queue()
            with connection.Consumer(
                [queue], callbacks=[self._on_message], accept=["json"], prefetch_count=1
            ):
                self.consuming.set()
                while not self._stop_event.is_set():
                    try:
                        connection.drain_events(timeout=0.5)
                    except TimeoutError:
                        continue

    def _on_message(self, body: Any, message: Message) -> None:
        # Wait for a free thread before taking the message: meanwhile it stays
        # unacknowledged, and the broker gives the next ones to other workers.
        while not self._slots.acquire(timeout=0.5):
            if self._stop_event.is_set():
                message.requeue()  # type: ignore[no-untyped-call]
                return
        message.ack()  # type: ignore[no-untyped-call]
        job_id = job_id_of(body)
        if job_id is None:
            self._slots.release()
            log.warning("interactive lane: a message without a job id was dropped")
            return
        self._executor.submit(self._run, job_id)

    def _run(self, job_id: str) -> None:
        try:
            self.handle(job_id)
        except Exception:
            log.exception("interactive %s: unexpected error", job_id)
        finally:
            self._slots.release()
