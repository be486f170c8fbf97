"""An interactive request (a LibreTranslate-style call) from its stored row to its answer.

Short texts, one target, an answer the caller is waiting for: each text is parsed
through its format (plain or HTML), its sentences go to the process's batch scheduler
as priority segments (taken before any article's at the next batch), come back
through the same checks as an article's (placeholders, glossary terms, numbers,
orthography, one stricter retry) and are rendered in the text's format. The answer
is stored on the job (``result``) in one committed write.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

from service import store
from service.errors import DragomanError, InvalidInput, JobTimeout, PermanentError
from service.languages import AUTO
from service.models import Job
from service.store.interactive import finish_interactive
from worker.engines.base import Segment, Translator
from worker.engines.scheduler import BatchScheduler
from worker.models.registry import load_model
from worker.pipeline.cache import cache_key
from worker.pipeline.context import HandedBack, WorkerContext
from worker.pipeline.detect import (
    Detection,
    detect_candidates,
    detect_document,
    detect_language,
    warm_up,
)
from worker.pipeline.formats import Parsed, get_format
from worker.pipeline.glossary import JobGlossary, TermIndex, cache_model_key
from worker.pipeline.quality import join_pieces, split_long_sentence
from worker.pipeline.text import normalize_text
from worker.pipeline.units import Piece, check_piece, make_piece

log = logging.getLogger("dragoman.interactive")

INTERNAL_ERROR = "An internal error occurred; see the worker log."


@dataclass
class _Sentence:
    """A distinct source sentence: its pieces, their futures and what came back."""

    text: str
    pieces: list[Piece]
    key: str
    result: str | None = None
    alternatives: list[str] = field(default_factory=list)


def run_interactive(ctx: WorkerContext, job_id: str) -> None:
    """Answer one interactive request; every failure is recorded on the job."""
    settings = ctx.settings
    job = ctx.claim(job_id)
    if job is None:
        log.debug("interactive %s: nothing to do (answered, given up or expired)", job_id)
        return
    started = time.monotonic()
    try:
        result, detected = answer(ctx, job, started + settings.interactive_timeout_seconds)
    except HandedBack:
        _fail(ctx, job, "worker_stopping", "The worker is stopping; try again.")
        return
    except PermanentError as exc:
        _fail(ctx, job, exc.code, exc.message)
        return
    except DragomanError as exc:
        _fail(ctx, job, exc.code, exc.message)
        return
    except Exception:
        log.exception("interactive %s: unexpected error", job_id)
        _fail(ctx, job, "internal_error", INTERNAL_ERROR)
        return
    finish_interactive(ctx.db, job_id, result, attempt=job.attempts, detected=detected)
    log.debug("interactive %s answered in %.3f s", job_id, time.monotonic() - started)


def _fail(ctx: WorkerContext, job: Job, code: str, message: str) -> None:
    store.fail_job(ctx.db, job.id, code, message, attempt=job.attempts)


def answer(ctx: WorkerContext, job: Job, deadline: float) -> tuple[dict[str, Any], str | None]:
    """The stored answer of ``job`` and the detected source language (``auto`` only).

    ``result`` holds ``translated`` (one text per ``q``), ``alternatives`` (per ``q``, up
    to the count asked for, when asked) and ``detected`` (``{language, confidence}``
    with confidence 0..100, when the source was ``auto``).
    """
    payload = job.payload or {}
    texts: list[str] = list(payload.get("q", []))
    if payload.get("task") == "detect":
        return {"detections": detections(" \n".join(texts))}, None
    fmt = get_format(payload.get("format", "text"))
    count = int(payload.get("alternatives", 0) or 0)
    target = job.target_languages[0]
    source = job.source_language
    detected: dict[str, Any] | None = None
    if source == AUTO:
        detection = detect_short(" \n".join(texts) if fmt.name == "text" else _plain(texts))
        if detection is None:
            raise InvalidInput("Could not tell the language of the text; give a source language.")
        source = detection.code
        detected = {"language": source, "confidence": round(detection.confidence * 100, 1)}
    parsed = [
        fmt.parse(normalize_text(text) if fmt.name == "text" else text, source) for text in texts
    ]
    result: dict[str, Any] = {"detected": detected}
    if source == target:
        result["translated"] = texts
        result["alternatives"] = [[] for _ in texts] if count else None
        return result, source if detected else None
    ctx.wait_for_model()
    translator = load_model(ctx.settings)
    if not translator.supports(source, target):
        raise InvalidInput(f"The model cannot translate {source} into {target}.")
    glossary = JobGlossary.from_snapshot(job.glossary)
    index = glossary.index(source, target)
    sentences = _sentences(ctx, translator, parsed, source, target, index)
    scheduler = ctx.scheduler(translator)
    _translate(ctx, job.id, scheduler, sentences, source, target, deadline, index, count)
    translated = {s.text: s.result or "" for s in sentences}
    result["translated"] = [
        p.render([translated[s] for s in p.document.sentences], target) for p in parsed
    ]
    if count:
        result["alternatives"] = [
            _alternatives(p, translated, {s.text: s.alternatives for s in sentences}, target, count)
            for p in parsed
        ]
    else:
        result["alternatives"] = None
    return result, source if detected else None


def warm_detectors() -> None:
    """Build the language detectors (seconds, once per process) before a call waits on it."""
    warm_up()


def detections(text: str) -> list[dict[str, Any]]:
    """``/detect``'s answer: likely languages, best first, confidence 0..100."""
    found = [
        (d.code, round(d.confidence * 100, 1)) for d in detect_candidates(normalize_text(text))
    ]
    return [{"language": code, "confidence": value} for code, value in found if value > 0]


