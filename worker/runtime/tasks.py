"""Celery tasks: thin wrappers that take a job id and call the pipeline."""

from __future__ import annotations

import logging

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from service.contract import TaskName
from service.errors import DragomanError, JobTimeout, TransientError
from service.settings import get_settings
from service.store import recovery
from worker.pipeline import job as pipeline
from worker.pipeline.context import WorkerContext
from worker.pipeline.interactive import run_interactive
from worker.runtime import context, webhook_worker
from worker.runtime.celery_app import app
from worker.runtime.lifecycle import WORKER_ID

log = logging.getLogger("dragoman.worker")


@app.task(
    name=TaskName.PROCESS_JOB.value,
    bind=True,
    acks_late=True,
    max_retries=get_settings().task_max_retries,
)
def process_job(self: Task, job_id: str, held_by: str | None = None) -> None:
    """Summarise and translate one job; transient failures are retried with backoff.

    ``held_by`` is set on a retry: the worker whose attempt failed still holds the
    job ``running`` while alive, so the retry releases it before claiming it again.
    """
    ctx = context.current()
    try:
        if held_by is not None:
            recovery.release_job(ctx.db, job_id, worker=held_by)
        pipeline.run_job(ctx, job_id)
    except TransientError as exc:
        if self.request.retries >= (self.max_retries or 0):
            _fail_quietly(ctx, job_id, exc)
            return
        delay = min(60, 2 ** (self.request.retries + 1))
        log.warning("job %s: %s; retrying in %ss", job_id, exc.code, delay)
        raise self.retry(exc=exc, countdown=delay, kwargs={"held_by": WORKER_ID}) from exc
    except SoftTimeLimitExceeded:
        limit = ctx.settings.task_soft_time_limit
        _fail_quietly(
            ctx,
            job_id,
            JobTimeout(
                f"The job ran past the {limit}s time limit (DRAGOMAN_TASK_SOFT_TIME_LIMIT)."
            ),
        )
    except DragomanError as exc:  # the pipeline records its own; this is for what escapes it
        log.error("job %s: %s: %s", job_id, exc.code, exc.message)
        _fail_quietly(ctx, job_id, exc)
    except Exception:
        # Logged here with its trace; the caller sees a stable code and no internals.
        log.exception("job %s: unexpected error", job_id)
        _fail_quietly(ctx, job_id, DragomanError(pipeline.INTERNAL_ERROR))


def _fail_quietly(ctx: WorkerContext, job_id: str, exc: DragomanError) -> None:
    """Fail the job whatever attempt holds it (the task gave up on it)."""
    try:
        pipeline.fail_job(ctx, job_id, exc.code, exc.message)
    except DragomanError:
        log.error("job %s: could not record failure %s", job_id, exc.code)


# Deliveries have a queue and a consumer of their own (``webhook_worker``); this
# registration takes those that arrive on the jobs queue (sent before an upgrade).
deliver_webhook = app.task(**webhook_worker.task_options(get_settings()))(
    webhook_worker.deliver_webhook
)


@app.task(name=TaskName.TRANSLATE_INTERACTIVE.value, acks_late=False)
def translate_interactive(job_id: str) -> None:
    """Answer an interactive request (when a prefork pool consumes the interactive queue;
    thread and solo workers answer them in their interactive lane instead)."""
    run_interactive(context.current(), job_id)
