"""Celery tasks: thin wrappers that take a job id and call the pipeline."""

from __future__ import annotations

import logging

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from service import store
from service.contract import TaskName
from service.errors import DragomanError, TransientError
from service.settings import get_settings
from worker import context, pipeline
from worker.celery_app import app

log = logging.getLogger("dragoman.worker")


@app.task(
    name=TaskName.PROCESS_JOB.value,
    bind=True,
    acks_late=True,
    max_retries=get_settings().task_max_retries,
)
def process_job(self: Task, job_id: str) -> None:
    """Summarise and translate one job; transient failures are retried with backoff."""
    ctx = context.current()
    try:
        pipeline.run_job(ctx, job_id)
    except TransientError as exc:
        if self.request.retries >= (self.max_retries or 0):
            _fail_quietly(ctx, job_id, exc)
            return
        delay = min(60, 2 ** (self.request.retries + 1))
        log.warning("job %s: %s; retrying in %ss", job_id, exc.code, delay)
        raise self.retry(exc=exc, countdown=delay) from exc
    except SoftTimeLimitExceeded:
        store.fail_job(
            ctx.db,
            job_id,
            "timeout",
            f"The job ran past the {ctx.settings.task_soft_time_limit}s time limit "
            "(DRAGOMAN_TASK_SOFT_TIME_LIMIT).",
        )


def _fail_quietly(ctx: context.WorkerContext, job_id: str, exc: DragomanError) -> None:
    try:
        store.fail_job(ctx.db, job_id, exc.code, exc.message)
    except DragomanError:
        log.error("job %s: could not record failure %s", job_id, exc.code)
