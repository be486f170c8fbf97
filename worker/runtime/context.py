"""Per-process resources of a worker: settings, database, cache and batch schedulers.

Built lazily on first use in the process that uses them, so a forked pool child
never reuses its parent's connections, models or threads. With the default
thread pool, every job of a worker process shares one context, hence one model
and one batch scheduler.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field

from service.db import Database
from service.settings import Settings, get_settings
from worker.engines.base import Translator
from worker.engines.scheduler import BatchScheduler
from worker.pipeline.cache import TranslationCache, make_cache


@dataclass
class WorkerContext:
    settings: Settings
    db: Database
    pid: int
    cache: TranslationCache | None = None
    _schedulers: dict[int, BatchScheduler] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def translation_cache(self) -> TranslationCache:
        with self._lock:
            if self.cache is None:
                self.cache = make_cache(self.settings, self.db)
            return self.cache

    def scheduler(self, translator: Translator) -> BatchScheduler:
        """The batch scheduler feeding ``translator`` (one per loaded model)."""
        with self._lock:
            scheduler = self._schedulers.get(id(translator))
            if scheduler is None or scheduler.translator is not translator:
                pool = self.settings.translation_batch_size
                if getattr(translator, "plan_batches", None) is None:
                    # The engine runs a take as one call: take no more than a call runs,
                    # so that a new job's sentences are in the next one.
                    pool = min(pool, getattr(translator, "batch_size", pool))
                scheduler = BatchScheduler(translator, pool)
                self._schedulers[id(translator)] = scheduler
            return scheduler

    def close(self) -> None:
        with self._lock:
            schedulers, self._schedulers = list(self._schedulers.values()), {}
        for scheduler in schedulers:
            scheduler.close()
        self.db.dispose()


# This worker's identity in heartbeats and job claims. Fixed when the worker process
# starts (pool children forked from it inherit it): a restarted worker is a new one.
WORKER_ID = f"dragoman@{socket.gethostname()}/{os.getpid()}"

_lock = threading.Lock()
_context: WorkerContext | None = None


def current() -> WorkerContext:
    """This process's context, created on first use (and again after a fork)."""
    global _context
    with _lock:
        if _context is None or _context.pid != os.getpid():
            settings = get_settings()
            _context = WorkerContext(
                settings=settings, db=Database(settings.effective_database_url), pid=os.getpid()
            )
        return _context


def reset() -> None:
    """Forget the context (its connections belong to another process)."""
    global _context
    with _lock:
        _context = None
