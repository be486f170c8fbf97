"""Request and response bodies of the HTTP API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.contract import JobStatus, TranslatableField, TranslationStatus
from service.glossary.schemas import AppliedTermOut, JobGlossaryOut


class SummaryOptions(BaseModel):
    """Summary length: a number of sentences, or a share of the article's sentences."""

    model_config = ConfigDict(extra="forbid")

    sentences: int | None = Field(
        default=None, ge=1, description="How many sentences the summary has (default 3)."
    )
    ratio: float | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Share of the article's sentences, e.g. 0.2; instead of sentences.",
    )

    @model_validator(mode="after")
    def _one_length(self) -> SummaryOptions:
        if self.sentences is not None and self.ratio is not None:
            raise ValueError("give summary.sentences or summary.ratio, not both")
        if self.sentences is None and self.ratio is None:
            self.sentences = 3
        return self


class JobOptions(BaseModel):
    """What to make of an article: languages, summary, fields, output form, webhook."""

    model_config = ConfigDict(extra="forbid")

    source_language: str = Field(default="auto", max_length=35)
    target_languages: list[str] = Field(min_length=1, max_length=64)
    summary: SummaryOptions | None = Field(default_factory=SummaryOptions)
    translate: list[TranslatableField] = Field(default=["title", "summary"], max_length=3)
    output: Literal["text", "html"] | None = Field(
        default=None,
        description="html: the translated body keeps the article's markup (links, emphasis, "
        "headings, lists); default html for HTML input (format=html), else text.",
    )
    callback_url: str | None = Field(
        default=None,
        max_length=2048,
        description="POSTed the finished job, signed with the tenant's webhook secret.",
    )

    @field_validator("source_language", "callback_url", mode="before")
    @classmethod
    def _valid_unicode(cls, value: object) -> object:
        # JSON may escape a lone surrogate ("\ud800"), which no database can store.
        if isinstance(value, str) and _has_surrogate(value):
            raise ValueError("text must be valid Unicode (no unpaired surrogates)")
        return value

    @field_validator("target_languages")
    @classmethod
    def _codes_are_strings(cls, value: list[str]) -> list[str]:
        if any(len(code) > 35 for code in value):
            raise ValueError("language codes are at most 35 characters")
        if any(_has_surrogate(code) for code in value):
            raise ValueError("language codes must be valid Unicode")
        return value


class JobCreate(JobOptions):
    """An article to summarise and translate: its ``text``, its ``html``, or its ``url``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Iran's Leader Says All Azerbaijani Territories Must Be 'Liberated'",
                    "text": "Iran's Supreme Leader Ali Khamenei has said ...",
                    "source_language": "auto",
                    "target_languages": ["az", "fa", "hy"],
                    "summary": {"sentences": 3},
                    "translate": ["title", "summary"],
                    "callback_url": "https://newsroom.example/hooks/dragoman",
                },
                {
                    "url": "https://newsroom.example/2025/11/04/geneva-talks",
                    "target_languages": ["fa"],
                    "translate": ["title", "body"],
                    "output": "html",
                },
            ]
        },
    )

    title: str | None = Field(default=None, max_length=2000)
    text: str | None = Field(
        default=None,
        description="The article body; paragraphs separated by blank lines (HTML with "
        "format=html).",
    )
    html: str | None = Field(
        default=None,
        description="The article as HTML, a whole page (its article is extracted) or a "
        "fragment; with output=html its markup is kept.",
    )
    url: str | None = Field(
        default=None,
        max_length=2048,
        description="A page to fetch (by a worker) and extract the article from.",
    )
    format: Literal["text", "html"] = Field(
        default="text",
        description="How `text` is written: html means it is HTML (as LibreTranslate's "
        "format=html) and the output keeps its markup.",
    )
    glossaries: list[str] | None = Field(
        default=None,
        max_length=64,
        description="Ids of your glossaries to apply, first one first where two give the "
        "same term; your default glossary when not given, none with [].",
    )

    @field_validator("glossaries")
    @classmethod
    def _glossary_ids(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(len(item) > 64 or _has_surrogate(item) for item in value):
            raise ValueError("glossary ids are at most 64 characters of valid Unicode")
        return value

    @field_validator("title", "text", "html", "url", mode="before")
    @classmethod
    def _valid_unicode_input(cls, value: object) -> object:
        if isinstance(value, str) and _has_surrogate(value):
            raise ValueError("text must be valid Unicode (no unpaired surrogates)")
        return value

    @field_validator("text", "html", "url")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("title")
    @classmethod
    def _blank_title_is_none(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None

    @model_validator(mode="after")
    def _one_source(self) -> JobCreate:
        given = [name for name in ("text", "html", "url") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of text, html or url"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.format == "html" and self.text is None:
            raise ValueError("format=html describes text; html and url need no format")
        if self.output == "html" and self.text is not None and self.format != "html":
            raise ValueError("output=html needs HTML input: html, url, or text with format=html")
        return self

    @property
    def source_kind(self) -> Literal["text", "html", "url"]:
        if self.url is not None:
            return "url"
        return "html" if self.html is not None or self.format == "html" else "text"

    @property
    def output_format(self) -> Literal["text", "html"]:
        if self.output is not None:
            return self.output
        return "html" if self.text is not None and self.format == "html" else "text"


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class ErrorInfo(BaseModel):
    code: str
    message: str


class SummaryOut(BaseModel):
    text: str
    sentences: list[str]


class SegmentFlag(BaseModel):
    """A translated sentence that failed a check even after a stricter retry."""

    field: str = Field(description="title, summary or body")
    index: int = Field(description="Sentence number within the field, from 0.")
    source: str = Field(description="The source sentence (shortened).")
    target: str | None = Field(
        default=None, description="Its translation (shortened), as the translated text has it."
    )
    flags: list[str] = Field(
        description="untranslated, wrong_script, wrong_language, repetition, length_ratio, "
        "numbers, lost_placeholder, glossary (a glossary term did not come through), "
        "lost_markup (inline HTML markup did not come through)"
    )


class TranslationOut(BaseModel):
    status: TranslationStatus
    direction: Literal["ltr", "rtl"] | None = None
    title: str | None = None
    summary: str | None = None
    body: str | None = None
    flags: list[SegmentFlag] = Field(default_factory=list)
    terms: list[AppliedTermOut] = Field(
        default_factory=list, description="Glossary entries applied, sentence by sentence."
    )
    error: ErrorInfo | None = None


class Progress(BaseModel):
    done: int
    total: int


class WebhookDeliveryOut(BaseModel):
    attempt: int
    status_code: int | None
    error: str | None
    delivered: bool
    created_at: dt.datetime


class WebhookOut(BaseModel):
    url: str
    status: str = Field(description="pending until the job finishes and a delivery is tried.")
    deliveries: list[WebhookDeliveryOut]


class SourceOut(BaseModel):
    """Where the article came from; a URL's fetch details once a worker has fetched it."""

    kind: Literal["text", "html", "url"]
    url: str | None = None
    fetched_at: dt.datetime | None = None
    final_url: str | None = Field(default=None, description="After redirects.")


