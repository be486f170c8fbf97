"""Recovery queries: jobs whose worker died, queued jobs whose message was lost.

The reaper (``worker/reaper.py``) runs these in every worker, one at a time across
the deployment (a PostgreSQL advisory lock; on SQLite a ``BEGIN IMMEDIATE``
transaction). Every function here only changes rows; re-sending messages is the
caller's part, after the commit, so the database stays the source of truth:

- a ``running`` job whose worker stopped sending heartbeats goes back to ``queued``
  (``attempts`` unchanged: the next claim increments it and fences the dead
  attempt's late writes), or fails with ``worker_lost`` once it has used
  ``job_max_attempts``;
- ``queued`` jobs older than a grace period that the broker's queue cannot account
  for are re-sent. Duplicates are harmless (``claim_job`` skips a job that is held
  by a live worker or finished), so when in doubt the reaper re-sends.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from service.contract import JobStatus, Lane, TranslationStatus, WebhookStatus
from service.db import Database
from service.models import Job, JobTranslation, WebhookDelivery, WorkerRecord, utcnow

# Arbitrary, distinct from the migration lock in service/db.py.
REAPER_LOCK_KEY = 74120316

WORKER_LOST = "worker_lost"


@dataclass
class Sweep:
    """What one reaper pass changed; ids to (re)send once it has committed."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    resend: list[str] = field(default_factory=list)
    webhooks: list[str] = field(default_factory=list)
    purged: int = 0  # interactive jobs deleted, past their retention

    def __bool__(self) -> bool:
        return bool(self.requeued or self.failed or self.resend or self.webhooks or self.purged)


@contextlib.contextmanager
def exclusive(db: Database) -> Iterator[Session | None]:
    """A session holding the reaper lock, or None when another reaper holds it.

    The lock lasts until the session's transaction ends (commit or rollback).
    """
    with db.session() as session:
        if db.engine.dialect.name == "postgresql":
            got = session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": REAPER_LOCK_KEY}
            )
            if not got:
                session.rollback()
                yield None
                return
        elif db.engine.dialect.name == "sqlite":
            # One writer at a time: the second reaper waits here, then finds nothing to do.
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session


