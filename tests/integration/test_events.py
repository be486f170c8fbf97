"""A job's event stream behind several API processes: the events come from the store.

Two `dragoman api` processes share one database; the job is submitted to one and
followed from both, and a stream dropped on one resumes on the other with
``Last-Event-ID``. The job is moved along through the store, as a worker would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from service.db import Database
from testkit.procs import Proc, free_port
from tests.fixtures.events import FakeWorker, Received, parse_events
from tests.integration.conftest import base_env, wait_until

pytestmark = pytest.mark.integration


def follow(
    base: str, job_id: str, last_event_id: str | None = None, stop_at: str | None = None
) -> list[Received]:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    received: list[Received] = []
    with httpx.stream(
        "GET", f"{base}/v1/jobs/{job_id}/events", headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200
        for event in parse_events(response.iter_lines()):
            received.append(event)
            if event.name == stop_at:
                break
    return received


def test_two_api_processes_serve_one_jobs_events(
    spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    env = base_env(tmp_path / "data", tmp_path / "no-model", DRAGOMAN_EVENTS_POLL_SECONDS="0.1")
    bases = []
    procs = []
    for name in ("api-a", "api-b"):
        port = free_port()
        procs.append(spawn(name, ["api", "--port", str(port)], env))
        bases.append(f"http://127.0.0.1:{port}")
    for base in bases:
        wait_until(lambda b=base: httpx.get(f"{b}/healthz").status_code == 200, 60, "api", procs)
    first, second = bases
    submitted = httpx.post(
        f"{first}/v1/jobs", json={"text": "Talks resumed.", "target_languages": ["az", "fa"]}
    )
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]

    results: dict[str, list[Received]] = {}
    followers = [
        threading.Thread(target=lambda b=base: results.setdefault(b, follow(b, job_id)))
        for base in bases
    ]
    for thread in followers:
        thread.start()
    # a third client drops its stream on the first process after the first language ...
    partial: list[Received] = []
    dropper = threading.Thread(
        target=lambda: partial.extend(follow(first, job_id, stop_at="language"))
    )
    dropper.start()

    db = Database(f"sqlite:///{tmp_path / 'data' / 'dragoman.db'}")
    worker = FakeWorker(db, job_id)
    worker.claim()
    worker.plan(2)
    worker.progress(1)
    worker.language("az")
    dropper.join(timeout=30)
    worker.progress(2)
    worker.language("fa")
    worker.finish()
    db.dispose()
    for thread in followers:
        thread.join(timeout=30)

    for base in bases:
        events = results[base]
        assert [e.data["language"] for e in events if e.name == "language"] == ["az", "fa"]
        assert events[-1].name == "status"
        assert events[-1].data["status"] == "succeeded"
    # ... and resumes on the second: only what it had not seen
    assert [e.name for e in partial][-1] == "language"
    rest = follow(second, job_id, last_event_id=partial[-1].id)
    assert [e.data["language"] for e in rest if e.name == "language"] == ["fa"]
    assert rest[-1].data["status"] == "succeeded"
