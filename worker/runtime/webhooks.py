"""Webhook delivery: POST a finished job to its ``callback_url``, signed, with retries.

One call of :func:`deliver` is one attempt. The attempt number is the count of
rows in ``webhook_deliveries`` plus one, so it survives redelivered messages and
restarted workers, and ``webhook_max_attempts`` holds whatever happens to the
task. ``jobs.webhook_status`` goes ``pending`` -> ``delivered`` | ``failed``.

Delivery is at least once: a receiver may see a job twice (a worker died after
the POST but before recording it) and should deduplicate on ``X-Dragoman-Job``.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from service import jobs, store
from service.contract import WebhookStatus
from service.db import Database
from service.egress import AddressPolicy
from service.errors import DragomanError, InvalidInput
from service.models import Job
from service.settings import Settings
from service.tenants import webhook_secret
from service.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, check_callback_url, sign_payload
from worker import metrics
from worker.pipeline.sources.transport import AddressRefused, GuardedTransport
from worker.runtime import dispatch

log = logging.getLogger("dragoman.webhooks")

JOB_HEADER = "X-Dragoman-Job"
DELIVERY_HEADER = "X-Dragoman-Delivery"
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Outcome:
    """The result of one delivery attempt; ``retry_in`` seconds when another is due."""

    attempt: int
    delivered: bool = False
    status_code: int | None = None
    error: str | None = None
    retry_in: float | None = None

    @property
    def status(self) -> WebhookStatus:
        """The webhook's state after this attempt."""
        if self.delivered:
            return WebhookStatus.DELIVERED
        return WebhookStatus.FAILED if self.retry_in is None else WebhookStatus.PENDING

    @property
    def label(self) -> str:
        """The attempt's outcome in metrics: delivered, retry (another is due) or failed."""
        if self.delivered:
            return "delivered"
        return "failed" if self.retry_in is None else "retry"


def backoff(settings: Settings, attempt: int) -> float:
    """Seconds to wait after failed attempt ``attempt``: 2, 4, 8, ... up to the cap."""
    delay = settings.webhook_backoff_seconds * 2 ** (attempt - 1)
    return float(min(delay, settings.webhook_backoff_max_seconds))


def job_finished(db: Database, job_id: str, send: Callable[[str], None] | None = None) -> None:
    """Queue the webhook of a job that has just finished, if it asked for one.

    Never raises: the job is already finished and stored. A delivery that could
    not be queued stays ``pending``, and the reaper sends it later.
    """
    try:
        if not store.mark_webhook_pending(db, job_id):
            return
        (send or dispatch.send_webhook)(job_id)
    except Exception as exc:  # the job's own outcome must not depend on this
        log.warning("job %s: webhook not queued yet: %s", job_id, _describe(exc))


def deliver(
    db: Database, settings: Settings, job_id: str, *, client: httpx.Client | None = None
) -> Outcome | None:
    """Make the next delivery attempt of a finished job; None when nothing is due.

    Raises:
        DatabaseUnavailable: the store is unreachable (nothing was sent or recorded).
    """
    job = store.finished_job(db, job_id)
    done = (WebhookStatus.DELIVERED, WebhookStatus.FAILED)
    if job is None or job.callback_url is None or job.webhook_status in done:
        return None
    attempt = store.delivery_attempts(db, job_id) + 1
    if attempt > settings.webhook_max_attempts:
        store.set_webhook_status(db, job_id, WebhookStatus.FAILED)
        return None
    outcome = _attempt(db, settings, job, attempt, client)
    store.record_delivery(
        db,
        job_id,
        attempt=outcome.attempt,
        status=outcome.status,
        status_code=outcome.status_code,
        error=outcome.error,
        delivered=outcome.delivered,
    )
    metrics.WEBHOOK_DELIVERIES.labels(outcome.label).inc()
    if outcome.delivered:
        log.info("job %s: webhook delivered (attempt %d)", job_id, attempt)
    else:
        log.warning(
            "job %s: webhook attempt %d failed: %s%s",
            job_id,
            attempt,
            outcome.error or f"HTTP {outcome.status_code}",
            f"; next in {outcome.retry_in:g}s" if outcome.retry_in is not None else "; giving up",
        )
    return outcome


def _attempt(
    db: Database, settings: Settings, job: Job, attempt: int, client: httpx.Client | None
) -> Outcome:
    url = job.callback_url
    assert url is not None
    retry_in = backoff(settings, attempt) if attempt < settings.webhook_max_attempts else None
    try:
        # Again at every attempt: the name may resolve elsewhere now (DNS rebinding).
        check_callback_url(url, allow_private=settings.allow_private_callbacks)
    except InvalidInput as exc:
        if isinstance(exc.__cause__, socket.gaierror | UnicodeError):
            return Outcome(attempt, error=_clip(exc.message), retry_in=retry_in)
        return Outcome(attempt, error=_clip(f"refused: {exc.message}"))  # no retry
    # The receiver gets the job as GET /v1/jobs/{id} shows it, less the delivery state.
    body = jobs.job_out(job).model_dump_json(exclude={"webhook"}).encode()
    timestamp = int(time.time())
    secret = webhook_secret(db, job.tenant or "local")
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Dragoman-Webhook/1",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign_payload(secret, timestamp, body),
        JOB_HEADER: job.id,
        DELIVERY_HEADER: str(attempt),
    }
    own = client is None
    http = client or webhook_client(settings)
    try:
        response = http.post(url, content=body, headers=headers, follow_redirects=False)
    except AddressRefused as exc:
        return Outcome(attempt, error=_clip(f"refused: {exc}"))  # no retry
    except httpx.HTTPError as exc:
        return Outcome(attempt, error=_describe(exc), retry_in=retry_in)
    finally:
        if own:
            http.close()
    if 200 <= response.status_code < 300:
        return Outcome(attempt, delivered=True, status_code=response.status_code)
    return Outcome(attempt, status_code=response.status_code, retry_in=retry_in)


def webhook_client(settings: Settings) -> httpx.Client:
    """A client that connects only to addresses the callback rules allow.

    The URL was checked just before, but the name is resolved again to connect and
    may answer differently now; the transport checks the address it connects to.
    """
    policy = AddressPolicy(allow_private=settings.allow_private_callbacks)
    return httpx.Client(
        transport=GuardedTransport(policy),
        timeout=settings.webhook_timeout,
        follow_redirects=False,
    )


def _describe(exc: BaseException) -> str:
    """A one-line reason without stack trace or file paths."""
    if isinstance(exc, DragomanError):
        return _clip(f"{exc.code}: {exc.message}")
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return _clip(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
