"""Sentence-level translation cache shared by all workers.

Keyed by (model, source language, target language, normalised sentence), so a
boilerplate sentence that recurs across articles (agency credits, standard
phrases) is translated once. Redis when configured, the job database otherwise.

    TranslationCache (protocol)
    ├── RedisCache       keys with a time to live
    ├── DatabaseCache    the translation_cache table; rows older than the TTL are ignored
    └── NoCache          caching off
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import unicodedata
from typing import Protocol

from sqlalchemy import delete, select

from service.db import Database, insert_for
from service.errors import DragomanError
from service.models import CachedTranslation, utcnow
from service.settings import Settings

log = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")


def cache_key(model: str, source: str, target: str, sentence: str) -> str:
    normalised = _SPACES.sub(" ", unicodedata.normalize("NFC", sentence)).strip()
    raw = "\x1f".join((model, source, target, normalised))
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class TranslationCache(Protocol):
    def get_many(self, keys: list[str]) -> dict[str, str]: ...

    def put_many(self, items: dict[str, str]) -> None: ...


class NoCache:
    def get_many(self, keys: list[str]) -> dict[str, str]:
        return {}

    def put_many(self, items: dict[str, str]) -> None:
        return None


class RedisCache:
    """Entries expire after ``ttl_days``; Redis errors never fail a job (the cache is optional)."""

    PREFIX = "dragoman:tc:"

    def __init__(self, url: str, ttl_days: int) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.ttl = dt.timedelta(days=ttl_days)

    def get_many(self, keys: list[str]) -> dict[str, str]:
        import redis

        if not keys:
            return {}
        try:
            values = self.client.mget([self.PREFIX + key for key in keys])
        except redis.RedisError as exc:
            log.warning("translation cache unavailable: %s", exc)
            return {}
        return {
            key: value.decode("utf-8") if isinstance(value, bytes) else str(value)
            for key, value in zip(keys, values, strict=True)
            if value is not None
        }

    def put_many(self, items: dict[str, str]) -> None:
        import redis

        if not items:
            return
        try:
            with self.client.pipeline(transaction=False) as pipe:
                for key, value in items.items():
                    pipe.set(self.PREFIX + key, value.encode("utf-8"), ex=self.ttl)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("translation cache not written: %s", exc)


class DatabaseCache:
    def __init__(self, db: Database, ttl_days: int) -> None:
        self.db = db
        self.ttl = dt.timedelta(days=ttl_days)

    def get_many(self, keys: list[str]) -> dict[str, str]:
        if not keys:
            return {}
        since = utcnow() - self.ttl
        found: dict[str, str] = {}
        with self.db.session() as session:
            for start in range(0, len(keys), 500):
                rows = session.execute(
                    select(CachedTranslation.key, CachedTranslation.translation).where(
                        CachedTranslation.key.in_(keys[start : start + 500]),
                        CachedTranslation.created_at >= since,
                    )
                )
                found.update({key: text for key, text in rows})
        return found

    def put_many(self, items: dict[str, str]) -> None:
        if not items:
            return
        now = utcnow()
        rows = [{"key": k, "translation": v, "created_at": now} for k, v in items.items()]
        try:
            with self.db.session() as session:
                insert = insert_for(session)
                for start in range(0, len(rows), 300):
                    statement = insert(CachedTranslation).values(rows[start : start + 300])
                    statement = statement.on_conflict_do_update(
                        index_elements=["key"],
                        set_={"translation": statement.excluded.translation, "created_at": now},
                    )
                    session.execute(statement)
                session.commit()
        except DragomanError as exc:
            log.warning("translation cache not written: %s", exc.message)

    def purge_expired(self) -> int:
        with self.db.session() as session:
            result = session.execute(
                delete(CachedTranslation).where(CachedTranslation.created_at < utcnow() - self.ttl)
            )
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]


def make_cache(settings: Settings, db: Database) -> TranslationCache:
    """The cache the settings ask for; ``auto`` uses Redis when Redis is the broker."""
    kind = settings.cache
    redis_url = settings.cache_url or (
        settings.broker_url if settings.broker_url.startswith(("redis://", "rediss://")) else ""
    )
    if kind == "auto":
        kind = "redis" if redis_url else "database"
    if kind == "off":
        return NoCache()
    if kind == "redis":
        if not redis_url:
            raise ValueError("DRAGOMAN_CACHE=redis needs DRAGOMAN_CACHE_URL or a redis broker")
        return RedisCache(redis_url, settings.cache_ttl_days)
    return DatabaseCache(db, settings.cache_ttl_days)
