"""GET /v1/jobs/{id}/events: a job followed as server-sent events, through TestClient.

The job is moved along through the store, as a worker moves it, while the stream is read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.db import Database
from service.settings import Settings
from tests.conftest import make_settings
from tests.fixtures.api import ARTICLE, bearer, client_for, make_key
from tests.fixtures.events import FakeWorker, Received, parse_events

LANGUAGES = ["az", "fa", "hy"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", events_poll_seconds=0.02, events_keepalive_seconds=0.3)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with client_for(settings) as c:
        yield c


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.effective_database_url)
    yield database
    database.dispose()


def submit(client: TestClient) -> str:
    response = client.post("/v1/jobs", json={**ARTICLE, "translate": ["title", "body"]})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


def read(
    client: TestClient,
    job_id: str,
    until: Callable[[Received], bool] = lambda _: False,
    last_event_id: str | None = None,
    comments: list[str] | None = None,
) -> list[Received]:
    """Events until ``until`` says stop (the connection is then dropped) or the stream ends."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    received: list[Received] = []
    with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-cache"
        for event in parse_events(response.iter_lines(), comments):
            received.append(event)
            if until(event):
                break
    return received


def run_job(worker: FakeWorker, pause: float = 0.1) -> None:
    time.sleep(pause)
    worker.claim()
    time.sleep(pause)
    worker.plan(6)
    for done, code in zip((2, 4, 6), LANGUAGES, strict=True):
        time.sleep(pause)
        worker.progress(done)
        worker.language(code)
    time.sleep(pause)
    worker.finish()


def names(events: list[Received]) -> list[str]:
    return [event.name for event in events]


def languages(events: list[Received]) -> list[str]:
    return [event.data["language"] for event in events if event.name == "language"]


def test_a_running_job_is_followed_to_its_end(client: TestClient, db: Database) -> None:
    job_id = submit(client)
    mover = threading.Thread(target=run_job, args=(FakeWorker(db, job_id),))
    mover.start()
    events = read(client, job_id)
    mover.join()
    # queued, then running, then the three languages as they came, then succeeded: the end
    statuses = [e.data["status"] for e in events if e.name == "status"]
    assert statuses == ["queued", "running", "succeeded"]
    assert languages(events) == LANGUAGES
    fa = next(e.data for e in events if e.name == "language" and e.data["language"] == "fa")
    assert fa["status"] == "succeeded"
    assert fa["direction"] == "rtl"
    assert fa["body"] == "body in fa\n\nsecond paragraph in fa"
    progress = [(e.data["done"], e.data["total"]) for e in events if e.name == "progress"]
    assert progress[0] == (0, 0)
    assert progress[-1] == (6, 6)
    assert progress == sorted(progress, key=lambda p: (p[1], p[0]))
    # the final status carries the job exactly as GET answers it
    final = events[-1]
    assert final.name == "status"
    assert final.data == client.get(f"/v1/jobs/{job_id}").json()
    # every event has an id, and ids differ
    assert len({event.id for event in events}) == len(events)


def test_a_finished_job_is_sent_whole_and_the_stream_ends(client: TestClient, db: Database) -> None:
    job_id = submit(client)
    run_job(FakeWorker(db, job_id), pause=0)
    events = read(client, job_id)
    assert names(events) == ["language", "language", "language", "progress", "status"]
    assert languages(events) == LANGUAGES
    assert events[-1].data["status"] == "succeeded"


def test_last_event_id_resumes_without_losing_or_repeating_a_language(
    client: TestClient, db: Database
) -> None:
    job_id = submit(client)
    worker = FakeWorker(db, job_id)
    worker.claim()
    worker.plan(6)
    worker.progress(2)
    worker.language("az")
    first = read(client, job_id, until=lambda e: e.name == "language")
    assert languages(first) == ["az"]
    # gone while fa finished; back with the id of the last event it had
    worker.progress(4)
    worker.language("fa")
    second = read(client, job_id, until=lambda e: e.name == "progress", last_event_id=first[-1].id)
    assert names(second) == ["language", "progress"]
    assert languages(second) == ["fa"]
    assert second[-1].data == {"done": 4, "total": 6}
    worker.progress(6)
    worker.language("hy")
    worker.finish()
    third = read(client, job_id, last_event_id=second[-1].id)
    assert names(third) == ["language", "progress", "status"]
    assert languages(third) == ["hy"]
    # the events before az's, replayed from an earlier id, bring az again: nothing lost
    before_az = first[-2].id
    assert languages(read(client, job_id, last_event_id=before_az)) == LANGUAGES
    # an id that is not one of ours starts from the beginning
    assert languages(read(client, job_id, last_event_id="garbage")) == LANGUAGES


def test_a_cancelled_job_ends_the_stream(client: TestClient, db: Database) -> None:
    job_id = submit(client)
    worker = FakeWorker(db, job_id)
    worker.claim()

    def cancel() -> None:
        time.sleep(0.2)
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 200

    canceller = threading.Thread(target=cancel)
    canceller.start()
    events = read(client, job_id)
    canceller.join()
    assert events[-1].name == "status"
    assert events[-1].data["status"] == "cancelled"
    assert {t["status"] for t in events[-1].data["translations"].values()} == {"cancelled"}


def test_a_quiet_stream_is_kept_alive(client: TestClient) -> None:
    job_id = submit(client)
    comments: list[str] = []
    started = time.monotonic()
    with client.stream("GET", f"/v1/jobs/{job_id}/events") as response:
        for line in response.iter_lines():
            if line.startswith(":"):
                comments.append(line)
            if len(comments) == 2:
                break  # the client goes away: the app carries on
    assert comments == [": keep-alive", ": keep-alive"]
    assert time.monotonic() - started >= 0.5
    assert client.get(f"/v1/jobs/{job_id}").status_code == 200


def test_another_tenants_job_is_not_found(client: TestClient, settings: Settings) -> None:
    job_id = submit(client)
    other = make_key(settings, "other")
    for path in (f"/v1/jobs/{job_id}/events", f"/v1/jobs/{job_id}/article"):
        response = client.get(path, headers=bearer(other))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert client.get("/v1/jobs/no-such-job/events").status_code == 404
    assert client.get(f"/v1/jobs/{job_id}/events", headers={"Authorization": ""}).status_code == 401


def test_the_article_is_what_was_submitted(client: TestClient) -> None:
    job_id = submit(client)
    article: dict[str, Any] = client.get(f"/v1/jobs/{job_id}/article").json()
    assert article["title"] == ARTICLE["title"]
    assert article["text"] == ARTICLE["text"]
    assert article["source"] == {"kind": "text", "url": None, "fetched_at": None, "final_url": None}
