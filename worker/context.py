"""Per-process resources of a worker: settings, database and model registry.

Built lazily on first use in the process that uses them, so a forked pool
child never reuses its parent's database connections or models.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from service.db import Database
from service.settings import Settings, get_settings


@dataclass
class WorkerContext:
    settings: Settings
    db: Database
    pid: int


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
