"""Interactive requests: a synchronous call made into a small job, queued and awaited.

The API holds no model: a LibreTranslate-style ``/translate`` or ``/detect`` is stored
as an interactive job (committed), sent on the interactive queue, and the caller's
request waits for the answer the worker stores on the row (a cheap one-row read at a
short interval) until ``DRAGOMAN_INTERACTIVE_TIMEOUT_SECONDS``. The job counts against
the tenant's key, rate and character quota like any job, is never listed with the
articles, and is deleted after ``DRAGOMAN_INTERACTIVE_RETENTION_SECONDS``.

Errors (``service.errors``)::

    TransientError
    ├── NoWorker          (503 no_worker)       no live worker has the model
    └── BrokerUnavailable (503)                 the queue refused the request
    PermanentError
    ├── JobTimeout        (504 timeout)         no answer in time (the job is given up)
    └── RequestFailed     (the job's own code)  the worker could not answer
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from service import store
from service.auth import Principal
from service.contract import JobStatus
from service.db import Database
from service.errors import (
    BrokerUnavailable,
    DragomanError,
    InvalidInput,
    JobTimeout,
    PermanentError,
    TransientError,
    UnsupportedLanguage,
)
from service.glossary.domain import job_snapshot
from service.htmltext import visible_text_length
from service.jobs import supported_languages
from service.limits import Limiter
from service.monitoring import metrics
from service.queue import JobQueue
from service.settings import Settings
from service.store.interactive import (
    InteractiveState,
    NewInteractive,
    create_interactive,
    give_up_interactive,
    interactive_state,
    interactive_states,
)

log = logging.getLogger("dragoman.interactive")


class NoWorker(TransientError, code="no_worker", status_code=503):
    """No live worker reports the configured model: nothing could answer."""


class RequestFailed(PermanentError, code="request_failed", status_code=500):
    """The worker could not answer; ``details["code"]`` is the job's error code."""


@dataclass(frozen=True)
class TranslateRequest:
    """What a ``/translate`` asks for, in canonical language codes."""

    texts: list[str]
    source: str  # canonical, or "auto"
    target: str
    format: str = "text"  # text | html
    alternatives: int = 0
    glossaries: Sequence[str] | None = None


def model_languages(db: Database, settings: Settings) -> list[str]:
    """What the live workers' model can translate; ``NoWorker`` when none is live."""
    supported = supported_languages(db, settings)
    if supported is None:
        raise NoWorker("No translation worker is running; try again shortly.")
    return supported


def submit_translation(
    db: Database,
    queue: JobQueue,
    limiter: Limiter,
    settings: Settings,
    principal: Principal,
    request: TranslateRequest,
) -> str:
    """Check, charge, store and queue a translation request; returns its job id.

    Raises:
        NoWorker: no live worker; UnsupportedLanguage: a language the model lacks;
        QuotaExceeded: over today's characters; BrokerUnavailable: nothing is kept.
    """
    supported = model_languages(db, settings)
    for code in (request.source, request.target):
        if code != "auto" and code not in supported:
            raise UnsupportedLanguage(f"{code} is not supported", value=code)
    chars = sum(
        visible_text_length(t) if request.format == "html" else len(t) for t in request.texts
    )
    glossary = job_snapshot(
        db, settings, principal.tenant, request.glossaries, "\n".join(request.texts)
    )
    payload: dict[str, Any] = {
        "task": "translate",
        "q": request.texts,
        "format": request.format,
        "alternatives": request.alternatives,
    }
    return _submit(
        db,
        queue,
        limiter,
        settings,
        principal,
        request.source,
        request.target,
        payload,
        chars,
        glossary,
    )


def submit_detection(
    db: Database,
    queue: JobQueue,
    limiter: Limiter,
    settings: Settings,
    principal: Principal,
    text: str,
) -> str:
    """Store and queue a language detection (the detector runs in the workers)."""
    model_languages(db, settings)
    payload: dict[str, Any] = {"task": "detect", "q": [text]}
    return _submit(db, queue, limiter, settings, principal, "auto", "auto", payload, len(text))


