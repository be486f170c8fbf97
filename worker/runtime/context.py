"""This worker process's context: built on first use, with the runtime's hooks filled in.

Built lazily in the process that uses it, so a forked pool child never reuses its
parent's connections, models or threads. With the default thread pool, every job of
a worker process shares one context, hence one model and one batch scheduler.
"""

from __future__ import annotations

import os
import threading
from functools import partial

from service.db import Database
from service.settings import get_settings
from worker.pipeline.context import HandedBack, WorkerContext
from worker.runtime import dispatch, lifecycle, webhooks
from worker.runtime import model as model_loader
from worker.runtime.lifecycle import WORKER_ID

_lock = threading.Lock()
_context: WorkerContext | None = None


def wait_for_model() -> None:
    """Wait for the worker's model loader (if any); hand the job back if stopping."""
    loader = model_loader.current()
    if loader is None:
        return
    while not loader.wait(timeout=0.5):
        if lifecycle.draining():
            raise HandedBack
    loader.check_pulled()


def current() -> WorkerContext:
    """This process's context, created on first use (and again after a fork)."""
    global _context
    with _lock:
        if _context is None or _context.pid != os.getpid():
            settings = get_settings()
            db = Database(settings.effective_database_url)
            _context = WorkerContext(
                settings=settings,
                db=db,
                pid=os.getpid(),
                worker_id=WORKER_ID,
                stopping=lifecycle.draining,
                wait_for_model=wait_for_model,
                requeue=dispatch.send_job,
                job_finished=partial(webhooks.job_finished, db),
            )
        return _context


def reset() -> None:
    """Forget the context (its connections belong to another process)."""
    global _context
    with _lock:
        _context = None
