"""The Celery side the API needs: configuration shared with workers, and sending by name.

This module knows task names only (``service.contract``); it never imports the
worker, so the API process stays free of torch and transformers.
"""

from __future__ import annotations

import contextlib
from typing import Any

from celery import Celery
from kombu.exceptions import OperationalError as KombuOperationalError

from service import broker
from service.contract import QueueName, TaskName
from service.errors import BrokerUnavailable
from service.settings import Settings


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery settings shared by the API (producer) and the workers (consumers)."""
    transport_options: dict[str, Any] = settings.broker_transport_options()
    if settings.broker_url.startswith(("redis://", "rediss://")):
        # Redis redelivers an unacknowledged message after this many seconds; it
        # must outlast the longest job or a slow job would run twice.
        transport_options["visibility_timeout"] = settings.task_time_limit + 600
        transport_options["socket_connect_timeout"] = settings.broker_publish_timeout
        transport_options["socket_timeout"] = max(settings.broker_publish_timeout, 10)
    broker_url = settings.effective_broker_url
    if settings.uses_embedded_broker:
        broker.register()
        broker_url = broker.URL  # the filesystem transport, writing atomically
    return {
        "broker_url": broker_url,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": settings.broker_publish_timeout,
        "task_default_queue": QueueName.JOBS.value,
        "task_routes": {
            TaskName.PROCESS_JOB.value: {"queue": QueueName.JOBS.value},
            TaskName.DELIVER_WEBHOOK.value: {"queue": QueueName.WEBHOOKS.value},
            TaskName.TRANSLATE_INTERACTIVE.value: {"queue": QueueName.INTERACTIVE.value},
        },
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_backend": None,
        "task_ignore_result": True,
        # Long ML tasks: acknowledge after the work is done so a killed worker's
        # job is redelivered, and take one message at a time so a busy worker
        # does not sit on jobs another worker could run.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # The thread pool cannot interrupt a task: jobs keep their own deadline
        # (task_soft_time_limit) and stop between batches when it passes.
        "task_soft_time_limit": settings.task_soft_time_limit
        if settings.worker_pool == "prefork"
        else None,
        "task_time_limit": settings.task_time_limit if settings.worker_pool == "prefork" else None,
        "worker_pool": settings.worker_pool,
        "worker_concurrency": settings.worker_concurrency,
        "worker_hijack_root_logger": False,
        # Task events let Flower (and `celery events`) follow tasks as they run.
        "worker_send_task_events": settings.sends_task_events,
        "task_send_sent_event": settings.sends_task_events,
        "broker_heartbeat": 0 if settings.uses_embedded_broker else 60,
    }


def make_producer(settings: Settings) -> Celery:
    """A Celery app used only to send tasks."""
    app = Celery("dragoman-api", set_as_current=False)
    app.conf.update(celery_config(settings))
    return app


class JobQueue:
    """Sends jobs to the workers; built once in the API's lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = make_producer(settings)

    def send_job(self, job_id: str) -> None:
        """Queue a job by id, raising ``BrokerUnavailable`` if the broker refuses."""
        self._send(
            TaskName.PROCESS_JOB,
            job_id,
            "The job queue is not reachable; nothing was stored. Try again shortly.",
            task_id=job_id,
        )

    def send_interactive(self, job_id: str) -> None:
        """Queue an interactive request on its own queue (the workers' interactive lane)."""
        self._send(
            TaskName.TRANSLATE_INTERACTIVE,
            job_id,
            "The translation queue is not reachable.",
            queue=QueueName.INTERACTIVE,
            task_id=job_id,
        )

    def send_webhook(self, job_id: str) -> None:
        """Queue the delivery of a finished job to its ``callback_url``."""
        self._send(
            TaskName.DELIVER_WEBHOOK,
            job_id,
            "The job queue is not reachable.",
            queue=QueueName.WEBHOOKS,
        )

    def _send(
        self,
        task: TaskName,
        job_id: str,
        unreachable: str,
        queue: QueueName = QueueName.JOBS,
        **options: Any,
    ) -> None:
        """Publish ``task(job_id)`` on ``queue``, retrying briefly.

        Raises:
            BrokerUnavailable: with the message ``unreachable``.
        """
        try:
            self.app.send_task(
                task.value,
                args=[job_id],
                queue=queue.value,
                retry=True,
                retry_policy={
                    "max_retries": 2,
                    "interval_start": 0.2,
                    "interval_step": 0.5,
                    "interval_max": 1.0,
                },
                **options,
            )
        except (KombuOperationalError, OSError, ConnectionError) as exc:
            raise BrokerUnavailable(unreachable) from exc

    def queued_messages(self, queue: QueueName = QueueName.JOBS) -> int:
        """Messages waiting in ``queue`` (not counting those a worker has reserved).

        A queue the broker does not know (Redis forgets an empty queue, and everything
        after a restart without persistence; RabbitMQ before any worker declared it, or
        after it was deleted) counts as empty. On AMQP a passive declare of a missing
        queue closes the channel (404), so it is asked on a channel of its own.
        """
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(
                    max_retries=1, timeout=self.settings.broker_publish_timeout
                )
                channel = connection.channel()
                try:
                    declared = channel.queue_declare(queue=queue.value, passive=True)
                except connection.channel_errors:
                    return 0
                finally:
                    with contextlib.suppress(
                        *connection.channel_errors, *connection.connection_errors
                    ):
                        channel.close()
                return int(declared.message_count)
        except (KombuOperationalError, OSError, ConnectionError) as exc:
            raise BrokerUnavailable("The job queue is not reachable.") from exc

    def ping(self) -> None:
        """Check the broker accepts connections, raising ``BrokerUnavailable`` if not."""
        try:
            with self.app.connection_for_write() as connection:
                connection.ensure_connection(
                    max_retries=1, timeout=self.settings.broker_publish_timeout
                )
        except (KombuOperationalError, OSError, ConnectionError) as exc:
            raise BrokerUnavailable("The job queue is not reachable.") from exc

    def close(self) -> None:
        self.app.close()
