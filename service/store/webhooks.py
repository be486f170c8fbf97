"""Webhook deliveries of finished jobs: their state on the job and one row per attempt.

``jobs.webhook_status`` goes ``pending`` -> ``delivered`` | ``failed``; the attempt
number of a delivery is the count of its rows plus one, so it survives redelivered
messages and restarted workers.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select, update

from service.contract import WebhookStatus
from service.db import Database
from service.models import Job, WebhookDelivery, utcnow


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


def mark_webhook_pending(db: Database, job_id: str) -> bool:
    """Mark a finished job's webhook pending; False when the job has no callback URL."""
    with db.session() as session:
        result = session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.callback_url.is_not(None),
                or_(Job.webhook_status.is_(None), Job.webhook_status == WebhookStatus.PENDING),
            )
            .values(webhook_status=WebhookStatus.PENDING)
        )
        session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


def finished_job(db: Database, job_id: str) -> Job | None:
    """The job if it has finished (its webhook is due), else None."""
    with db.session() as session:
        job = session.get(Job, job_id)
        if job is None or job.finished_at is None:
            return None
        return job


def delivery_attempts(db: Database, job_id: str) -> int:
    """How many delivery attempts of the job's webhook were recorded."""
    with db.session() as session:
        count = session.scalar(select(func.count()).where(WebhookDelivery.job_id == job_id))
        return int(count or 0)


def record_delivery(
    db: Database,
    job_id: str,
    *,
    attempt: int,
    status: WebhookStatus,
    status_code: int | None,
    error: str | None,
    delivered: bool,
) -> None:
    """Record one delivery attempt and the webhook's state after it, in one transaction."""
    with db.session() as session:
        session.add(
            WebhookDelivery(
                job_id=job_id,
                attempt=attempt,
                status_code=status_code,
                error=error,
                delivered=delivered,
                created_at=utcnow(),
            )
        )
        session.execute(update(Job).where(Job.id == job_id).values(webhook_status=status))
        session.commit()


def set_webhook_status(db: Database, job_id: str, status: WebhookStatus) -> None:
    with db.session() as session:
        session.execute(update(Job).where(Job.id == job_id).values(webhook_status=status))
        session.commit()
