"""The reaper on a real store (SQLite and PostgreSQL) with a recording queue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import redis
from sqlalchemy import text, update

from service import store
from service.contract import JobStatus, QueueName, TranslationStatus
from service.db import Database
from service.models import Job, WorkerRecord, utcnow
from service.queue import JobQueue
from service.store import recovery
from tests.conftest import REDIS_URL, make_settings
from worker.runtime.reaper import Reaper


class FakeQueue:
    """Records what the reaper sends; reports a fixed number of waiting messages."""

    def __init__(self, waiting: int = 0) -> None:
        self.waiting = waiting
        self.jobs: list[str] = []
        self.webhooks: list[str] = []

    def queued_messages(self) -> int:
        return self.waiting

    def send_job(self, job_id: str) -> None:
        self.jobs.append(job_id)

    def send_webhook(self, job_id: str) -> None:
        self.webhooks.append(job_id)

    def close(self) -> None:
        pass


def new_job(db: Database) -> str:
    return store.create_job(
        db,
        store.NewJob(
            title=None,
            text="Talks resumed on Monday.",
            source_language="en",
            target_languages=["az", "fa"],
            summary_sentences=None,
            translate_fields=["body"],
        ),
    ).id


def age(db: Database, job_id: str, seconds: float, **columns: str) -> None:
    """Move a job's timestamps (``started_at``, ``dispatched_at``...) into the past."""
    then = utcnow() - dt.timedelta(seconds=seconds)
    with db.session() as session:
        session.execute(
            update(Job).where(Job.id == job_id).values({name: then for name in columns.values()})
        )
        session.commit()


def heartbeat(db: Database, name: str, seconds_ago: float = 0) -> None:
    store.record_heartbeat(
        db,
        name=name,
        pid=1,
        translation_model="m",
        languages=None,
        model_status="available",
        model_error=None,
    )
    with db.session() as session:
        session.execute(
            update(WorkerRecord)
            .where(WorkerRecord.name == name)
            .values(last_seen=utcnow() - dt.timedelta(seconds=seconds_ago))
        )
        session.commit()


def reaper(db: Database, tmp_path: Path, queue: FakeQueue, **overrides: object) -> Reaper:
    values: dict[str, object] = {
        "database_url": db.url,
        "worker_stale_seconds": 10.0,
        "reaper_grace_seconds": 30.0,
        "job_max_attempts": 3,
    }
    values.update(overrides)
    return Reaper(make_settings(tmp_path, **values), db=db, queue=queue)  # type: ignore[arg-type]


def test_dead_workers_job_is_requeued_and_its_late_writes_vanish(
    any_db: Database, tmp_path: Path
) -> None:
    job_id = new_job(any_db)
    heartbeat(any_db, "dead@host/1", seconds_ago=60)
    claimed = store.claim_job(any_db, job_id, model="m", worker="dead@host/1", stale_after=10)
    assert claimed is not None and claimed.attempts == 1
    age(any_db, job_id, 60, a="started_at")
    queue = FakeQueue()

    sweep = reaper(any_db, tmp_path, queue).sweep()

    assert sweep.requeued == [job_id] and queue.jobs == [job_id]
    job = store.get_job(any_db, job_id)
    assert job.status == JobStatus.QUEUED and job.attempts == 1 and job.worker is None
    assert job.dispatched_at is not None and utcnow() - job.dispatched_at < dt.timedelta(seconds=5)
    # the re-sent message is claimed as attempt 2; the dead attempt's writes are fenced
    heartbeat(any_db, "alive@host/2")
    again = store.claim_job(any_db, job_id, model="m", worker="alive@host/2", stale_after=10)
    assert again is not None and again.attempts == 2
    store.record_progress(any_db, job_id, 99, attempt=1)
    store.record_translation(
        any_db, job_id, "az", attempt=1, status=TranslationStatus.SUCCEEDED, body="stale"
    )
    assert not store.finish_job(any_db, job_id, attempt=1)
    job = store.get_job(any_db, job_id)
    assert job.status == JobStatus.RUNNING and job.progress_done == 0
    assert all(t.body is None for t in job.translations)
    # a second pass finds nothing more to do
    assert not reaper(any_db, tmp_path, queue).sweep()


