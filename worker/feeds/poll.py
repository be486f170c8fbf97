"""Polling feeds: fetch (conditionally), parse, and make one job per new item.

One ``FeedPoller.poll`` holds the feed's lease, fetches it with its ETag and
Last-Modified (a 304 ends the poll), parses it with feedparser, claims the first
``feed_max_items_per_poll`` items not recorded yet (unique by GUID, else link) and
makes each a job through ``service.jobs.submit_job``, so quotas and limits apply. A
failed poll backs off; a limit reached while making jobs releases the item for the
next poll.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import feedparser

from service import feeds, jobs
from service.auth import Principal, Unauthorized, principal_for
from service.db import Database
from service.errors import DragomanError, FetchError, NotAFeed, PermanentError, TransientError
from service.limits import Limiter
from service.models import Feed, FeedItem, utcnow
from service.queue import JobQueue
from service.schemas import JobOptions
from service.settings import Settings
from worker.pipeline.sources.fetch import FEED_TYPES, Fetcher

log = logging.getLogger("dragoman.feeds")

# A poll holds its feed this long at most (a fetch takes fetch_timeout at most).
LEASE_MARGIN_SECONDS = 120


@dataclass
class PollResult:
    """What one poll did."""

    feed_id: str
    not_modified: bool = False
    jobs: list[str] = field(default_factory=list)
    waiting: int = 0  # new items left for later polls (or another poll's, unfinished)
    error: DragomanError | None = None


class FeedPoller:
    """Polls feeds for one worker process: one fetcher, one job queue, one limiter."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        queue: JobQueue,
        limiter: Limiter,
        fetcher: Fetcher | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.queue = queue
        self.limiter = limiter
        self.fetcher = fetcher or Fetcher.from_settings(settings)

    def poll(self, feed_id: str, *, force: bool = False) -> PollResult | None:
        """Poll a due feed once; None when it is not due or another poll holds it."""
        feed = feeds.take_poll(self.db, feed_id, lease_seconds=self._lease_seconds(), force=force)
        if feed is None:
            return None
        result = PollResult(feed.id)
        try:
            principal = principal_for(self.db, self.settings, feed.tenant, feed.key_id)
        except Unauthorized as exc:
            self._finish(feed, result, error=exc, status=feeds.PAUSED)
            return result
        try:
            fetched = self.fetcher.fetch(
                feed.url, accept=FEED_TYPES, etag=feed.etag, last_modified=feed.last_modified
            )
            if fetched.not_modified:
                result.not_modified = True
                self._finish(feed, result)
                return result
            parsed = parse_feed(fetched.body, fetched.content_type, fetched.charset)
        except (FetchError, NotAFeed) as exc:
            log.warning("feed %s: %s: %s", feed.id, exc.code, exc.message)
            self._finish(feed, result, error=exc, backoff=True)
            return result
        limit_error = self._make_jobs(feed, parsed, principal, result)
        # With items left over, the next poll must fetch the feed again, not get a 304.
        complete = limit_error is None and result.waiting == 0
        self._finish(
            feed,
            result,
            error=limit_error,
            etag=fetched.etag if complete else None,
            last_modified=fetched.last_modified if complete else None,
            validators=True,
        )
        return result

    def _lease_seconds(self) -> float:
        return self.settings.fetch_timeout + LEASE_MARGIN_SECONDS

    def _make_jobs(
        self, feed: Feed, entries: list[feeds.NewItem], principal: Principal, result: PollResult
    ) -> TransientError | None:
        """Turn new (and unfinished) items into jobs, up to the per-poll limit."""
        known = feeds.known_keys(self.db, feed.id, [e.key for e in entries])
        options = JobOptions.model_validate(feed.options)
        budget = self.settings.feed_max_items_per_poll
        # A claim without a job is abandoned once its poll's lease would have run out.
        abandoned = utcnow() - dt.timedelta(seconds=self._lease_seconds())
        for entry in entries:
            row = known.get(entry.key)
            if row is not None and (row.job_id is not None or row.error_code is not None):
                continue  # made already, or refused for good
            if row is not None and row.created_at > abandoned:
                result.waiting += 1  # being made by another poll, or left by a dead one
                continue
            if budget == 0:
                result.waiting += 1
                continue
            if row is not None:  # claimed by a poll that did not get to make its job
                item_id: int | None = row.id
                entry = feeds.NewItem(row.key, row.guid, row.link, row.title)
            else:
                item_id = feeds.claim_item(self.db, feed.id, entry)
            if item_id is None:
                continue  # another poll claimed it a moment ago
            budget -= 1
            error = self._make_job(feed, options, principal, entry, item_id, result)
            if error is not None:
                return error
        return None

    def _make_job(
        self,
        feed: Feed,
        options: JobOptions,
        principal: Principal,
        entry: feeds.NewItem,
        item_id: int,
        result: PollResult,
    ) -> TransientError | None:
        if entry.link is None:
            feeds.record_item(
                self.db,
                item_id,
                error_code="no_link",
                error_message="The item has no link to fetch the article from.",
            )
            return None
        try:
            request = feeds.item_request(options, entry.link, entry.title)
            submission = jobs.submit_job(
                self.db,
                self.queue,
                self.limiter,
                self.settings,
                principal,
                request,
                idempotency_key=f"feed:{feed.id}:{entry.key}",
            )
        except TransientError as exc:
            # Not now (quota, queue full, broker down): unclaimed, so a later poll retries.
            log.warning("feed %s: item %s waits: %s", feed.id, entry.link, exc.code)
            self._release(item_id)
            return exc
        except PermanentError as exc:  # also a link that cannot make a job (InvalidInput)
            feeds.record_item(self.db, item_id, error_code=exc.code, error_message=exc.message)
            return None
        feeds.record_item(self.db, item_id, job_id=submission.job.id)
        if not submission.replayed:  # else made by a poll that died before noting it
            result.jobs.append(submission.job.id)
        return None

    def _release(self, item_id: int) -> None:
        with self.db.session() as session:
            item = session.get(FeedItem, item_id)
            if item is not None and item.job_id is None:
                session.delete(item)
                session.commit()

    def _finish(
        self,
        feed: Feed,
        result: PollResult,
        *,
        error: DragomanError | None = None,
        backoff: bool = False,
        status: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        validators: bool = False,
    ) -> None:
        result.error = error
        failures = feed.failures + 1 if backoff else 0
        minutes = min(
            feed.interval_minutes * 2**failures, max(self.settings.feed_backoff_max_minutes, 1)
        )
        feeds.finish_poll(
            self.db,
            feed.id,
            wait=dt.timedelta(minutes=minutes),
            failures=failures,
            status=status or (feeds.FAILING if backoff else feeds.ACTIVE),
            etag=etag,
            last_modified=last_modified,
            validators=validators,
            error_code=error.code if error else None,
            error_message=error.message if error else None,
        )


def parse_feed(body: bytes, content_type: str, charset: str | None) -> list[feeds.NewItem]:
    """The items of an RSS or Atom document, in its order, each once (first wins).

    Raises:
        NotAFeed: the document is not a feed, or is too broken to read any item from.
    """
    header = content_type + (f"; charset={charset}" if charset else "")
    parsed = feedparser.parse(body, response_headers={"content-type": header} if header else {})
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception")
        raise NotAFeed(
            "The URL does not serve an RSS or Atom feed"
            + (f" ({type(reason).__name__}: {reason})." if reason else ".")
        )
    items: list[feeds.NewItem] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        guid = _text(entry.get("id"))
        link = _link(entry)
        key = feeds.item_key(guid, link)
        if key is None or key in seen:
            continue
        seen.add(key)
        items.append(feeds.NewItem(key=key, guid=guid, link=link, title=_text(entry.get("title"))))
    return items


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None


def _link(entry: Any) -> str | None:
    link = _text(entry.get("link"))
    if link and link.lower().startswith(("http://", "https://")):
        return link
    return None
