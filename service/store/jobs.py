"""Jobs as the API sees them: created (committed before queueing), read, listed, cancelled.

The database is the source of truth. The API creates jobs here and commits before
anything is queued; ``service.store.attempts`` holds the workers' side.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.contract import JobStatus, Lane, TranslationStatus
from service.db import Database
from service.errors import InvalidInput, NotFound
from service.languages import text_direction
from service.models import (
    IdempotencyKey,
    Job,
    JobTranslation,
    utcnow,
)

# A job's idempotency key is remembered this long, then forgotten.
IDEMPOTENCY_TTL = dt.timedelta(hours=24)


@dataclass(frozen=True)
class NewJob:
    title: str | None
    text: str
    source_language: str
    target_languages: list[str]
    summary_sentences: int | None
    translate_fields: list[str]
    tenant: str = "local"
    callback_url: str | None = None
    summary_ratio: float | None = None
    source_kind: str = "text"  # text | html | url
    source_url: str | None = None
    html: str | None = None
    output_format: str = "text"
    key_id: str | None = None
    glossary: dict[str, Any] | None = None  # service.glossary.domain.job_snapshot


@dataclass(frozen=True)
class Idempotency:
    """An ``Idempotency-Key`` and the hash of the request it came with."""

    key: str
    request_hash: str


class IdempotencyKeyTaken(Exception):
    """Another request stored a job under this idempotency key first."""

    def __init__(self, request_hash: str, job_id: str) -> None:
        super().__init__(job_id)
        self.request_hash = request_hash
        self.job_id = job_id


@dataclass(frozen=True)
class JobPage:
    items: list[Job]
    next_cursor: str | None


def create_job(db: Database, new: NewJob, *, idempotency: Idempotency | None = None) -> Job:
    """Insert a queued job with a pending translation per target language.

    With ``idempotency``, the key is stored in the same transaction, so of two
    concurrent requests with one key exactly one job is created.

    Raises:
        IdempotencyKeyTaken: the tenant used this key in the last 24 hours.
    """
    job = _new_row(new)
    if idempotency is None:
        with db.session() as session:
            session.add(job)
            session.commit()
            return job
    with db.session() as session:
        # A write first, so SQLite takes its write lock before reading anything.
        session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - IDEMPOTENCY_TTL)
        )
        session.add(job)
        session.flush()
        session.add(
            IdempotencyKey(
                tenant=new.tenant,
                key=idempotency.key,
                request_hash=idempotency.request_hash,
                job_id=job.id,
            )
        )
        try:
            session.commit()
            return job
        except IntegrityError:
            session.rollback()
    prior = find_idempotency(db, new.tenant, idempotency.key)
    if prior is None:  # pragma: no cover - the winner was discarded meanwhile
        return create_job(db, new, idempotency=idempotency)
    raise IdempotencyKeyTaken(prior.request_hash, prior.job_id)


def _new_row(new: NewJob) -> Job:
    """A queued job, every ``NewJob`` field stored as it is, with a pending translation
    per target language."""
    fields = dataclasses.asdict(new)
    job = Job(
        id=str(uuid.uuid4()),
        status=JobStatus.QUEUED,
        progress_done=0,
        progress_total=0,
        attempts=0,
        **fields,
    )
    job.translations = [
        JobTranslation(
            language=code,
            position=i,
            status=TranslationStatus.PENDING,
            direction=text_direction(code),
        )
        for i, code in enumerate(new.target_languages)
    ]
    return job


def find_idempotency(db: Database, tenant: str, key: str) -> IdempotencyKey | None:
    """The tenant's use of this idempotency key in the last 24 hours, if any."""
    with db.session() as session:
        return session.scalar(
            select(IdempotencyKey).where(
                IdempotencyKey.tenant == tenant,
                IdempotencyKey.key == key,
                IdempotencyKey.created_at >= utcnow() - IDEMPOTENCY_TTL,
            )
        )


def count_jobs(db: Database, status: JobStatus, lane: Lane = Lane.ARTICLE) -> int:
    with db.session() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Job).where(Job.status == status, Job.lane == lane)
            )
            or 0
        )


def discard_job(db: Database, job_id: str) -> None:
    """Remove a job that could not be queued, so nothing half-made is left."""
    with db.session() as session:
        session.execute(delete(JobTranslation).where(JobTranslation.job_id == job_id))
        session.execute(delete(Job).where(Job.id == job_id))
        session.commit()


def get_job(db: Database, job_id: str, *, tenant: str | None = None) -> Job:
    """A job; with ``tenant``, only that tenant's (another's is not found either)."""
    with db.session() as session:
        return _owned_job(session, job_id, tenant)


def job_version(db: Database, job_id: str, *, tenant: str | None = None) -> tuple[Any, ...] | None:
    """What changes whenever the job does (every write sets ``updated_at``); None if not found.

    Cheap to read often: one row, no translations.
    """
    query = select(Job.status, Job.progress_done, Job.progress_total, Job.updated_at).where(
        Job.id == job_id
    )
    if tenant is not None:
        query = query.where(Job.tenant == tenant)
    with db.session() as session:
        row = session.execute(query).one_or_none()
    return None if row is None else tuple(row)


def _owned_job(session: Session, job_id: str, tenant: str | None) -> Job:
    job = session.get(Job, job_id)
    # Another tenant's job is "not found", not "forbidden": ids must not leak.
    if job is None or (tenant is not None and job.tenant != tenant):
        raise NotFound(f"No job with id {job_id!r}.")
    return job


def list_jobs(
    db: Database,
    *,
    tenant: str | None = None,
    status: JobStatus | None = None,
    limit: int = 20,
    cursor: str | None = None,
    lane: Lane = Lane.ARTICLE,
) -> JobPage:
    """Jobs of ``lane`` newest first; ``cursor`` is the ``next_cursor`` of the previous page."""
    query = (
        select(Job)
        .where(Job.lane == lane)
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit + 1)
    )
    if tenant is not None:
        query = query.where(Job.tenant == tenant)
    if status is not None:
        query = query.where(Job.status == status)
    if cursor:
        created_at, job_id = _decode_cursor(cursor)
        query = query.where(
            or_(Job.created_at < created_at, and_(Job.created_at == created_at, Job.id < job_id))
        )
    with db.session() as session:
        jobs = list(session.scalars(query))
    next_cursor = _encode_cursor(jobs[limit - 1]) if len(jobs) > limit else None
    return JobPage(items=jobs[:limit], next_cursor=next_cursor)


def _encode_cursor(job: Job) -> str:
    raw = f"{job.created_at.isoformat()}|{job.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, job_id = raw.split("|", 1)
        created_at = dt.datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput("Invalid pagination cursor.") from exc
    if created_at.tzinfo is None:
        raise InvalidInput("Invalid pagination cursor.")
    return created_at, job_id


def cancel_job(db: Database, job_id: str, *, tenant: str | None = None) -> Job:
    """Cancel a queued or running job; a finished job is returned unchanged."""
    with db.session() as session:
        job = _owned_job(session, job_id, tenant)
        if not JobStatus(job.status).is_final:
            now = utcnow()
            job.status = JobStatus.CANCELLED
            job.finished_at = now
            for translation in job.translations:
                if translation.status in (TranslationStatus.PENDING, TranslationStatus.RUNNING):
                    translation.status = TranslationStatus.CANCELLED
            session.commit()
        return job
