"""The article pipeline: normalise, detect, segment, summarise, translate, record.

Every step's outcome is committed through ``service.store`` as soon as it is
known, so a running job shows its detected language, summary, progress and
each finished language while the rest is still being translated.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from service import store
from service.errors import DragomanError, InvalidInput, PermanentError
from service.languages import AUTO
from service.models import Job
from worker import metrics, webhooks
from worker.context import WORKER_ID, WorkerContext
from worker.detect import DocumentDetection, detect_document
from worker.engines.base import Summarizer
from worker.quotes import complete as complete_quotes
from worker.registry import registry
from worker.runtime import dispatch, lifecycle
from worker.summarize import ExtractiveSummarizer, summary_length
from worker.text import Document, normalize_text, segment_document, sentence_separator
from worker.translation import Cancelled, Unit, translate_article

log = logging.getLogger("dragoman.pipeline")


@dataclass
class Article:
    """A job's text, segmented, with what each target language must receive."""

    source: str
    title: Document | None
    body: Document
    summary: list[str] = field(default_factory=list)
    # The language of each body paragraph (an article can quote another language).
    paragraph_sources: list[str] = field(default_factory=list)
    analysis: dict[str, Any] = field(default_factory=dict)

    def units(self, fields: list[str]) -> list[Unit]:
        """The distinct sentences to translate for ``fields``, each with its places."""
        body_source: dict[str, str] = {}
        for number, paragraph in enumerate(self.body.paragraphs):
            language = (
                self.paragraph_sources[number]
                if number < len(self.paragraph_sources)
                else self.source
            )
            for sentence in paragraph:
                body_source.setdefault(sentence, language)
        places: dict[str, list[tuple[str, int]]] = {}
        sources: dict[str, str] = {}
        wanted: list[tuple[str, list[str]]] = []
        if "title" in fields and self.title is not None:
            wanted.append(("title", self.title.sentences))
        if "summary" in fields:
            wanted.append(("summary", self.summary))
        if "body" in fields:
            wanted.append(("body", self.body.sentences))
        for name, sentences in wanted:
            for index, sentence in enumerate(sentences):
                places.setdefault(sentence, []).append((name, index))
                sources.setdefault(sentence, body_source.get(sentence, self.source))
        return [Unit(text, sources[text], tuple(where)) for text, where in places.items()]


def run_job(ctx: WorkerContext, job_id: str) -> None:
    """Process one job from its stored row to its stored result."""
    settings = ctx.settings
    if lifecycle.draining():
        # Stopping: leave the job queued for another worker (or this one, restarted).
        dispatch.send_job(job_id)
        return
    job = store.claim_job(
        ctx.db,
        job_id,
        model=settings.translation_model,
        worker=WORKER_ID,
        stale_after=settings.worker_stale_seconds,
    )
    if job is None:
        log.info("job %s: nothing to do (finished, cancelled or unknown)", job_id)
        return
    try:
        deadline = time.monotonic() + settings.task_soft_time_limit
        article = prepare_article(ctx, job)
        translate_article(
            ctx,
            job,
            article.units(job.translate_fields),
            lambda translated, target: render_fields(job, article, translated, target),
            deadline,
            article.analysis,
        )
    except lifecycle.HandedBack:
        if store.hand_back_job(ctx.db, job_id, attempt=job.attempts):
            dispatch.send_job(job_id)
            log.info("job %s: handed back to the queue (worker stopping)", job_id)
        return
    except Cancelled:
        log.info("job %s: cancelled", job_id)
        metrics.JOBS.labels("cancelled").inc()
        return
    except PermanentError as exc:
        log.info("job %s failed: %s: %s", job_id, exc.code, exc.message)
        if store.fail_job(ctx.db, job_id, exc.code, exc.message, attempt=job.attempts):
            webhooks.job_finished(ctx.db, job_id)
        metrics.JOBS.labels("failed").inc()
        return
    except DragomanError:
        raise
    except Exception:
        log.exception("job %s: unexpected error", job_id)
        if store.fail_job(
            ctx.db,
            job_id,
            "internal_error",
            "An internal error occurred; see the worker log.",
            attempt=job.attempts,
        ):
            webhooks.job_finished(ctx.db, job_id)
        metrics.JOBS.labels("failed").inc()
        return
    if store.finish_job(ctx.db, job_id, attempt=job.attempts):
        metrics.JOBS.labels("succeeded").inc()
        webhooks.job_finished(ctx.db, job_id)


