"""Idempotency-Key on POST /v1/jobs: replays, conflicts, expiry and races."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from service import store
from service.db import Database
from service.models import IdempotencyKey, Job, utcnow
from service.settings import Settings
from tests.conftest import make_settings
from tests.fixtures.api import ARTICLE, client_for, make_key, queued_messages
from tests.service.store.test_jobs import new_job


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with client_for(settings) as c:
        yield c


def post(client: TestClient, key: str, body: object = ARTICLE, **headers: str) -> Any:
    return client.post("/v1/jobs", json=body, headers={"Idempotency-Key": key, **headers})


def test_a_repeat_returns_the_same_job(client: TestClient, settings: Settings) -> None:
    first = post(client, "article-1")
    again = post(client, "article-1")
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(client.get("/v1/jobs").json()["items"]) == 1
    assert len(queued_messages(settings)) == 1


def test_the_same_request_written_differently_is_a_repeat(client: TestClient) -> None:
    """The hash is of the validated request, defaults filled in, keys in any order."""
    first = post(client, "k", {"text": ARTICLE["text"], "target_languages": ["az"]})
    spelled_out = {
        "target_languages": ["az"],
        "translate": ["title", "summary"],
        "summary": {"sentences": 3},
        "source_language": "auto",
        "text": ARTICLE["text"],
        "title": None,
    }
    again = post(client, "k", spelled_out)
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]


def test_the_same_key_with_another_body_is_409(client: TestClient) -> None:
    first = post(client, "article-1")
    conflict = post(client, "article-1", {**ARTICLE, "text": "A different article."})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    assert [job["id"] for job in client.get("/v1/jobs").json()["items"]] == [first.json()["id"]]


def test_keys_belong_to_their_tenant(client: TestClient, settings: Settings) -> None:
    mine = post(client, "shared-key").json()["id"]
    theirs = post(client, "shared-key", Authorization=f"Bearer {make_key(settings, 'rival')}")
    assert theirs.status_code == 202
    assert theirs.json()["id"] != mine
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_key_is_forgotten_after_24_hours(
    client: TestClient, settings: Settings, db: Database
) -> None:
    old = post(client, "daily").json()["id"]
    with db.session() as session:
        session.execute(
            update(IdempotencyKey).values(created_at=utcnow() - dt.timedelta(hours=24, seconds=1))
        )
        session.commit()
    # neither a replay nor a conflict: a new job, and the key now points to it
    fresh = post(client, "daily", {**ARTICLE, "text": "Tomorrow's article."})
    assert fresh.status_code == 202
    assert fresh.json()["id"] != old
    assert (
        post(client, "daily", {**ARTICLE, "text": "Tomorrow's article."}).json()["id"]
        == (fresh.json()["id"])
    )
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_a_replay_costs_no_quota(tmp_path: Path) -> None:
    article = {**ARTICLE, "title": None, "text": "x" * 80}
    with client_for(make_settings(tmp_path), chars_per_day=100) as client:
        first = post(client, "once", article)
        assert first.status_code == 202
        assert post(client, "once", article).json()["id"] == first.json()["id"]
        assert post(client, "twice", article).status_code == 429


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_a_key_is_1_to_255_characters(client: TestClient, key: str) -> None:
    response = post(client, key)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
    assert post(client, "k" * 255).status_code == 202


def test_concurrent_identical_requests_make_one_job(client: TestClient, db: Database) -> None:
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: post(client, "race"), range(16)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_the_store_lets_one_of_two_racing_inserts_win(any_db: Database) -> None:
    """Both requests missed each other's key; the database picks one winner."""
    barrier = threading.Barrier(2)
    claim = store.Idempotency("race", "hash-a")

    def insert(_: int) -> str:
        barrier.wait()
        try:
            return store.create_job(any_db, new_job(tenant="acme"), idempotency=claim).id
        except store.IdempotencyKeyTaken as taken:
            assert taken.request_hash == "hash-a"
            return "lost:" + taken.job_id

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(insert, range(2)))
    winners = [r for r in results if not r.startswith("lost:")]
    losers = [r.removeprefix("lost:") for r in results if r.startswith("lost:")]
    assert len(winners) == 1 and losers == winners
    with any_db.session() as session:
        assert list(session.scalars(select(Job.id))) == winners
    # a later insert with the same key loses too, with the winner's job
    with pytest.raises(store.IdempotencyKeyTaken) as raised:
        store.create_job(any_db, new_job(tenant="acme"), idempotency=claim)
    assert raised.value.job_id == winners[0]
