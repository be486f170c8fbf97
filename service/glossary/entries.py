"""Glossary entries: validation, identity, and the test "can this term occur in this text".

An entry is ``{source, targets: {lang: text}}`` or ``{source, keep: true}`` (never
translated), with ``case_sensitive`` (default false) and ``whole_word`` (default true).
Every problem found in a list of entries is reported at once, each naming where it is
(``entries[3]``, ``row 5``, ``termEntry 'c12'``).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.errors import InvalidInput, UnsupportedLanguage
from service.languages import normalize_code

MAX_NOTE_CHARS = 2000
MAX_PROBLEMS = 20  # listed in one error; the rest are counted
_TERM_LIMIT = "DRAGOMAN_GLOSSARY_MAX_TERM_CHARS"

_SPACES = re.compile(r"\s+")
_LETTERS = {
    "\u064a": "\u06cc",  # Arabic yeh, alef maksura -> Persian yeh
    "\u0649": "\u06cc",
    "\u0643": "\u06a9",  # Arabic kaf -> Persian kaf
    "\u0623": "\u0627",  # alef with hamza, wasla -> alef
    "\u0625": "\u0627",
    "\u0671": "\u0627",
    "\u0587": "\u0565\u0582",  # Armenian ech-yiwn ligature
    **{ch: "'" for ch in "\u2019\u2018\u02bc\u02bb`\u00b4\u2032\u055a"},
    **{ch: "i" for ch in "Iİı"},
}
_DIGITS = str.maketrans(
    {chr(zero + i): str(i) for zero in (0x0660, 0x06F0) for i in range(10)},
)
_TATWEEL = "\u0640"
_JOINERS = "\u200c\u200d"


@dataclass(frozen=True)
class RawEntry:
    """An entry as a caller or a file gave it, before validation."""

    source: str
    targets: Mapping[str, str] = field(default_factory=dict)
    keep: bool = False
    case_sensitive: bool = False
    whole_word: bool = True
    note: str | None = None
    where: str = ""  # how an error names the entry


@dataclass(frozen=True)
class GlossaryEntry:
    """A validated entry: texts NFC with single spaces, target codes canonical."""

    source: str
    targets: dict[str, str]
    keep: bool = False
    case_sensitive: bool = False
    whole_word: bool = True
    note: str | None = None

    @property
    def id(self) -> str:
        """Stable while the source term and its case sensitivity stay the same."""
        key = f"{int(self.case_sensitive)}\x1f{match_key(self.source, self.case_sensitive)}"
        return "e" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]

    def terms(self) -> list[str]:
        """Every text of the entry: a job in any of its languages may contain one."""
        return [self.source, *self.targets.values()]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "targets": dict(self.targets),
            "keep": self.keep,
            "case_sensitive": self.case_sensitive,
            "whole_word": self.whole_word,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GlossaryEntry:
        return cls(
            source=data["source"],
            targets=dict(data.get("targets") or {}),
            keep=bool(data.get("keep", False)),
            case_sensitive=bool(data.get("case_sensitive", False)),
            whole_word=bool(data.get("whole_word", True)),
            note=data.get("note"),
        )


@dataclass
class ParsedFile:
    """The entries an imported file holds, and what the file says about itself."""

    entries: list[RawEntry]
    title: str | None = None
    source_language: str | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, where: str, problem: str) -> None:
        self.items.append({"entry": where, "problem": problem})

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = self.items[:MAX_PROBLEMS]
        message = "; ".join(f"{p['entry']}: {p['problem']}" for p in shown[:3])
        if len(self.items) > 3:
            message += f" (and {len(self.items) - 3} more problems)"
        raise InvalidInput(message, problems=shown, count=len(self.items))


def clean_text(value: str, *, max_chars: int, setting: str = "") -> tuple[str, str | None]:
    """``value`` NFC, trimmed, with runs of spaces made one; and what is wrong with it."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value, "is not valid Unicode (unpaired surrogate)"
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()
    if not text:
        return text, "is empty"
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return text, "contains control characters"
    if len(text) > max_chars:
        limit = f"is {len(text)} characters; at most {max_chars}"
        return text, f"{limit} ({setting})" if setting else limit
    return text, None


def normalize_language(code: str, where: str) -> str:
    """The canonical code of ``code``; ``UnsupportedLanguage`` naming ``where`` if unknown."""
    try:
        return normalize_code(code)
    except UnsupportedLanguage as exc:
        raise UnsupportedLanguage(f"{where}: {exc.message}", entry=where, language=code) from exc


