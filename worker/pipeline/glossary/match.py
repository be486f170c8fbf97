"""Finding glossary terms in news text: case, Turkic and Armenian folding, Persian letter
variants and ZWNJ, whole words, possessives, plurals and attached endings, longest match.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from service.languages import base_language
from worker.pipeline.glossary.terms import (
    PLACEHOLDER,
    RULES_VERSION,
    Entry,
    MaskedTerms,
    TermMatch,
    entries_from_snapshot,
    same_language,
)
from worker.pipeline.quality.numbers import to_ascii_digits
from worker.pipeline.quality.protect import _PLACEHOLDER_ANY, _PROTECTED

# Characters matching ignores: Arabic harakat and tatweel, invisible format characters.
_DROP = frozenset(
    [chr(c) for c in range(0x064B, 0x0660)]
    + [chr(c) for c in range(0x06D6, 0x06EE)]
    + list("\u0640\u0670\u00ad\u200b\u200d\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e")
    + list("\u2066\u2067\u2068\u2069\ufeff\u0307")
)


_CHAR_MAP = {
    "\u064a": "\u06cc",  # Arabic yeh -> Persian yeh
    "\u0649": "\u06cc",  # alef maksura -> Persian yeh
    "\u0643": "\u06a9",  # Arabic kaf -> Persian kaf
    "\u0623": "\u0627",  # alef with hamza above / below, wasla -> alef
    "\u0625": "\u0627",
    "\u0671": "\u0627",
    "\u0587": "\u0565\u0582",  # Armenian ligature ech-yiwn: the same letters as ե + ւ
    "\u055a": "'",  # Armenian apostrophe
    "\u058a": "-",  # Armenian hyphen
    **{ch: "'" for ch in "\u2019\u2018\u02bc\u02bb`\u00b4\u2032"},
    **{ch: "-" for ch in "\u2010\u2011\u2012\u2013\u2212"},
}


_TURKIC = frozenset({"az", "tr", "crh", "tk", "gag", "kk", "tt", "ba"})


_ZWNJ = "\u200c"


_SEPARATORS = re.compile(r"[\s\-\u200c]+")


# Endings that attach to a name without a space. They stay outside the mask: the
# model sees "[3]da" and can carry the case over ("in [3]").
_AZ_ENDING = (
    r"(?:l[aə]r|[nsy]?[ıiuü]n?|[ny]?[aə]|[dt][aə]n?|[dt][aə]k[ıi]|l[aə]|l[ıiuü]|[dt][ıiuü]r)"
)


_HY_CASE = r"(?:յ?ից|ում|ով|յ?ին|յ?ի|ու|ը|ն|ս|դ)"


_TAILS = {
    "az": rf"{_AZ_ENDING}{{1,3}}",
    "hy": rf"(?:ն?եր{_HY_CASE}?|{_HY_CASE}(?:ը|ն|ս|դ)?)",
    "fa": r"ها(?:ی(?:ی|م|ت|ش|مان|تان|شان)?)?",
}


@dataclass(frozen=True)
class _Compiled:
    entry: Entry
    rank: int
    term: str
    target: str
    pattern: re.Pattern[str]
    needle: str  # squashed folded term: a cheap "can it occur at all" test


class TermIndex:
    """The entries that apply from ``source`` into ``target``, compiled for matching."""

    def __init__(self, entries: Sequence[Entry], source: str, target: str) -> None:
        self.source = source
        self.target = target
        self._turkic = base_language(source) in _TURKIC
        self._compiled: list[_Compiled] = []
        if same_language(source, target):
            return
        for rank, entry in enumerate(entries):
            compiled = self._compile(entry, rank)
            if compiled is not None:
                self._compiled.append(compiled)

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def _compile(self, entry: Entry, rank: int) -> _Compiled | None:
        if entry.keep:
            term: str | None = entry.source
            target: str | None = entry.source
        else:
            term, target = entry.term_in(self.source), entry.term_in(self.target)
        if not term or not target:
            return None
        folded, _ = _fold(term, casefold=not entry.case_sensitive, turkic=self._turkic)
        parts = [part for part in _SEPARATORS.split(folded) if part]
        if not parts:
            return None
        language = base_language(self.source)
        body, needle = _term_pattern(parts, plural=language == "en" and not entry.keep)
        if entry.whole_word:
            tail = _TAILS.get(language)
            ending = f"(?P<tail>{tail})?" if tail and parts[-1][-1].isalpha() else ""
            pattern = rf"(?<!\w)(?P<term>{body}){ending}(?!\w)"
        else:
            pattern = rf"(?P<term>{body})"
        return _Compiled(entry, rank, term, target, re.compile(pattern), needle)

    def find(self, text: str) -> list[TermMatch]:
        """The terms to mask in ``text``, in order, none overlapping."""
        if not self._compiled:
            return []
        views: dict[bool, tuple[str, list[int], str]] = {}
        skip = _skip_spans(text)
        candidates: list[tuple[int, int, int, _Compiled]] = []
        for compiled in self._compiled:
            casefold = not compiled.entry.case_sensitive
            if casefold not in views:
                folded, positions = _fold(text, casefold=casefold, turkic=self._turkic)
                views[casefold] = (folded, positions, _SEPARATORS.sub("", folded))
            folded, positions, squashed = views[casefold]
            if compiled.needle not in squashed:
                continue
            for found in compiled.pattern.finditer(folded):
                span = _original_span(text, positions, *found.span("term"))
                if span is None or any(span[0] < e and s < span[1] for s, e in skip):
                    continue
                candidates.append((span[0], span[1], compiled.rank, compiled))
        chosen: list[tuple[int, int, _Compiled]] = []
        for start, end, _rank, compiled in sorted(
            candidates, key=lambda c: (c[0] - c[1], c[0], c[2])
        ):
            if all(end <= s or e <= start for s, e, _ in chosen):
                chosen.append((start, end, compiled))
        return [
            TermMatch(c.entry, start, end, text[start:end], c.target)
            for start, end, c in sorted(chosen, key=lambda m: m[0])
        ]

    def mask(self, text: str) -> MaskedTerms:
        """``text`` with each term replaced by ``[N]``, N above any placeholder already there."""
        matches = self.find(text)
        if not matches:
            return MaskedTerms(text, text, (), ())
        existing = [int(to_ascii_digits(m.group(1))) for m in _PLACEHOLDER_ANY.finditer(text)]
        first = max(existing, default=0) + 1
        numbers = tuple(range(first, first + len(matches)))
        pieces: list[str] = []
        position = 0
        for match, number in zip(matches, numbers, strict=True):
            pieces += [text[position : match.start], PLACEHOLDER.format(n=number)]
            position = match.end
        pieces.append(text[position:])
        return MaskedTerms(text, "".join(pieces), tuple(matches), numbers)

    def cache_component(self, text: str) -> str:
        """What the cache key of ``text``'s translation must add: the entries applied to it.

        Empty when no entry applies, so the sentence shares its cache entry with
        translations made without a glossary.
        """
        return applied_entries_key(self.find(text))


def applied_entries_key(matches: Iterable[TermMatch]) -> str:
    """A stable hash of the entries behind ``matches`` and their target text; "" if none."""
    facts = sorted(
        {
            (m.entry.source, m.target, m.entry.keep, m.entry.case_sensitive, m.entry.whole_word)
            for m in matches
        }
    )
    if not facts:
        return ""
    blob = json.dumps([RULES_VERSION, facts], ensure_ascii=False, separators=(",", ":"))
    return "glossary:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def cache_model_key(model: str, component: str) -> str:
    """The model part of ``worker.cache.cache_key`` for a sentence with ``component``."""
    return f"{model}\x1e{component}" if component else model


class JobGlossary:
    """A job's glossary entries, with one compiled ``TermIndex`` per language pair."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = list(entries)
        self._indexes: dict[tuple[str, str], TermIndex] = {}

    @classmethod
    def from_snapshot(cls, snapshot: Mapping[str, Any] | None) -> JobGlossary:
        """The entries of ``job.glossary`` (``{"glossaries": [...], "entries": [...]}``)."""
        return cls(entries_from_snapshot(snapshot))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def index(self, source: str, target: str) -> TermIndex:
        key = (source, target)
        if key not in self._indexes:
            self._indexes[key] = TermIndex(self.entries, source, target)
        return self._indexes[key]


