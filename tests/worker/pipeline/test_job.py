"""The pipeline run directly on stored jobs, with the tests' tiny NLLB model."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from service import store
from service.contract import JobStatus, TranslationStatus
from service.db import Database
from service.settings import Settings
from tests.conftest import make_settings
from tests.fixtures.engines import Wrapped, register_engine
from worker.engines.base import Segment
from worker.models.registry import registry
from worker.pipeline import job as pipeline
from worker.pipeline.context import WorkerContext
from worker.pipeline.text import normalize_text

ARTICLE = (
    "Delegations from Armenia and Azerbaijan met in Tehran on Monday to discuss the "
    "border. The talks lasted six hours, officials said.\n\n"
    "Iran's foreign minister said the region needs peace. He offered to host more talks "
    "next month.\n\n"
    "Neither side commented on the outcome. A new round is expected in December."
)


@pytest.fixture
def ctx(tmp_path: Path, tiny_nllb_dir: Path) -> Iterator[WorkerContext]:
    settings = make_settings(
        tmp_path / "data", translation_model=str(tiny_nllb_dir), translation_batch_size=2
    )
    settings.ensure_dirs()
    from service.db import upgrade_database

    upgrade_database(settings.effective_database_url, settings.data_dir)
    db = Database(settings.effective_database_url)
    context = WorkerContext(settings=settings, db=db, pid=os.getpid())
    yield context
    context.close()


def submit(db: Database, **overrides: Any) -> str:
    values: dict[str, Any] = {
        "title": "Talks in Tehran",
        "text": ARTICLE,
        "source_language": "auto",
        "target_languages": ["az", "fa", "hy"],
        "summary_sentences": 2,
        "translate_fields": ["title", "summary", "body"],
    }
    values.update(overrides)
    return store.create_job(db, store.NewJob(**values)).id


def test_full_job(ctx: WorkerContext) -> None:
    job_id = submit(ctx.db)
    pipeline.run_job(ctx, job_id)
    job = store.get_job(ctx.db, job_id)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.detected_language == "en"
    assert job.detected_confidence is not None and job.detected_confidence > 0.5
    assert job.model == ctx.settings.translation_model
    assert job.summary is not None
    assert len(job.summary["sentences"]) == 2
    assert all(s in normalize_text(ARTICLE) for s in job.summary["sentences"])
    # 1 title + 6 body sentences (the summary's 2 are among them) per language
    assert job.progress_total == 3 * 7
    assert job.progress_done == job.progress_total
    for translation in job.translations:
        assert translation.status == TranslationStatus.SUCCEEDED
        assert translation.title and translation.summary and translation.body
        assert len(translation.body.split("\n\n")) == 3
    directions = {t.language: t.direction for t in job.translations}
    assert directions == {"az": "ltr", "fa": "rtl", "hy": "ltr"}


def test_only_title_and_no_summary(ctx: WorkerContext) -> None:
    job_id = submit(ctx.db, summary_sentences=None, translate_fields=["title"])
    pipeline.run_job(ctx, job_id)
    job = store.get_job(ctx.db, job_id)
    assert job.status == JobStatus.SUCCEEDED
    assert job.summary is None
    assert job.progress_total == 3
    assert all(t.body is None and t.summary is None and t.title for t in job.translations)


def test_explicit_source_and_target_equal_to_source(ctx: WorkerContext) -> None:
    job_id = submit(ctx.db, source_language="en", target_languages=["en", "fa"])
    pipeline.run_job(ctx, job_id)
    job = store.get_job(ctx.db, job_id)
    assert job.status == JobStatus.SUCCEEDED
    assert job.detected_language is None
    english = next(t for t in job.translations if t.language == "en")
    assert english.title == "Talks in Tehran"
    assert english.body == normalize_text(ARTICLE)
    assert job.progress_total == 7  # nothing to translate into the source language


def test_missing_model_fails_with_model_unavailable(ctx: WorkerContext) -> None:
    ctx.settings = make_settings(
        ctx.settings.data_dir, translation_model="facebook/nllb-200-distilled-600M"
    )
    job_id = submit(ctx.db)
    pipeline.run_job(ctx, job_id)
    job = store.get_job(ctx.db, job_id)
    assert job.status == JobStatus.FAILED
    assert job.error_code == "model_unavailable"
    assert "facebook/nllb-200-distilled-600M" in (job.error_message or "")
    assert "download" in (job.error_message or "")
    assert "Traceback" not in (job.error_message or "")
    # what could be done before the model was needed is kept
    assert job.summary is not None
    assert {t.status for t in job.translations} == {TranslationStatus.FAILED}


def test_unsupported_target_fails_that_language_only(ctx: WorkerContext) -> None:
    job_id = submit(ctx.db, target_languages=["az", "tlh"])
    pipeline.run_job(ctx, job_id)
    job = store.get_job(ctx.db, job_id)
    assert job.status == JobStatus.FAILED
    assert job.error_code == "partial_failure"
    status = {t.language: t.status for t in job.translations}
    assert status == {"az": TranslationStatus.SUCCEEDED, "tlh": TranslationStatus.FAILED}
    assert job.progress_done == job.progress_total


def test_undetectable_language_fails_clearly(ctx: WorkerContext) -> None:
    job_id = submit(ctx.db, title=None, text="12 345 — 678 !!")
    pipeline.run_job(ctx, job_id)
    job = store.get_job(ctx.db, job_id)
    assert job.status == JobStatus.FAILED
    assert job.error_code == "invalid_input"
    assert "source_language" in (job.error_message or "")


def test_finished_or_cancelled_jobs_are_not_run_again(ctx: WorkerContext) -> None:
    job_id = submit(ctx.db)
    store.cancel_job(ctx.db, job_id)
    pipeline.run_job(ctx, job_id)
    job = store.get_job(ctx.db, job_id)
    assert job.status == JobStatus.CANCELLED
    assert job.attempts == 0 and job.summary is None
    pipeline.run_job(ctx, "no-such-job")


def test_cancel_while_running_stops_between_batches(
    ctx: WorkerContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = submit(ctx.db)
    calls: list[int] = []

    class CancelledDuringFirstBatch(Wrapped):
        """The real tiny model, slowed down; a user cancels the job during its first batch."""

        def translate_segments(
            self, segments: list[Segment], tokens: Sequence[Any] | None = None
        ) -> list[str]:
            calls.append(len(segments))
            if len(calls) == 1:
                store.cancel_job(ctx.db, job_id)
            time.sleep(0.2)
            return self.inner.translate_segments(segments, tokens)

    register_engine(
        monkeypatch,
        "cancelling",
        lambda name, device: CancelledDuringFirstBatch(
            registry().get_translator(name, "transformers", device, batch_size=2)
        ),
    )
    ctx.settings = ctx.settings.model_copy(update={"translation_backend": "cancelling"})
    pipeline.run_job(ctx, job_id)
    job = store.get_job(ctx.db, job_id)
    # 21 sentences in batches of 2 would take 11 engine calls; work stopped well before
    assert 1 <= len(calls) <= 6, calls
    assert job.status == JobStatus.CANCELLED
    assert job.progress_done == 0 < job.progress_total
    assert {t.status for t in job.translations} == {TranslationStatus.CANCELLED}
    assert (
        ctx.scheduler(
            registry().get_translator(str(ctx.settings.translation_model), "cancelling")
        ).pending()
        == 0
    )


def test_a_redelivered_job_runs_again_from_the_start(ctx: WorkerContext) -> None:
    job_id = submit(ctx.db)
    store.claim_job(ctx.db, job_id, model="m", worker="crashed")  # took it, then died
    pipeline.run_job(ctx, job_id)
    job = store.get_job(ctx.db, job_id)
    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 2
    assert job.progress_done == job.progress_total


def test_settings_reject_inconsistent_time_limits(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, task_soft_time_limit=100, task_time_limit=50)
