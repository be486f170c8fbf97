"""Workers' heartbeats: who is alive, and where each one's model stands."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select

from service.db import Database
from service.models import (
    WorkerRecord,
    utcnow,
)


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
