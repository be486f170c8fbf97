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
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait
from typing import Any

from service import store
from service.contract import TranslationStatus
from service.errors import DragomanError, JobTimeout, PermanentError, UnsupportedLanguage
from service.glossary.store import record_terms
from service.languages import text_direction
from service.models import Job
from worker import metrics
from worker.engines.base import Segment, Translator
from worker.engines.scheduler import BatchScheduler
from worker.models.registry import load_model
from worker.pipeline.cache import cache_key
from worker.pipeline.context import HandedBack, WorkerContext
from worker.pipeline.glossary import (
    JobGlossary,
    applied_terms,
    cache_model_key,
)
from worker.pipeline.quality import (
    split_long_sentence,
)
from worker.pipeline.units import (
    LanguagePlan,
    Piece,
    Unit,
    UnitWork,
    check_piece,
    finish_unit,
    make_piece,
)

log = logging.getLogger("dragoman.translation")

PROGRESS_INTERVAL = 0.5  # seconds between progress commits
CANCEL_CHECK_INTERVAL = 0.5  # seconds between looks at the job's status


class Cancelled(Exception):
    """The job was cancelled, or taken over by a later attempt; stop without recording more."""


class PartialFailure(PermanentError, code="partial_failure"):
    """Some target languages failed; the others are kept."""

    def __init__(self, failures: list[DragomanError]) -> None:
        super().__init__("Some target languages failed: " + "; ".join(f.message for f in failures))


def load_translator(ctx: WorkerContext) -> Translator:
    """The process's translator, once the worker's model is ready.

    Raises:
        ModelUnavailable: The model cannot be pulled or loaded on this machine.
        HandedBack: The worker began stopping while waiting.
    """
    ctx.wait_for_model()
    return load_model(ctx.settings)


def translate_article(
    ctx: WorkerContext,
    job: Job,
    units: list[Unit],
    render: Any,
    deadline: float,
    analysis: dict[str, Any],
) -> None:
    """Translate ``units`` into each target and store each language as it completes.

    Each sentence is checked after translation (language, script, numbers, loops,
    length); a failing one is retried once with stricter decoding, and what still
    fails is stored with its ``flags``. Sentences over the model's input limit are
    split at clause boundaries, translated in pieces and rejoined; ``analysis``
    records them.

    Args:
        render: ``render(translated: dict[str, str], target) -> dict`` builds the stored
            fields (title, summary, body) of one language from its sentence translations.
        deadline: ``time.monotonic()`` value after which the job fails with ``timeout``.
    """
    with metrics.cpu_stage("prepare"):
        plans, translator, submissions, total = _prepare(ctx, job, units, analysis)
    with metrics.cpu_stage("store"):
        store.record_plan(ctx.db, job.id, total=total, attempt=job.attempts)
    done = total - sum(1 for _ in submissions)
    scheduler = ctx.scheduler(translator) if submissions and translator else None
    if scheduler is not None:
        segments = [
            Segment(piece.terms.masked, work.unit.source, plan.target)
            for plan, work, piece in submissions
        ]
        for (plan, work, piece), future in zip(
            submissions, scheduler.submit(job.id, segments), strict=True
        ):
            plan.futures[future] = (work, piece)
    with metrics.cpu_stage("store"):
        _store_completed(ctx, job, plans, render)
        store.record_progress(ctx.db, job.id, done, attempt=job.attempts)
    if scheduler is not None:
        _collect(ctx, job, plans, render, done, deadline, scheduler)
    failures = [p.error for p in plans if p.error is not None]
    if failures:
        raise failures[0] if len(failures) == len(plans) else PartialFailure(failures)


def _prepare(
    ctx: WorkerContext, job: Job, units: list[Unit], analysis: dict[str, Any]
) -> tuple[list[LanguagePlan], Translator | None, list[Submission], int]:
    """Each language's plan, the translator, the segments to submit and the work counted."""
    places = {unit.text: unit.places for unit in units}
    plans = [LanguagePlan(target, places=places) for target in job.target_languages]
    needs_model = any(u.source != p.target for p in plans for u in units)
    translator = load_translator(ctx) if needs_model else None
    pieces_of = _split_units(translator, units, analysis) if translator else {}
    if analysis.get("split_segments"):
        store.record_analysis(ctx.db, job.id, analysis, attempt=job.attempts)
    glossary = JobGlossary.from_snapshot(job.glossary)
    submissions: list[Submission] = []
    total = 0
    for plan in plans:
        total += _plan_language(ctx, plan, units, translator, pieces_of, submissions, glossary)
    return plans, translator, submissions, total


Submission = tuple["LanguagePlan", "UnitWork", "Piece"]


