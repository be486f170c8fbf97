"""Messages a worker sends to the queue itself: a job handed back, a webhook to deliver."""

from __future__ import annotations

from service.contract import QueueName, TaskName


def send_job(job_id: str) -> None:
    """Queue ``job_id`` again (a job this worker hands back as it stops)."""
    from worker.runtime.celery_app import app

    app.send_task(
        TaskName.PROCESS_JOB.value, args=[job_id], queue=QueueName.JOBS.value, task_id=job_id
    )


def send_webhook(job_id: str) -> None:
    """Queue the webhook delivery of a finished job."""
    from worker.runtime.celery_app import app

    app.send_task(TaskName.DELIVER_WEBHOOK.value, args=[job_id], queue=QueueName.JOBS.value)
