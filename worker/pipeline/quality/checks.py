"""Checks on a translated sentence: untranslated, wrong script or language, repetition, length."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from difflib import SequenceMatcher
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

from service.errors import UnsupportedLanguage
from service.languages import base_language, likely_script, script_of
from worker.pipeline.quality.numbers import number_mismatches
from worker.pipeline.quality.protect import Protected, protect
from worker.pipeline.text import sentence_separator

if TYPE_CHECKING:
    from lingua import Language


class Flag(StrEnum):
    """Problems ``check_translation`` reports; the values are stable."""

    UNTRANSLATED = "untranslated"
    WRONG_SCRIPT = "wrong_script"
    WRONG_LANGUAGE = "wrong_language"
    REPETITION = "repetition"
    LENGTH_RATIO = "length_ratio"
    NUMBERS = "numbers"
    LOST_PLACEHOLDER = "lost_placeholder"
    GLOSSARY = "glossary"  # a required glossary term did not come through
    LOST_MARKUP = "lost_markup"  # inline HTML markup did not come through


# ISO 15924 code -> first word of the Unicode character names of its letters.
_SCRIPT_NAMES: dict[str, frozenset[str]] = {
    code: frozenset(names)
    for code, *names in (
        entry.split()
        for entry in """Latn LATIN, Arab ARABIC, Armn ARMENIAN, Cyrl CYRILLIC, Grek GREEK,
        Geor GEORGIAN, Hebr HEBREW, Deva DEVANAGARI, Beng BENGALI, Thai THAI, Kore HANGUL,
        Hang HANGUL, Hans CJK, Hant CJK, Hani CJK, Jpan CJK HIRAGANA KATAKANA, Ethi ETHIOPIC,
        Taml TAMIL, Telu TELUGU, Knda KANNADA, Mlym MALAYALAM, Gujr GUJARATI, Guru GURMUKHI,
        Sinh SINHALA, Khmr KHMER, Mymr MYANMAR, Laoo LAO, Tibt TIBETAN""".split(",")  # noqa: SIM905
    )
}
# Characters per unit of meaning relative to Latin-script text; Han packs a word in 1-2.
_SCRIPT_DENSITY = {"Hans": 0.3, "Hant": 0.3, "Hani": 0.3, "Jpan": 0.4, "Kore": 0.35, "Hang": 0.35}
MIN_CHECK_LETTERS = 8  # script share over fewer letters is noise (names, acronyms)
MIN_DETECT_LETTERS = 40  # lingua tells close languages apart only on longer text
MAX_TARGET_CONFIDENCE = 0.05  # lingua's confidence in the target when it is wrong
# Languages an NMT model drifts into instead of the target.
_CONFUSABLE: dict[str, frozenset[str]] = {
    "az": frozenset({"tr", "ru", "kk"}),
    "fa": frozenset({"ar", "ur"}),
    "hy": frozenset({"ru"}),
    "tr": frozenset({"az"}),
    "ar": frozenset({"fa", "ur"}),
}
# Letters only that language uses among its script's neighbours.
_SIGNATURE_LETTERS = {"ur": frozenset("ےںٹڈڑہھ"), "ar": frozenset("ةيكى")}
MIN_LENGTH_CHARS = 20
LENGTH_RATIO_RANGE = (0.3, 3.0)
MIN_SCRIPT_SHARE = 0.25  # Persian science text keeps many Latin terms


def _letter_scripts(text: str) -> Iterator[str]:
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            yield name.split(" ", 1)[0] if name else ""


def _script(code: str) -> str | None:
    try:
        return script_of(code)
    except UnsupportedLanguage:
        return likely_script(base_language(code))


@lru_cache(maxsize=1)
def _lingua_languages() -> dict[str, Language]:
    from lingua import Language

    from worker.pipeline.detect import language_code

    return {language_code(language): language for language in Language.all()}


def _other_language(text: str, source: str, target: str) -> bool:
    """Whether lingua is sure ``text`` is in the source or a look-alike language, not ``target``.

    lingua (low-accuracy mode) is overconfident on technical text: TICO-19's
    English reads as Latin or Sesotho, short Persian lines as Urdu. So only the
    failures NMT really has count (the source copied, English, a neighbour of
    the target), and an Arabic-script guess needs that language's own letters.
    """
    language = _lingua_languages().get(target)
    if language is None:
        return False
    from worker.pipeline.detect import detect_language, get_detector

    detection = detect_language(text)
    if detection is None or detection.code == target or detection.confidence < 0.9:
        return False
    if detection.code not in {source, "en", *_CONFUSABLE.get(target, ())}:
        return False
    signature = _SIGNATURE_LETTERS.get(detection.code)
    if signature and not any(ch in signature for ch in text):
        return False
    return get_detector().compute_language_confidence(text, language) < MAX_TARGET_CONFIDENCE


def _tokens(text: str, language: str) -> list[str]:
    if not sentence_separator(language):
        return [ch for ch in text if not ch.isspace()]
    return text.split()


def has_repetition(text: str, language: str, min_repeats: int = 4) -> bool:
    """A 1-4 token n-gram repeated ``min_repeats`` times in a row, or few distinct tokens."""
    tokens = [t.casefold() for t in _tokens(text, language)]
    for n in range(1, 5):
        for start in range(len(tokens) - n * min_repeats + 1):
            gram = tokens[start : start + n]
            if not any(ch.isalpha() for t in gram for ch in t):
                continue
            if all(tokens[start + k * n : start + (k + 1) * n] == gram for k in range(min_repeats)):
                return True
    return len(tokens) >= 30 and len(set(tokens)) / len(tokens) < 0.3


def _without_items(protected: Protected) -> str:
    """The masked text with its placeholders blanked (their digits are no numbers)."""
    masked = protected.masked
    for placeholder in protected.placeholders:
        masked = masked.replace(placeholder, " ")
    return masked


def _squash(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def check_translation(
    source_text: str, output: str, source_lang: str, target_lang: str
) -> list[Flag]:
    """Flags for problems in ``output``, a translation of ``source_text``.

    Meant for the final text (placeholders restored, orthography normalised);
    every flag is tuned not to fire on good translations of news sentences.
    """
    flags: list[Flag] = []
    source_base, target_base = base_language(source_lang), base_language(target_lang)
    source_protected, output_protected = protect(source_text), protect(output)
    squashed_source, squashed_output = _squash(source_text), _squash(output)

    words = len(source_text.split())
    if (
        source_base != target_base
        and words >= 4
        and sum(ch.isalpha() for ch in source_text) >= 20
        and SequenceMatcher(None, squashed_source, squashed_output).ratio() >= 0.9
    ):
        flags.append(Flag.UNTRANSLATED)

    script = _script(target_lang)
    names = _SCRIPT_NAMES.get(script or "")
    letters = list(_letter_scripts(output_protected.masked))
    if names and len(letters) >= MIN_CHECK_LETTERS:
        share = sum(s in names for s in letters) / len(letters)
        if share < MIN_SCRIPT_SHARE:
            flags.append(Flag.WRONG_SCRIPT)

    if len(letters) >= MIN_DETECT_LETTERS and _other_language(
        output_protected.masked, source_base, target_base
    ):
        flags.append(Flag.WRONG_LANGUAGE)

    if has_repetition(output, target_base):
        flags.append(Flag.REPETITION)

    source_chars = sum(not ch.isspace() for ch in source_text)
    if source_chars >= MIN_LENGTH_CHARS:
        expected = _SCRIPT_DENSITY.get(script or "", 1.0) / _SCRIPT_DENSITY.get(
            _script(source_lang) or "", 1.0
        )
        ratio = sum(not ch.isspace() for ch in output) / source_chars / expected
        low, high = LENGTH_RATIO_RANGE
        if not low <= ratio <= high:
            flags.append(Flag.LENGTH_RATIO)

    if number_mismatches(_without_items(source_protected), _without_items(output_protected)):
        flags.append(Flag.NUMBERS)

    if any(item not in output for item in source_protected.items):
        flags.append(Flag.LOST_PLACEHOLDER)
    return flags
