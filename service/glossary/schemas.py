"""Request and response bodies of the glossary API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonValue

# Hard bounds on the request shape; the limits that matter are settings, checked later
# with messages that name them.
_MAX_TEXT = 10_000
_MAX_ENTRIES = 100_000

ENTRY_EXAMPLES: list[JsonValue] = [
    {
        "source": "Nagorno-Karabakh",
        "targets": {
            "az": "Dağlıq Qarabağ",
            "fa": "قره‌باغ کوهستانی",
            "hy": "Լեռնային Ղարաբաղ",
        },
    },
    {"source": "Khamenei", "targets": {"az": "Xamenei", "fa": "خامنه‌ای", "hy": "Խամենեի"}},
    {"source": "Dragoman Daily", "keep": True},
]


class EntryIn(BaseModel):
    """A term and how the desk writes it in each language, or that it is never translated."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": ENTRY_EXAMPLES})

    source: str = Field(max_length=_MAX_TEXT, description="The term in the source language.")
    targets: dict[str, str] = Field(
        default_factory=dict,
        max_length=300,
        description="Language code -> the desk's text in that language.",
    )
    keep: bool = Field(default=False, description="Never translated: the source stays.")
    case_sensitive: bool = False
    whole_word: bool = Field(
        default=True, description="Match whole words only (with possessives and plurals)."
    )
    note: str | None = Field(default=None, max_length=_MAX_TEXT)


class GlossaryIn(BaseModel):
    """A glossary; PUT replaces all of it, entries included."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Caucasus desk",
                    "source_language": "en",
                    "is_default": True,
                    "entries": ENTRY_EXAMPLES,
                }
            ]
        },
    )

    name: str = Field(max_length=_MAX_TEXT)
    description: str | None = Field(default=None, max_length=_MAX_TEXT)
    source_language: str = Field(
        default="en", max_length=35, description="The language the source terms are in."
    )
    is_default: bool = Field(
        default=False, description="Applied to jobs that name no glossaries (one per tenant)."
    )
    entries: list[EntryIn] = Field(default_factory=list, max_length=_MAX_ENTRIES)


class EntryOut(BaseModel):
    id: str = Field(description="Stable while the source term stays the same.")
    source: str
    targets: dict[str, str]
    keep: bool
    case_sensitive: bool
    whole_word: bool
    note: str | None = None


class GlossarySummary(BaseModel):
    id: str
    name: str
    description: str | None
    source_language: str
    is_default: bool
    entry_count: int
    languages: list[str] = Field(description="Target languages the entries have text for.")
    version: int = Field(description="Goes up by one each time the entries change.")
    content_hash: str = Field(description="SHA-256 of the source language and the entries.")
    created_at: dt.datetime
    updated_at: dt.datetime


class GlossaryOut(GlossarySummary):
    entries: list[EntryOut]


class GlossaryList(BaseModel):
    items: list[GlossarySummary]


class SkippedEntry(BaseModel):
    where: str = Field(description="The entry in the file: termEntry id or number.")
    reason: str


class GlossaryImported(GlossaryOut):
    skipped: list[SkippedEntry] = Field(
        default_factory=list,
        description="Term entries of the file that give no glossary entry (no term in the "
        "source language, or no target and not marked do-not-translate).",
    )


ImportFormat = Literal["csv", "tbx"]


class JobGlossaryOut(BaseModel):
    """A glossary a job uses, as it was when the job was submitted."""

    id: str
    name: str
    version: int
    entries: int = Field(description="Its entries whose terms occur in the article.")


class AppliedTermOut(BaseModel):
    """A glossary entry whose text is in a translation."""

    field: str = Field(description="title, summary or body")
    index: int = Field(description="Sentence number within the field, from 0.")
    entry: str
    glossary: str | None
    source: str = Field(description="The term as the article has it.")
    target: str = Field(description="The glossary's text, as the translation has it.")
    keep: bool
    direction: Literal["ltr", "rtl"]
