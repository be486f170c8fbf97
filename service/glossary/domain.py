"""Managing glossaries, importing and exporting them, and choosing a job's glossary.

A job names its glossaries (``glossaries: [ids]``) or gets its tenant's default one.
At submission the job stores a snapshot: the glossaries' ids, names and versions and
those of their entries whose terms occur in the article (``job_snapshot``). Later edits
of a glossary change new jobs only; the worker matches against the snapshot.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from service.db import Database
from service.errors import Conflict, InvalidInput
from service.glossary import store
from service.glossary.csvfile import read_csv, write_csv
from service.glossary.entries import (
    GlossaryEntry,
    ParsedFile,
    RawEntry,
    clean_text,
    content_hash,
    languages_of,
    needle,
    normalize_language,
    squash,
    validate_entries,
)
from service.glossary.schemas import (
    AppliedTermOut,
    EntryOut,
    GlossaryImported,
    GlossaryIn,
    GlossaryOut,
    GlossarySummary,
    ImportFormat,
    JobGlossaryOut,
    SkippedEntry,
)
from service.glossary.tbx import TbxVersion, read_tbx, write_tbx
from service.models import Glossary
from service.settings import Settings

MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000


@dataclass(frozen=True)
class Imported:
    glossary: Glossary
    skipped: list[tuple[str, str]]


@dataclass(frozen=True)
class Export:
    content: bytes
    media_type: str
    filename: str  # ASCII, safe in any header
    full_filename: str  # the glossary's own name, for clients that read filename*


# -- create, replace -------------------------------------------------------------


def create_glossary(db: Database, settings: Settings, tenant: str, body: GlossaryIn) -> Glossary:
    """Validate and store a new glossary.

    Raises:
        InvalidInput, UnsupportedLanguage: see ``validate_entries``; a bad name.
        Conflict: the tenant has as many glossaries as allowed, or one of that name.
    """
    values = _values(settings, _Header.of(body), _raw_entries(body))
    _check_room(db, settings, tenant)
    return store.create_glossary(db, tenant, values)


def replace_glossary(
    db: Database, settings: Settings, tenant: str, glossary_id: str, body: GlossaryIn
) -> Glossary:
    """Replace a glossary, entries included (new jobs use the new entries)."""
    store.get_glossary(db, tenant, glossary_id)  # another tenant's id: 404 before any 422
    values = _values(settings, _Header.of(body), _raw_entries(body))
    return store.replace_glossary(db, tenant, glossary_id, values)


@dataclass(frozen=True)
class _Header:
    """A glossary's fields other than its entries, as given."""

    name: str
    description: str | None
    source_language: str
    is_default: bool

    @classmethod
    def of(cls, body: GlossaryIn | Glossary) -> _Header:
        return cls(body.name, body.description, body.source_language, body.is_default)


def _raw_entries(body: GlossaryIn) -> list[RawEntry]:
    return [
        RawEntry(
            source=entry.source,
            targets=entry.targets,
            keep=entry.keep,
            case_sensitive=entry.case_sensitive,
            whole_word=entry.whole_word,
            note=entry.note,
        )
        for entry in body.entries
    ]


def _values(settings: Settings, header: _Header, raw: Sequence[RawEntry]) -> store.GlossaryValues:
    source_language = normalize_language(header.source_language, "source_language")
    description = header.description
    entries = validate_entries(
        raw,
        source_language=source_language,
        max_entries=settings.glossary_max_entries,
        max_term_chars=settings.glossary_max_term_chars,
    )
    return store.GlossaryValues(
        name=_clean_field(header.name, "name", MAX_NAME_CHARS),
        description=_clean_field(description, "description", MAX_DESCRIPTION_CHARS)
        if description and description.strip()
        else None,
        source_language=source_language,
        is_default=header.is_default,
        entries=[entry.to_json() for entry in entries],
        languages=languages_of(entries),
        content_hash=content_hash(source_language, entries),
    )


def _clean_field(value: str, name: str, max_chars: int) -> str:
    text, problem = clean_text(value, max_chars=max_chars)
    if problem:
        raise InvalidInput(f"{name} {problem}")
    return text


def _check_room(db: Database, settings: Settings, tenant: str) -> None:
    if store.count_glossaries(db, tenant) >= settings.glossary_max_per_tenant:
        raise Conflict(
            f"You have {settings.glossary_max_per_tenant} glossaries, as many as allowed "
            "(DRAGOMAN_GLOSSARY_MAX_PER_TENANT); delete one first.",
            limit=settings.glossary_max_per_tenant,
        )


# -- import, export ----------------------------------------------------------------


def import_glossary(
    db: Database,
    settings: Settings,
    tenant: str,
    data: bytes,
    file_format: ImportFormat,
    *,
    name: str | None,
    description: str | None = None,
    source_language: str | None = None,
    is_default: bool = False,
    filename: str | None = None,
) -> Imported:
    """A new glossary from a CSV or TBX file.

    Its name is ``name``, else the TBX title, else the uploaded file's name; its
    source language ``source_language``, else the TBX document's ``xml:lang``, else English.
    """
    language = normalize_language(source_language, "source_language") if source_language else None
    parsed = _parse(settings, data, file_format, language)
    chosen = name or parsed.title or _stem(filename)
    if not chosen:
        raise InvalidInput("Give the glossary a name (the name query parameter).")
    header = _Header(chosen, description, language or parsed.source_language or "en", is_default)
    values = _values(settings, header, parsed.entries)
    _check_room(db, settings, tenant)
    return Imported(store.create_glossary(db, tenant, values), parsed.skipped)


