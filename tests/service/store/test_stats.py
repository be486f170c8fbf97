"""The backlog figures ``/metrics`` reads from the jobs table."""

from __future__ import annotations

import datetime as dt

from service import store
from service.db import Database
from service.models import utcnow
from service.store.stats import job_backlog
from tests.service.store.test_jobs import new_job


def test_backlog_counts_queued_and_running_and_the_oldest_wait(any_db: Database) -> None:
    empty = job_backlog(any_db)
    assert (empty.queued, empty.running, empty.oldest_queued_at) == (0, 0, None)
    first, second, third = (store.create_job(any_db, new_job()) for _ in range(3))
    assert store.claim_job(any_db, first.id, model="m", worker="w@test") is not None
    store.cancel_job(any_db, third.id)
    backlog = job_backlog(any_db)
    assert (backlog.queued, backlog.running) == (1, 1)
    assert backlog.oldest_queued_at is not None
    assert abs(backlog.oldest_queued_at - second.created_at) < dt.timedelta(seconds=1)
    assert backlog.oldest_queued_at <= utcnow()
