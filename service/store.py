"""The job store: every state change of a job is one committed transition.

The database is the source of truth. The API creates jobs here and commits
before anything is queued; workers claim, update and finish them here.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.contract import JobStatus, TranslationStatus
from service.db import Database
from service.errors import InvalidInput, NotFound
from service.languages import text_direction
from service.models import (
    IdempotencyKey,
    Job,
    JobTranslation,
    WebhookDelivery,
    WorkerRecord,
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
    job = Job(
        id=str(uuid.uuid4()),
        tenant=new.tenant,
        callback_url=new.callback_url,
        status=JobStatus.QUEUED,
        title=new.title,
        text=new.text,
        source_language=new.source_language,
        target_languages=list(new.target_languages),
        summary_sentences=new.summary_sentences,
        summary_ratio=new.summary_ratio,
        translate_fields=list(new.translate_fields),
        source_kind=new.source_kind,
        source_url=new.source_url,
        html=new.html,
        output_format=new.output_format,
        key_id=new.key_id,
        progress_done=0,
        progress_total=0,
        attempts=0,
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


def count_jobs(db: Database, status: JobStatus) -> int:
    with db.session() as session:
        return int(
            session.scalar(select(func.count()).select_from(Job).where(Job.status == status)) or 0
        )


def webhook_deliveries(db: Database, job_ids: list[str]) -> dict[str, list[WebhookDelivery]]:
    """Each job's webhook delivery attempts, oldest first."""
    found: dict[str, list[WebhookDelivery]] = {job_id: [] for job_id in job_ids}
    if not job_ids:
        return found
    with db.session() as session:
        for delivery in session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.job_id.in_(job_ids))
            .order_by(WebhookDelivery.job_id, WebhookDelivery.attempt, WebhookDelivery.id)
        ):
            found[delivery.job_id].append(delivery)
    return found


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
) -> JobPage:
    """Jobs newest first; ``cursor`` is the opaque ``next_cursor`` of the previous page."""
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit + 1)
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


# -- worker-side transitions -------------------------------------------------


def claim_job(
    db: Database, job_id: str, *, model: str, worker: str, stale_after: float = 30.0
) -> Job | None:
    """Take a job for this attempt; None when there is nothing to do.

    A queued job is claimed. A running job is claimed again only if the worker
    that holds it has stopped sending heartbeats (it died mid-job and the broker
    redelivered the message, or the reaper re-queued it); a job held by a live
    worker, finished or cancelled is left alone, so duplicate messages are harmless.
    Each claim increments ``attempts``, which fences the writes of older attempts.
    """
    live = select(WorkerRecord.name).where(
        WorkerRecord.last_seen >= utcnow() - dt.timedelta(seconds=stale_after)
    )
    with db.session() as session:
        now = utcnow()
        result = session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                or_(
                    Job.status == JobStatus.QUEUED,
                    and_(
                        Job.status == JobStatus.RUNNING,
                        or_(Job.worker.is_(None), Job.worker.not_in(live)),
                    ),
                ),
            )
            .values(
                status=JobStatus.RUNNING,
                attempts=Job.attempts + 1,
                worker=worker,
                started_at=now,
                updated_at=now,
                model=model,
                error_code=None,
                error_message=None,
            )
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if result.rowcount == 0:  # type: ignore[attr-defined]
            return None
        return session.get(Job, job_id, populate_existing=True)


def hand_back_job(db: Database, job_id: str, *, attempt: int) -> bool:
    """Put a job that attempt ``attempt`` holds back to ``queued`` (its worker is stopping).

    The attempt does not count against the job's attempts: ``handbacks`` records it.
    The caller sends the job's message again once this has committed.
    """
    with db.session() as session:
        now = utcnow()
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt)
            .values(
                status=JobStatus.QUEUED,
                worker=None,
                handbacks=Job.handbacks + 1,
                dispatched_at=now,
                updated_at=now,
            )
        )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


def still_running(db: Database, job_id: str, attempt: int) -> bool:
    """Whether attempt ``attempt`` still owns the job (not cancelled, not taken over)."""
    with db.session() as session:
        row = session.execute(
            select(Job.status, Job.attempts).where(Job.id == job_id)
        ).one_or_none()
    return row is not None and row.status == JobStatus.RUNNING and row.attempts == attempt


def record_detection(
    db: Database, job_id: str, language: str, confidence: float | None, *, attempt: int
) -> None:
    _update_running(db, job_id, attempt, detected_language=language, detected_confidence=confidence)


def record_plan(db: Database, job_id: str, total: int, *, attempt: int) -> None:
    """Set the amount of work (segments to translate) and reset progress."""
    _update_running(db, job_id, attempt, progress_total=total, progress_done=0)


