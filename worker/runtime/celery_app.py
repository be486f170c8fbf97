"""The Celery application the workers run.

Start it with ``dragoman worker`` (or ``celery -A worker.runtime.celery_app worker``).
Nothing heavy happens at import. Before the pool starts, the engine libraries are
imported once (in the main thread, so no two threads race through transformers'
lazy imports); once the worker is up, the model is pulled if needed and loaded in
the background while the heartbeat reports its state, and a second consumer takes
webhook deliveries from their own queue (``webhook_worker``). On SIGTERM running
jobs are handed back to the queue and the worker exits within
``worker_shutdown_seconds``.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import (
    beat_embedded_init,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
    worker_shutting_down,
)

from service.contract import QueueName, TaskName
from service.db import prepare_store
from service.queue import celery_config
from service.settings import get_settings
from worker.engines.device import worker_concurrency
from worker.engines.memory import limit_malloc_arenas

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
# 0 leaves it to the device: a GPU worker runs many jobs so their sentences fill its batches.
app.conf.worker_concurrency = worker_concurrency(get_settings().worker_concurrency)
app.conf.update(imports=["worker.runtime.tasks", "worker.runtime.feed_tasks"])
# Celery beat (`dragoman worker --beat` or `dragoman beat`) looks for due feeds.
app.conf.beat_schedule = {
    "dragoman-poll-feeds": {
        "task": TaskName.POLL_FEEDS.value,
        "schedule": get_settings().feed_poll_seconds,
        "options": {"queue": QueueName.JOBS.value, "expires": get_settings().feed_poll_seconds},
    }
}
app.conf.beat_schedule_filename = str(get_settings().data_dir / "celerybeat-schedule")

_heartbeat: Any = None
_reaper: Any = None
_lane: Any = None


def _ours(sender: Any) -> bool:
    # The webhook lane's consumer (runtime/webhook_worker.py) sends worker_init and
    # worker_shutdown too: they are not this worker's.
    return getattr(sender, "app", None) is app


@worker_init.connect
def _before_pool(sender: Any = None, **_: Any) -> None:
    if not _ours(sender):
        return
    from worker.engines.libraries import import_libraries
    from worker.models.backends import libraries_for
    from worker.runtime import model

    settings = get_settings()
    import_libraries(*libraries_for(settings))
    if settings.worker_pool == "prefork":
        # Pool processes are forked next: pull (if needed) before, so each finds the
        # model installed, and load in each of them.
        loader = model.ModelLoader(settings, load=False)
        loader.run()
        model.install(loader)


@worker_process_init.connect
def _fresh_process(**_: Any) -> None:
    from worker.runtime import context, lifecycle, model

    context.reset()
    lifecycle.reset_drain()
    loader = model.ModelLoader(get_settings(), pull=False)
    model.install(loader)
    loader.start()


@worker_ready.connect
def _start_threads(sender: Any = None, **_: Any) -> None:
    global _heartbeat
    from worker import metrics
    from worker.runtime import model
    from worker.runtime.heartbeat import Heartbeat

    settings = get_settings()
    metrics.serve(settings.metrics_port)
    loader = model.current()
    start = loader is None or settings.worker_pool != "prefork"
    if start:
        loader = model.ModelLoader(settings)
        model.install(loader)
    assert loader is not None
    _heartbeat = Heartbeat(settings, loader.report)
    loader.on_change = _heartbeat.wake
    _heartbeat.start()
    if start:
        loader.start()
    _start_reaper(settings)
    _start_webhook_lane(settings)
    _start_interactive_lane(settings)


def _start_interactive_lane(settings: Any) -> None:
    """The interactive lane runs where the model is: in this process, unless a prefork
    pool holds the model in its children (which then consume the interactive queue)."""
    global _lane
    from worker.pipeline.interactive import run_interactive, warm_detectors
    from worker.runtime import context
    from worker.runtime.interactive import InteractiveLane

    if settings.worker_pool == "prefork":
        return
    # The filesystem broker is polled (once a second by default): an interactive request
    # is waited for, so the lane looks more often. Redis and AMQP push messages.
    options = {"polling_interval": 0.05} if settings.uses_embedded_broker else {}
    _lane = InteractiveLane(
        settings,
        lambda: app.connection_for_read(transport_options=options),
        lambda job_id: run_interactive(context.current(), job_id),
        warm=warm_detectors,
    )
    _lane.start()


def _start_reaper(settings: Any) -> None:
    global _reaper
    from worker.runtime.reaper import Reaper

    if settings.reaper_seconds > 0:
        _reaper = Reaper(settings)
        _reaper.start()


def _start_webhook_lane(settings: Any) -> None:
    from worker.runtime.webhook_worker import WebhookLane

    WebhookLane(settings).start()


@worker_shutting_down.connect
def _drain(**_: Any) -> None:
    from worker.runtime import lifecycle

    lifecycle.begin_drain(get_settings().worker_shutdown_seconds)


@beat_embedded_init.connect
def _beat_follows_worker(**_: Any) -> None:
    # `worker --beat` runs the scheduler in a child process of its own, which neither
    # inherits the worker's parent watch nor dies with it: it watches the worker.
    import os

    from worker.runtime import lifecycle

    lifecycle.watch_parent(os.getppid())


@worker_shutdown.connect
def _stop_threads(sender: Any = None, **_: Any) -> None:
    if not _ours(sender):
        return
    if _lane is not None:
        _lane.stop(timeout=1)
    if _reaper is not None:
        _reaper.stop(timeout=1)
    if _heartbeat is not None:
        _heartbeat.stop(timeout=2)


def prepare() -> None:
    """Create the data folders and bring the schema up to date before the worker starts."""
    prepare_store(get_settings())
