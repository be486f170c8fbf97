"""Limits: requests per minute and characters per day (Redis and database counters),
queue depth, body size, text length and target languages."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.api.app import create_app
from service.auth import Principal
from service.db import Database, upgrade_database
from service.limits import (
    DatabaseCounter,
    Limiter,
    QuotaExceeded,
    RateLimited,
    RedisCounter,
)
from service.models import UsageCounter
from service.settings import Settings
from tests.conftest import REDIS_URL, make_settings
from tests.fixtures.api import ARTICLE, client_for, queued_messages

REDIS_DB = f"{REDIS_URL}/13"
MISSING = "00000000-0000-0000-0000-000000000000"  # a job id no test creates


def next_minute_plus(seconds: int) -> float:
    """A moment ``seconds`` into the next minute: the window cannot roll over mid-test,
    and Redis keys (which expire at the window's end) outlive the test."""
    return (math.floor(time.time() / 60) + 1) * 60 + seconds


@pytest.fixture(params=["database", "redis"])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings whose usage counters live in the database, or in Redis (the broker)."""
    if request.param == "database":
        return make_settings(tmp_path / "data")
    redis.Redis.from_url(REDIS_DB).flushdb()
    return make_settings(tmp_path / "data", broker_url=REDIS_DB)


def frozen(client: TestClient, at: float) -> None:
    client.app.state.limiter.clock = lambda: at  # type: ignore[attr-defined]


def test_requests_over_the_minute_are_429_with_retry_after(backend_settings: Settings) -> None:
    with client_for(backend_settings, requests_per_minute=3) as client:
        counter = type(client.app.state.limiter.counter)  # type: ignore[attr-defined]
        assert counter is (RedisCounter if backend_settings.broker_url else DatabaseCounter)
        frozen(client, next_minute_plus(20))
        for _ in range(3):
            assert client.delete(f"/v1/jobs/{MISSING}").status_code == 404
        refused = client.delete(f"/v1/jobs/{MISSING}")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "40"
        error = refused.json()["error"]
        assert error["code"] == "rate_limited"
        assert error["details"] == {"limit": 3, "retry_after": 40}
        # every writing endpoint counts, creating jobs included
        assert client.post("/v1/jobs", json=ARTICLE).status_code == 429
        # reads have their own window
        assert client.get("/v1/jobs").status_code == 200
        # the next minute is a new window
        frozen(client, next_minute_plus(20) + 60)
        assert client.delete(f"/v1/jobs/{MISSING}").status_code == 404


def test_reads_have_their_own_limit(backend_settings: Settings) -> None:
    """Following jobs does not use up submissions, nor submissions reads."""
    backend_settings.rate_limit_per_minute = 3
    backend_settings.read_rate_limit_per_minute = 12
    with client_for(backend_settings) as client:
        frozen(client, next_minute_plus(30))
        job_id = client.post("/v1/jobs", json=ARTICLE).json()["id"]
        reads = [client.get(f"/v1/jobs/{job_id}").status_code for _ in range(12)]
        assert reads == [200] * 12
        refused = client.get("/v1/jobs")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "30"
        error = refused.json()["error"]
        assert error["details"] == {"limit": 12, "retry_after": 30}
        assert "DRAGOMAN_READ_RATE_LIMIT_PER_MINUTE" in error["message"]
        # two writes are left of three
        assert client.post("/v1/jobs", json=ARTICLE).status_code == 202
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 200
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 429


def test_the_default_read_limit_lets_a_page_follow_many_jobs() -> None:
    """12 running jobs polled twice a second: 1,440 reads a minute, under the default."""
    defaults = Settings()
    assert defaults.read_rate_limit_per_minute >= 4 * 1440
    assert defaults.read_rate_limit_per_minute >= 10 * defaults.rate_limit_per_minute


def test_reads_unlimited_with_zero(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, read_rate_limit_per_minute=0, rate_limit_per_minute=1)
    with client_for(settings) as client:
        frozen(client, next_minute_plus(0))
        assert {client.get("/v1/jobs").status_code for _ in range(20)} == {200}
        assert client.delete(f"/v1/jobs/{MISSING}").status_code == 404
        assert client.delete(f"/v1/jobs/{MISSING}").status_code == 429


def test_each_key_has_its_own_window(backend_settings: Settings) -> None:
    backend_settings.rate_limit_per_minute = 2
    with client_for(backend_settings) as first, client_for(backend_settings) as second:
        moment = next_minute_plus(0)
        frozen(first, moment)
        frozen(second, moment)
        assert [first.delete(f"/v1/jobs/{MISSING}").status_code for _ in range(3)] == [
            404,
            404,
            429,
        ]
        assert second.delete(f"/v1/jobs/{MISSING}").status_code == 404


def test_characters_per_day_are_a_quota(backend_settings: Settings) -> None:
    article = {**ARTICLE, "title": None, "text": "x" * 60}
    with client_for(backend_settings, chars_per_day=100) as client:
        frozen(client, next_minute_plus(0) + 3600)
        assert client.post("/v1/jobs", json=article).status_code == 202
        refused = client.post("/v1/jobs", json=article)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "quota_exceeded"
        retry_after = int(refused.headers["Retry-After"])
        now = next_minute_plus(0) + 3600
        assert retry_after == math.ceil((math.floor(now / 86400) + 1) * 86400 - now)
        # the refused article was not counted: 40 characters are still left
        assert client.post("/v1/jobs", json={**article, "text": "y" * 40}).status_code == 202
        assert client.post("/v1/jobs", json={**article, "text": "z"}).status_code == 429
        assert len(client.get("/v1/jobs").json()["items"]) == 2


def test_a_quota_counts_the_title_too(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, chars_per_day=30)
    with client_for(settings) as client:
        body = {**ARTICLE, "title": "t" * 20, "text": "x" * 20}
        assert client.post("/v1/jobs", json=body).status_code == 429


def test_open_mode_is_limited_too(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, auth="disabled", rate_limit_per_minute=2, read_rate_limit_per_minute=3
    )
    with TestClient(create_app(settings)) as client:
        frozen(client, next_minute_plus(0))
        assert [client.delete(f"/v1/jobs/{MISSING}").status_code for _ in range(3)] == [
            404,
            404,
            429,
        ]
        assert [client.get("/v1/jobs").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_redis_unreachable_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    client = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    limiter = Limiter(RedisCounter(client))
    principal = Principal("t", "k", requests_per_minute=1, chars_per_day=1)
    with caplog.at_level(logging.WARNING, logger="dragoman.limits"):
        for _ in range(3):
            limiter.check_rate(principal)
        limiter.charge_chars(principal, 10)
    assert "usage counters unavailable" in caplog.text


def test_database_counter_on_each_database(any_db: Database) -> None:
    """The atomic upsert works on SQLite and PostgreSQL; old windows are cleaned up."""
    moment = next_minute_plus(0)
    limiter = Limiter(DatabaseCounter(any_db), clock=lambda: moment)
    principal = Principal("t", "k", requests_per_minute=2, chars_per_day=100)
    limiter.check_rate(principal)
    limiter.check_rate(principal)
    with pytest.raises(RateLimited) as raised:
        limiter.check_rate(principal)
    assert raised.value.details["retry_after"] == 60
    charge = limiter.charge_chars(principal, 70)
    with pytest.raises(QuotaExceeded):
        limiter.charge_chars(principal, 31)
    limiter.refund(charge)
    limiter.charge_chars(principal, 100)
    # a counter from an old window disappears when a new window starts
    Limiter(DatabaseCounter(any_db), clock=lambda: 1_000_000.0).check_rate(principal)
    limiter.check_rate(Principal("t", "other", requests_per_minute=5, chars_per_day=5))
    with any_db.session() as session:
        keys = set(session.scalars(select(UsageCounter.key)))
    assert not any(key.endswith(f":{int(1_000_000 // 60)}") for key in keys)


def test_concurrent_requests_are_counted_exactly(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.ensure_dirs()
    upgrade_database(settings.effective_database_url, settings.data_dir)
    db = Database(settings.effective_database_url)
    moment = next_minute_plus(0)
    limiter = Limiter(DatabaseCounter(db), clock=lambda: moment)
    principal = Principal("t", "k", requests_per_minute=10, chars_per_day=1)

    def attempt(_: int) -> bool:
        try:
            limiter.check_rate(principal)
            return True
        except RateLimited:
            return False

    with ThreadPoolExecutor(8) as pool:
        allowed = list(pool.map(attempt, range(40)))
    db.dispose()
    assert allowed.count(True) == 10


@pytest.fixture
def small_queue(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(make_settings(tmp_path, max_queued_jobs=2)) as client:
        yield client


def test_a_full_queue_is_503_with_retry_after(small_queue: TestClient) -> None:
    first = small_queue.post("/v1/jobs", json=ARTICLE).json()["id"]
    assert small_queue.post("/v1/jobs", json=ARTICLE).status_code == 202
    full = small_queue.post("/v1/jobs", json=ARTICLE)
    assert full.status_code == 503
    assert full.json()["error"]["code"] == "queue_full"
    assert full.headers["Retry-After"] == "30"
    assert len(small_queue.get("/v1/jobs").json()["items"]) == 2
    # once a job leaves the queue there is room again
    small_queue.delete(f"/v1/jobs/{first}")
    assert small_queue.post("/v1/jobs", json=ARTICLE).status_code == 202


def test_a_body_over_the_limit_is_413_declared_or_streamed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_body_bytes=4096)
    with client_for(settings) as client:
        big = {**ARTICLE, "text": "x" * 5000}
        declared = client.post("/v1/jobs", json=big)
        assert declared.status_code == 413
        assert declared.json()["error"]["code"] == "payload_too_large"
        # no Content-Length: the body arrives in chunks and is counted as it comes
        chunks = iter([b'{"text": "', b"x" * 3000, b"y" * 3000, b'", "target_languages": ["az"]}'])
        streamed = client.post(
            "/v1/jobs", content=chunks, headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert streamed.json()["error"]["code"] == "payload_too_large"
        # just under the limit is fine
        assert client.post("/v1/jobs", json={**ARTICLE, "text": "x" * 3500}).status_code == 202
        assert len(client.get("/v1/jobs").json()["items"]) == 1
        assert len(queued_messages(settings)) == 1


def test_text_length_and_target_languages_are_limited(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, max_text_chars=50, max_target_languages=2)
    with client_for(settings) as client:
        too_long = client.post("/v1/jobs", json={**ARTICLE, "title": None, "text": "x" * 51})
        assert too_long.status_code == 413
        assert too_long.json()["error"]["code"] == "text_too_long"
        too_many = client.post("/v1/jobs", json={**ARTICLE, "text": "Short."})
        assert too_many.status_code == 422
        assert "2 target languages" in too_many.json()["error"]["message"]
