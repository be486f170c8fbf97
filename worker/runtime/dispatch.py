"""Messages a worker sends to the queue itself: a job handed back, a webhook to deliver.

Sent through the same producer the API uses (``service.queue.JobQueue``), one per
process. A message that cannot be sent is not lost: its job's ``dispatched_at`` was
just set, and the reaper re-sends what the broker does not hold.
"""

from __future__ import annotations

import logging
import os
import threading

from service.errors import BrokerUnavailable
from service.queue import JobQueue
from service.settings import get_settings

log = logging.getLogger("dragoman.worker")

_lock = threading.Lock()
_queue: tuple[int, JobQueue] | None = None


def _producer() -> JobQueue:
    global _queue
    with _lock:
        if _queue is None or _queue[0] != os.getpid():
            _queue = (os.getpid(), JobQueue(get_settings()))
        return _queue[1]


def send_job(job_id: str) -> None:
    """Queue ``job_id`` again (a job this worker hands back as it stops)."""
    try:
        _producer().send_job(job_id)
    except BrokerUnavailable as exc:
        log.warning("job %s: not re-sent now (%s); the reaper will", job_id, exc.message)


def send_webhook(job_id: str) -> None:
    """Queue the webhook delivery of a finished job.

    Raises:
        BrokerUnavailable: The broker refused it (the webhook stays pending).
    """
    _producer().send_webhook(job_id)
