"""The reaper: a thread in every worker that puts stranded work back in the queue.

Every ``DRAGOMAN_REAPER_SECONDS`` it takes the reaper lock (one reaper acts at a
time across all workers; the others skip the pass) and, through
``service.store.recovery``:

- re-queues ``running`` jobs whose worker stopped sending heartbeats (killed,
  out of memory, a machine gone) and re-sends their message; with Redis the
  broker itself would redeliver such a message only after its visibility timeout,
  which outlasts the longest job;
- re-sends queued jobs whose message the broker has lost (a Redis restart without
  persistence), comparing the database with the broker's queue length;
- re-sends webhook deliveries that stalled.

Duplicate messages are harmless, so every doubt is settled by sending again.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from service.db import Database
from service.errors import BrokerUnavailable, DatabaseUnavailable
from service.queue import JobQueue
from service.settings import Settings
from service.store import recovery
from service.store.recovery import Sweep
from worker import metrics
from worker.runtime import webhooks

log = logging.getLogger("dragoman.reaper")


class Reaper(threading.Thread):
    """Runs :meth:`sweep` every ``reaper_seconds`` until stopped; never dies of an error."""

    def __init__(
        self, settings: Settings, db: Database | None = None, queue: JobQueue | None = None
    ) -> None:
        super().__init__(name="dragoman-reaper", daemon=True)
        self.settings = settings
        self._db = db
        self._queue = queue
        self._stop_event = threading.Event()
        # When the database last came back; -inf: it has not been seen down.
        self._settled_at: float | None = -math.inf

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = Database(self.settings.effective_database_url)
        return self._db

    @property
    def queue(self) -> JobQueue:
        if self._queue is None:
            self._queue = JobQueue(self.settings)
        return self._queue

    def run(self) -> None:
        try:
            while not self._stop_event.wait(self.settings.reaper_seconds):
                self.sweep_safely()
        finally:
            if self._queue is not None:
                self._queue.close()
            if self._db is not None:
                self._db.dispose()

    def stop(self, timeout: float = 10) -> None:
        self._stop_event.set()
        self.join(timeout=timeout)

    def sweep_safely(self) -> Sweep | None:
        """One pass; errors are logged, and the next pass tries again."""
        try:
            return self.sweep()
        except DatabaseUnavailable as exc:
            self._settled_at = None
            log.warning("reaper: %s", exc.message)
        except Exception:
            log.exception("reaper: pass failed")
        return None

    def sweep(self) -> Sweep:
        """Recover what can be recovered now; returns what was changed and sent."""
        started = time.monotonic()
        settings = self.settings
        try:
            # Counted before the database: a message consumed in between then
            # lowers neither side wrongly, it only hides a loss until the next pass.
            queued_messages: int | None = self.queue.queued_messages()
        except BrokerUnavailable:
            queued_messages = None
        sweep = Sweep()
        with recovery.exclusive(self.db) as session:
            if session is None:
                return sweep  # another worker's reaper is at it
            if self._may_requeue(started):
                sweep.requeued, sweep.failed = recovery.requeue_abandoned(
                    session,
                    stale_after=settings.worker_stale_seconds,
                    max_attempts=settings.job_max_attempts,
                    hard_limit=settings.task_time_limit + settings.reaper_grace_seconds,
                )
            if queued_messages is not None:
                sweep.resend = recovery.lost_messages(
                    session, queued_messages, grace=settings.reaper_grace_seconds
                )
            sweep.webhooks = recovery.stalled_webhooks(
                session,
                after=settings.reaper_grace_seconds
                + settings.webhook_backoff_max_seconds
                + settings.webhook_timeout,
            )
            session.commit()
        if self._settled_at is None:
            self._settled_at = started
        self._send(sweep)
        return sweep

    def _may_requeue(self, now: float) -> bool:
        # After an outage nobody's heartbeat got through: wait until every live
        # worker has had time to write one, or live workers would look dead.
        return (
            self._settled_at is not None
            and now - self._settled_at >= self.settings.worker_stale_seconds
        )

    def _send(self, sweep: Sweep) -> None:
        if sweep.requeued:
            log.warning("reaper: re-queued %d job(s) of dead workers", len(sweep.requeued))
        if sweep.failed:
            log.warning("reaper: %d job(s) failed, out of attempts", len(sweep.failed))
            metrics.JOBS.labels("failed").inc(len(sweep.failed))
        if sweep.resend:
            log.warning("reaper: re-sent %d queued job(s) the broker lost", len(sweep.resend))
        try:
            for job_id in [*sweep.requeued, *sweep.resend]:
                self.queue.send_job(job_id)
            for job_id in sweep.webhooks:
                self.queue.send_webhook(job_id)
        except BrokerUnavailable as exc:
            # Their dispatched_at says "just sent": the lost-message check sends
            # them again once the grace period has passed.
            log.warning("reaper: %s", exc.message)
        for job_id in sweep.failed:
            webhooks.job_finished(self.db, job_id, send=self.queue.send_webhook)
