"""What a job runs with: settings, the store, the translation cache and batch schedulers,
and the worker's hooks (is it stopping, wait for its model, requeue, notify).

The worker's runtime builds one per process (``worker.runtime.context.current``) and
fills in the hooks; a context built bare, as tests do, runs jobs with no-op hooks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from service import store
from service.db import Database
from service.limits import Limiter, make_counter
from service.models import Job
from service.settings import Settings
from worker.engines.base import Translator
from worker.engines.device import take_size
from worker.engines.scheduler import BatchScheduler
from worker.pipeline.cache import TranslationCache, make_cache


class HandedBack(Exception):
    """The worker is stopping: this job goes back to the queue for another worker."""


def _nothing(_: str) -> None:
    return None


@dataclass
class WorkerContext:
    """Per-process resources of a worker, shared by all its jobs (and so their batches).

    Attributes:
        worker_id: This worker's name in heartbeats and job claims.
        stopping: Whether the worker is shutting down (running jobs hand themselves back).
        wait_for_model: Blocks until the model is ready or known to be unavailable;
            raises ``ModelUnavailable`` (the pull failed) or ``HandedBack`` (stopping).
        requeue: Sends a job's message again (a job handed back).
        job_finished: Called once a job has ended (its webhook is due).
    """

    settings: Settings
    db: Database
    pid: int
    worker_id: str = "dragoman@local"
    stopping: Callable[[], bool] = lambda: False
    wait_for_model: Callable[[], None] = lambda: None
    requeue: Callable[[str], None] = _nothing
    job_finished: Callable[[str], None] = _nothing
    cache: TranslationCache | None = None
    _limiter: Limiter | None = None
    _schedulers: dict[int, BatchScheduler] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def translation_cache(self) -> TranslationCache:
        with self._lock:
            if self.cache is None:
                self.cache = make_cache(self.settings, self.db)
            return self.cache

    def limiter(self) -> Limiter:
        """Quotas, for the characters of an article fetched from its URL."""
        with self._lock:
            if self._limiter is None:
                self._limiter = Limiter(make_counter(self.settings, self.db))
            return self._limiter

    def scheduler(self, translator: Translator) -> BatchScheduler:
        """The batch scheduler feeding ``translator`` (one per loaded model)."""
        with self._lock:
            scheduler = self._schedulers.get(id(translator))
            if scheduler is None or scheduler.translator is not translator:
                take = take_size(
                    self.settings.translation_batch_size,
                    str(translator.describe().get("device", "cpu")),
                )
                scheduler = BatchScheduler(translator, take)
                self._schedulers[id(translator)] = scheduler
            return scheduler

    def claim(self, job_id: str) -> Job | None:
        """Claim ``job_id`` for this worker (``queued`` -> ``running``); None if not claimable."""
        return store.claim_job(
            self.db,
            job_id,
            model=self.settings.translation_model,
            worker=self.worker_id,
            stale_after=self.settings.worker_stale_seconds,
        )

    def close(self) -> None:
        with self._lock:
            schedulers, self._schedulers = list(self._schedulers.values()), {}
        for scheduler in schedulers:
            scheduler.close()
        if self._limiter is not None:
            self._limiter.counter.close()
        self.db.dispose()