def record_analysis(db: Database, job_id: str, analysis: dict[str, Any], *, attempt: int) -> None:
    """What the pipeline learned about the text: paragraph languages, split sentences."""
    _update_running(db, job_id, attempt, analysis=analysis)


def record_summary(
    db: Database, job_id: str, summary: dict[str, Any] | None, *, attempt: int
) -> None:
    _update_running(db, job_id, attempt, summary=summary)


def record_progress(db: Database, job_id: str, done: int, *, attempt: int) -> None:
    _update_running(db, job_id, attempt, progress_done=done)


def _update_running(db: Database, job_id: str, attempt: int, **values: Any) -> bool:
    """Write to a running job, unless a later attempt has taken it over."""
    with db.session() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt)
            .values(updated_at=utcnow(), **values)
        )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


def record_translation(
    db: Database,
    job_id: str,
    language: str,
    *,
    attempt: int,
    status: TranslationStatus,
    direction: str | None = None,
    title: str | None = None,
    summary: str | None = None,
    body: str | None = None,
    flags: list[dict[str, Any]] | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> None:
    """Store one language's result as soon as it is done (readable while the job runs)."""
    with db.session() as session:
        owned = session.scalar(
            select(Job.id)
            .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt)
            .with_for_update()
        )
        if owned is None:
            return
        session.execute(
            update(JobTranslation)
            .where(JobTranslation.job_id == job_id, JobTranslation.language == language)
            .values(
                status=status,
                direction=direction,
                title=title,
                summary=summary,
                body=body,
                flags=flags or None,
                error_code=error_code,
                error_message=error_message,
                updated_at=utcnow(),
            )
        )
        session.execute(update(Job).where(Job.id == job_id).values(updated_at=utcnow()))
        session.commit()


def finish_job(db: Database, job_id: str, *, attempt: int) -> bool:
    """Mark a running job succeeded; False if it was cancelled or taken over meanwhile."""
    return _finish(db, job_id, attempt, status=JobStatus.SUCCEEDED)


def fail_job(
    db: Database, job_id: str, code: str, message: str, *, attempt: int | None = None
) -> bool:
    """Mark a job failed with a stable code and a human message.

    With ``attempt``, only if that attempt still owns the job; without, whatever
    attempt holds it (a task that gave up retrying before it could claim the job).
    """
    return _finish(
        db, job_id, attempt, status=JobStatus.FAILED, error_code=code, error_message=message
    )


def _finish(
    db: Database, job_id: str, attempt: int | None, *, status: JobStatus, **values: Any
) -> bool:
    with db.session() as session:
        now = utcnow()
        query = update(Job).where(
            Job.id == job_id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])
        )
        if attempt is not None:
            query = query.where(Job.attempts == attempt)
        result = session.execute(
            query.values(status=status, finished_at=now, updated_at=now, **values)
        )
        if result.rowcount and status == JobStatus.FAILED:  # type: ignore[attr-defined]
            session.execute(
                update(JobTranslation)
                .where(
                    JobTranslation.job_id == job_id,
                    JobTranslation.status.in_(
                        [TranslationStatus.PENDING, TranslationStatus.RUNNING]
                    ),
                )
                .values(status=TranslationStatus.FAILED, updated_at=now)
            )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


# -- workers -----------------------------------------------------------------


def record_heartbeat(
    db: Database,
    *,
    name: str,
    pid: int,
    translation_model: str,
    languages: list[str] | None,
    model_status: str,
    model_error: str | None,
    model_info: dict[str, Any] | None = None,
) -> None:
    with db.session() as session:
        worker = session.get(WorkerRecord, name)
        now = utcnow()
        if worker is None:
            worker = WorkerRecord(name=name, started_at=now)
            session.add(worker)
        worker.pid = pid
        worker.translation_model = translation_model
        worker.languages = languages
        worker.model_status = model_status
        worker.model_error = model_error
        worker.model_info = model_info
        worker.last_seen = now
        session.commit()


def remove_worker(db: Database, name: str) -> None:
    with db.session() as session:
        session.execute(delete(WorkerRecord).where(WorkerRecord.name == name))
        session.commit()


def live_workers(db: Database, *, stale_after: float) -> list[WorkerRecord]:
    """Workers whose last heartbeat is more recent than ``stale_after`` seconds."""
    since = utcnow() - dt.timedelta(seconds=stale_after)
    with db.session() as session:
        return list(
            session.scalars(
                select(WorkerRecord)
                .where(WorkerRecord.last_seen >= since)
                .order_by(WorkerRecord.name)
            )
        )
