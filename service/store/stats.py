"""Figures about the jobs table for monitoring: how many wait, how many run, since when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from service.contract import JobStatus
from service.db import Database
from service.models import Job


@dataclass(frozen=True)
class Backlog:
    """Unfinished jobs: ``queued`` and ``running`` counts, and the oldest queued one's send time."""

    queued: int
    running: int
    oldest_queued_at: dt.datetime | None


def job_backlog(db: Database) -> Backlog:
    """Count the unfinished jobs in one query (the status index keeps it cheap)."""
    sent_at = func.coalesce(Job.dispatched_at, Job.created_at)
    with db.session() as session:
        rows = session.execute(
            select(Job.status, func.count(), func.min(sent_at))
            .where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
            .group_by(Job.status)
        ).all()
    counts = {JobStatus(status): (int(count), oldest) for status, count, oldest in rows}
    queued, oldest = counts.get(JobStatus.QUEUED, (0, None))
    running, _ = counts.get(JobStatus.RUNNING, (0, None))
    return Backlog(queued=queued, running=running, oldest_queued_at=oldest)
