"""Feeds a tenant follows: creating and showing them (API), and the store of their polls.

A feed is polled every ``interval_minutes`` by a worker (``worker.feeds``). Each
new item (by GUID, else by link) is recorded in ``feed_items`` *before* its job
is made; the table's unique (feed, key) constraint makes that insert the claim,
so two workers polling at once, or a poll repeated after a restart, make one job
per item. A poll holds its feed with a lease (``lease_until``), so a feed is
polled by one worker at a time; a poll that dies loses its lease at expiry.
An item whose job could not be made yet (the worker died in between, or a limit
was reached) has no job and no error: the next poll makes it, with an
idempotency key so that a job made just before a crash is found, not repeated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from service import jobs
from service.auth import Principal
from service.db import Database
from service.errors import Conflict, InvalidInput, NotFound
from service.models import Feed, FeedItem, utcnow
from service.schemas import (
    ErrorInfo,
    FeedCreate,
    FeedItemOut,
    FeedList,
    FeedOut,
    JobCreate,
    JobOptions,
)
from service.settings import Settings

ACTIVE, FAILING, PAUSED = "active", "failing", "paused"
# Items shown by GET /v1/feeds/{id}, newest first.
ITEMS_SHOWN = 50


class FeedLimitReached(Conflict):
    code = "feed_limit"


# -- the API side ----------------------------------------------------------------------


def create_feed(
    db: Database, settings: Settings, principal: Principal, request: FeedCreate
) -> Feed:
    """Check and store a feed; its first poll is due at once.

    Raises:
        FetchRefused: the URL is not one the service may fetch.
        InvalidInput, UnsupportedLanguage: the options would make invalid jobs.
        FeedLimitReached: the tenant follows DRAGOMAN_MAX_FEEDS_PER_TENANT feeds.
    """
    if request.interval_minutes < settings.feed_min_interval_minutes:
        raise InvalidInput(
            f"interval_minutes is at least {settings.feed_min_interval_minutes} "
            "(DRAGOMAN_FEED_MIN_INTERVAL_MINUTES)."
        )
    options = JobOptions.model_validate(request.model_dump(include=set(JobOptions.model_fields)))
    # The URL passes the same checks a job's URL does, the options a job's options.
    jobs.check_job(db, settings, principal, item_request(options, request.url, None))
    with db.session() as session:
        count = session.scalar(select(func.count()).where(Feed.tenant == principal.tenant))
        if int(count or 0) >= settings.max_feeds_per_tenant:
            raise FeedLimitReached(
                f"This tenant follows {count} feeds, the most allowed "
                "(DRAGOMAN_MAX_FEEDS_PER_TENANT); delete one first."
            )
        now = utcnow()
        feed = Feed(
            id=str(uuid.uuid4()),
            tenant=principal.tenant,
            key_id=principal.key_id,
            url=request.url,
            options=options.model_dump(mode="json"),
            interval_minutes=request.interval_minutes,
            status=ACTIVE,
            failures=0,
            next_poll_at=now,
            created_at=now,
            updated_at=now,
        )
        session.add(feed)
        session.commit()
        return feed


def get_feed(db: Database, feed_id: str, *, tenant: str | None = None) -> Feed:
    """A feed; with ``tenant``, only that tenant's (another's is not found either)."""
    with db.session() as session:
        feed = session.get(Feed, feed_id)
        if feed is None or (tenant is not None and feed.tenant != tenant):
            raise NotFound(f"No feed with id {feed_id!r}.")
        return feed


def list_feeds(db: Database, tenant: str) -> list[Feed]:
    with db.session() as session:
        return list(
            session.scalars(
                select(Feed).where(Feed.tenant == tenant).order_by(Feed.created_at, Feed.id)
            )
        )


def delete_feed(db: Database, feed_id: str, *, tenant: str) -> None:
    """Stop following a feed; the jobs it made stay."""
    get_feed(db, feed_id, tenant=tenant)
    with db.session() as session:
        session.execute(delete(FeedItem).where(FeedItem.feed_id == feed_id))
        session.execute(delete(Feed).where(Feed.id == feed_id))
        session.commit()


def describe(db: Database, feed: Feed) -> FeedOut:
    """The public view of a feed, with its latest items and their jobs."""
    with db.session() as session:
        seen = session.scalar(select(func.count()).where(FeedItem.feed_id == feed.id))
        items = list(
            session.scalars(
                select(FeedItem)
                .where(FeedItem.feed_id == feed.id)
                .order_by(FeedItem.created_at.desc(), FeedItem.id.desc())
                .limit(ITEMS_SHOWN)
            )
        )
    return FeedOut(
        id=feed.id,
        url=feed.url,
        status=feed.status,  # type: ignore[arg-type]
        error=ErrorInfo(code=feed.error_code, message=feed.error_message or "")
        if feed.error_code
        else None,
        interval_minutes=feed.interval_minutes,
        options=JobOptions.model_validate(feed.options),
        last_polled_at=feed.last_polled_at,
        next_poll_at=feed.next_poll_at,
        items_seen=int(seen or 0),
        items=[
            FeedItemOut(
                guid=item.guid,
                link=item.link,
                title=item.title,
                job_id=item.job_id,
                error=ErrorInfo(code=item.error_code, message=item.error_message or "")
                if item.error_code
                else None,
                created_at=item.created_at,
            )
            for item in items
        ],
        created_at=feed.created_at,
    )


def describe_all(db: Database, feeds: list[Feed]) -> FeedList:
    return FeedList(items=[describe(db, feed) for feed in feeds])


def item_request(options: JobOptions, url: str, title: str | None) -> JobCreate:
    """The job an item of a feed with ``options`` becomes.

    Raises:
        InvalidInput: the URL or title cannot make a job (empty, too long).
    """
    try:
        return JobCreate.model_validate({**options.model_dump(), "url": url, "title": title})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"The item cannot be a job: {problems}") from exc


# -- the worker side: polls, items ----------------------------------------------------


@dataclass(frozen=True)
class NewItem:
    key: str
    guid: str | None
    link: str | None
    title: str | None


def item_key(guid: str | None, link: str | None) -> str | None:
    """What identifies an item across polls: its GUID, else its link (hashed to fit)."""
    identity = guid.strip() if guid and guid.strip() else (link or "").strip()
    if not identity:
        return None
    kind = "guid" if guid and guid.strip() else "link"
    return hashlib.sha256(f"{kind}:{identity}".encode()).hexdigest()


def due_feeds(db: Database, *, now: dt.datetime | None = None, limit: int = 100) -> list[str]:
    """Ids of feeds whose next poll is due and that no poll holds."""
    now = now or utcnow()
    with db.session() as session:
        return list(
            session.scalars(
                select(Feed.id)
                .where(
                    Feed.status != PAUSED,
                    Feed.next_poll_at <= now,
                    or_(Feed.lease_until.is_(None), Feed.lease_until < now),
                )
                .order_by(Feed.next_poll_at)
                .limit(limit)
            )
        )


def take_poll(
    db: Database, feed_id: str, *, lease_seconds: float, force: bool = False
) -> Feed | None:
    """Hold a due feed for one poll; None when it is not due, paused, or held by another poll.

    ``force`` polls a feed that is not due yet (still never one another poll holds).
    """
    now = utcnow()
    conditions = [
        Feed.id == feed_id,
        Feed.status != PAUSED,
        or_(Feed.lease_until.is_(None), Feed.lease_until < now),
    ]
    if not force:
        conditions.append(Feed.next_poll_at <= now)
    with db.session() as session:
        result = session.execute(
            update(Feed)
            .where(*conditions)
            .values(lease_until=now + dt.timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        return session.get(Feed, feed_id, populate_existing=True)


def known_keys(db: Database, feed_id: str, keys: list[str]) -> dict[str, FeedItem]:
    """The items of ``keys`` the feed has recorded already."""
    if not keys:
        return {}
    with db.session() as session:
        rows = session.scalars(
            select(FeedItem).where(FeedItem.feed_id == feed_id, FeedItem.key.in_(keys))
        )
        return {row.key: row for row in rows}


def claim_item(db: Database, feed_id: str, item: NewItem) -> int | None:
    """Record a new item; its id, or None when another poll recorded it first."""
    with db.session() as session:
        row = FeedItem(
            feed_id=feed_id,
            key=item.key,
            guid=item.guid,
            link=item.link,
            title=item.title,
            created_at=utcnow(),
        )
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return None
        return row.id


def record_item(
    db: Database,
    item_id: int,
    *,
    job_id: str | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> None:
    with db.session() as session:
        session.execute(
            update(FeedItem)
            .where(FeedItem.id == item_id)
            .values(job_id=job_id, error_code=error_code, error_message=error_message)
        )
        session.commit()


def finish_poll(
    db: Database,
    feed_id: str,
    *,
    wait: dt.timedelta,
    failures: int,
    status: str = ACTIVE,
    etag: str | None = None,
    last_modified: str | None = None,
    validators: bool = False,
    error_code: str | None = None,
    error_message: str | None = None,
) -> None:
    """Record a poll's outcome and release the feed until ``wait`` from now.

    ``validators``: store ``etag`` and ``last_modified`` for the next conditional GET.
    """
    now = utcnow()
    values: dict[str, object] = {
        "last_polled_at": now,
        "next_poll_at": now + wait,
        "failures": failures,
        "status": status,
        "error_code": error_code,
        "error_message": error_message,
        "lease_until": None,
        "updated_at": now,
    }
    if validators:
        values.update(etag=etag, last_modified=last_modified)
    with db.session() as session:
        session.execute(update(Feed).where(Feed.id == feed_id).values(**values))
        session.commit()
