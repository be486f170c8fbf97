"""One job from its stored row to its stored result: claim, prepare, translate, finish.

Every step's outcome is committed through ``service.store`` as soon as it is known;
attempts fence the writes of an attempt that lost the job (cancelled, taken over).
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from service import store
from service.errors import DragomanError, PermanentError
from service.models import utcnow
from worker import metrics
from worker.pipeline.article import prepare_article
from worker.pipeline.context import HandedBack, WorkerContext
from worker.pipeline.translate import Cancelled, translate_article

log = logging.getLogger("dragoman.pipeline")

INTERNAL_ERROR = "An internal error occurred; see the worker log."


def run_job(ctx: WorkerContext, job_id: str) -> None:
    """Process one job; a permanent failure is recorded, a transient one raised (retried)."""
    settings = ctx.settings
    if ctx.stopping():
        # Stopping: leave the job queued for another worker (or this one, restarted).
        ctx.requeue(job_id)
        return
    with metrics.cpu_stage("store"):
        job = ctx.claim(job_id)
    if job is None:
        log.info("job %s: nothing to do (finished, cancelled or unknown)", job_id)
        return
    if job.started_at is not None:
        metrics.record_claim(job.dispatched_at or job.created_at, job.started_at)
    try:
        deadline = time.monotonic() + settings.task_soft_time_limit
        article = prepare_article(ctx, job)
        fields = job.translate_fields
        translate_article(
            ctx,
            job,
            article.units(fields),
            lambda translated, target: article.render(fields, translated, target),
            deadline,
            article.analysis,
        )
    except HandedBack:
        if store.hand_back_job(ctx.db, job_id, attempt=job.attempts):
            ctx.requeue(job_id)
            log.info("job %s: handed back to the queue (worker stopping)", job_id)
        return
    except Cancelled:
        log.info("job %s: cancelled", job_id)
        metrics.record_finish("cancelled", job.started_at, utcnow())
        return
    except PermanentError as exc:
        log.info("job %s failed: %s: %s", job_id, exc.code, exc.message)
        fail_job(ctx, job_id, exc.code, exc.message, attempt=job.attempts, started=job.started_at)
        return
    except DragomanError:
        raise
    except Exception:
        log.exception("job %s: unexpected error", job_id)
        fail_job(
            ctx,
            job_id,
            "internal_error",
            INTERNAL_ERROR,
            attempt=job.attempts,
            started=job.started_at,
        )
        return
    with metrics.cpu_stage("store"):
        finished = store.finish_job(ctx.db, job_id, attempt=job.attempts)
    if finished:
        metrics.record_finish("succeeded", job.started_at, utcnow())
        ctx.job_finished(job_id)


def fail_job(
    ctx: WorkerContext,
    job_id: str,
    code: str,
    message: str,
    *,
    attempt: int | None = None,
    started: dt.datetime | None = None,
) -> None:
    """Record the job's failure (by ``attempt``, or whichever holds it) and notify."""
    if store.fail_job(ctx.db, job_id, code, message, attempt=attempt):
        metrics.record_finish("failed", started, utcnow())
        ctx.job_finished(job_id)
