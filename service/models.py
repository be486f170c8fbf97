"""Database tables: jobs and their translations, workers, tenants, feeds, glossaries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        moment: dt.datetime = value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True, default="local")
    status: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    source_language: Mapped[str] = mapped_column(String(16))
    detected_language: Mapped[str | None] = mapped_column(String(16))
    detected_confidence: Mapped[float | None] = mapped_column(Float)
    target_languages: Mapped[list[str]] = mapped_column(JSON)
    summary_sentences: Mapped[int | None] = mapped_column(Integer)
    summary_ratio: Mapped[float | None] = mapped_column(Float)
    translate_fields: Mapped[list[str]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts a stopping worker handed back unfinished: claims that do not count as tries.
    handbacks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    model: Mapped[str | None] = mapped_column(String(512))
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    worker: Mapped[str | None] = mapped_column(String(255))
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    callback_url: Mapped[str | None] = mapped_column(Text)
    webhook_status: Mapped[str | None] = mapped_column(String(16))
    # Where the text comes from: "text" (given), "html" (given, in ``html``) or "url"
    # (fetched by the worker, which then fills ``text``, the metadata and fetched_at).
    source_kind: Mapped[str] = mapped_column(String(8), default="text", server_default="text")
    source_url: Mapped[str | None] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    html: Mapped[str | None] = mapped_column(Text)
    output_format: Mapped[str] = mapped_column(String(8), default="text", server_default="text")
    author: Mapped[str | None] = mapped_column(Text)
    published: Mapped[str | None] = mapped_column(String(40))
    site: Mapped[str | None] = mapped_column(Text)
    # The API key that submitted the job (its character quota is charged for fetched text).
    key_id: Mapped[str | None] = mapped_column(String(36))
    # The glossaries the job uses and their entries as they were at submission:
    # {"glossaries": [{"id", "name", "version"}], "entries": [...]}.
    glossary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # "article" (POST /v1/jobs, feeds) or "interactive" (a synchronous LibreTranslate-style
    # call: its texts in ``payload``, its answer in ``result``, deleted after ``expires_at``).
    lane: Mapped[str] = mapped_column(String(16), default="article", server_default="article")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    translations: Mapped[list[JobTranslation]] = relationship(
        back_populates="job",
        cascade="all, delete-orphan",
        order_by="JobTranslation.position",
        lazy="selectin",
    )

    __table_args__ = (
        Index("ix_jobs_created_at_id", "created_at", "id"),
        Index("ix_jobs_lane_expires_at", "lane", "expires_at"),
    )


class JobTranslation(Base):
    __tablename__ = "job_translations"

    job_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(16), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str | None] = mapped_column(String(3))
    title: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Glossary entries applied to this language, sentence by sentence.
    terms: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    job: Mapped[Job] = relationship(back_populates="translations")


class WorkerRecord(Base):
    """A worker's latest heartbeat and what its model can do."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer)
    translation_model: Mapped[str] = mapped_column(String(512))
    languages: Mapped[list[str] | None] = mapped_column(JSON)
    model_status: Mapped[str] = mapped_column(String(16), default="unknown")
    model_error: Mapped[str | None] = mapped_column(Text)
    model_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class CachedTranslation(Base):
    """A sentence translated once, reused across jobs (the cache's database backend)."""

    __tablename__ = "translation_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    translation: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Tenant(Base):
    """A customer of the service: its jobs are visible to its API keys only."""

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    webhook_secret: Mapped[str] = mapped_column(String(128))
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    chars_per_day: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """An API key, stored as a SHA-256 hash; only its prefix is ever shown again."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(
        String(64), ForeignKey("tenants.name", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(255))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    chars_per_day: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    """An ``Idempotency-Key`` a tenant used, the request it came with, and its job."""

    __tablename__ = "idempotency_keys"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class WebhookDelivery(Base):
    """One attempt to deliver a finished job to its ``callback_url``."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    delivered: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class UsageCounter(Base):
    """A fixed-window usage count (requests per minute, characters per day)."""

    __tablename__ = "usage_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class Feed(Base):
    """An RSS or Atom feed a tenant follows: each new item becomes a job."""

    __tablename__ = "feeds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    key_id: Mapped[str | None] = mapped_column(String(36))
    url: Mapped[str] = mapped_column(Text)
    # The job each item becomes (JobCreate's fields less the article): source_language,
    # target_languages, summary, translate, output, callback_url.
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    interval_minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|failing|paused
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # polls failed in a row
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # A poll holds the feed until then, so only one poll of a feed runs at a time.
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FeedItem(Base):
    """An item of a feed, recorded once (by GUID, else link) before its job is made."""

    __tablename__ = "feed_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feed_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("feeds.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))  # SHA-256 of the GUID or link
    guid: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(36), index=True)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("feed_id", "key", name="uq_feed_items_feed_id_key"),)


class Glossary(Base):
    """A tenant's glossary: how its desk writes names and terms in each language.

    Entries are kept as one JSON list on the row, not as rows of their own: they are
    always read and written together (the API replaces them as a set, import and
    export take them all, a job snapshots them), a duplicate is decided by matching
    rules no unique index can express (case, ZWNJ, Arabic letter variants), and
    ``content_hash`` versions the set as a whole.
    """

    __tablename__ = "glossaries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(
        String(64), ForeignKey("tenants.name", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    source_language: Mapped[str] = mapped_column(String(35))
    is_default: Mapped[bool] = mapped_column(default=False)
    entries: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    languages: Mapped[list[str]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("tenant", "name", name="uq_glossaries_tenant_name"),
        # At most one default glossary per tenant.
        Index(
            "uq_glossaries_default",
            "tenant",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )
