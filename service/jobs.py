"""Submitting jobs and presenting them: the domain functions behind the routes."""

from __future__ import annotations

from service import store
from service.contract import JobStatus
from service.db import Database
from service.errors import BrokerUnavailable, InvalidInput, TextTooLong, UnsupportedLanguage
from service.languages import AUTO, language_name, normalize_code, text_direction
from service.models import Job
from service.queue import JobQueue
from service.schemas import (
    ErrorInfo,
    JobCreate,
    JobOut,
    LanguageOut,
    Progress,
    SegmentFlag,
    SummaryOut,
    TranslationOut,
)
from service.settings import Settings


def supported_languages(db: Database, settings: Settings) -> list[str] | None:
    """Languages the configured model knows, as reported by live workers; None if unknown."""
    workers = store.live_workers(db, stale_after=settings.worker_stale_seconds)
    known: set[str] = set()
    for worker in workers:
        if worker.translation_model == settings.translation_model and worker.languages:
            known.update(worker.languages)
    return sorted(known) if known else None


def describe_languages(codes: list[str]) -> list[LanguageOut]:
    return [
        LanguageOut(code=code, name=language_name(code), direction=text_direction(code))
        for code in codes
    ]


def submit_job(db: Database, queue: JobQueue, settings: Settings, request: JobCreate) -> Job:
    """Validate, store (committed) and queue a job; nothing is kept if queueing fails."""
    size = len(request.text) + len(request.title or "")
    if size > settings.max_text_chars:
        raise TextTooLong(
            f"The article has {size} characters; this service accepts at most "
            f"{settings.max_text_chars} (DRAGOMAN_MAX_TEXT_CHARS).",
            limit=settings.max_text_chars,
        )
    targets = _normalize_targets(request.target_languages, settings)
    source = AUTO if request.source_language.strip().lower() == AUTO else None
    if source is None:
        source = _normalize_one(request.source_language, "source_language")
    supported = supported_languages(db, settings)
    if supported is not None:
        unknown = [code for code in [*targets, source] if code != AUTO and code not in supported]
        if unknown:
            raise UnsupportedLanguage(
                f"The model {settings.translation_model!r} does not support: "
                f"{', '.join(unknown)}. Supported: {', '.join(supported)}.",
                unsupported=unknown,
                supported=supported,
            )
    if request.summary is not None and request.summary.sentences > settings.max_summary_sentences:
        raise InvalidInput(
            f"summary.sentences is at most {settings.max_summary_sentences}.",
        )
    fields: list[str] = list(dict.fromkeys(request.translate))
    if request.summary is None and "summary" in fields:
        fields.remove("summary")
    job = store.create_job(
        db,
        store.NewJob(
            title=request.title,
            text=request.text,
            source_language=source,
            target_languages=targets,
            summary_sentences=request.summary.sentences if request.summary else None,
            translate_fields=fields,
        ),
    )
    try:
        queue.send_job(job.id)
    except BrokerUnavailable:
        store.discard_job(db, job.id)
        raise
    return job


def _normalize_one(code: str, field: str) -> str:
    try:
        return normalize_code(code)
    except UnsupportedLanguage as exc:
        raise UnsupportedLanguage(f"{field}: {exc.message}", field=field, value=code) from exc


def _normalize_targets(codes: list[str], settings: Settings) -> list[str]:
    targets = list(dict.fromkeys(_normalize_one(code, "target_languages") for code in codes))
    if len(targets) > settings.max_target_languages:
        raise InvalidInput(
            f"At most {settings.max_target_languages} target languages per job "
            "(DRAGOMAN_MAX_TARGET_LANGUAGES).",
        )
    return targets


def job_out(job: Job) -> JobOut:
    """The public view of a job."""
    translations = {
        t.language: TranslationOut(
            status=t.status,  # type: ignore[arg-type]
            direction=t.direction,  # type: ignore[arg-type]
            title=t.title,
            summary=t.summary,
            body=t.body,
            flags=[SegmentFlag(**flag) for flag in t.flags or []],
            error=ErrorInfo(code=t.error_code, message=t.error_message or "")
            if t.error_code
            else None,
        )
        for t in job.translations
    }
    return JobOut(
        id=job.id,
        status=JobStatus(job.status),
        title=job.title,
        source_language=job.source_language,
        detected_language=job.detected_language,
        detected_confidence=job.detected_confidence,
        target_languages=job.target_languages,
        translate=job.translate_fields,
        summary=SummaryOut(**job.summary) if job.summary else None,
        translations=translations,
        progress=Progress(done=job.progress_done, total=job.progress_total),
        error=ErrorInfo(code=job.error_code, message=job.error_message or "")
        if job.error_code
        else None,
        analysis=job.analysis,
        attempts=job.attempts,
        model=job.model,
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )
