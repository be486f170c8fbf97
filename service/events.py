"""A job's changes as server-sent events, read from the store.

``GET /v1/jobs/{id}/events`` is computed from the job as the store has it, read at a
short interval (``DRAGOMAN_EVENTS_POLL_SECONDS``), so any API process serves it,
whichever process or worker changed the job. The events:

- ``status``: the job, as ``GET /v1/jobs/{id}`` answers it, when its status changes;
  the stream ends after a final status (succeeded, failed, cancelled).
- ``progress``: ``{"done", "total"}`` when they change.
- ``language``: one language's finished result (succeeded or failed), once:
  ``{"language": "fa", "status", "direction", "title", ...}`` as in the job's
  ``translations``.

Each event's id says all the client has been sent (status, progress, and which
languages, as a bit mask over the job's target languages), so a client that comes
back with ``Last-Event-ID`` gets exactly what it has not seen: no ``language`` event
is lost or sent twice. A comment line keeps a quiet stream open
(``DRAGOMAN_EVENTS_KEEPALIVE_SECONDS``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool

from service import store
from service.contract import JobStatus, TranslationStatus
from service.db import Database
from service.errors import NotFound, TransientError
from service.jobs import describe
from service.schemas import JobOut
from service.settings import Settings

log = logging.getLogger("dragoman.events")

# How long a browser waits before reconnecting (EventSource's ``retry``), in ms.
RETRY_MS = 2000
KEEPALIVE = b": keep-alive\n\n"
FINISHED = (TranslationStatus.SUCCEEDED, TranslationStatus.FAILED)


@dataclass(frozen=True)
class Seen:
    """What a client has been sent: the job's status, its progress, its finished languages."""

    status: JobStatus | None = None
    done: int = -1
    total: int = -1
    languages: int = 0  # bit i: the result of target_languages[i]

    @property
    def final(self) -> bool:
        return self.status is not None and self.status.is_final

    def event_id(self) -> str:
        status = self.status.value if self.status else "-"
        return f"{status}.{self.done}.{self.total}.{self.languages:x}"

    @classmethod
    def parse(cls, event_id: str | None) -> Seen:
        """The state an event id names; a missing or malformed id starts from nothing."""
        parts = (event_id or "").strip().split(".")
        if len(parts) != 4:
            return cls()
        status, done, total, languages = parts
        try:
            return cls(
                status=None if status == "-" else JobStatus(status),
                done=int(done),
                total=int(total),
                languages=int(languages, 16) if len(languages) <= 32 else 0,
            )
        except ValueError:
            return cls()


@dataclass(frozen=True)
class Event:
    name: str
    data: str  # JSON, one line
    id: str

    def encode(self) -> bytes:
        return f"event: {self.name}\nid: {self.id}\ndata: {self.data}\n\n".encode()


def changes(job: JobOut, seen: Seen) -> tuple[list[Event], Seen]:
    """The events that take a client from ``seen`` to ``job``, and what it has seen then.

    In order: a new status that is not final (the job, with what is known so far), each
    newly finished language, new progress, and last a final status.
    """
    events: list[Event] = []

    def add(name: str, data: str, now: Seen) -> Seen:
        events.append(Event(name, data, now.event_id()))
        return now

    if job.status != seen.status and not job.status.is_final:
        seen = add("status", job.model_dump_json(), replace(seen, status=job.status))
    for position, code in enumerate(job.target_languages):
        result = job.translations.get(code)
        bit = 1 << position
        if result is None or result.status not in FINISHED or seen.languages & bit:
            continue
        data = json.dumps({"language": code, **result.model_dump(mode="json")}, ensure_ascii=False)
        seen = add("language", data, replace(seen, languages=seen.languages | bit))
    progress = (job.progress.done, job.progress.total)
    if progress != (seen.done, seen.total):
        data = job.progress.model_dump_json()
        seen = add("progress", data, replace(seen, done=progress[0], total=progress[1]))
    if job.status != seen.status:
        seen = add("status", job.model_dump_json(), replace(seen, status=job.status))
    return events, seen


async def follow(
    version: Callable[[], Any],
    load: Callable[[], JobOut | None],
    seen: Seen,
    *,
    poll_seconds: float,
    keepalive_seconds: float,
) -> AsyncIterator[bytes]:
    """The event stream of one job, until its final status (or until it is gone).

    Args:
        version: what changes whenever the job does (cheap to read); None once it is gone.
        load: the job as the API shows it; None once it is gone.
        seen: where the client is (from ``Last-Event-ID``).
    """
    yield f"retry: {RETRY_MS}\n\n".encode()
    last_version: Any = None
    quiet_since = time.monotonic()
    while True:
        try:
            current = await run_in_threadpool(version)
            if current is None:
                return
            if current != last_version:
                job = await run_in_threadpool(load)
                if job is None:
                    return
                last_version = current
                batch, seen = changes(job, seen)
                for event in batch:
                    yield event.encode()
                if batch:
                    quiet_since = time.monotonic()
                if seen.final:
                    return
        except TransientError as exc:
            # The database is away for a moment: the stream waits for it, as clients do.
            log.warning("job events: %s", exc.message)
        if time.monotonic() - quiet_since >= keepalive_seconds:
            yield KEEPALIVE
            quiet_since = time.monotonic()
        await anyio.sleep(poll_seconds)


def follow_job(
    db: Database, settings: Settings, job_id: str, tenant: str, last_event_id: str | None
) -> AsyncIterator[bytes]:
    """The event stream of a tenant's job, from where ``last_event_id`` left off."""

    def load() -> JobOut | None:
        try:
            return describe(db, store.get_job(db, job_id, tenant=tenant))
        except NotFound:
            return None

    return follow(
        lambda: store.job_version(db, job_id, tenant=tenant),
        load,
        Seen.parse(last_event_id),
        poll_seconds=settings.events_poll_seconds,
        keepalive_seconds=settings.events_keepalive_seconds,
    )
