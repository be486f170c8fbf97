"""The sentence translation cache: both backends, and jobs that reuse each other's work."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from service import store
from service.contract import JobStatus
from service.db import Database, upgrade_database
from tests.conftest import REDIS_URL, make_settings
from worker import metrics
from worker.pipeline import job as pipeline
from worker.pipeline.cache import DatabaseCache, NoCache, RedisCache, cache_key, make_cache
from worker.pipeline.context import WorkerContext


def test_key_ignores_spacing_but_not_languages_or_model() -> None:
    key = cache_key("m", "en", "fa", "Talks resume  in Baku.")
    assert key == cache_key("m", "en", "fa", " Talks resume in Baku. ")
    assert key != cache_key("m", "en", "az", "Talks resume in Baku.")
    assert key != cache_key("other", "en", "fa", "Talks resume in Baku.")
    assert key != cache_key("m", "en", "fa", "Talks resume in Tehran.")


def test_database_cache(any_db: Database) -> None:
    cache = DatabaseCache(any_db, ttl_days=30)
    assert cache.get_many(["a", "b"]) == {}
    cache.put_many({"a": "یک", "b": "երկու"})
    cache.put_many({"a": "bir"})  # a later translation replaces the earlier one
    assert cache.get_many(["a", "b", "c"]) == {"a": "bir", "b": "երկու"}
    many = {f"k{i}": f"v{i}" for i in range(700)}
    cache.put_many(many)
    assert cache.get_many(list(many)) == many
    assert cache.purge_expired() == 0


def test_redis_cache_expires_entries() -> None:
    client = redis.Redis.from_url(f"{REDIS_URL}/12")
    client.flushdb()
    cache = RedisCache(f"{REDIS_URL}/12", ttl_days=2)
    cache.put_many({"a": "Azərbaycan"})
    assert cache.get_many(["a", "x"]) == {"a": "Azərbaycan"}
    ttl = client.ttl(RedisCache.PREFIX + "a")
    assert 0 < ttl <= 2 * 86400
    client.flushdb()


def test_redis_down_never_fails_a_job() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0", ttl_days=1)
    assert cache.get_many(["a"]) == {}
    cache.put_many({"a": "b"})


def test_backend_choice(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    assert isinstance(make_cache(make_settings(tmp_path), db), DatabaseCache)
    redis_broker = make_settings(tmp_path, broker_url=f"{REDIS_URL}/0")
    assert isinstance(make_cache(redis_broker, db), RedisCache)
    assert isinstance(make_cache(make_settings(tmp_path, cache="off"), db), NoCache)
    with pytest.raises(ValueError):
        make_cache(make_settings(tmp_path, cache="redis"), db)
    db.dispose()


@pytest.fixture
def ctx(tmp_path: Path, tiny_nllb_ct2_dir: Path) -> Iterator[WorkerContext]:
    # random-weight output fails every quality check, and flagged output is never
    # cached: the checks are off here so the tiny model's output counts as clean
    settings = make_settings(
        tmp_path / "data", translation_model=str(tiny_nllb_ct2_dir), quality_checks="off"
    )
    settings.ensure_dirs()
    upgrade_database(settings.effective_database_url, settings.data_dir)
    context = WorkerContext(
        settings=settings, db=Database(settings.effective_database_url), pid=os.getpid()
    )
    yield context
    context.close()


def test_a_repeated_article_is_translated_once(ctx: WorkerContext) -> None:
    text = "Talks resumed in Baku on Monday.\n\nThe Associated Press contributed to this report."
    first = store.create_job(
        ctx.db,
        store.NewJob(None, text, "en", ["fa", "hy"], None, ["body"]),
    )
    before = metrics.TARGET_TOKENS._value.get()
    pipeline.run_job(ctx, first.id)
    engine_tokens = metrics.TARGET_TOKENS._value.get() - before
    assert engine_tokens > 0
    hits = metrics.CACHE_LOOKUPS.labels("hit")._value.get()
    second = store.create_job(
        ctx.db,
        store.NewJob(None, text, "en", ["fa", "hy"], None, ["body"]),
    )
    pipeline.run_job(ctx, second.id)
    assert metrics.TARGET_TOKENS._value.get() - before == engine_tokens  # no engine work
    assert metrics.CACHE_LOOKUPS.labels("hit")._value.get() - hits == 4
    a, b = store.get_job(ctx.db, first.id), store.get_job(ctx.db, second.id)
    assert b.status == JobStatus.SUCCEEDED
    assert b.progress_done == b.progress_total == 4
    assert [t.body for t in a.translations] == [t.body for t in b.translations]


def test_flagged_translations_are_not_cached(ctx: WorkerContext) -> None:
    ctx.settings = ctx.settings.model_copy(update={"quality_checks": "flag"})
    text = "Talks resumed in Baku on 14 March after a pause of 6 weeks."
    hits = metrics.CACHE_LOOKUPS.labels("hit")._value.get()
    for _ in range(2):
        job = store.create_job(ctx.db, store.NewJob(None, text, "en", ["hy"], None, ["body"]))
        pipeline.run_job(ctx, job.id)
        assert store.get_job(ctx.db, job.id).translations[0].flags
    assert metrics.CACHE_LOOKUPS.labels("hit")._value.get() == hits