def detect_short(text: str) -> Detection | None:
    """The language of a request's text: the short-text detector for a sentence or a
    headline, paragraph by paragraph for longer texts."""
    detection = detect_language(text)
    if detection is not None and "\n" not in text.strip():
        return detection
    document = detect_document(text)
    if document is None:
        return detection
    return Detection(document.language, document.confidence)


def _plain(texts: list[str]) -> str:
    return " \n".join(get_format("html").parse(text, "en").text for text in texts)


def _sentences(
    ctx: WorkerContext,
    translator: Translator,
    parsed: list[Parsed],
    source: str,
    target: str,
    index: TermIndex,
) -> list[_Sentence]:
    """The distinct sentences of all texts, each split into pieces the model can take."""
    distinct = list(dict.fromkeys(s for p in parsed for s in p.document.sentences))
    counts = translator.count_tokens(distinct, source) if distinct else []
    model = ctx.settings.translation_model
    limit = translator.max_input_tokens

    def count(text: str) -> int:
        return translator.count_tokens([text], source)[0]

    sentences: list[_Sentence] = []
    for text, tokens in zip(distinct, counts, strict=True):
        parts = [text] if tokens <= limit else split_long_sentence(text, limit, count)
        key = cache_key(cache_model_key(model, index.cache_component(text)), source, target, text)
        sentences.append(_Sentence(text, [make_piece(part, index) for part in parts], key))
    return sentences


def _translate(
    ctx: WorkerContext,
    job_id: str,
    scheduler: BatchScheduler,
    sentences: list[_Sentence],
    source: str,
    target: str,
    deadline: float,
    index: TermIndex,
    count: int,
) -> None:
    """Fill each sentence's ``result`` (and ``alternatives``) through the scheduler."""
    cached = ctx.translation_cache().get_many([s.key for s in sentences])
    pending: dict[Future[str], tuple[_Sentence, Piece]] = {}
    todo = [s for s in sentences if s.key not in cached or index.find(s.text)]
    for sentence in sentences:
        if sentence not in todo:
            sentence.result = cached[sentence.key]
    work = [(s, p) for s in todo for p in s.pieces]
    if work:
        futures = scheduler.submit(
            job_id, [Segment(p.terms.masked, source, target) for _, p in work], priority=True
        )
        pending.update(zip(futures, work, strict=True))
    nbest: dict[Future[list[str]], tuple[_Sentence, Piece]] = {}
    if count:
        # One hypothesis more than asked for: the best is usually the translation itself.
        whole = [(s, s.pieces[0]) for s in sentences if len(s.pieces) == 1]
        if whole:
            futures_n = scheduler.submit_alternatives(
                job_id,
                [Segment(p.terms.masked, source, target) for _, p in whole],
                count + 1,
                priority=True,
            )
            nbest.update(zip(futures_n, whole, strict=True))
    fresh: dict[str, str] = {}
    try:
        while pending or nbest:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise JobTimeout("The translation took longer than this service waits.")
            waiting: list[Future[Any]] = [*pending, *nbest]
            done, _ = wait(waiting, timeout=min(remaining, 0.5), return_when=FIRST_COMPLETED)
            for future in [f for f in pending if f in done]:
                sentence, piece = pending.pop(future)
                if check_piece(piece, future.result(), source, target, ctx.settings):
                    strict = Segment(piece.terms.masked, source, target, True)
                    (retry,) = scheduler.submit(job_id, [strict], priority=True)
                    pending[retry] = (sentence, piece)
                    continue
                if all(p.result is not None for p in sentence.pieces):
                    sentence.result = join_pieces([p.result or "" for p in sentence.pieces], target)
                    if not any(p.flags for p in sentence.pieces) and not index.find(sentence.text):
                        fresh[sentence.key] = sentence.result
            for future_n in [f for f in nbest if f in done]:
                sentence, piece = nbest.pop(future_n)
                sentence.alternatives = [
                    _restored(piece.text, hypothesis, index, source, target, ctx)
                    for hypothesis in future_n.result()
                ]
    finally:
        if pending or nbest:
            scheduler.cancel(job_id)
    if fresh:
        ctx.translation_cache().put_many(fresh)


def _restored(
    text: str, hypothesis: str, index: TermIndex, source: str, target: str, ctx: WorkerContext
) -> str:
    """An n-best hypothesis with placeholders and terms restored, as a translation is."""
    piece = make_piece(text, index)
    if check_piece(piece, hypothesis, source, target, ctx.settings) and piece.first_try:
        return piece.first_try[0]
    return piece.result or hypothesis


def _alternatives(
    parsed: Parsed,
    translated: dict[str, str],
    hypotheses: dict[str, list[str]],
    target: str,
    count: int,
) -> list[str]:
    """Up to ``count`` other renderings of one text: alternative ``k`` takes each
    sentence's ``k``-th other hypothesis (its translation where it has fewer)."""
    sentences = parsed.document.sentences
    best = parsed.render([translated[s] for s in sentences], target)
    others = {s: [h for h in hypotheses.get(s, []) if h and h != translated[s]] for s in sentences}
    found: list[str] = []
    for k in range(count):
        if not any(len(others[s]) > k for s in sentences):
            break
        text = parsed.render(
            [others[s][k] if len(others[s]) > k else translated[s] for s in sentences], target
        )
        if text != best and text not in found:
            found.append(text)
    return found