def requeue_abandoned(
    session: Session,
    *,
    stale_after: float,
    max_attempts: int,
    hard_limit: float,
    now: dt.datetime | None = None,
) -> tuple[list[str], list[str]]:
    """Put back ``running`` jobs nobody is working on; fail those out of attempts.

    A job is abandoned when its worker has sent no heartbeat for ``stale_after``
    seconds (or has no row), or when it was claimed more than ``hard_limit`` seconds
    ago (past the task time limit: whoever holds it has lost track of it). Jobs
    claimed less than ``stale_after`` ago are left alone: their worker may not have
    written its first heartbeat yet.

    Returns:
        ``(requeued ids, failed ids)``.
    """
    now = now or utcnow()
    live = select(WorkerRecord.name).where(
        WorkerRecord.last_seen >= now - dt.timedelta(seconds=stale_after)
    )
    abandoned = or_(
        and_(
            or_(Job.worker.is_(None), Job.worker.not_in(live)),
            or_(Job.started_at.is_(None), Job.started_at < now - dt.timedelta(seconds=stale_after)),
        ),
        Job.started_at < now - dt.timedelta(seconds=hard_limit),
    )
    rows = session.execute(
        select(Job.id, Job.attempts, Job.handbacks).where(
            Job.status == JobStatus.RUNNING, Job.lane == Lane.ARTICLE, abandoned
        )
    ).all()
    requeued: list[str] = []
    failed: list[str] = []
    for job_id, attempts, handbacks in rows:
        # The attempt count fences this update: a job re-claimed meanwhile is left alone.
        same = and_(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.attempts == attempts)
        # Attempts handed back by a stopping worker are not failures.
        tries = attempts - (handbacks or 0)
        if tries >= max_attempts:
            if _fail(session, same, now, tries):
                failed.append(job_id)
            continue
        result = session.execute(
            update(Job)
            .where(same)
            .values(status=JobStatus.QUEUED, worker=None, dispatched_at=now, updated_at=now)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            requeued.append(job_id)
    fail_translations(session, failed)
    return requeued, failed


def _fail(session: Session, same: ColumnElement[bool], now: dt.datetime, attempts: int) -> bool:
    result = session.execute(
        update(Job)
        .where(same)
        .values(
            status=JobStatus.FAILED,
            finished_at=now,
            updated_at=now,
            error_code=WORKER_LOST,
            error_message=(
                f"The worker running this job stopped {attempts} times (killed, out of "
                "memory or restarted); giving up (DRAGOMAN_JOB_MAX_ATTEMPTS)."
            ),
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def lost_messages(
    session: Session,
    queued_messages: int,
    *,
    grace: float,
    now: dt.datetime | None = None,
) -> list[str]:
    """Queued jobs, oldest first, whose message the broker cannot account for.

    ``queued_messages`` is the broker's count of ready messages in the jobs queue.
    Jobs sent within ``grace`` seconds are assumed to have their message (they are
    also the ones most likely still in the queue, which is consumed oldest first),
    so the older jobs can claim only what is left of the count. Messages a worker
    has reserved but not yet claimed are not in the count either: those jobs may
    be re-sent, which costs a duplicate message and nothing else.
    """
    now = now or utcnow()
    sent_at = func.coalesce(Job.dispatched_at, Job.created_at)
    cutoff = now - dt.timedelta(seconds=grace)
    # Interactive jobs are on their own queue; a lost one times out in the API instead.
    queued = and_(Job.status == JobStatus.QUEUED, Job.lane == Lane.ARTICLE)
    young = session.scalar(select(func.count()).where(queued, sent_at >= cutoff)) or 0
    accounted = max(0, queued_messages - young)
    old = session.scalar(select(func.count()).where(queued, sent_at < cutoff)) or 0
    missing = old - accounted
    if missing <= 0:
        return []
    ids = list(
        session.scalars(
            select(Job.id).where(queued, sent_at < cutoff).order_by(sent_at, Job.id).limit(missing)
        )
    )
    mark_dispatched(session, ids, now)
    return ids


def mark_dispatched(session: Session, job_ids: list[str], now: dt.datetime | None = None) -> None:
    """Record that a message for these jobs was (re)sent just now."""
    if job_ids:
        session.execute(
            update(Job).where(Job.id.in_(job_ids)).values(dispatched_at=now or utcnow())
        )


def stalled_webhooks(
    session: Session, *, after: float, now: dt.datetime | None = None
) -> list[str]:
    """Finished jobs whose webhook is still pending with nothing happening for ``after`` s.

    A delivery waits between attempts (at most ``webhook_backoff_max_seconds``); a
    pending webhook quiet for longer than that lost its message (a broker restart,
    or the worker died while the retry waited) and is sent again.
    """
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=after)
    last_attempt = (
        select(func.max(WebhookDelivery.created_at))
        .where(WebhookDelivery.job_id == Job.id)
        .scalar_subquery()
    )
    ids = list(
        session.scalars(
            select(Job.id)
            .where(
                Job.webhook_status == WebhookStatus.PENDING,
                Job.callback_url.is_not(None),
                Job.finished_at < cutoff,
                or_(Job.dispatched_at.is_(None), Job.dispatched_at < cutoff),
                or_(last_attempt.is_(None), last_attempt < cutoff),
            )
            .order_by(Job.finished_at)
            .limit(100)
        )
    )
    # dispatched_at doubles as "webhook re-sent at" for a finished job: the job's own
    # message is long consumed, so this keeps the next pass from re-sending it again.
    mark_dispatched(session, ids, now)
    return ids


def release_job(db: Database, job_id: str, *, worker: str) -> bool:
    """Put a job that ``worker`` holds back to ``queued``, for a retry of its task.

    A task that hit a transient error (the database went away mid-job) leaves its
    job ``running`` under a worker that is still alive, which ``claim_job`` would
    never take again. The retry releases it first. If that worker is meanwhile
    running the job from a duplicate message, fencing stops that attempt.
    """
    with db.session() as session:
        result = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.RUNNING, Job.worker == worker)
            .values(status=JobStatus.QUEUED, worker=None, updated_at=utcnow())
        )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


def fail_translations(session: Session, job_ids: list[str]) -> None:
    """Mark the unfinished languages of failed jobs failed too."""
    if job_ids:
        session.execute(
            update(JobTranslation)
            .where(
                JobTranslation.job_id.in_(job_ids),
                JobTranslation.status.in_([TranslationStatus.PENDING, TranslationStatus.RUNNING]),
            )
            .values(status=TranslationStatus.FAILED, updated_at=utcnow())
        )
