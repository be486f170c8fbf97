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


class JobCreate(BaseModel):
    """An article to summarise and translate."""

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
                }
            ]
        },
    )

    title: str | None = Field(default=None, max_length=2000)
    text: str = Field(description="The article body; paragraphs separated by blank lines.")
    source_language: str = Field(default="auto", max_length=35)
    target_languages: list[str] = Field(min_length=1, max_length=64)
    summary: SummaryOptions | None = Field(default_factory=SummaryOptions)
    translate: list[TranslatableField] = Field(default=["title", "summary"], max_length=3)
    callback_url: str | None = Field(
        default=None,
        max_length=2048,
        description="POSTed the finished job, signed with the tenant's webhook secret.",
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

    @field_validator("title", "text", "source_language", "callback_url", mode="before")
    @classmethod
    def _valid_unicode(cls, value: object) -> object:
        # JSON may escape a lone surrogate ("\ud800"), which no database can store.
        if isinstance(value, str) and _has_surrogate(value):
            raise ValueError("text must be valid Unicode (no unpaired surrogates)")
        return value

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be empty")
        return value

    @field_validator("title")
    @classmethod
    def _blank_title_is_none(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None

    @field_validator("target_languages")
    @classmethod
    def _codes_are_strings(cls, value: list[str]) -> list[str]:
        if any(len(code) > 35 for code in value):
            raise ValueError("language codes are at most 35 characters")
        if any(_has_surrogate(code) for code in value):
            raise ValueError("language codes must be valid Unicode")
        return value


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
    flags: list[str] = Field(
        description="untranslated, wrong_script, wrong_language, repetition, length_ratio, "
        "numbers, lost_placeholder, glossary (a glossary term did not come through)"
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


class JobOut(BaseModel):
    id: str
    status: JobStatus
    title: str | None
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


class JobList(BaseModel):
    items: list[JobOut]
    next_cursor: str | None


class LanguageOut(BaseModel):
    code: str
    name: str
    direction: Literal["ltr", "rtl"]


class LanguagesOut(BaseModel):
    model: str
    languages: list[LanguageOut]


class ErrorResponse(BaseModel):
    error: ErrorInfo