def _plan_language(
    ctx: WorkerContext,
    plan: LanguagePlan,
    units: list[Unit],
    translator: Translator | None,
    pieces_of: dict[str, list[str]],
    submissions: list[Submission],
    glossary: JobGlossary,
) -> int:
    """Fill ``plan`` from the source and the cache, queue the rest; the work it counts."""
    pending: list[Unit] = []
    for unit in units:
        if unit.source == plan.target:  # already in the target language
            plan.translated[unit.text] = unit.text
        else:
            pending.append(unit)
    if not pending:
        return 0
    assert translator is not None
    model = ctx.settings.translation_model
    refused = sorted({u.source for u in pending if not translator.supports(u.source, plan.target)})
    if refused:
        plan.error = UnsupportedLanguage(
            f"The model {model!r} cannot translate {', '.join(refused)} into {plan.target}."
        )
        return len(pending)
    keys = {
        u.text: cache_key(
            cache_model_key(model, glossary.index(u.source, plan.target).cache_component(u.text)),
            u.source,
            plan.target,
            u.text,
        )
        for u in pending
    }
    hits = ctx.translation_cache().get_many(list(keys.values()))
    metrics.CACHE_LOOKUPS.labels("hit").inc(len(hits))
    metrics.CACHE_LOOKUPS.labels("miss").inc(len(keys) - len(hits))
    total = len(pending)
    for unit in pending:
        index = glossary.index(unit.source, plan.target)
        if keys[unit.text] in hits:
            plan.translated[unit.text] = hits[keys[unit.text]]
            applied = applied_terms(
                index.find(unit.text), plan.target, persian_digits=ctx.settings.persian_digits
            )
            if applied:
                plan.terms[unit.text] = [term.as_record() for term in applied]
            continue
        pieces = [make_piece(text, index) for text in pieces_of[unit.text]]
        work = UnitWork(unit, pieces, keys[unit.text])
        plan.work.append(work)
        total += len(work.pieces) - 1
        submissions += [(plan, work, piece) for piece in work.pieces]
    return total


def _split_units(
    translator: Translator, units: list[Unit], analysis: dict[str, Any]
) -> dict[str, list[str]]:
    """Each unit's pieces: itself, or clause-sized parts when it exceeds the input limit."""
    limit = translator.max_input_tokens
    pieces: dict[str, list[str]] = {}
    by_source: dict[str, list[Unit]] = {}
    for unit in units:
        by_source.setdefault(unit.source, []).append(unit)
    for source, group in by_source.items():
        counts = translator.count_tokens([u.text for u in group], source)
        for unit, tokens in zip(group, counts, strict=True):
            if tokens <= limit:
                pieces[unit.text] = [unit.text]
                continue
            parts = split_long_sentence(unit.text, limit, _token_counter(translator, source))
            pieces[unit.text] = parts
            analysis.setdefault("split_segments", []).append(
                {
                    "sentence": unit.text[:200],
                    "places": [list(place) for place in unit.places],
                    "tokens": tokens,
                    "pieces": len(parts),
                }
            )
    return pieces


def _token_counter(translator: Translator, source: str) -> Callable[[str], int]:
    def count(text: str) -> int:
        return translator.count_tokens([text], source)[0]

    return count


def _collect(
    ctx: WorkerContext,
    job: Job,
    plans: list[LanguagePlan],
    render: Any,
    done: int,
    deadline: float,
    scheduler: BatchScheduler,
) -> None:
    """Wait for the job's segments, checking each, committing progress and finished languages."""
    cache = ctx.translation_cache()
    options = ctx.settings
    last_progress = last_cancel_check = time.monotonic()
    reported = done
    try:
        while any(plan.futures for plan in plans):
            pending = {f for plan in plans for f in plan.futures}
            finished, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            fresh: dict[str, str] = {}
            for plan in plans:
                for future in [f for f in plan.futures if f in finished]:
                    work, piece = plan.futures.pop(future)
                    text = future.result()  # an engine error fails the job here
                    with metrics.cpu_stage("checks"):
                        failed = check_piece(piece, text, work.unit.source, plan.target, options)
                    if failed:
                        # failed its checks: once more, with stricter decoding
                        strict = Segment(piece.terms.masked, work.unit.source, plan.target, True)
                        plan.futures[scheduler.submit(job.id, [strict])[0]] = (work, piece)
                        continue
                    done += 1
                    if work.done:
                        with metrics.cpu_stage("finish"):
                            finish_unit(plan, work, fresh)
            with metrics.cpu_stage("store"):
                cache.put_many(fresh)
                _store_completed(ctx, job, plans, render)
            now = time.monotonic()
            all_done = not any(plan.futures for plan in plans)
            if done != reported and (all_done or now - last_progress >= PROGRESS_INTERVAL):
                with metrics.cpu_stage("store"):
                    store.record_progress(ctx.db, job.id, done, attempt=job.attempts)
                reported, last_progress = done, now
            if ctx.stopping():
                raise HandedBack
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
        if any(plan.futures for plan in plans):
            scheduler.cancel(job.id)


def _store_completed(ctx: WorkerContext, job: Job, plans: list[LanguagePlan], render: Any) -> None:
    """Store every language whose last sentence is back (each one once)."""
    for plan in plans:
        if plan.complete and not plan.stored:
            _store_language(ctx, job, plan, render)
            plan.stored = True


def _store_language(ctx: WorkerContext, job: Job, plan: LanguagePlan, render: Any) -> None:
    result: dict[str, Any]
    if plan.error is not None:
        result = {
            "status": TranslationStatus.FAILED,
            "error_code": plan.error.code,
            "error_message": plan.error.message,
        }
    else:
        fields = render(plan.translated, plan.target)
        flags = plan.flag_records() + fields.pop("flags", [])
        result = {
            "status": TranslationStatus.SUCCEEDED,
            "direction": text_direction(plan.target),
            "flags": flags,
            **fields,
        }
    record_terms(ctx.db, job.id, plan.target, plan.term_records(), attempt=job.attempts)
    store.record_translation(ctx.db, job.id, plan.target, attempt=job.attempts, **result)