def test_live_workers_jobs_are_left_alone(any_db: Database, tmp_path: Path) -> None:
    busy = new_job(any_db)
    heartbeat(any_db, "alive@host/1")
    store.claim_job(any_db, busy, model="m", worker="alive@host/1", stale_after=10)
    age(any_db, busy, 600, a="started_at")
    # claimed a moment ago by a worker whose first heartbeat is not written yet
    fresh = new_job(any_db)
    store.claim_job(any_db, fresh, model="m", worker="starting@host/2", stale_after=10)
    queue = FakeQueue(waiting=0)

    sweep = reaper(any_db, tmp_path, queue).sweep()

    assert not sweep and queue.jobs == []
    assert store.get_job(any_db, busy).status == JobStatus.RUNNING
    assert store.get_job(any_db, fresh).status == JobStatus.RUNNING


def test_job_out_of_attempts_fails_with_a_stable_code(any_db: Database, tmp_path: Path) -> None:
    job_id = new_job(any_db)
    for attempt in (1, 2):
        store.claim_job(any_db, job_id, model="m", worker=f"w{attempt}", stale_after=10)
        age(any_db, job_id, 60, a="started_at")
        assert reaper(any_db, tmp_path, FakeQueue(), job_max_attempts=2).sweep().requeued == (
            [job_id] if attempt == 1 else []
        )
    job = store.get_job(any_db, job_id)
    assert job.status == JobStatus.FAILED and job.attempts == 2
    assert job.error_code == "worker_lost"
    assert "2 times" in (job.error_message or "")
    assert {t.status for t in job.translations} == {TranslationStatus.FAILED}


def test_lost_messages_are_resent_oldest_first(any_db: Database, tmp_path: Path) -> None:
    oldest, older, old = new_job(any_db), new_job(any_db), new_job(any_db)
    young = new_job(any_db)
    age(any_db, oldest, 300, a="created_at")
    age(any_db, older, 200, a="created_at", b="dispatched_at")
    age(any_db, old, 100, a="dispatched_at")
    # two messages wait: the young job's and one more, taken to be the newest old one
    queue = FakeQueue(waiting=2)

    sweep = reaper(any_db, tmp_path, queue).sweep()

    assert sweep.resend == [oldest, older] and queue.jobs == [oldest, older]
    assert young not in queue.jobs
    # just re-sent: not again before the grace period has passed
    queue.waiting = 0
    assert reaper(any_db, tmp_path, queue).sweep().resend == [old]
    assert reaper(any_db, tmp_path, queue).sweep().resend == []


def test_no_requeue_right_after_a_database_outage(any_db: Database, tmp_path: Path) -> None:
    job_id = new_job(any_db)
    store.claim_job(any_db, job_id, model="m", worker="quiet@host/1", stale_after=10)
    age(any_db, job_id, 60, a="started_at")
    r = reaper(any_db, tmp_path, FakeQueue())
    r._settled_at = None  # as after a pass that found the database down

    assert r.sweep().requeued == []  # heartbeats may not have got through yet
    r._settled_at = -1e9
    assert r.sweep().requeued == [job_id]


def test_one_reaper_at_a_time_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    from service.db import upgrade_database

    upgrade_database(postgres_url, tmp_path)
    db = Database(postgres_url)
    other = Database(postgres_url)
    try:
        with other.session() as session:
            assert session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": recovery.REAPER_LOCK_KEY}
            )
            with recovery.exclusive(db) as mine:
                assert mine is None
            session.rollback()  # releases the lock
        with recovery.exclusive(db) as mine:
            assert mine is not None
    finally:
        db.dispose()
        other.dispose()