def prepare_article(ctx: WorkerContext, job: Job) -> Article:
    """Normalise, detect the language, segment and summarise; record what is found."""
    text = normalize_text(job.text)
    title = normalize_text(job.title) if job.title else ""
    source = job.source_language
    body = segment_document(text, source if source != AUTO else "en")
    paragraph_sources: list[str] = []
    analysis: dict[str, Any] = {}
    if source == AUTO:
        detection = detect_document(text)
        if detection is None and title:
            detection = detect_document(title)
        if detection is None:
            raise InvalidInput(
                "Could not tell the article's language; give source_language explicitly."
            )
        source = detection.language
        store.record_detection(ctx.db, job.id, source, detection.confidence, attempt=job.attempts)
        body = segment_document(text, source)
        paragraph_sources = _paragraph_sources(detection, source, len(body.paragraphs))
        analysis = {
            "mixed": detection.mixed,
            "paragraph_languages": [
                {"language": d.code, "confidence": round(d.confidence, 3)} if d else None
                for d in detection.paragraphs
            ],
        }
        store.record_analysis(ctx.db, job.id, analysis, attempt=job.attempts)
    article = Article(
        source=source,
        title=segment_document(title, source) if title else None,
        body=body,
        paragraph_sources=paragraph_sources,
        analysis=analysis,
    )
    if not article.body.sentences:
        raise InvalidInput("The article has no text to process.")
    if job.summary_sentences or job.summary_ratio:
        count = job.summary_sentences or summary_length(
            len(article.body.sentences), ratio=job.summary_ratio
        )
        summarizer = load_summarizer(ctx)
        summary = summarizer.summarize(
            article.body.sentences, source, min(count, ctx.settings.max_summary_sentences)
        )
        # A sentence from inside a quotation keeps its quotation marks.
        quoted = complete_quotes(article.body.paragraphs)
        article.summary = [quoted.get(sentence, sentence) for sentence in summary]
        store.record_summary(
            ctx.db,
            job.id,
            {
                "text": sentence_separator(source).join(article.summary),
                "sentences": article.summary,
            },
            attempt=job.attempts,
        )
    return article


# A paragraph is translated from its own language only when the detector is this sure.
PARAGRAPH_LANGUAGE_CONFIDENCE = 0.9


def _paragraph_sources(detection: DocumentDetection, source: str, count: int) -> list[str]:
    """The source language of each body paragraph: its own where confidently different."""
    if not detection.mixed or len(detection.paragraphs) != count:
        return [source] * count
    return [
        d.code if d is not None and d.confidence >= PARAGRAPH_LANGUAGE_CONFIDENCE else source
        for d in detection.paragraphs
    ]


def load_summarizer(ctx: WorkerContext) -> Summarizer:
    name = ctx.settings.summary_model
    if name == "extractive":
        return ExtractiveSummarizer()
    return registry().get_summarizer(name, device=ctx.settings.device)


def render_fields(
    job: Job, article: Article, translated: dict[str, str], target: str
) -> dict[str, str | None]:
    """Reassemble translated title, summary and body in ``target``, keeping paragraphs."""
    fields = job.translate_fields
    title = article.title
    return {
        "title": title.render([translated[s] for s in title.sentences], language=target)
        if "title" in fields and title is not None
        else None,
        "summary": sentence_separator(target).join(translated[s] for s in article.summary)
        if "summary" in fields and article.summary
        else None,
        "body": article.body.render(
            [translated[s] for s in article.body.sentences], language=target
        )
        if "body" in fields
        else None,
    }
