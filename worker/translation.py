"""Translating an article: every field, every target language, through the batch scheduler.

The sentences a job needs are looked up in the translation cache first; the rest
go to the process's batch scheduler in one submission (target language by target
language), where they share engine batches with other running jobs. As results
arrive the job's progress is committed, and each language is stored the moment
its last sentence is back.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

from service import store
from service.contract import TranslationStatus
from service.errors import DragomanError, JobTimeout, PermanentError, UnsupportedLanguage
from service.languages import text_direction
from service.models import Job
from worker import metrics
from worker.cache import cache_key
from worker.context import WorkerContext
from worker.engines.base import Segment, Translator
from worker.engines.convert import is_ctranslate2_dir
from worker.registry import registry

log = logging.getLogger("dragoman.translation")

PROGRESS_INTERVAL = 0.5  # seconds between progress commits
CANCEL_CHECK_INTERVAL = 0.5  # seconds between looks at the job's status


class Cancelled(Exception):
    """The job was cancelled, or taken over by a later attempt; stop without recording more."""


class PartialFailure(PermanentError):
    code = "partial_failure"

    def __init__(self, failures: list[DragomanError]) -> None:
        super().__init__("Some target languages failed: " + "; ".join(f.message for f in failures))


def resolve_model(settings: Any) -> tuple[str, str]:
    """``(model path or id, backend)`` for the configured translation model.

    ``auto`` runs a CTranslate2 directory with CTranslate2, a Hub id installed by
    ``dragoman models pull`` from the model store, and anything else with transformers.
    """
    name: str = settings.translation_model
    backend: str = settings.translation_backend
    if backend == "echo":
        return "echo", "echo"
    if is_ctranslate2_dir(name):
        return name, "ctranslate2" if backend == "auto" else backend
    from worker.model_store import resolve

    installed = resolve(name, settings.effective_models_dir)
    if installed is not None and backend in ("auto", "ctranslate2"):
        return str(installed), "ctranslate2"
    return name, "transformers" if backend == "auto" else backend


def model_languages(settings: Any) -> list[str]:
    """Languages of the configured model, read without loading its weights."""
    name, backend = resolve_model(settings)
    if backend == "echo":
        from worker.engines.echo import EchoTranslator

        return EchoTranslator().languages()
    if backend == "ctranslate2":
        from worker.engines import ct2

        return ct2.model_languages(name)
    from worker.engines import hf

    return hf.model_languages(name)


def load_translator(ctx: WorkerContext) -> Translator:
    settings = ctx.settings
    name, backend = resolve_model(settings)
    options: dict[str, Any] = {"num_beams": settings.translation_beams}
    if backend == "ctranslate2":
        options.update(
            compute_type=settings.compute_type,
            threads=settings.threads,
            max_batch_tokens=settings.translation_max_batch_tokens,
        )
    elif backend == "transformers":
        options.update(batch_size=settings.translation_batch_size, threads=settings.threads or None)
    return registry().get_translator(name, backend=backend, device=settings.device, **options)


@dataclass
class LanguagePlan:
    """One target language's sentences and what has come back so far."""

    target: str
    sentences: list[str]
    translated: dict[str, str] = field(default_factory=dict)
    futures: dict[Future[str], str] = field(default_factory=dict)
    error: DragomanError | None = None
    stored: bool = False

    @property
    def complete(self) -> bool:
        return not self.futures