def validate_entries(
    raw: Sequence[RawEntry],
    *,
    source_language: str,
    max_entries: int,
    max_term_chars: int,
) -> list[GlossaryEntry]:
    """The entries, validated, in the order given.

    Raises:
        InvalidInput: too many entries, an empty or over-long term, an entry with neither
            targets nor ``keep`` (or both), a target in the source language, or two entries
            with the same source term (as matching sees it: case, ZWNJ, Arabic letter forms).
        UnsupportedLanguage: a target language code that names no language.
    """
    if len(raw) > max_entries:
        raise InvalidInput(
            f"{len(raw)} entries; a glossary holds at most {max_entries} "
            "(DRAGOMAN_GLOSSARY_MAX_ENTRIES).",
            limit=max_entries,
        )
    problems = _Problems()
    entries: list[GlossaryEntry] = []
    seen: dict[str, str] = {}
    for position, item in enumerate(raw):
        where = item.where or f"entries[{position}]"
        source, problem = clean_text(item.source, max_chars=max_term_chars, setting=_TERM_LIMIT)
        if problem:
            problems.add(where, f"source {problem}")
        elif not any(ch.isalnum() for ch in source):
            problems.add(where, "source has no letter or digit")
        targets = _targets(item, where, source_language, max_term_chars, problems)
        if item.keep and targets:
            problems.add(where, "a keep (do-not-translate) entry has no targets")
        if not item.keep and not item.targets:
            problems.add(where, "needs targets, or keep: true for a term never translated")
        note = None
        if item.note is not None and item.note.strip():
            note, problem = clean_text(item.note, max_chars=MAX_NOTE_CHARS)
            if problem:
                problems.add(where, f"note {problem}")
        if source:
            key = match_key(source, item.case_sensitive)
            if key in seen:
                problems.add(where, f"duplicate of {seen[key]} ({source!r})")
            else:
                seen[key] = where
        entries.append(
            GlossaryEntry(
                source=source,
                targets=dict(sorted(targets.items())),
                keep=item.keep,
                case_sensitive=item.case_sensitive,
                whole_word=item.whole_word,
                note=note,
            )
        )
    problems.raise_if_any()
    return entries


def _targets(
    item: RawEntry, where: str, source_language: str, max_term_chars: int, problems: _Problems
) -> dict[str, str]:
    """An entry's target terms by canonical language code; problems noted, not raised."""
    targets: dict[str, str] = {}
    for code, text in item.targets.items():
        language = normalize_language(code, f"{where}.targets")
        if language in targets:
            problems.add(where, f"targets name {language!r} twice ({code!r})")
            continue
        if language == source_language:
            problems.add(
                where, f"targets include the glossary's source language {source_language!r}"
            )
            continue
        value, problem = clean_text(text, max_chars=max_term_chars, setting=_TERM_LIMIT)
        if problem:
            problems.add(where, f"targets.{language} {problem}")
        targets[language] = value
    return targets


def match_key(term: str, case_sensitive: bool = False) -> str:
    """What makes two source terms the same entry: the text as matching compares it.

    Arabic and Persian letter forms are one, harakat and tatweel ignored, ZWNJ, hyphens
    and spaces are one separator, apostrophes one character; case is ignored unless
    ``case_sensitive`` (with the dotted and dotless i's as one letter).
    """
    chars: list[str] = []
    for ch in unicodedata.normalize("NFC", term):
        if ch == _TATWEEL or unicodedata.category(ch) in ("Mn", "Me"):
            continue
        if ch in _JOINERS or ch.isspace() or unicodedata.category(ch) == "Pd":
            chars.append(" ")
            continue
        if unicodedata.category(ch) == "Cf":  # direction marks, soft hyphens
            continue
        if case_sensitive and ch in "Iİı":
            chars.append(ch)
            continue
        mapped = _LETTERS.get(ch, ch)
        chars.append(mapped if case_sensitive else mapped.casefold())
    return _SPACES.sub(" ", "".join(chars).translate(_DIGITS)).strip()


def squash(text: str) -> str:
    """``text`` folded coarser than the worker's matching, separators removed.

    A term the worker finds in a text is always a substring here (for the English
    ``-ies`` plural, see ``needle``), so an entry whose needle is not in the squashed
    article cannot apply to it.
    """
    return match_key(text).replace(" ", "").replace("'", "")


def needle(term: str) -> str:
    """What must occur in a ``squash``-ed text for ``term`` to be found there."""
    squashed = squash(term)
    # "parties" does not contain "party": the worker matches the -ies plural.
    return squashed[:-1] if squashed.endswith("y") and len(squashed) > 1 else squashed


def content_hash(source_language: str, entries: Iterable[GlossaryEntry]) -> str:
    """SHA-256 of a glossary's matching content (not its name or description)."""
    blob = json.dumps(
        [source_language, [entry.to_json() for entry in entries]],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def languages_of(entries: Iterable[GlossaryEntry]) -> list[str]:
    """The target languages the entries have text for, sorted."""
    return sorted({code for entry in entries for code in entry.targets})