def _fold(text: str, *, casefold: bool, turkic: bool) -> tuple[str, list[int]]:
    """``text`` as matching sees it, and for each of its characters the index it came from.

    The list has one more item, ``len(text)``, so an end position maps back too.
    """
    chars: list[str] = []
    positions: list[int] = []
    for index, ch in enumerate(text):
        if ch in _DROP:
            continue
        mapped = _CHAR_MAP.get(ch, " " if ch.isspace() else ch)
        if casefold:
            if ch == "I":
                mapped = "ı" if turkic else "i"
            elif ch == "İ":
                mapped = "i"
            else:
                mapped = mapped.casefold()
        for piece in to_ascii_digits(mapped):
            chars.append(piece)
            positions.append(index)
    positions.append(len(text))
    return "".join(chars), positions


def _is_arabic_script(ch: str) -> bool:
    code = ord(ch)
    return (
        0x0600 <= code <= 0x06FF
        or 0x0750 <= code <= 0x077F
        or 0x08A0 <= code <= 0x08FF
        or 0xFB50 <= code <= 0xFDFF
        or 0xFE70 <= code <= 0xFEFF
    )


def _part_pattern(part: str) -> str:
    # Persian writers join, space or ZWNJ-separate the same morphemes: any letter may be
    # followed by a ZWNJ the term does not have.
    if any(_is_arabic_script(ch) for ch in part):
        return f"{_ZWNJ}?".join(re.escape(ch) for ch in part)
    return re.escape(part)