def translate_article(
    ctx: WorkerContext,
    job: Job,
    source: str,
    sentences: list[str],
    render: Any,
    deadline: float,
) -> None:
    """Translate ``sentences`` into each target and store each language as it completes.

    Args:
        render: ``render(translated: dict[str, str], target) -> dict`` builds the stored
            fields (title, summary, body) of one language from its sentence translations.
        deadline: ``time.monotonic()`` value after which the job fails with ``timeout``.
    """
    plans = [
        LanguagePlan(target, [] if target == source else list(sentences))
        for target in job.target_languages
    ]
    for plan in plans:
        if not plan.sentences:  # the source language itself: nothing to translate
            plan.translated = {s: s for s in sentences}
    total = sum(len(p.sentences) for p in plans)
    store.record_plan(ctx.db, job.id, total=total, attempt=job.attempts)
    translator = load_translator(ctx) if total else None
    cache = ctx.translation_cache()
    model_key = ctx.settings.translation_model

    submissions: list[tuple[LanguagePlan, list[str]]] = []
    for plan in plans:
        if not plan.sentences:
            continue
        assert translator is not None
        if not translator.supports(source, plan.target):
            plan.error = UnsupportedLanguage(
                f"The model {ctx.settings.translation_model!r} cannot translate "
                f"{source} into {plan.target}."
            )
            plan.sentences = []
            continue
        keys = {s: cache_key(model_key, source, plan.target, s) for s in plan.sentences}
        hits = cache.get_many(list(keys.values()))
        metrics.CACHE_LOOKUPS.labels("hit").inc(len(hits))
        metrics.CACHE_LOOKUPS.labels("miss").inc(len(keys) - len(hits))
        plan.translated = {s: hits[k] for s, k in keys.items() if k in hits}
        misses = [s for s in plan.sentences if s not in plan.translated]
        # Longest first within a language keeps batches even; the engine re-sorts anyway.
        misses.sort(key=len, reverse=True)
        if misses:
            translator.check_segments([Segment(s, source, plan.target) for s in misses])
            submissions.append((plan, misses))

    done = total - sum(len(misses) for _, misses in submissions)
    if submissions:
        assert translator is not None
        scheduler = ctx.scheduler(translator)
        segments = [Segment(s, source, p.target) for p, misses in submissions for s in misses]
        futures = scheduler.submit(job.id, segments)
        position = 0
        for plan, misses in submissions:
            for sentence in misses:
                plan.futures[futures[position]] = sentence
                position += 1
    _store_completed(ctx, job, plans, render)
    store.record_progress(ctx.db, job.id, done, attempt=job.attempts)
    if submissions:
        done = _collect(ctx, job, plans, source, render, done, deadline, scheduler)
    failures = [p.error for p in plans if p.error is not None]
    if failures:
        raise failures[0] if len(failures) == len(plans) else PartialFailure(failures)


def _collect(
    ctx: WorkerContext,
    job: Job,
    plans: list[LanguagePlan],
    source: str,
    render: Any,
    done: int,
    deadline: float,
    scheduler: Any,
) -> int:
    """Wait for the job's futures, committing progress and finished languages."""
    cache = ctx.translation_cache()
    model_key = ctx.settings.translation_model
    pending = {f for p in plans for f in p.futures}
    last_progress = last_cancel_check = time.monotonic()
    reported = done
    try:
        while pending:
            finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            fresh: dict[str, str] = {}
            for plan in plans:
                for future in [f for f in plan.futures if f in finished]:
                    sentence = plan.futures.pop(future)
                    text = future.result()  # an engine error fails the job here
                    plan.translated[sentence] = text
                    fresh[cache_key(model_key, source, plan.target, sentence)] = text
                    done += 1
            cache.put_many(fresh)
            _store_completed(ctx, job, plans, render)
            now = time.monotonic()
            if done != reported and (not pending or now - last_progress >= PROGRESS_INTERVAL):
                store.record_progress(ctx.db, job.id, done, attempt=job.attempts)
                reported, last_progress = done, now
            if now - last_cancel_check >= CANCEL_CHECK_INTERVAL:
                last_cancel_check = now
                if not store.still_running(ctx.db, job.id, job.attempts):
                    raise Cancelled
            if now > deadline:
                raise JobTimeout(
                    f"The job ran past its {ctx.settings.task_soft_time_limit}s time limit "
                    "(DRAGOMAN_TASK_SOFT_TIME_LIMIT)."
                )
    finally:
        if pending:
            scheduler.cancel(job.id)
    return done


def _store_completed(ctx: WorkerContext, job: Job, plans: list[LanguagePlan], render: Any) -> None:
    """Store every language whose last sentence is back (each one once)."""
    for plan in plans:
        if plan.complete and not plan.stored:
            _store_language(ctx, job, plan, render)
            plan.stored = True


def _store_language(ctx: WorkerContext, job: Job, plan: LanguagePlan, render: Any) -> None:
    if plan.error is not None:
        store.record_translation(
            ctx.db,
            job.id,
            plan.target,
            attempt=job.attempts,
            status=TranslationStatus.FAILED,
            error_code=plan.error.code,
            error_message=plan.error.message,
        )
        return
    store.record_translation(
        ctx.db,
        job.id,
        plan.target,
        attempt=job.attempts,
        status=TranslationStatus.SUCCEEDED,
        direction=text_direction(plan.target),
        **render(plan.translated, plan.target),
    )
