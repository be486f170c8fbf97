"""A job's attempts, as workers record them: claim, progress, results, the end.

Every state change is one committed transition. ``attempts`` counts claims and fences
the writes of an older attempt: each write names its attempt and is dropped if a
later attempt holds the job, or the job was cancelled.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, or_, select, update

from service.contract import JobStatus, TranslationStatus
from service.db import Database
from service.models import (
    Job,
    JobTranslation,
    WorkerRecord,
    utcnow,
)


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
