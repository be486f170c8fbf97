"""The contract between the API and the workers: task and queue names.

The API sends tasks by name and never imports ``worker``; a task message carries
only the job id (or feed id), and the worker re-reads the row from the database.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal


class TaskName(StrEnum):
    PROCESS_JOB = "dragoman.process_job"
    DELIVER_WEBHOOK = "dragoman.deliver_webhook"
    # Sent by Celery beat every DRAGOMAN_FEED_POLL_SECONDS: queue a poll of each due feed.
    POLL_FEEDS = "dragoman.poll_feeds"
    POLL_FEED = "dragoman.poll_feed"
    # A synchronous LibreTranslate-style request (an interactive job): the worker's
    # interactive consumer takes it, never the Celery pool that runs articles.
    TRANSLATE_INTERACTIVE = "dragoman.translate_interactive"


class QueueName(StrEnum):
    JOBS = "dragoman.jobs"
    # Webhook deliveries: consumed beside the jobs, never in a job's slot.
    WEBHOOKS = "dragoman.webhooks"
    # Synchronous (LibreTranslate-style) requests: the workers' interactive lane.
    INTERACTIVE = "dragoman.interactive"


class Lane(StrEnum):
    """What kind of job a row is: an article, or an interactive (synchronous) request."""

    ARTICLE = "article"
    INTERACTIVE = "interactive"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


class TranslationStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class WebhookStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


TranslatableField = Literal["title", "summary", "body"]
"""The parts of an article a job can have translated."""
