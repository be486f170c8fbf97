"""Following a job through its event stream (``GET /v1/jobs/{id}/events``).

The stream is read until the job's final status; a dropped connection is opened
again with ``Last-Event-ID``, so no event is lost or seen twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

FINAL = ("succeeded", "failed", "cancelled")
# Longer than the stream's keep-alive (15 s): a read this long means the connection is gone.
READ_TIMEOUT = 45.0
RECONNECTS = 8


class StreamRefused(Exception):
    """The API answered the stream with an error (not found, unauthorized, ...)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class StillRunning(Exception):
    """The deadline passed before the job finished."""


@dataclass(frozen=True)
class JobEvent:
    name: str  # status | progress | language
    id: str
    data: dict[str, Any]


def parse_events(lines: Iterable[str]) -> Iterator[JobEvent | None]:
    """The events in an SSE stream's lines; None for each comment (a keep-alive)."""
    fields: dict[str, str] = {}
    for line in lines:
        if not line:
            if "event" in fields and "data" in fields:
                yield JobEvent(fields["event"], fields.get("id", ""), json.loads(fields["data"]))
            fields = {}
        elif line.startswith(":"):
            yield None
        else:
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


def follow_job(client: httpx.Client, job_id: str, deadline: float) -> Iterator[JobEvent]:
    """The job's events up to and including its final status.

    Raises:
        StreamRefused: the API refused the stream (the job is not found, the key is wrong).
        StillRunning: ``deadline`` (a ``time.monotonic()`` value) passed first.
        httpx.HTTPError: the API stayed unreachable through several reconnections.
    """
    last_id: str | None = None
    failures = 0
    timeout = httpx.Timeout(30.0, read=READ_TIMEOUT)
    while True:
        headers = {"Last-Event-ID": last_id} if last_id else {}
        try:
            with client.stream(
                "GET", f"/v1/jobs/{job_id}/events", headers=headers, timeout=timeout
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise StreamRefused(response)
                for event in parse_events(response.iter_lines()):
                    if time.monotonic() > deadline:
                        raise StillRunning(job_id)
                    if event is None:
                        continue
                    last_id, failures = event.id, 0
                    yield event
                    if event.name == "status" and event.data.get("status") in FINAL:
                        return
        except httpx.HTTPError:
            failures += 1
            if failures > RECONNECTS:
                raise
            time.sleep(min(0.5 * 2**failures, 10.0))
        if time.monotonic() > deadline:
            raise StillRunning(job_id)
