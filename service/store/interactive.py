"""Interactive jobs: synchronous requests stored as jobs of their own lane.

A LibreTranslate-style call is a small job: its texts and options in ``payload``,
its answer in ``result``, kept until ``expires_at`` (the retention setting) and then
deleted by the reaper. The claim, the attempts and the end states are those of any
job (``service.store.attempts``); only the lane, the payload and the result differ.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from service.contract import JobStatus, Lane
from service.db import Database
from service.models import Job, JobTranslation, utcnow


@dataclass(frozen=True)
class NewInteractive:
    tenant: str
    key_id: str | None
    source_language: str  # a canonical code, or "auto"
    target_language: str
    payload: dict[str, Any]  # {"q": [...], "format", "alternatives", "file"?}
    retention: float  # seconds
    glossary: dict[str, Any] | None = None


@dataclass(frozen=True)
class InteractiveState:
    status: JobStatus
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None


def create_interactive(db: Database, new: NewInteractive) -> str:
    """Store a queued interactive job (committed); returns its id."""
    now = utcnow()
    texts: list[str] = new.payload.get("q", [])
    job = Job(
        id=str(uuid.uuid4()),
        tenant=new.tenant,
        key_id=new.key_id,
        status=JobStatus.QUEUED,
        lane=Lane.INTERACTIVE,
        title=None,
        text="\n".join(texts)[:2000],  # what the request was about, for the log and the desk
        source_language=new.source_language,
        target_languages=[new.target_language],
        summary_sentences=None,
        translate_fields=[],
        payload=new.payload,
        glossary=new.glossary,
        progress_done=0,
        progress_total=0,
        attempts=0,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=new.retention),
    )
    with db.session() as session:
        session.add(job)
        session.commit()
        return job.id


def interactive_state(db: Database, job_id: str) -> InteractiveState | None:
    """Where an interactive job stands (one row, no translations); None once deleted."""
    with db.session() as session:
        row = session.execute(
            select(Job.status, Job.result, Job.error_code, Job.error_message).where(
                Job.id == job_id
            )
        ).one_or_none()
    if row is None:
        return None
    return InteractiveState(JobStatus(row.status), row.result, row.error_code, row.error_message)


def interactive_states(db: Database, job_ids: list[str]) -> dict[str, InteractiveState]:
    """Where each of these interactive jobs stands, in one query (deleted ones are absent)."""
    with db.session() as session:
        rows = session.execute(
            select(Job.id, Job.status, Job.result, Job.error_code, Job.error_message).where(
                Job.id.in_(job_ids)
            )
        ).all()
    return {
        row.id: InteractiveState(
            JobStatus(row.status), row.result, row.error_code, row.error_message
        )
        for row in rows
    }


def interactive_job(db: Database, job_id: str, *, tenant: str | None = None) -> Job | None:
    """An interactive job (of ``tenant`` when given); None if unknown, expired or another's."""
    with db.session() as session:
        job = session.get(Job, job_id)
    if job is None or job.lane != Lane.INTERACTIVE:
        return None
    if tenant is not None and job.tenant != tenant:
        return None
    if job.expires_at is not None and job.expires_at < utcnow():
        return None
    return job


def finish_interactive(
    db: Database, job_id: str, result: dict[str, Any], *, attempt: int, detected: str | None = None
) -> bool:
    """Store the answer and mark the job succeeded, if attempt ``attempt`` still holds it."""
    now = utcnow()
    with db.session() as session:
        changed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempt)
            .values(
                result=result,
                detected_language=detected,
                status=JobStatus.SUCCEEDED,
                finished_at=now,
                updated_at=now,
            )
        )
        session.commit()
        return bool(changed.rowcount)  # type: ignore[attr-defined]


def give_up_interactive(db: Database, job_id: str, code: str, message: str) -> None:
    """The caller stopped waiting: a job not yet finished is failed, so no worker starts it."""
    now = utcnow()
    with db.session() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
            .values(
                status=JobStatus.FAILED,
                error_code=code,
                error_message=message,
                finished_at=now,
                updated_at=now,
            )
        )
        session.commit()


def purge_expired(session: Session, *, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Delete interactive jobs past their retention (the reaper's pass); how many."""
    now = now or utcnow()
    ids = list(
        session.scalars(
            select(Job.id).where(Job.lane == Lane.INTERACTIVE, Job.expires_at < now).limit(limit)
        )
    )
    if ids:
        session.execute(delete(JobTranslation).where(JobTranslation.job_id.in_(ids)))
        session.execute(delete(Job).where(Job.id.in_(ids)))
    return len(ids)
