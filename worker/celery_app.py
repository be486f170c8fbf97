"""The Celery application the workers run.

Start it with ``dragoman worker`` (or ``celery -A worker.celery_app worker``).
Nothing heavy happens at import: models load on the first job of each pool
process, and the heartbeat thread starts once the worker is ready.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_ready, worker_shutdown

from service.db import upgrade_database
from service.queue import celery_config
from service.settings import get_settings
from worker.memory import limit_malloc_arenas

# Pool children are forked from the worker; the tokenizers library must not
# start its thread pool before that fork.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Progress bars of model loading would land in the worker log as WARNING lines.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
# Before any pool or engine thread exists: the decoder threads' scratch memory then
# shares two heaps instead of one each (about 70 MB less at peak with NLLB-600M).
limit_malloc_arenas()

app = Celery("dragoman")
app.conf.update(celery_config(get_settings()))
app.conf.update(imports=["worker.tasks"])

_heartbeat: Any = None
_reaper: Any = None


@worker_process_init.connect
def _fresh_process(**_: Any) -> None:
    from worker import context

    context.reset()


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    global _heartbeat
    from worker import metrics
    from worker.heartbeat import Heartbeat

    settings = get_settings()
    metrics.serve(settings.metrics_port)
    _heartbeat = Heartbeat(settings)
    _heartbeat.start()
    _start_reaper(settings)


def _start_reaper(settings: Any) -> None:
    global _reaper
    from worker.reaper import Reaper

    if settings.reaper_seconds > 0:
        _reaper = Reaper(settings)
        _reaper.start()


@worker_shutdown.connect
def _stop_heartbeat(**_: Any) -> None:
    if _reaper is not None:
        _reaper.stop()
    if _heartbeat is not None:
        _heartbeat.stop()


def prepare() -> None:
    """Create the data folders and bring the schema up to date before the worker starts."""
    settings = get_settings()
    settings.ensure_dirs()
    upgrade_database(settings.effective_database_url, settings.data_dir)
