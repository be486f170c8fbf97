"""Celery tasks of feeds: the beat's scan for due feeds, and one poll of one feed.

Celery beat sends ``dragoman.poll_feeds`` every ``feed_poll_seconds``; it queues a
``dragoman.poll_feed`` per due feed, and a worker polls it. Run beat once per
deployment: ``dragoman worker --beat`` (one worker of the deployment) or a separate
``dragoman beat``. A second beat does no harm (a poll holds its feed's lease), only
redundant scans.
"""

from __future__ import annotations

import logging
import os
import threading

from service import feeds
from service.contract import QueueName, TaskName
from service.limits import Limiter, make_counter
from service.queue import JobQueue
from worker.feeds.poll import FeedPoller
from worker.runtime import context
from worker.runtime.celery_app import app

log = logging.getLogger("dragoman.feeds")

_lock = threading.Lock()
_poller: tuple[int, FeedPoller] | None = None


def poller() -> FeedPoller:
    """This process's poller (its job queue and limiter), made on first use."""
    global _poller
    with _lock:
        if _poller is None or _poller[0] != os.getpid():
            ctx = context.current()
            limiter = Limiter(make_counter(ctx.settings, ctx.db))
            _poller = (
                os.getpid(),
                FeedPoller(ctx.db, ctx.settings, JobQueue(ctx.settings), limiter),
            )
        return _poller[1]


@app.task(name=TaskName.POLL_FEEDS.value, ignore_result=True)
def poll_feeds() -> None:
    """Queue a poll of every feed that is due."""
    for feed_id in feeds.due_feeds(context.current().db):
        app.send_task(TaskName.POLL_FEED.value, args=[feed_id], queue=QueueName.JOBS.value)


@app.task(name=TaskName.POLL_FEED.value, acks_late=True, ignore_result=True)
def poll_feed(feed_id: str) -> None:
    """Poll one feed (nothing when it is not due or another worker polls it)."""
    result = poller().poll(feed_id)
    if result is not None and result.jobs:
        log.info("feed %s: %d new jobs, %d waiting", feed_id, len(result.jobs), result.waiting)