def _submit(
    db: Database,
    queue: JobQueue,
    limiter: Limiter,
    settings: Settings,
    principal: Principal,
    source: str,
    target: str,
    payload: dict[str, Any],
    chars: int,
    glossary: dict[str, Any] | None = None,
) -> str:
    charge = limiter.charge_chars(principal, chars)
    job_id = create_interactive(
        db,
        NewInteractive(
            tenant=principal.tenant,
            key_id=principal.key_id,
            source_language=source,
            target_language=target,
            payload=payload,
            retention=settings.interactive_retention_seconds,
            glossary=glossary,
        ),
    )
    try:
        queue.send_interactive(job_id)
    except BrokerUnavailable:
        store.discard_job(db, job_id)
        limiter.refund(charge)
        raise
    metrics.record_job_submitted(payload.get("format", "text"), lane=metrics.INTERACTIVE)
    return job_id


class ResultWaiter:
    """Waits for interactive answers: one reader for all the calls an API process holds.

    However many calls wait (a burst of fifty), the store sees one query per interval
    for all of them; built in the API's lifespan.
    """

    def __init__(self, db: Database, interval: float) -> None:
        self.db = db
        self.interval = interval
        self._waiting: dict[str, list[asyncio.Future[InteractiveState]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def wait(self, job_id: str, timeout: float) -> InteractiveState | None:
        """The job's final state, or None if it is not final within ``timeout`` s."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[InteractiveState] = loop.create_future()
        self._waiting.setdefault(job_id, []).append(future)
        # (a reader of another event loop, as test clients make, is no reader here)
        if self._reader is None or self._reader.done() or self._reader.get_loop() is not loop:
            self._reader = asyncio.create_task(self._read())
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return None
        finally:
            waiting = self._waiting.get(job_id, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiting.pop(job_id, None)

    async def _read(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.interval)
            ids = list(self._waiting)
            try:
                states = await run_in_threadpool(interactive_states, self.db, ids)
            except Exception:  # the database is away for a moment: the callers' timeouts hold
                log.warning("reading interactive answers failed; trying again", exc_info=True)
                continue
            for job_id, state in states.items():
                if state.status.is_final:
                    for future in self._waiting.pop(job_id, []):
                        if not future.done():
                            future.set_result(state)


async def await_result(
    db: Database, waiter: ResultWaiter, settings: Settings, job_id: str
) -> dict[str, Any]:
    """The stored answer of an interactive job, waiting for it without blocking the loop.

    Raises:
        JobTimeout: no answer within the timeout; the job is given up (no worker
            starts it later).
        RequestFailed, InvalidInput, UnsupportedLanguage: the worker's refusal.
    """
    started = time.monotonic()
    try:
        return await _await(db, waiter, settings, job_id)
    finally:
        metrics.record_interactive_latency(time.monotonic() - started)


async def _await(
    db: Database, waiter: ResultWaiter, settings: Settings, job_id: str
) -> dict[str, Any]:
    state = await waiter.wait(job_id, settings.interactive_timeout_seconds)
    if state is not None:
        return _outcome(state.status, state.result, state.error_code, state.error_message)
    message = (
        f"No translation within {settings.interactive_timeout_seconds:g} s "
        "(DRAGOMAN_INTERACTIVE_TIMEOUT_SECONDS); the workers are busy or stopped."
    )
    await run_in_threadpool(give_up_interactive, db, job_id, "timeout", message)
    final = await run_in_threadpool(interactive_state, db, job_id)
    if final is not None and final.status == JobStatus.SUCCEEDED:  # answered meanwhile
        return _outcome(final.status, final.result, None, None)
    raise JobTimeout(message)


def _outcome(
    status: JobStatus, result: dict[str, Any] | None, code: str | None, message: str | None
) -> dict[str, Any]:
    if status == JobStatus.SUCCEEDED and result is not None:
        return result
    text = message or "The request could not be answered."
    error: DragomanError
    if code == "invalid_input":
        error = InvalidInput(text)
    elif code == "unsupported_language":
        error = UnsupportedLanguage(text)
    elif code in ("model_unavailable", "worker_stopping"):
        error = NoWorker(text)
    else:
        error = RequestFailed(text, code=code or "failed")
    raise error
