"""Glossary terms through translation: find them, mask them, put the desk's wording back.

A tenant's glossary says how the desk writes a name or term in each language
(``Nagorno-Karabakh`` -> ``Dağlıq Qarabağ`` / ``قره‌باغ کوهستانی`` / ``Լեռնային Ղարաբաղ``)
or that it is never translated (an outlet's name). Around the engine call, for one
sentence and one target language::

    protected = protect(sentence)                      # URLs, e-mails... -> [1], [2]
    masked = index.mask(protected.masked)              # glossary terms  -> [3], [4]
    raw = translator.translate(masked.masked)
    terms = restore_terms(masked, raw, target)         # [3] -> "Dağlıq Qarabağ"
    text, lost = restore(protected, terms.text)        # [1] -> the URL
    flags += terms.flags                               # ["glossary"] if a term was lost

``index`` is a ``TermIndex``, compiled once per job, source and target language by
``JobGlossary.index``; ``JobGlossary.from_snapshot(job.glossary)`` reads the entries the
API stored on the job, so a glossary edited after submission does not change the job.

Matching (``TermIndex.find``), robust for news text:

- case-insensitive unless the entry says otherwise; Azerbaijani folds ``I``/``ı`` and
  ``İ``/``i`` as Turkic does, Armenian ``և`` and ``եւ`` are the same;
- Persian and Arabic-script text: ``ي``/``ی`` and ``ك``/``ک`` are one letter, harakat and
  tatweel are ignored, and a ZWNJ, a space or nothing between the parts of a term all
  match (``قره‌باغ``, ``قره باغ``, ``قرهباغ``);
- whole words by default; ``Nagorno-Karabakh`` also matches ``Nagorno Karabakh``;
- English possessives (``Armenia's``: the ``'s`` stays outside the mask for the model to
  translate) and simple plurals (``districts``, ``militias``, ``parties``: masked whole);
- Azerbaijani and Armenian case and plural endings attached to a name (``Qarabağda``,
  ``Ղարաբաղում``) and Persian ``ها``/``های`` stay outside the mask, after the placeholder;
- the longest match wins; between matches of equal length the earlier one, then the entry
  listed first; nothing inside a URL, e-mail, handle, hashtag or existing placeholder.

Placeholders are the ``[N]`` of ``worker.pipeline.quality.protect`` (``PLACEHOLDER``), numbered
after any placeholder already in the text, one per occurrence so that a dropped
occurrence is noticed; restoring accepts what ``restore`` accepts (``[ 3 ]``, ``(3)``,
``[۳]``). The form was chosen by measurement (``python -m bench.placeholders``, checked by
``tests/worker/pipeline/test_glossary_placeholders.py``): NLLB-style sentencepiece tokenizers
trained on the fixture corpus, at the fixtures' size (1,500 pieces) and at the
benchmark's NLLB-600M shape (8,000 pieces), tokenise each form with numbers 1-38 in
English, Azerbaijani, Persian and Armenian sentences, next to possessives, glued case
endings, ZWNJ plurals and parentheses. ``<N>``, ``{N}``, ``__N__``, ``⟦N⟧`` and ``#N``
contain characters the vocabulary lacks: ``<unk>``, which does not decode back. ``(N)``
is ordinary text there (``▁(1)`` is one piece, ``(12)`` three, ``((1))`` splits as
``(``, ``1)``), so its pieces change with the number and the context. ``ZZN`` shares a
piece with what follows it (``ZZ1)`` gives ``1)``). Only ``[N]`` comes out as pieces
of its own (``[``, the digits, ``]``), the same in every context, with both vocabularies.
The real checkpoint's vocabulary is not measured here (``--model`` does that).

Target text goes through the target's orthography (``normalize_output``: Persian yeh and
kaf, ZWNJ, digits; Armenian full stops), as model output does. ``restore_terms`` reports
the entries applied and the placeholders the model lost (the sentence is flagged
``glossary``, so the quality checks retry it). ``TermIndex.cache_component`` is the part
of a sentence's cache key that names the entries applied to it: empty when none, so a
sentence without glossary terms keeps its cache entry.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.languages import base_language
from worker.pipeline.quality.checks import Flag
from worker.pipeline.quality.numbers import to_ascii_digits
from worker.pipeline.quality.orthography import normalize_output
from worker.pipeline.quality.protect import _PLACEHOLDER_ANY, _PROTECTED

PLACEHOLDER = "[{n}]"  # the form protect() uses; chosen by measurement, see above
# Bump when the matching rules change, so cached translations made under old rules expire.
RULES_VERSION = 1

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
        if _same_language(self.source_language, language):
            return self.source
        if language in self.targets:
            return self.targets[language]
        for code, text in self.targets.items():
            if _same_language(code, language):
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
        if _same_language(source, target):
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


# -- matching helpers ----------------------------------------------------------


def _same_language(a: str, b: str) -> bool:
    return a == b or base_language(a) == base_language(b)


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
