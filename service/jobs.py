"""Submitting jobs and presenting them: the domain functions behind the routes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from service import store
from service.auth import Principal
from service.contract import JobStatus, WebhookStatus
from service.db import Database
from service.egress import AddressPolicy, check_fetch_url
from service.errors import (
    BrokerUnavailable,
    Conflict,
    InvalidInput,
    TextTooLong,
    UnsupportedLanguage,
)
from service.glossary.domain import applied_terms_out, job_glossaries_out, job_snapshot
from service.htmltext import visible_text_length
from service.languages import AUTO, language_name, native_name, normalize_code, text_direction
from service.limits import QUEUE_FULL_RETRY_AFTER, Limiter, QueueFull
from service.models import Job, WebhookDelivery, WorkerRecord
from service.monitoring import metrics
from service.queue import JobQueue
from service.schemas import (
    ArticleOut,
    ErrorInfo,
    JobCreate,
    JobList,
    JobOut,
    LanguageOut,
    Progress,
    SegmentFlag,
    SourceOut,
    SummaryOut,
    TranslationOut,
    WebhookDeliveryOut,
    WebhookOut,
)
from service.settings import Settings
from service.webhooks import check_callback_url


class IdempotencyConflict(Conflict, code="idempotency_conflict"):
    """The idempotency key was used with a different request (409)."""


@dataclass(frozen=True)
class Submission:
    job: Job
    replayed: bool  # an earlier request with the same idempotency key made it


def supported_languages(db: Database, settings: Settings) -> list[str] | None:
    """Languages the configured model knows, as reported by live workers; None if unknown."""
    workers = store.live_workers(db, stale_after=settings.worker_stale_seconds)
    known: set[str] = set()
    for worker in workers:
        if worker.translation_model == settings.translation_model and worker.languages:
            known.update(worker.languages)
    return sorted(known) if known else None


# A worker's model states, best first. Ready to queue jobs: the model is ready, or on its
# way with its languages known (loading) or being downloaded (pulling).
MODEL_STATES = ("ready", "available", "loading", "pulling", "pending", "unavailable")
MODEL_ON_ITS_WAY = ("ready", "available", "loading", "pulling")


def model_readiness(workers: Sequence[WorkerRecord], settings: Settings) -> dict[str, object]:
    """The ``model`` check of ``/readyz``: where the live workers' model stands.

    Ready when some worker has the configured model ready, or is pulling or loading it
    (queued jobs wait for it); not ready when every worker reports it unavailable, and
    then ``error`` says why.
    """
    mine = [w for w in workers if w.translation_model == settings.translation_model]
    if not mine:
        return {"ok": False, "status": "unknown", "model": settings.translation_model}
    rank = {state: i for i, state in enumerate(MODEL_STATES)}
    best = min(mine, key=lambda w: rank.get(w.model_status, len(rank)))
    check: dict[str, object] = {
        "ok": best.model_status in MODEL_ON_ITS_WAY,
        "status": "ready" if best.model_status == "available" else best.model_status,
        "model": settings.translation_model,
    }
    if best.model_info:
        check.update(best.model_info)
    if best.model_status == "unavailable":
        check["error"] = best.model_error
    return check


def describe_languages(codes: list[str]) -> list[LanguageOut]:
    return [
        LanguageOut(
            code=code,
            name=language_name(code),
            native_name=native_name(code),
            direction=text_direction(code),
        )
        for code in codes
    ]


def submit_job(
    db: Database,
    queue: JobQueue,
    limiter: Limiter,
    settings: Settings,
    principal: Principal,
    request: JobCreate,
    *,
    idempotency_key: str | None = None,
) -> Submission:
    """Validate, store (committed) and queue a job; nothing is kept if queueing fails.

    With ``idempotency_key``, a repeat of the same request within 24 hours
    returns the first job instead of making another.

    Raises:
        IdempotencyConflict: the key came with a different request before.
        QuotaExceeded, QueueFull: a limit is reached; nothing is stored.
    """
    new = _validated(db, settings, principal, request)
    idempotency = None
    if idempotency_key is not None:
        idempotency = store.Idempotency(idempotency_key, request_hash(request))
        prior = store.find_idempotency(db, principal.tenant, idempotency_key)
        if prior is not None:
            return _replay(db, principal, idempotency, prior.request_hash, prior.job_id)
    if store.count_jobs(db, JobStatus.QUEUED) >= settings.max_queued_jobs:
        raise QueueFull(
            f"{settings.max_queued_jobs} jobs are waiting (DRAGOMAN_MAX_QUEUED_JOBS); "
            "try again later.",
            retry_after=QUEUE_FULL_RETRY_AFTER,
        )
    charge = limiter.charge_chars(principal, chargeable_chars(request))
    try:
        job = store.create_job(db, new, idempotency=idempotency)
    except store.IdempotencyKeyTaken as taken:
        limiter.refund(charge)
        assert idempotency is not None
        return _replay(db, principal, idempotency, taken.request_hash, taken.job_id)
    try:
        queue.send_job(job.id)
    except BrokerUnavailable:
        store.discard_job(db, job.id)
        limiter.refund(charge)
        raise
    metrics.record_job_submitted(job.source_kind)
    return Submission(job=job, replayed=False)


def chargeable_chars(request: JobCreate) -> int:
    """Characters counted against the daily quota when the job is submitted.

    The text of HTML (not its markup); a URL's article is not known yet, so only its
    title counts now: the worker charges the text it fetches (``key_id`` on the job).
    """
    title = len(request.title or "")
    if request.text is not None:
        size = visible_text_length(request.text) if request.format == "html" else len(request.text)
        return title + size
    if request.html is not None:
        return title + visible_text_length(request.html)
    return title


def request_hash(request: JobCreate) -> str:
    """SHA-256 of the validated request as canonical JSON (defaults filled in)."""
    values = request.model_dump(mode="json")
    if values.get("glossaries") is None:
        # Requests from before glossaries existed keep their hash (and their key).
        values.pop("glossaries", None)
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _replay(
    db: Database, principal: Principal, idempotency: store.Idempotency, prior_hash: str, job_id: str
) -> Submission:
    if prior_hash != idempotency.request_hash:
        raise IdempotencyConflict(
            "This Idempotency-Key was used with a different request in the last 24 hours; "
            "use a new key for a new article."
        )
    return Submission(job=store.get_job(db, job_id, tenant=principal.tenant), replayed=True)


def check_job(db: Database, settings: Settings, principal: Principal, request: JobCreate) -> None:
    """Refuse a request ``submit_job`` would refuse for what it asks (not for limits)."""
    _validated(db, settings, principal, request)


def _validated(
    db: Database, settings: Settings, principal: Principal, request: JobCreate
) -> store.NewJob:
    """The job to store, or the reason the request is refused."""
    _check_source(request, settings)
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
    if (
        request.summary is not None
        and request.summary.sentences is not None
        and request.summary.sentences > settings.max_summary_sentences
    ):
        raise InvalidInput(
            f"summary.sentences is at most {settings.max_summary_sentences}.",
        )
    fields: list[str] = list(dict.fromkeys(request.translate))
    if request.summary is None and "summary" in fields:
        fields.remove("summary")
    if request.callback_url is not None:
        check_callback_url(request.callback_url, allow_private=settings.allow_private_callbacks)
    glossary = job_snapshot(
        db, settings, principal.tenant, request.glossaries, f"{request.title or ''}\n{request.text}"
    )
    return store.NewJob(
        title=request.title,
        text=request.text if request.format == "text" and request.text is not None else "",
        source_language=source,
        target_languages=targets,
        summary_sentences=request.summary.sentences if request.summary else None,
        summary_ratio=request.summary.ratio if request.summary else None,
        translate_fields=fields,
        tenant=principal.tenant,
        callback_url=request.callback_url,
        source_kind=request.source_kind,
        source_url=request.url,
        html=request.html if request.html is not None else _html_text(request),
        output_format=request.output_format,
        key_id=principal.key_id,
        glossary=glossary,
    )


def _html_text(request: JobCreate) -> str | None:
    return request.text if request.format == "html" else None


def fetch_policy(settings: Settings) -> AddressPolicy:
    """Where articles and feeds may be fetched from."""
    return AddressPolicy.of(settings.allow_private_fetch, settings.fetch_allowed_networks)


def _check_source(request: JobCreate, settings: Settings) -> None:
    """Refuse an article over the size limits, or a URL the worker must not fetch.

    Raises:
        TextTooLong: text over DRAGOMAN_MAX_TEXT_CHARS, HTML over DRAGOMAN_MAX_HTML_CHARS.
        FetchRefused: the URL is not http(s), has credentials, or is internal.
    """
    if request.url is not None:
        check_fetch_url(request.url, fetch_policy(settings))
        return
    markup = request.html if request.html is not None else _html_text(request)
    if markup is not None:
        if len(markup) > settings.max_html_chars:
            raise TextTooLong(
                f"The HTML has {len(markup)} characters; this service accepts at most "
                f"{settings.max_html_chars} (DRAGOMAN_MAX_HTML_CHARS).",
                limit=settings.max_html_chars,
            )
        size = visible_text_length(markup) + len(request.title or "")
    else:
        size = len(request.text or "") + len(request.title or "")
    if size > settings.max_text_chars:
        raise TextTooLong(
            f"The article has {size} characters; this service accepts at most "
            f"{settings.max_text_chars} (DRAGOMAN_MAX_TEXT_CHARS).",
            limit=settings.max_text_chars,
        )


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


def describe(db: Database, job: Job) -> JobOut:
    """The public view of a job, with its webhook deliveries."""
    deliveries = store.webhook_deliveries(db, [job.id] if job.callback_url else [])
    return job_out(job, deliveries.get(job.id, ()))


def describe_page(db: Database, page: store.JobPage) -> JobList:
    deliveries = store.webhook_deliveries(db, [job.id for job in page.items if job.callback_url])
    return JobList(
        items=[job_out(job, deliveries.get(job.id, ())) for job in page.items],
        next_cursor=page.next_cursor,
    )


def article_out(job: Job) -> ArticleOut:
    """The job's article in plain text (what its translations are aligned with)."""
    return ArticleOut(
        title=job.title,
        text=job.text,
        source=_source_out(job),
        author=job.author,
        published=job.published,
        site=job.site,
    )