def _term_pattern(parts: list[str], *, plural: bool) -> tuple[str, str]:
    """The regex of a folded term (with its English plural if ``plural``), and its needle."""
    pieces: list[str] = []
    for i, part in enumerate(parts):
        if i:
            joined = _is_arabic_script(parts[i - 1][-1]) and _is_arabic_script(part[0])
            pieces.append(rf"[\s{_ZWNJ}]*" if joined else r"(?:\s*-\s*|\s+)")
        last = i == len(parts) - 1
        if last and plural and part.isascii() and part.isalpha() and len(part) > 1:
            pieces.append(_plural_pattern(part))
        else:
            pieces.append(_part_pattern(part))
    needle = "".join(parts)
    if plural and needle.endswith("y"):
        needle = needle[:-1]  # "parties" does not contain "party"
    return "".join(pieces), needle


def _plural_pattern(word: str) -> str:
    """``word`` or its regular English plural."""
    if word.endswith("y") and word[-2] not in "aeiou":
        return re.escape(word[:-1]) + "(?:y|ies)"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return re.escape(word) + "(?:es)?"
    return re.escape(word) + "s?"


def _original_span(text: str, positions: list[int], start: int, end: int) -> tuple[int, int] | None:
    """The span of ``text`` a folded span came from; None if it cuts a character in two."""
    if start == end:
        return None
    if start > 0 and positions[start - 1] == positions[start]:
        return None
    if positions[end] == positions[end - 1]:
        return None
    first, last = positions[start], positions[end - 1] + 1
    # Marks matching ignored (a kasra, a tatweel) go with the term they sit on.
    while last < len(text) and text[last] in _DROP and unicodedata.combining(text[last]):
        last += 1
    return first, last


def _skip_spans(text: str) -> list[tuple[int, int]]:
    """Spans no term may touch: placeholders, URLs, e-mails, handles, hashtags."""
    spans = [m.span() for m in _PLACEHOLDER_ANY.finditer(text)]
    spans += [m.span() for m in _PROTECTED.finditer(text)]
    return spans