@pytest.mark.parametrize("broker", ["filesystem", "redis", "amqp"])
def test_broker_queue_length(broker: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = {
        "filesystem": "",
        "redis": f"{REDIS_URL}/11",
        "amqp": request.getfixturevalue("amqp_url") if broker == "amqp" else "",
    }[broker]
    settings = make_settings(tmp_path / "data", broker_url=url)
    settings.ensure_dirs()
    client = redis.Redis.from_url(url) if broker == "redis" else None
    if client is not None:
        client.flushdb()
    queue = JobQueue(settings)
    try:
        # a queue the broker does not know yet counts as empty, again and again
        assert queue.queued_messages() == 0
        assert queue.queued_messages() == 0
        for i in range(3):
            queue.send_job(f"job-{i}")
        queue.send_webhook("job-0")  # on its own queue: not a job's message
        assert queue.queued_messages() == 3
        if client is not None:
            client.flushdb()  # what a restart without persistence leaves
            assert queue.queued_messages() == 0
        if broker == "amqp":
            with queue.app.connection_for_write() as connection:
                channel = connection.channel()
                assert channel.queue_declare(QueueName.WEBHOOKS.value, passive=True)[1] == 1
                channel.queue_delete(QueueName.JOBS.value)  # a queue deleted by hand
                channel.close()
            assert queue.queued_messages() == 0
    finally:
        queue.close()
        if client is not None:
            client.flushdb()
            client.close()


def test_release_job_only_from_the_named_worker(any_db: Database) -> None:
    job_id = new_job(any_db)
    store.claim_job(any_db, job_id, model="m", worker="me", stale_after=10)
    assert not recovery.release_job(any_db, job_id, worker="someone-else")
    assert recovery.release_job(any_db, job_id, worker="me")
    job = store.get_job(any_db, job_id)
    assert job.status == JobStatus.QUEUED and job.attempts == 1 and job.worker is None
    again = store.claim_job(any_db, job_id, model="m", worker="me", stale_after=10)
    assert again is not None and again.attempts == 2


def test_attempts_handed_back_by_a_stopping_worker_do_not_count(
    any_db: Database, tmp_path: Path
) -> None:
    job_id = new_job(any_db)
    # Two attempts handed back (deploys), then one whose worker dies: with two attempts
    # allowed, the job is put back, not failed.
    for attempt in (1, 2):
        claimed = store.claim_job(any_db, job_id, model="m", worker="w", stale_after=10)
        assert claimed is not None and claimed.attempts == attempt
        assert store.hand_back_job(any_db, job_id, attempt=attempt)
    store.claim_job(any_db, job_id, model="m", worker="dead", stale_after=10)
    age(any_db, job_id, 60, a="started_at")
    sweep = reaper(any_db, tmp_path, FakeQueue(), job_max_attempts=2).sweep()
    assert sweep.requeued == [job_id] and sweep.failed == []
    job = store.get_job(any_db, job_id)
    assert job.status == JobStatus.QUEUED and job.attempts == 3 and job.handbacks == 2


def test_interactive_jobs_are_purged_never_requeued(any_db: Database, tmp_path: Path) -> None:
    from service.store.interactive import NewInteractive, create_interactive

    def interactive() -> str:
        return create_interactive(
            any_db,
            NewInteractive(
                tenant="local",
                key_id=None,
                source_language="en",
                target_language="az",
                payload={"task": "translate", "q": ["Hi."]},
                retention=600,
            ),
        )

    abandoned, lost, expired = interactive(), interactive(), interactive()
    article = new_job(any_db)
    heartbeat(any_db, "dead@host/1", seconds_ago=60)
    assert store.claim_job(any_db, abandoned, model="m", worker="dead@host/1", stale_after=10)
    age(any_db, abandoned, 60, a="started_at")
    age(any_db, lost, 600, a="created_at")
    age(any_db, article, 600, a="created_at")
    age(any_db, expired, 601, a="expires_at")
    queue = FakeQueue()

    sweep = reaper(any_db, tmp_path, queue).sweep()

    # the article's lost message is re-sent; interactive jobs are the caller's to retry
    assert sweep.resend == [article] and sweep.requeued == [] and queue.jobs == [article]
    assert sweep.purged == 1
    with any_db.session() as session:
        assert session.get(Job, expired) is None
        assert session.get(Job, abandoned) is not None and session.get(Job, lost) is not None
