"""A job's article from its source: the text given, the HTML given, or the page at its URL.

:func:`load_source` is what the pipeline calls first for a job whose
``source_kind`` is not ``text``: it fetches (``url``), extracts the article
(trafilatura), charges a fetched article's characters to the key that asked, and
records the text and metadata on the job, so the rest of the pipeline reads
``Source.text`` as it reads a text job's text. ``Source.html`` is what the HTML
format translates when the job's output is HTML: the extracted article's clean
HTML for a URL, the given HTML itself otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service import sources
from service.db import Database
from service.errors import NotAnArticle
from service.limits import Limiter
from service.models import Job
from service.settings import Settings
from worker.pipeline.formats.html import HtmlFormat
from worker.pipeline.sources.extract import Article, extract_article, extract_fetched
from worker.pipeline.sources.fetch import Fetcher


@dataclass(frozen=True)
class Source:
    text: str  # plain text: language detection, the summary, text output
    html: str | None  # HTML to translate with its markup kept (output "html"), else None
    title: str | None


def load_source(
    db: Database,
    settings: Settings,
    job: Job,
    *,
    fetcher: Fetcher | None = None,
    limiter: Limiter | None = None,
) -> Source:
    """The article of a claimed job (attempt ``job.attempts``), recorded on the job.

    Raises:
        FetchError (its subclasses): the page could not be fetched.
        NotAnArticle: nothing worth translating was found.
        QuotaExceeded: a fetched article does not fit in the key's quota today.
    """
    if job.source_kind == "url":
        return _from_url(db, settings, job, fetcher, limiter)
    if job.source_kind == "html":
        return _from_html(db, job)
    return Source(job.text, None, job.title)


def _from_url(
    db: Database, settings: Settings, job: Job, fetcher: Fetcher | None, limiter: Limiter | None
) -> Source:
    assert job.source_url is not None
    fetched = (fetcher or Fetcher.from_settings(settings)).fetch(job.source_url)
    article = extract_fetched(fetched)
    if limiter is not None:
        sources.charge_fetched(db, settings, limiter, job, len(article.text))
    _record_article(
        db,
        job,
        article,
        html=article.html,
        final_url=fetched.final_url,
        fetched_at=fetched.fetched_at,
    )
    html = article.html if job.output_format == "html" else None
    return Source(article.text, html, job.title or article.title)


def _from_html(db: Database, job: Job) -> Source:
    markup = job.html or ""
    if job.output_format == "html":
        # The markup is the document: translated as it is, nothing extracted.
        text = HtmlFormat().parse(markup, "en").text
        sources.record_source(db, job.id, attempt=job.attempts, text=text)
        return Source(text, markup, job.title)
    try:
        article = extract_article(markup)
    except NotAnArticle:
        # A fragment (a CMS body) has no boilerplate to drop: its text is the article.
        text = HtmlFormat().parse(markup, "en").text
        if not text.strip():
            raise
        sources.record_source(db, job.id, attempt=job.attempts, text=text)
        return Source(text, None, job.title)
    _record_article(db, job, article)
    return Source(article.text, None, job.title or article.title)


def _record_article(db: Database, job: Job, article: Article, **fetched: Any) -> None:
    """Record an extracted article's text and metadata (and how it was fetched) on the job."""
    sources.record_source(
        db,
        job.id,
        attempt=job.attempts,
        text=article.text,
        title=article.title,
        author=article.author,
        published=article.published,
        site=article.site,
        **fetched,
    )