class JobOut(BaseModel):
    id: str
    status: JobStatus
    title: str | None
    source: SourceOut
    output: Literal["text", "html"] = Field(description="The form of the translated body.")
    author: str | None = Field(default=None, description="As the page gives it.")
    published: str | None = Field(default=None, description="As the page gives it (ISO date).")
    site: str | None = Field(default=None, description="The site's name, as the page gives it.")
    source_language: str
    detected_language: str | None
    detected_confidence: float | None
    target_languages: list[str]
    translate: list[str]
    summary: SummaryOut | None
    translations: dict[str, TranslationOut]
    progress: Progress
    error: ErrorInfo | None
    analysis: dict[str, Any] | None = Field(
        default=None,
        description="paragraph_languages (code and confidence per paragraph), mixed, "
        "split_segments (sentences over the model's input limit, translated in pieces)",
    )
    attempts: int = Field(
        description="Tries at the job; a try handed back by a stopping worker is not counted."
    )
    model: str | None
    glossaries: list[JobGlossaryOut] = Field(
        default_factory=list, description="The glossaries the job applies, as submitted."
    )
    webhook: WebhookOut | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class ArticleOut(BaseModel):
    """The article a job translates, in plain text, as the pipeline reads it."""

    title: str | None
    text: str = Field(
        description="Paragraphs separated by blank lines. For a url or html job, empty until "
        "a worker has fetched the page or extracted its article."
    )
    source: SourceOut
    author: str | None = None
    published: str | None = None
    site: str | None = None


class JobList(BaseModel):
    items: list[JobOut]
    next_cursor: str | None


class LanguageOut(BaseModel):
    code: str
    name: str = Field(description="The language's name in English.")
    native_name: str = Field(description="The language's name in itself (فارسی, հայերեն).")
    direction: Literal["ltr", "rtl"]


class LanguagesOut(BaseModel):
    model: str
    languages: list[LanguageOut]


class ErrorResponse(BaseModel):
    error: ErrorInfo


class FeedCreate(JobOptions):
    """A feed to follow: every new item becomes a job with these options."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://newsroom.example/rss/politics.xml",
                    "target_languages": ["az", "fa", "hy"],
                    "summary": {"sentences": 3},
                    "translate": ["title", "summary"],
                    "interval_minutes": 15,
                }
            ]
        },
    )

    url: str = Field(max_length=2048, description="An RSS (0.9x, 1.0, 2.0) or Atom feed.")
    interval_minutes: int = Field(
        default=15, ge=1, le=7 * 24 * 60, description="Minutes between polls."
    )

    @field_validator("url", mode="before")
    @classmethod
    def _valid_url_text(cls, value: object) -> object:
        if isinstance(value, str) and _has_surrogate(value):
            raise ValueError("text must be valid Unicode (no unpaired surrogates)")
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        return value


class FeedItemOut(BaseModel):
    guid: str | None
    link: str | None
    title: str | None
    job_id: str | None = Field(description="The job the item became (null if it could not).")
    error: ErrorInfo | None
    created_at: dt.datetime


class FeedOut(BaseModel):
    id: str
    url: str
    status: Literal["active", "failing", "paused"] = Field(
        description="failing: the last poll failed and polls back off; paused: the API key "
        "that created the feed is revoked."
    )
    error: ErrorInfo | None
    interval_minutes: int
    options: JobOptions = Field(description="What each item's job is made with.")
    last_polled_at: dt.datetime | None
    next_poll_at: dt.datetime
    items_seen: int
    items: list[FeedItemOut] = Field(description="The latest items and the jobs they became.")
    created_at: dt.datetime


class FeedList(BaseModel):
    items: list[FeedOut]
