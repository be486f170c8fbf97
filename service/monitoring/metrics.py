"""The API's Prometheus metrics and its ``/metrics`` answer.

Recorded here: jobs submitted (by lane and source kind) and the latency of
interactive calls. Read from the store and the broker at scrape time: the queue
depth, running jobs, the age of the oldest queued job. Jobs finished, their duration
and queue wait are recorded by the workers when a job ends (``worker.metrics``), from
the store's timestamps. Labels never carry tenants or article text.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from service.contract import QueueName
from service.db import Database
from service.errors import DragomanError
from service.models import utcnow
from service.queue import JobQueue
from service.store.stats import job_backlog

log = logging.getLogger(__name__)

ARTICLES = "articles"
INTERACTIVE = "interactive"

JOBS_SUBMITTED = Counter(
    "dragoman_jobs_submitted_total",
    "Jobs accepted and queued, by lane and kind of source (text, html, url).",
    ["lane", "source_kind"],
)
INTERACTIVE_LATENCY = Histogram(
    "dragoman_interactive_latency_seconds",
    "From an interactive translation request to its answer, as the caller waits.",
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def record_job_submitted(source_kind: str, lane: str = ARTICLES) -> None:
    JOBS_SUBMITTED.labels(lane, source_kind).inc()


def record_interactive_latency(seconds: float) -> None:
    """An interactive call answered after ``seconds`` (the interactive lane calls this)."""
    INTERACTIVE_LATENCY.observe(seconds)


class BacklogCollector(Collector):
    """Gauges read at scrape time: unfinished jobs from the store, messages from the broker."""

    def __init__(self, db: Database | None, queue: JobQueue | None) -> None:
        self.db = db
        self.queue = queue

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs, oldest, messages = self._families()
        if self.db is not None:
            try:
                backlog = job_backlog(self.db)
            except DragomanError as exc:
                log.warning("metrics: the store is not reachable: %s", exc.message)
            else:
                jobs.add_metric(["queued"], backlog.queued)
                jobs.add_metric(["running"], backlog.running)
                oldest.add_metric([], _age(backlog.oldest_queued_at))
                yield jobs
                yield oldest
        if self.queue is not None:
            try:
                for name in QueueName:
                    messages.add_metric([name.value], self.queue.queued_messages(name))
            except DragomanError as exc:
                log.warning("metrics: the broker is not reachable: %s", exc.message)
            else:
                yield messages

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "dragoman_jobs", "Unfinished jobs in the store, by status.", labels=["status"]
            ),
            GaugeMetricFamily(
                "dragoman_queue_oldest_age_seconds",
                "How long the oldest queued job has waited (0 when none waits).",
            ),
            GaugeMetricFamily(
                "dragoman_queue_messages",
                "Messages waiting in each of the broker's queues (jobs, interactive, "
                "webhooks), not yet taken by a worker.",
                labels=["queue"],
            ),
        )


def _age(since: dt.datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (utcnow() - since).total_seconds())


def process_registry(multiprocess: bool) -> CollectorRegistry:
    """What this process records, or what all processes sharing the folder recorded."""
    if not multiprocess:
        return REGISTRY
    combined = CollectorRegistry()
    MultiProcessCollector(combined)  # type: ignore[no-untyped-call]
    return combined


def exposition(db: Database | None, queue: JobQueue | None, *, multiprocess: bool) -> bytes:
    """The text exposition of ``/metrics``: recorded metrics, then the backlog gauges."""
    backlog = CollectorRegistry()
    backlog.register(BacklogCollector(db, queue))
    return generate_latest(process_registry(multiprocess)) + generate_latest(backlog)
