"""From a job's text to what each language must receive: detect, segment, summarise.

The article is parsed through its format (``worker.pipeline.formats``); each step's
outcome (detected language, paragraph languages, summary) is committed as soon as it
is known, so a running job shows it while the rest is being translated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service import store
from service.errors import InvalidInput
from service.languages import AUTO
from service.models import Job
from worker.engines.base import Summarizer
from worker.metrics import cpu_stage
from worker.models.registry import registry
from worker.pipeline.abstractive import TransformersSummarizer
from worker.pipeline.context import WorkerContext
from worker.pipeline.detect import DocumentDetection, detect_document
from worker.pipeline.formats import Parsed, get_format
from worker.pipeline.quality import Flag
from worker.pipeline.quotes import complete as complete_quotes
from worker.pipeline.sources.load import load_source
from worker.pipeline.summarize import ExtractiveSummarizer, summary_length
from worker.pipeline.text import normalize_text, sentence_separator
from worker.pipeline.units import Unit

# A paragraph is translated from its own language only when the detector is this sure.
PARAGRAPH_LANGUAGE_CONFIDENCE = 0.9


@dataclass
class Article:
    """A job's text, parsed, with what each target language must receive."""

    source: str
    title: Parsed | None
    body: Parsed
    summary: list[str] = field(default_factory=list)
    # The language of each body paragraph (an article can quote another language).
    paragraph_sources: list[str] = field(default_factory=list)
    analysis: dict[str, Any] = field(default_factory=dict)

    def units(self, fields: list[str]) -> list[Unit]:
        """The distinct sentences to translate for ``fields``, each with its places."""
        body_source: dict[str, str] = {}
        for number, paragraph in enumerate(self.body.document.paragraphs):
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
            wanted.append(("title", self.title.document.sentences))
        if "summary" in fields:
            wanted.append(("summary", self.summary))
        if "body" in fields:
            wanted.append(("body", self.body.document.sentences))
        for name, sentences in wanted:
            for index, sentence in enumerate(sentences):
                places.setdefault(sentence, []).append((name, index))
                sources.setdefault(sentence, body_source.get(sentence, self.source))
        return [Unit(text, sources[text], tuple(where)) for text, where in places.items()]

    def render(self, fields: list[str], translated: dict[str, str], target: str) -> dict[str, Any]:
        """Title, summary and body in ``target`` from its sentence translations.

        ``flags`` lists the body's sentences whose inline markup did not come through.
        """
        title, body = self.title, self.body
        rendered: dict[str, Any] = {
            "title": title.render([translated[s] for s in title.document.sentences], target)
            if "title" in fields and title is not None
            else None,
            "summary": sentence_separator(target).join(translated[s] for s in self.summary)
            if "summary" in fields and self.summary
            else None,
            "body": None,
            "flags": [],
        }
        if "body" in fields:
            sentences = body.document.sentences
            report = body.render_report([translated[s] for s in sentences], target)
            rendered["body"] = report.output
            rendered["flags"] = [
                {
                    "field": "body",
                    "index": loss.sentence,
                    "source": sentences[loss.sentence][:200],
                    "flags": [str(Flag.LOST_MARKUP)],
                }
                for loss in report.losses
            ]
        return rendered


def prepare_article(ctx: WorkerContext, job: Job) -> Article:
    """Load the article (fetch, extract), detect its language, segment and summarise it.

    What is found is recorded on the job as soon as it is known.
    """
    with cpu_stage("load"):
        loaded = load_source(ctx.db, ctx.settings, job, limiter=ctx.limiter())
        text, title_text = normalize_text(loaded.text), normalize_text(loaded.title or "")
    # HTML output keeps the article's markup: its body is parsed as HTML.
    fmt, markup = (
        (get_format("html"), loaded.html) if loaded.html is not None else (get_format("text"), text)
    )
    source = job.source_language
    analysis: dict[str, Any] = {}
    paragraph_sources: list[str] = []
    detection: DocumentDetection | None = None
    if source == AUTO:
        with cpu_stage("detect"):
            detection = detect_document(text)
            if detection is None and title_text:
                detection = detect_document(title_text)
        if detection is None:
            raise InvalidInput(
                "Could not tell the article's language; give source_language explicitly."
            )
        source = detection.language
        with cpu_stage("store"):
            store.record_detection(
                ctx.db, job.id, source, detection.confidence, attempt=job.attempts
            )
    with cpu_stage("segment"):
        body = fmt.parse(markup, source)
        title = get_format("text").parse(title_text, source) if title_text else None
    if detection is not None:
        paragraph_sources = _paragraph_sources(detection, source, len(body.document.paragraphs))
        analysis = {
            "mixed": detection.mixed,
            "paragraph_languages": [
                {"language": d.code, "confidence": round(d.confidence, 3)} if d else None
                for d in detection.paragraphs
            ],
        }
        with cpu_stage("store"):
            store.record_analysis(ctx.db, job.id, analysis, attempt=job.attempts)
    article = Article(source, title, body, paragraph_sources=paragraph_sources, analysis=analysis)
    if not body.document.sentences:
        raise InvalidInput("The article has no text to process.")
    if job.summary_sentences or job.summary_ratio:
        with cpu_stage("summary"):
            summarize(ctx, job, article)
    return article


def summarize(ctx: WorkerContext, job: Job, article: Article) -> None:
    """Write the article's summary in its own language and record it."""
    sentences = article.body.document.sentences
    count = job.summary_sentences or summary_length(len(sentences), ratio=job.summary_ratio)
    summarizer = load_summarizer(ctx)
    chosen = summarizer.summarize(
        sentences, article.source, min(count, ctx.settings.max_summary_sentences)
    )
    # A sentence from inside a quotation keeps its quotation marks.
    quoted = complete_quotes(article.body.document.paragraphs)
    article.summary = [quoted.get(sentence, sentence) for sentence in chosen]
    text = sentence_separator(article.source).join(article.summary)
    summary = {"text": text, "sentences": article.summary}
    store.record_summary(ctx.db, job.id, summary, attempt=job.attempts)


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
    return registry().get_summarizer(
        name, device=ctx.settings.device, create=TransformersSummarizer
    )
