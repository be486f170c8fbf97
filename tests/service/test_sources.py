"""Recording a fetched article on its job: fenced by attempt, title kept when given."""

from __future__ import annotations

import datetime as dt

import pytest

from service import store, tenants
from service.auth import Unauthorized
from service.db import Database
from service.limits import DatabaseCounter, Limiter, QuotaExceeded
from service.settings import Settings
from service.sources import charge_fetched, record_source


def url_job(db: Database, title: str | None = None, key_id: str | None = None) -> str:
    return store.create_job(
        db,
        store.NewJob(
            title=title,
            text="",
            source_language="auto",
            target_languages=["fa"],
            summary_sentences=None,
            translate_fields=["title", "body"],
            tenant="newsroom",
            source_kind="url",
            source_url="https://example.org/a",
            output_format="html",
            key_id=key_id,
        ),
    ).id


def test_the_fetched_article_fills_the_job(db: Database) -> None:
    job_id = url_job(db)
    job = store.claim_job(db, job_id, model="m", worker="w")
    assert job is not None
    fetched_at = dt.datetime(2025, 11, 4, 9, 0, tzinfo=dt.UTC)
    assert record_source(
        db,
        job_id,
        attempt=job.attempts,
        text="Talks resumed.",
        title="Talks resume",
        author="Lena Harutyunyan",
        published="2025-11-04",
        site="Caucasus Wire",
        html="<p>Talks resumed.</p>",
        final_url="https://example.org/b",
        fetched_at=fetched_at,
    )
    stored = store.get_job(db, job_id)
    assert (stored.text, stored.title, stored.site) == (
        "Talks resumed.",
        "Talks resume",
        "Caucasus Wire",
    )
    assert (stored.final_url, stored.fetched_at) == ("https://example.org/b", fetched_at)
    assert stored.html == "<p>Talks resumed.</p>" and stored.source_url == "https://example.org/a"
    # An older attempt cannot write any more.
    assert not record_source(db, job_id, attempt=job.attempts - 1, text="stale")
    assert store.get_job(db, job_id).text == "Talks resumed."


def test_a_given_title_is_kept(db: Database) -> None:
    job_id = url_job(db, title="Our headline")
    job = store.claim_job(db, job_id, model="m", worker="w")
    assert job is not None
    assert record_source(db, job_id, attempt=job.attempts, text="Text.", title="Their headline")
    assert store.get_job(db, job_id).title == "Our headline"


def test_fetched_text_is_charged_to_the_key(db: Database, settings: Settings) -> None:
    key = tenants.create_key(db, "newsroom", chars_per_day=100)
    job = store.get_job(db, url_job(db, key_id=key.record.id))
    limiter = Limiter(DatabaseCounter(db))
    charge_fetched(db, settings, limiter, job, 80)
    with pytest.raises(QuotaExceeded):
        charge_fetched(db, settings, limiter, job, 30)
    tenants.revoke_key(db, key.record.id)
    with pytest.raises(Unauthorized):
        charge_fetched(db, settings, limiter, job, 1)
