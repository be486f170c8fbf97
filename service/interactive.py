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
from service.queue import JobQueue
from service.settings import Settings
from service.store.interactive import (
    NewInteractive,
    create_interactive,
    give_up_interactive,
    interactive_state,
)


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
    return job_id


async def await_result(db: Database, settings: Settings, job_id: str) -> dict[str, Any]:
    """The stored answer of an interactive job, waiting for it without blocking the loop.

    Raises:
        JobTimeout: no answer within the timeout; the job is given up (no worker
            starts it later).
        RequestFailed, InvalidInput, UnsupportedLanguage: the worker's refusal.
    """
    deadline = time.monotonic() + settings.interactive_timeout_seconds
    interval = settings.interactive_poll_seconds
    while True:
        state = await run_in_threadpool(interactive_state, db, job_id)
        if state is not None and state.status.is_final:
            return _outcome(state.status, state.result, state.error_code, state.error_message)
        if time.monotonic() >= deadline:
            break
        await asyncio.sleep(interval)
        interval = min(interval * 1.5, 0.25)
    message = (
        f"No translation within {settings.interactive_timeout_seconds:g} s "
        "(DRAGOMAN_INTERACTIVE_TIMEOUT_SECONDS); the workers are busy or stopped."
    )
    await run_in_threadpool(give_up_interactive, db, job_id, "timeout", message)
    state = await run_in_threadpool(interactive_state, db, job_id)
    if state is not None and state.status == JobStatus.SUCCEEDED:  # answered meanwhile
        return _outcome(state.status, state.result, None, None)
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
