"""The job store's transitions, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from service import store
from service.contract import JobStatus, TranslationStatus
from service.db import Database
from service.errors import InvalidInput, NotFound


def new_job(**overrides: object) -> store.NewJob:
    values: dict[str, object] = {
        "title": "Headline",
        "text": "First sentence. Second sentence.",
        "source_language": "en",
        "target_languages": ["az", "fa", "hy"],
        "summary_sentences": 2,
        "translate_fields": ["title", "summary"],
    }
    values.update(overrides)
    return store.NewJob(**values)  # type: ignore[arg-type]


def test_create_and_read_back(any_db: Database) -> None:
    job = store.create_job(any_db, new_job())
    again = store.get_job(any_db, job.id)
    assert again.status == JobStatus.QUEUED
    assert [t.language for t in again.translations] == ["az", "fa", "hy"]
    assert all(t.status == TranslationStatus.PENDING for t in again.translations)
    assert again.created_at.tzinfo is not None


def test_unknown_job_is_not_found(any_db: Database) -> None:
    with pytest.raises(NotFound):
        store.get_job(any_db, "nope")


def beat(db: Database, name: str) -> None:
    store.record_heartbeat(
        db,
        name=name,
        pid=1,
        translation_model="m",
        languages=None,
        model_status="unknown",
        model_error=None,
    )


def test_claims_fence_out_older_attempts(any_db: Database) -> None:
    job = store.create_job(any_db, new_job())
    beat(any_db, "w1")
    claimed = store.claim_job(any_db, job.id, model="m", worker="w1")
    assert claimed is not None and claimed.status == JobStatus.RUNNING and claimed.attempts == 1
    assert claimed.worker == "w1"
    # a duplicate message while w1 is alive and working: nothing to do
    assert store.claim_job(any_db, job.id, model="m", worker="w2") is None
    # w1 stops beating (killed): the redelivered message claims the job again
    store.remove_worker(any_db, "w1")
    again = store.claim_job(any_db, job.id, model="m", worker="w2")
    assert again is not None and again.attempts == 2 and again.worker == "w2"
    # the dead attempt's late writes are ignored; the live one's land
    store.record_progress(any_db, job.id, 5, attempt=1)
    store.record_translation(
        any_db, job.id, "az", attempt=1, status=TranslationStatus.SUCCEEDED, title="stale"
    )
    assert not store.finish_job(any_db, job.id, attempt=1)
    assert not store.still_running(any_db, job.id, 1)
    assert store.still_running(any_db, job.id, 2)
    store.record_progress(any_db, job.id, 3, attempt=2)
    job_now = store.get_job(any_db, job.id)
    assert job_now.progress_done == 3
    assert job_now.translations[0].title is None
    assert store.finish_job(any_db, job.id, attempt=2)
    assert store.claim_job(any_db, job.id, model="m", worker="w3") is None
    assert store.get_job(any_db, job.id).status == JobStatus.SUCCEEDED


def test_results_are_recorded_only_while_running(any_db: Database) -> None:
    job = store.create_job(any_db, new_job())
    store.record_translation(
        any_db, job.id, "az", attempt=0, status=TranslationStatus.SUCCEEDED, title="x"
    )
    assert store.get_job(any_db, job.id).translations[0].status == TranslationStatus.PENDING
    store.claim_job(any_db, job.id, model="m", worker="w")
    store.record_plan(any_db, job.id, total=6, attempt=1)
    store.record_progress(any_db, job.id, 2, attempt=1)
    store.record_translation(
        any_db,
        job.id,
        "az",
        attempt=1,
        status=TranslationStatus.SUCCEEDED,
        title="Başlıq",
        direction="ltr",
    )
    job = store.get_job(any_db, job.id)
    assert (job.progress_done, job.progress_total) == (2, 6)
    az = job.translations[0]
    assert (az.status, az.title, az.direction) == (TranslationStatus.SUCCEEDED, "Başlıq", "ltr")


def test_cancel_stops_recording_and_finishing(any_db: Database) -> None:
    job = store.create_job(any_db, new_job())
    store.claim_job(any_db, job.id, model="m", worker="w")
    cancelled = store.cancel_job(any_db, job.id)
    assert cancelled.status == JobStatus.CANCELLED
    assert not store.still_running(any_db, job.id, 1)
    assert not store.finish_job(any_db, job.id, attempt=1)
    store.record_translation(
        any_db, job.id, "fa", attempt=1, status=TranslationStatus.SUCCEEDED, title="x"
    )
    job = store.get_job(any_db, job.id)
    assert job.status == JobStatus.CANCELLED
    assert {t.status for t in job.translations} == {TranslationStatus.CANCELLED}


def test_cancelling_a_finished_job_changes_nothing(any_db: Database) -> None:
    job = store.create_job(any_db, new_job())
    store.claim_job(any_db, job.id, model="m", worker="w")
    store.fail_job(any_db, job.id, "model_unavailable", "no model", attempt=1)
    job = store.cancel_job(any_db, job.id)
    assert job.status == JobStatus.FAILED
    assert job.error_code == "model_unavailable"
    assert {t.status for t in job.translations} == {TranslationStatus.FAILED}


def test_list_is_newest_first_with_cursor_and_filter(any_db: Database) -> None:
    ids = [store.create_job(any_db, new_job(title=f"job {i}")).id for i in range(5)]
    store.claim_job(any_db, ids[1], model="m", worker="w")
    seen: list[str] = []
    cursor = None
    while True:
        page = store.list_jobs(any_db, limit=2, cursor=cursor)
        seen += [job.id for job in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(ids))
    running = store.list_jobs(any_db, status=JobStatus.RUNNING)
    assert [job.id for job in running.items] == [ids[1]]
    with pytest.raises(InvalidInput):
        store.list_jobs(any_db, cursor="not a cursor!")


def test_discard_leaves_nothing(any_db: Database) -> None:
    job = store.create_job(any_db, new_job())
    store.discard_job(any_db, job.id)
    with pytest.raises(NotFound):
        store.get_job(any_db, job.id)
    assert store.list_jobs(any_db).items == []


def test_heartbeats_expire(any_db: Database) -> None:
    store.record_heartbeat(
        any_db,
        name="w1",
        pid=1,
        translation_model="m",
        languages=["en", "fa"],
        model_status="available",
        model_error=None,
    )
    assert [w.name for w in store.live_workers(any_db, stale_after=30)] == ["w1"]
    assert store.live_workers(any_db, stale_after=0) == []
    store.remove_worker(any_db, "w1")
    assert store.live_workers(any_db, stale_after=30) == []


def test_hand_back_requeues_the_attempt_and_fences_it(any_db: Database) -> None:
    job_id = store.create_job(any_db, new_job()).id
    first = store.claim_job(any_db, job_id, model="m", worker="w1")
    assert first is not None
    assert store.hand_back_job(any_db, job_id, attempt=first.attempts)
    job = store.get_job(any_db, job_id)
    assert (job.status, job.worker, job.handbacks) == (JobStatus.QUEUED, None, 1)
    assert job.dispatched_at is not None
    # handing back twice, or an attempt that no longer owns the job, changes nothing
    assert not store.hand_back_job(any_db, job_id, attempt=first.attempts)
    second = store.claim_job(any_db, job_id, model="m", worker="w2")
    assert second is not None and second.attempts == 2
    assert not store.hand_back_job(any_db, job_id, attempt=1)
    store.record_progress(any_db, job_id, 5, attempt=1)  # the old attempt's late write
    assert store.get_job(any_db, job_id).progress_done == 0
    assert store.finish_job(any_db, job_id, attempt=2)
    # the public view counts tries, not hand-backs
    from service.jobs import job_out

    assert job_out(store.get_job(any_db, job_id)).attempts == 1
