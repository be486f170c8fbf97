"""Glossary entries and the terms found in a sentence: masked before translation, put back
after it in the desk's wording (through the target's orthography), reported per sentence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from service.languages import base_language
from worker.pipeline.quality.checks import Flag
from worker.pipeline.quality.numbers import to_ascii_digits
from worker.pipeline.quality.orthography import normalize_output
from worker.pipeline.quality.protect import _PLACEHOLDER_ANY

PLACEHOLDER = "[{n}]"  # the form protect() uses; chosen by measurement, see above


# Bump when the matching rules change, so cached translations made under old rules expire.
RULES_VERSION = 1


@dataclass(frozen=True)
class Entry:
    """One glossary entry as the job's snapshot holds it.

    ``source`` is written in ``source_language``; ``targets`` maps canonical language
    codes to the desk's text. A ``keep`` entry is never translated: its ``source`` is
    matched in any language and put back as it is.
    """

    id: str
    source: str
    source_language: str
    targets: Mapping[str, str] = field(default_factory=dict)
    keep: bool = False
    case_sensitive: bool = False
    whole_word: bool = True
    glossary: str | None = None

    def term_in(self, language: str) -> str | None:
        """The entry's text in ``language``, if it has one."""
        if same_language(self.source_language, language):
            return self.source
        if language in self.targets:
            return self.targets[language]
        for code, text in self.targets.items():
            if same_language(code, language):
                return text
        return None


@dataclass(frozen=True)
class TermMatch:
    """An occurrence of an entry's term in a text: ``text[start:end]`` is masked."""

    entry: Entry
    start: int
    end: int
    text: str
    target: str  # the desk's text in the target language (the source for keep entries)


@dataclass(frozen=True)
class MaskedTerms:
    """A text with its glossary terms replaced by ``placeholders`` (one per match)."""

    original: str
    masked: str
    matches: tuple[TermMatch, ...]
    numbers: tuple[int, ...]  # the placeholder number of each match

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(PLACEHOLDER.format(n=number) for number in self.numbers)


@dataclass(frozen=True)
class AppliedTerm:
    """An entry whose text made it into a translation."""

    entry: str
    glossary: str | None
    source: str
    target: str
    keep: bool
    direction: str  # "rtl" or "ltr": how the desk isolates the term inside the sentence

    def as_record(self) -> dict[str, Any]:
        return {
            "entry": self.entry,
            "glossary": self.glossary,
            "source": self.source,
            "target": self.target,
            "keep": self.keep,
            "direction": self.direction,
        }


@dataclass(frozen=True)
class RestoredTerms:
    """A translation with the glossary's text in place of the placeholders.

    ``lost`` are the matches whose placeholder the model dropped or mangled: their
    term is missing from ``text``.
    """

    text: str
    applied: tuple[AppliedTerm, ...]
    lost: tuple[TermMatch, ...]

    @property
    def flags(self) -> list[str]:
        return [str(Flag.GLOSSARY)] if self.lost else []


def entries_from_snapshot(snapshot: Mapping[str, Any] | None) -> list[Entry]:
    """The entries of a job's glossary snapshot, in priority order."""
    if not snapshot:
        return []
    entries: list[Entry] = []
    for raw in snapshot.get("entries") or ():
        entries.append(
            Entry(
                id=str(raw["id"]),
                source=str(raw["source"]),
                source_language=str(raw["source_language"]),
                targets={str(k): str(v) for k, v in (raw.get("targets") or {}).items()},
                keep=bool(raw.get("keep", False)),
                case_sensitive=bool(raw.get("case_sensitive", False)),
                whole_word=bool(raw.get("whole_word", True)),
                glossary=raw.get("glossary"),
            )
        )
    return entries


def restore_terms(
    masked: MaskedTerms, translated: str, target: str, *, persian_digits: bool = False
) -> RestoredTerms:
    """Put the glossary's target text where ``translated`` has the placeholders.

    Placeholders the text had before masking (``protect``'s) are left for ``restore``.
    """
    if not masked.matches:
        return RestoredTerms(translated, (), ())
    by_number = dict(zip(masked.numbers, masked.matches, strict=True))
    rendered = {
        number: render_target(match, target, persian_digits=persian_digits)
        for number, match in by_number.items()
    }
    found: set[int] = set()

    def unmask(placeholder: re.Match[str]) -> str:
        number = int(to_ascii_digits(placeholder.group(1)))
        if number not in by_number:
            return placeholder.group(0)
        found.add(number)
        return rendered[number]

    text = _PLACEHOLDER_ANY.sub(unmask, translated)
    applied = applied_terms(
        [m for n, m in by_number.items() if n in found], target, persian_digits=persian_digits
    )
    lost = tuple(match for number, match in by_number.items() if number not in found)
    return RestoredTerms(text, tuple(applied), lost)


def render_target(match: TermMatch, target: str, *, persian_digits: bool = False) -> str:
    """The glossary's text for ``match`` as it goes into a ``target`` translation."""
    return normalize_output(match.target, target, persian_digits=persian_digits)


def applied_terms(
    matches: Iterable[TermMatch], target: str, *, persian_digits: bool = False
) -> list[AppliedTerm]:
    """What to report for ``matches`` put into a translation (also for a cached one,
    which is only cached when every term came through)."""
    applied: list[AppliedTerm] = []
    for match in matches:
        text = render_target(match, target, persian_digits=persian_digits)
        applied.append(
            AppliedTerm(
                entry=match.entry.id,
                glossary=match.entry.glossary,
                source=match.text,
                target=text,
                keep=match.entry.keep,
                direction=direction_of(text),
            )
        )
    return applied


def direction_of(text: str) -> str:
    """``"rtl"`` when the first strongly directional character is right-to-left."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def same_language(a: str, b: str) -> bool:
    return a == b or base_language(a) == base_language(b)
