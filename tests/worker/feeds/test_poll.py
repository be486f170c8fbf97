"""Feed polling against a local feed server whose feed changes between polls.

Jobs are made through the real store, limiter and (embedded) broker, as the API
makes them; the pollers fetch over HTTP from 127.0.0.1 (allowed explicitly).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from service import feeds, jobs, store, tenants
from service.auth import Principal, principal_for
from service.contract import JobStatus
from service.db import Database, upgrade_database
from service.egress import AddressPolicy
from service.limits import DatabaseCounter, Limiter
from service.models import Feed, FeedItem, Job
from service.queue import JobQueue
from service.schemas import FeedCreate
from service.settings import Settings
from tests.conftest import make_settings
from tests.fixtures.site import LocalSite, Reply, Request
from worker.feeds.poll import FeedPoller, parse_feed
from worker.pipeline.sources.fetch import Fetcher, FetchLimits

NOW = dt.datetime(2025, 11, 4, 9, 0, tzinfo=dt.UTC)


@dataclass
class Entry:
    guid: str | None
    title: str
    link: str | None


def rss(entries: list[Entry]) -> bytes:
    items = "".join(
        "<item>"
        + (f'<guid isPermaLink="false">{e.guid}</guid>' if e.guid else "")
        + f"<title>{e.title}</title>"
        + (f"<link>{e.link}</link>" if e.link else "")
        + f"<pubDate>{format_datetime(NOW)}</pubDate></item>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Caucasus Wire</title><link>https://caucasus.example/</link>{items}"
        "</channel></rss>"
    ).encode()


def atom(entries: list[Entry]) -> bytes:
    items = "".join(
        f"<entry><id>{e.guid}</id><title>{e.title}</title>"
        f'<link href="{e.link}"/><updated>2025-11-04T09:00:00Z</updated></entry>'
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>Caucasus Wire</title><id>urn:cw</id><updated>2025-11-04T09:00:00Z</updated>"
        f"{items}</feed>"
    ).encode()


@dataclass
class FeedServer:
    """Serves ``body`` at /feed.xml with an ETag; answers 304 to a matching If-None-Match."""

    site: LocalSite
    body: bytes = b""
    content_type: str = "application/rss+xml"
    version: int = 0
    hook: list[threading.Event] = field(default_factory=list)

    def publish(self, body: bytes, content_type: str = "application/rss+xml") -> None:
        self.body, self.content_type = body, content_type
        self.version += 1

    def reply(self, request: Request) -> Reply:
        etag = f'"v{self.version}"'
        if request.headers.get("if-none-match") == etag:
            return Reply(status=304, headers={"ETag": etag})
        return Reply(headers={"Content-Type": self.content_type, "ETag": etag}, body=self.body)

    @property
    def url(self) -> str:
        return self.site.url("/feed.xml")

    def article(self, n: int) -> str:
        return self.site.url(f"/news/{n}")


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with LocalSite() as site:
        feed = FeedServer(site)
        site.route("/feed.xml", feed.reply)
        yield feed


@pytest.fixture
def feed_settings(tmp_path: Path) -> Settings:
    s = make_settings(
        tmp_path / "data",
        fetch_allowed_networks=[ipaddress.ip_network("127.0.0.0/8")],
        feed_min_interval_minutes=1,
        feed_max_items_per_poll=10,
        fetch_timeout=5.0,
    )
    s.ensure_dirs()
    return s


@pytest.fixture
def feed_db(feed_settings: Settings) -> Iterator[Database]:
    upgrade_database(feed_settings.effective_database_url, feed_settings.data_dir)
    database = Database(feed_settings.effective_database_url)
    yield database
    database.dispose()


@pytest.fixture
def principal(feed_db: Database, feed_settings: Settings) -> Principal:
    key = tenants.create_key(feed_db, "newsroom")
    return principal_for(feed_db, feed_settings, "newsroom", key.record.id)


def make_poller(db: Database, settings: Settings) -> FeedPoller:
    policy = AddressPolicy(allowed_networks=tuple(settings.fetch_allowed_networks))
    fetcher = Fetcher(FetchLimits(timeout=settings.fetch_timeout), policy)
    return FeedPoller(db, settings, JobQueue(settings), Limiter(DatabaseCounter(db)), fetcher)


def follow(db: Database, settings: Settings, principal: Principal, url: str) -> str:
    request = FeedCreate(url=url, target_languages=["az", "fa"], interval_minutes=10)
    return feeds.create_feed(db, settings, principal, request).id


def feed_jobs(db: Database) -> dict[str, Job]:
    """Jobs by the URL they fetch."""
    with db.session() as session:
        rows = list(session.scalars(select(Job)))
    assert len({row.source_url for row in rows}) == len(rows), "two jobs for one item"
    return {row.source_url or "": row for row in rows}


def feed_row(db: Database, feed_id: str) -> Feed:
    return feeds.get_feed(db, feed_id)


def items(db: Database, feed_id: str) -> list[FeedItem]:
    with db.session() as session:
        return list(session.scalars(select(FeedItem).where(FeedItem.feed_id == feed_id)))


# -- polls ----------------------------------------------------------------------------


def test_new_items_become_jobs_once(
    server: FeedServer, feed_db: Database, feed_settings: Settings, principal: Principal
) -> None:
    first = [Entry(f"cw-{n}", f"Story {n}", server.article(n)) for n in (1, 2, 3)]
    server.publish(rss(first))
    feed_id = follow(feed_db, feed_settings, principal, server.url)
    poller = make_poller(feed_db, feed_settings)

    result = poller.poll(feed_id)
    assert result is not None and result.error is None and len(result.jobs) == 3
    made = feed_jobs(feed_db)
    assert set(made) == {e.link for e in first}
    job = made[server.article(1)]
    assert (job.source_kind, job.title, job.tenant) == ("url", "Story 1", "newsroom")
    assert job.target_languages == ["az", "fa"] and job.key_id == principal.key_id
    feed = feed_row(feed_db, feed_id)
    assert feed.status == "active" and feed.etag == '"v1"' and feed.lease_until is None
    assert feed.next_poll_at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=9)
    # Not due again yet: nothing happens.
    assert poller.poll(feed_id) is None

    # Unchanged: a conditional GET, answered 304.
    again = poller.poll(feed_id, force=True)
    assert again is not None and again.not_modified and again.jobs == []
    assert server.site.requests[-1].headers["if-none-match"] == '"v1"'

    # One new item, one edited item (same GUID), one GUID twice in the document.
    edited = [Entry("cw-2", "Story 2 (updated)", server.article(2))]
    new = Entry("cw-4", "Story 4", server.article(4))
    server.publish(rss([new, new, *edited, first[0], first[2]]))
    third = poller.poll(feed_id, force=True)
    assert third is not None and len(third.jobs) == 1
    assert set(feed_jobs(feed_db)) == {*(e.link for e in first), new.link}
    assert len(items(feed_db, feed_id)) == 4


def test_atom_feeds_and_items_without_guid(
    server: FeedServer, feed_db: Database, feed_settings: Settings, principal: Principal
) -> None:
    server.publish(atom([Entry(f"urn:cw:{n}", f"Atom {n}", server.article(n)) for n in (1, 2)]))
    feed_id = follow(feed_db, feed_settings, principal, server.url)
    poller = make_poller(feed_db, feed_settings)
    result = poller.poll(feed_id)
    assert result is not None and len(result.jobs) == 2
    # RSS without GUIDs: the link identifies the item.
    server.publish(
        rss([Entry(None, "Linked", server.article(9)), Entry(None, "Again", server.article(9))])
    )
    result = poller.poll(feed_id, force=True)
    assert result is not None and len(result.jobs) == 1


def test_a_malformed_feed_backs_off_and_recovers(
    server: FeedServer, feed_db: Database, feed_settings: Settings, principal: Principal
) -> None:
    server.publish(b"<html><body>We moved our RSS, sorry</body></html>", "text/html")
    feed_id = follow(feed_db, feed_settings, principal, server.url)
    poller = make_poller(feed_db, feed_settings)
    for failures in (1, 2):
        result = poller.poll(feed_id, force=True)
        assert result is not None and result.error is not None
        assert result.error.code == "not_a_feed"
        feed = feed_row(feed_db, feed_id)
        assert (feed.status, feed.failures, feed.error_code) == ("failing", failures, "not_a_feed")
        wait = feed.next_poll_at - (feed.last_polled_at or NOW)
        assert wait == dt.timedelta(minutes=10 * 2**failures)
    server.publish(rss([Entry("cw-1", "Back", server.article(1))]))
    result = poller.poll(feed_id, force=True)
    assert result is not None and result.error is None and len(result.jobs) == 1
    feed = feed_row(feed_db, feed_id)
    assert (feed.status, feed.failures, feed.error_code) == ("active", 0, None)


def test_fetch_errors_back_off_too(
    server: FeedServer, feed_db: Database, feed_settings: Settings, principal: Principal
) -> None:
    feed_id = follow(feed_db, feed_settings, principal, server.site.url("/gone.xml"))
    result = make_poller(feed_db, feed_settings).poll(feed_id)
    assert result is not None and result.error is not None and result.error.code == "fetch_failed"
    assert feed_row(feed_db, feed_id).status == "failing"


def test_a_flood_is_taken_a_few_items_per_poll(
    server: FeedServer, feed_db: Database, feed_settings: Settings, principal: Principal
) -> None:
    server.publish(rss([Entry(f"cw-{n}", f"Story {n}", server.article(n)) for n in range(25)]))
    feed_id = follow(feed_db, feed_settings, principal, server.url)
    poller = make_poller(feed_db, feed_settings)
    counts = []
    for _ in range(3):
        result = poller.poll(feed_id, force=True)
        assert result is not None
        counts.append((len(result.jobs), result.waiting))
    assert counts == [(10, 15), (10, 5), (5, 0)]
    assert len(feed_jobs(feed_db)) == 25


def test_two_pollers_at_once_make_one_job_per_item(
    server: FeedServer, feed_db: Database, feed_settings: Settings, principal: Principal
) -> None:
    """Two workers poll the same feed at the same moment (the first one's lease lapsed)."""
    entries = [Entry(f"cw-{n}", f"Story {n}", server.article(n)) for n in range(8)]
    server.publish(rss(entries))
    feed_id = follow(feed_db, feed_settings, principal, server.url)
    both_fetching = threading.Barrier(2, timeout=10)
    first_fetching = threading.Event()

    def reply(request: Request) -> Reply:
        if not first_fetching.is_set():
            # The first poll is slow: its lease runs out while it fetches.
            with feed_db.session() as session:
                session.execute(update(Feed).where(Feed.id == feed_id).values(lease_until=None))
                session.commit()
            first_fetching.set()
        both_fetching.wait()
        return server.reply(request)

    server.site.route("/feed.xml", reply)
    results: list[object] = []

    def run() -> None:
        results.append(make_poller(feed_db, feed_settings).poll(feed_id, force=True))

    first = threading.Thread(target=run)
    first.start()
    assert first_fetching.wait(10)
    second = threading.Thread(target=run)
    second.start()
    first.join(30)
    second.join(30)
    assert len(results) == 2 and all(r is not None for r in results)
    assert set(feed_jobs(feed_db)) == {e.link for e in entries}
    assert sum(len(r.jobs) for r in results) == len(entries)  # type: ignore[attr-defined]
    assert all(item.job_id for item in items(feed_db, feed_id))


def test_one_poll_holds_the_feed(
    server: FeedServer, feed_db: Database, feed_settings: Settings, principal: Principal
) -> None:
    server.publish(rss([Entry("cw-1", "Story", server.article(1))]))
    feed_id = follow(feed_db, feed_settings, principal, server.url)
    assert feeds.take_poll(feed_db, feed_id, lease_seconds=60) is not None
    assert make_poller(feed_db, feed_settings).poll(feed_id, force=True) is None
    assert feeds.due_feeds(feed_db) == []
    assert server.site.requests == []


def test_a_restart_in_the_middle_makes_no_duplicate(
    server: FeedServer, feed_db: Database, feed_settings: Settings, principal: Principal
) -> None:
    """A poller died after claiming items: one before making its job, one just after."""
    entries = [Entry(f"cw-{n}", f"Story {n}", server.article(n)) for n in (1, 2, 3)]
    server.publish(rss(entries))
    feed_id = follow(feed_db, feed_settings, principal, server.url)
    parsed = parse_feed(rss(entries), "application/rss+xml", None)
    # Item 1: claimed, then the worker died.
    assert feeds.claim_item(feed_db, feed_id, parsed[0]) is not None
    # Item 2: claimed and its job made, then the worker died before noting the job.
    assert feeds.claim_item(feed_db, feed_id, parsed[1]) is not None
    feed = feed_row(feed_db, feed_id)
    request = feeds.item_request(
        feeds.JobOptions.model_validate(feed.options), entries[1].link or "", entries[1].title
    )
    made = jobs.submit_job(
        feed_db,
        JobQueue(feed_settings),
        Limiter(DatabaseCounter(feed_db)),
        feed_settings,
        principal,
        request,
        idempotency_key=f"feed:{feed_id}:{parsed[1].key}",
    ).job

    poller = make_poller(feed_db, feed_settings)
    # While the dead poll's lease could still be running, its claims are left alone.
    result = poller.poll(feed_id)
    assert result is not None and result.jobs != [] and len(feed_jobs(feed_db)) == 2
    # Once it has run out (the worker restarted meanwhile), they are taken over.
    with feed_db.session() as session:
        session.execute(
            update(FeedItem).values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )
        session.commit()
    result = poller.poll(feed_id, force=True)
    assert result is not None and result.error is None
    assert set(feed_jobs(feed_db)) == {e.link for e in entries}
    by_link = {item.link: item for item in items(feed_db, feed_id)}
    assert by_link[entries[1].link].job_id == made.id
    assert result.jobs == [by_link[entries[0].link].job_id]  # item 2's job was made before


# -- what a feed's items may become ---------------------------------------------------


def test_a_feeds_jobs_count_against_its_tenant(
    server: FeedServer, tmp_path: Path, feed_db: Database, feed_settings: Settings
) -> None:
    key = tenants.create_key(feed_db, "smalldesk", chars_per_day=25)
    principal = principal_for(feed_db, feed_settings, "smalldesk", key.record.id)
    server.publish(
        rss([Entry(f"cw-{n}", f"Headline number {n}", server.article(n)) for n in (1, 2)])
    )
    feed_id = follow(feed_db, feed_settings, principal, server.url)
    result = make_poller(feed_db, feed_settings).poll(feed_id)
    assert result is not None and len(result.jobs) == 1  # 17 characters of title each
    assert result.error is not None and result.error.code == "quota_exceeded"
    feed = feed_row(feed_db, feed_id)
    assert feed.status == "active" and feed.error_code == "quota_exceeded"
    assert feed.etag is None  # fetched again next time, so the waiting item is seen
    assert len(items(feed_db, feed_id)) == 1  # the second item was not kept: it waits


def test_items_that_cannot_be_jobs_are_recorded_once(
    server: FeedServer, feed_db: Database, feed_settings: Settings, principal: Principal
) -> None:
    server.publish(
        rss(
            [
                Entry("cw-int", "Intranet", "http://10.1.2.3/secret"),
                Entry("cw-nolink", "No link", None),
                Entry("cw-ok", "Fine", server.article(1)),
            ]
        )
    )
    feed_id = follow(feed_db, feed_settings, principal, server.url)
    poller = make_poller(feed_db, feed_settings)
    result = poller.poll(feed_id)
    assert result is not None and len(result.jobs) == 1
    errors = {item.guid: item.error_code for item in items(feed_db, feed_id)}
    assert errors == {"cw-int": "fetch_refused", "cw-nolink": "no_link", "cw-ok": None}
    again = poller.poll(feed_id, force=True)
    assert again is not None and again.not_modified


def test_a_revoked_key_pauses_the_feed(
    server: FeedServer, feed_db: Database, feed_settings: Settings, principal: Principal
) -> None:
    server.publish(rss([Entry("cw-1", "Story", server.article(1))]))
    feed_id = follow(feed_db, feed_settings, principal, server.url)
    assert principal.key_id is not None
    tenants.revoke_key(feed_db, principal.key_id)
    result = make_poller(feed_db, feed_settings).poll(feed_id)
    assert result is not None and result.error is not None
    assert feed_row(feed_db, feed_id).status == "paused"
    assert feed_jobs(feed_db) == {} and feeds.due_feeds(feed_db) == []
    assert store.count_jobs(feed_db, JobStatus.QUEUED) == 0


def test_beat_schedules_the_scan_and_workers_know_both_tasks() -> None:
    from service.contract import TaskName
    from worker.runtime import feed_tasks
    from worker.runtime.celery_app import app

    (entry,) = app.conf.beat_schedule.values()
    assert entry["task"] == TaskName.POLL_FEEDS.value
    assert {TaskName.POLL_FEEDS.value, TaskName.POLL_FEED.value} <= set(app.tasks)
    assert feed_tasks.poll_feed.name == TaskName.POLL_FEED.value
