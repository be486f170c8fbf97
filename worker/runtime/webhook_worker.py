"""The webhook lane: webhook deliveries on their own queue, beside the jobs.

A delivery waits on someone else's server (up to ``webhook_timeout`` per attempt)
and a failing receiver is retried for a long while; in the jobs' pool a burst of
them would hold the slots new jobs need. So ``dragoman.deliver_webhook`` goes to
``QueueName.WEBHOOKS`` and every worker process consumes that queue with a second,
small Celery consumer of its own (``webhook_concurrency`` threads, its own broker
connection and prefetch) in a thread beside the jobs' consumer. Retries wait as
Celery ETA messages in that consumer, never in a pool slot.

The lane runs Celery's blocking loop (``use_eventloop=False``): the event loop
(kombu's hub) is one per process and belongs to the jobs' consumer. It stops with
the worker: Celery's shutdown flag, set by the worker's SIGTERM handler, is read
by both consumers. The jobs' worker still registers the task, so a delivery that
arrives on the jobs queue (a message sent before an upgrade) is made there, and
its retries come here.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from celery import Celery, Task
from celery.worker import WorkController

from service.contract import QueueName, TaskName
from service.errors import TransientError
from service.queue import celery_config
from service.settings import Settings
from worker.runtime import context, webhooks

log = logging.getLogger("dragoman.webhooks")


def deliver_webhook(task: Task, job_id: str) -> None:
    """POST a finished job to its callback URL; retried with backoff until delivered.

    The task ``dragoman.deliver_webhook`` in both consumers (one function, so Celery
    sees one task under one name). Retries go to the webhooks queue whatever queue
    the message came from.
    """
    ctx = context.current()
    queue = QueueName.WEBHOOKS.value
    try:
        outcome = webhooks.deliver(ctx.db, ctx.settings, job_id)
    except TransientError as exc:
        if task.request.retries >= (task.max_retries or 0):
            log.error("job %s: webhook left pending: %s", job_id, exc.code)
            return  # still pending: the reaper sends it again later
        delay = min(60, 2 ** (task.request.retries + 1))
        raise task.retry(exc=exc, countdown=delay, queue=queue) from exc
    if outcome is not None and outcome.retry_in is not None:
        if task.request.retries >= (task.max_retries or 0):
            return
        raise task.retry(countdown=outcome.retry_in, queue=queue)


def task_options(settings: Settings) -> dict[str, Any]:
    """The options ``dragoman.deliver_webhook`` is registered with, in either consumer."""
    return {
        "name": TaskName.DELIVER_WEBHOOK.value,
        "bind": True,
        "acks_late": True,
        "ignore_result": True,
        # Attempts are counted in webhook_deliveries; Celery's count also covers the
        # retries of a database outage, which record no attempt.
        "max_retries": settings.webhook_max_attempts + settings.task_max_retries,
    }


def make_app(settings: Settings) -> Celery:
    """The lane's Celery app: the webhooks queue only, a small thread pool, no remote control."""
    app = Celery("dragoman-webhooks", set_as_current=False)
    app.conf.update(celery_config(settings))
    app.conf.update(
        task_default_queue=QueueName.WEBHOOKS.value,
        worker_pool="threads",
        worker_concurrency=settings.webhook_concurrency,
        task_soft_time_limit=None,
        task_time_limit=None,
        worker_enable_remote_control=False,
        # Without worker heartbeats Flower would list the lane as a worker gone
        # offline; its deliveries are counted in the worker's metrics instead.
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    app.task(**task_options(settings))(deliver_webhook)
    return app


class WebhookLane(threading.Thread):
    """Consumes the webhooks queue in this process until the worker shuts down."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="dragoman-webhooks", daemon=True)
        self.app = make_app(settings)
        self.controller = WorkController(
            app=self.app,
            hostname=f"dragoman-webhooks@{socket.gethostname()}",
            queues=[QueueName.WEBHOOKS.value],
            pool_cls="threads",
            concurrency=settings.webhook_concurrency,
            use_eventloop=False,
            without_mingle=True,
            without_gossip=True,
            without_heartbeat=True,
        )

    def run(self) -> None:
        log.info("webhook deliveries: %d at once", self.controller.concurrency)
        try:
            self.controller.start()
        except Exception:  # the jobs go on; a pending webhook is re-sent by the reaper
            log.exception("the webhook consumer stopped")