def _source_out(job: Job) -> SourceOut:
    return SourceOut(
        kind=job.source_kind,  # type: ignore[arg-type]
        url=job.source_url,
        fetched_at=job.fetched_at,
        final_url=job.final_url,
    )


def job_out(job: Job, deliveries: Sequence[WebhookDelivery] = ()) -> JobOut:
    """The public view of a job."""
    translations = {
        t.language: TranslationOut(
            status=t.status,  # type: ignore[arg-type]
            direction=t.direction,  # type: ignore[arg-type]
            title=t.title,
            summary=t.summary,
            body=t.body,
            flags=[SegmentFlag(**flag) for flag in t.flags or []],
            terms=applied_terms_out(t.terms),
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
        source=_source_out(job),
        output=job.output_format,  # type: ignore[arg-type]
        author=job.author,
        published=job.published,
        site=job.site,
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
        attempts=job.attempts - (job.handbacks or 0),
        model=job.model,
        glossaries=job_glossaries_out(job.glossary),
        webhook=_webhook_out(job, deliveries),
        created_at=job.created_at,
        updated_at=job.updated_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _webhook_out(job: Job, deliveries: Sequence[WebhookDelivery]) -> WebhookOut | None:
    if not job.callback_url:
        return None
    return WebhookOut(
        url=job.callback_url,
        status=job.webhook_status or WebhookStatus.PENDING,
        deliveries=[
            WebhookDeliveryOut(
                attempt=d.attempt,
                status_code=d.status_code,
                error=d.error,
                delivered=d.delivered,
                created_at=d.created_at,
            )
            for d in deliveries
        ],
    )