def reimport_entries(
    db: Database,
    settings: Settings,
    tenant: str,
    glossary_id: str,
    data: bytes,
    file_format: ImportFormat,
) -> Imported:
    """Replace a glossary's entries with a file's; name and settings stay."""
    glossary = store.get_glossary(db, tenant, glossary_id)
    parsed = _parse(settings, data, file_format, glossary.source_language)
    values = _values(settings, _Header.of(glossary), parsed.entries)
    return Imported(store.replace_glossary(db, tenant, glossary_id, values), parsed.skipped)


def _parse(
    settings: Settings, data: bytes, file_format: ImportFormat, source_language: str | None
) -> ParsedFile:
    if not data.strip():
        raise InvalidInput("The file is empty.")
    if file_format == "csv":
        return read_csv(
            data,
            source_language=source_language or "en",
            max_entries=settings.glossary_max_entries,
        )
    return read_tbx(
        data, source_language=source_language, max_entries=settings.glossary_max_entries
    )


def _stem(filename: str | None) -> str | None:
    if not filename:
        return None
    stem = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].rsplit(".", 1)[0].strip()
    return stem or None


def export_glossary(
    db: Database,
    tenant: str,
    glossary_id: str,
    file_format: Literal["csv", "tbx"],
    tbx_version: TbxVersion = 2,
) -> Export:
    glossary = store.get_glossary(db, tenant, glossary_id)
    entries = [GlossaryEntry.from_json(raw) for raw in glossary.entries]
    filename = _filename(glossary.name)
    if file_format == "csv":
        return Export(
            write_csv(entries, glossary.languages),
            "text/csv; charset=utf-8",
            filename + ".csv",
            glossary.name + ".csv",
        )
    content = write_tbx(
        title=glossary.name,
        description=glossary.description,
        source_language=glossary.source_language,
        entries=entries,
        version=tbx_version,
    )
    return Export(content, "application/x-tbx+xml", filename + ".tbx", glossary.name + ".tbx")


def _filename(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-.") or "glossary"


# -- presenting ----------------------------------------------------------------------


def summary_out(glossary: Glossary) -> GlossarySummary:
    return GlossarySummary(
        id=glossary.id,
        name=glossary.name,
        description=glossary.description,
        source_language=glossary.source_language,
        is_default=glossary.is_default,
        entry_count=glossary.entry_count,
        languages=glossary.languages,
        version=glossary.version,
        content_hash=glossary.content_hash,
        created_at=glossary.created_at,
        updated_at=glossary.updated_at,
    )


def glossary_out(glossary: Glossary) -> GlossaryOut:
    return GlossaryOut(
        **summary_out(glossary).model_dump(),
        entries=[EntryOut(**raw) for raw in glossary.entries],
    )


def imported_out(imported: Imported) -> GlossaryImported:
    return GlossaryImported(
        **glossary_out(imported.glossary).model_dump(),
        skipped=[SkippedEntry(where=where, reason=reason) for where, reason in imported.skipped],
    )


# -- jobs ------------------------------------------------------------------------------


def job_snapshot(
    db: Database, settings: Settings, tenant: str, requested: Sequence[str] | None, text: str
) -> dict[str, Any] | None:
    """The glossary a job carries: ``requested`` glossaries, or the tenant's default.

    ``[]`` asks for no glossary, even when the tenant has a default. Only entries
    with a term that can occur in ``text`` (title and body) are kept, so a job row
    holds what it uses rather than whole glossaries.

    Raises:
        InvalidInput: more glossaries than allowed, or an id that is not one of the
            tenant's glossaries (another tenant's id is unknown here too).
    """
    chosen = _chosen(db, settings, tenant, requested)
    if not chosen:
        return None
    haystack = squash(text)
    glossaries: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for glossary in chosen:
        used = [
            raw
            for raw in glossary.entries
            if any(needle(term) in haystack for term in GlossaryEntry.from_json(raw).terms())
        ]
        glossaries.append(
            {
                "id": glossary.id,
                "name": glossary.name,
                "version": glossary.version,
                "content_hash": glossary.content_hash,
                "entries": len(used),
            }
        )
        entries += [
            {
                "id": raw["id"],
                "glossary": glossary.id,
                "source": raw["source"],
                "source_language": glossary.source_language,
                "targets": raw["targets"],
                "keep": raw["keep"],
                "case_sensitive": raw["case_sensitive"],
                "whole_word": raw["whole_word"],
            }
            for raw in used
        ]
    return {"glossaries": glossaries, "entries": entries}


def _chosen(
    db: Database, settings: Settings, tenant: str, requested: Sequence[str] | None
) -> list[Glossary]:
    """The glossaries a job asked for (each once, in order), or the tenant's default."""
    if requested is None:
        default = store.default_glossary(db, tenant)
        return [default] if default is not None else []
    ids = list(dict.fromkeys(requested))
    if len(ids) > settings.glossary_max_per_job:
        raise InvalidInput(
            f"A job names at most {settings.glossary_max_per_job} glossaries "
            "(DRAGOMAN_GLOSSARY_MAX_PER_JOB)."
        )
    found = store.glossaries_by_id(db, tenant, ids)
    missing = [value for value in ids if value not in found]
    if missing:
        raise InvalidInput(
            f"glossaries: no glossary with id {', '.join(map(repr, missing))}.",
            missing=missing,
        )
    return [found[value] for value in ids]


def job_glossaries_out(snapshot: dict[str, Any] | None) -> list[JobGlossaryOut]:
    """Which glossaries a job uses, from its snapshot."""
    if not snapshot:
        return []
    return [
        JobGlossaryOut(
            id=item["id"], name=item["name"], version=item["version"], entries=item["entries"]
        )
        for item in snapshot.get("glossaries", [])
    ]


def applied_terms_out(terms: list[dict[str, Any]] | None) -> list[AppliedTermOut]:
    return [AppliedTermOut(**term) for term in terms or []]
