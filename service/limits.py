"""Usage limits: writes and reads per minute and article characters per day, per API key.

Fixed windows (the minute, the UTC day) counted atomically: in Redis when the
broker is Redis (INCRBY and EXPIREAT in one transaction), else in the
``usage_counters`` table (one INSERT ... ON CONFLICT DO UPDATE ... RETURNING).
The errors a caller sees, each carrying ``retry_after`` (seconds):

    TransientError
    ├── RateLimited           (429 rate_limited)     too many writes, or reads, this minute
    ├── QuotaExceeded         (429 quota_exceeded)   too many characters today
    └── QueueFull             (503 queue_full)       too many jobs waiting
    PermanentError
    └── PayloadTooLarge       (413 payload_too_large) request body over the limit
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from sqlalchemy import delete

from service.auth import Principal
from service.db import Database, insert_for
from service.errors import PermanentError, TransientError
from service.models import UsageCounter, utcnow
from service.settings import Settings

log = logging.getLogger("dragoman.limits")

MINUTE = 60
DAY = 86_400
QUEUE_FULL_RETRY_AFTER = 30


class RateLimited(TransientError, code="rate_limited", status_code=429):
    """Over the key's requests per minute."""


class QuotaExceeded(TransientError, code="quota_exceeded", status_code=429):
    """Over the key's characters per day."""


class QueueFull(TransientError, code="queue_full"):
    """Too many jobs waiting."""


class PayloadTooLarge(PermanentError, code="payload_too_large", status_code=413):
    """A request body over the size limit."""


class CounterUnavailable(Exception):
    """The counter's store cannot be reached."""


class Counter(Protocol):
    """Adds to a named count that disappears at ``expires_at`` (Unix time)."""

    def add(self, key: str, amount: int, expires_at: int) -> int:
        """Add ``amount`` (may be negative) and return the new count."""
        ...

    def close(self) -> None: ...


class RedisCounter:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def add(self, key: str, amount: int, expires_at: int) -> int:
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.incrby(f"dragoman:usage:{key}", amount)
            pipe.expireat(f"dragoman:usage:{key}", expires_at)
            count, _ = pipe.execute()
        except redis.RedisError as exc:
            raise CounterUnavailable(str(exc)) from exc
        return int(count)

    def close(self) -> None:
        self.client.close()


class DatabaseCounter:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, key: str, amount: int, expires_at: int) -> int:
        expires = dt.datetime.fromtimestamp(expires_at, dt.UTC)
        with self.db.session() as session:
            statement: Any = insert_for(session)(UsageCounter).values(
                key=key, count=amount, expires_at=expires
            )
            statement = statement.on_conflict_do_update(
                index_elements=["key"],
                set_={"count": UsageCounter.count + statement.excluded.count},
            ).returning(UsageCounter.count)
            count = int(session.execute(statement).scalar_one())
            if count == amount:
                # A new window began: a good moment to drop the finished ones.
                session.execute(delete(UsageCounter).where(UsageCounter.expires_at < utcnow()))
            session.commit()
        return count

    def close(self) -> None:
        pass


def make_counter(settings: Settings, db: Database) -> Counter:
    """Redis when the broker is Redis (shared by every API process), else the database."""
    if settings.broker_url.startswith(("redis://", "rediss://")):
        client = redis.Redis.from_url(
            settings.broker_url,
            socket_connect_timeout=settings.broker_publish_timeout,
            socket_timeout=settings.broker_publish_timeout,
        )
        return RedisCounter(client)
    return DatabaseCounter(db)


@dataclass(frozen=True)
class Charge:
    """Characters counted against a day's quota; refunded if the job is not kept."""

    key: str
    amount: int
    expires_at: int


class Limiter:
    """Checks and counts a principal's usage against its limits."""

    def __init__(self, counter: Counter, clock: Callable[[], float] = time.time) -> None:
        self.counter = counter
        self.clock = clock

    def check_rate(self, principal: Principal) -> None:
        """Count one request.

        Raises:
            RateLimited: over the principal's requests per minute.
        """
        key, expires_at, retry_after = self._window(f"rpm:{principal.subject}", MINUTE)
        count = self._add(key, 1, expires_at)
        if count > principal.requests_per_minute:
            raise RateLimited(
                f"More than {principal.requests_per_minute} requests this minute; "
                f"try again in {retry_after} s.",
                limit=principal.requests_per_minute,
                retry_after=retry_after,
            )

    def check_reads(self, principal: Principal, per_minute: int) -> None:
        """Count one read (a GET), in a window of its own; ``per_minute`` 0 counts nothing.

        A page or a client following its jobs reads far more often than it submits, so
        reads never use up the requests a key has for submissions.

        Raises:
            RateLimited: over ``per_minute`` reads this minute.
        """
        if per_minute <= 0:
            return
        key, expires_at, retry_after = self._window(f"reads:{principal.subject}", MINUTE)
        if self._add(key, 1, expires_at) > per_minute:
            raise RateLimited(
                f"More than {per_minute} reads this minute (DRAGOMAN_READ_RATE_LIMIT_PER_MINUTE); "
                f"try again in {retry_after} s.",
                limit=per_minute,
                retry_after=retry_after,
            )

    def charge_chars(self, principal: Principal, chars: int) -> Charge:
        """Count an article's characters against today's quota (UTC).

        Raises:
            QuotaExceeded: the article does not fit in what is left today; nothing is counted.
        """
        key, expires_at, retry_after = self._window(f"cpd:{principal.subject}", DAY)
        count = self._add(key, chars, expires_at)
        if count > principal.chars_per_day:
            self._add(key, -chars, expires_at)
            left = max(principal.chars_per_day - (count - chars), 0)
            raise QuotaExceeded(
                f"This article has {chars} characters and {left} of today's "
                f"{principal.chars_per_day} are left; the quota resets in {retry_after} s "
                "(midnight UTC).",
                limit=principal.chars_per_day,
                retry_after=retry_after,
            )
        return Charge(key=key, amount=chars, expires_at=expires_at)

    def refund(self, charge: Charge) -> None:
        self._add(charge.key, -charge.amount, charge.expires_at)

    def _window(self, name: str, length: int) -> tuple[str, int, int]:
        """The counter key of the current window, when it ends, and seconds until then."""
        now = self.clock()
        index = int(now // length)
        ends = (index + 1) * length
        return f"{name}:{index}", ends, max(1, math.ceil(ends - now))

    def _add(self, key: str, amount: int, expires_at: int) -> int:
        try:
            return self.counter.add(key, amount, expires_at)
        except CounterUnavailable as exc:
            # Fail open: the limits guard the machine, and with Redis down no job
            # can be queued anyway; refusing reads too would only add an outage.
            log.warning("usage counters unavailable, request not limited: %s", exc)
            return 0
