"""Source-language detection with lingua, for texts, paragraphs and whole articles.

Two detectors, built once per process on first use: all languages in low-accuracy
mode for longer texts, and a high-accuracy one restricted to the languages this desk
confuses in short text, for headlines (measurements in docs/architecture.md).
lingua is imported on first use, so a worker whose jobs name their source language
and skip the output checks runs without it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from worker.pipeline.text import normalize_text, split_paragraphs

# Fewer letters than this cannot tell languages of one script apart.
MIN_LETTERS = 3
# Below this many characters lingua's low-accuracy mode is unreliable.
SHORT_TEXT_CHARS = 120
SHORT_TEXT_LANGUAGES = ("ENGLISH", "AZERBAIJANI", "TURKISH", "PERSIAN", "ARABIC")
# A paragraph marks an article as mixed when it has at least this many letters
# and is detected as another language with at least this confidence.
MIXED_MIN_LETTERS = 40
MIXED_MIN_CONFIDENCE = 0.8

if TYPE_CHECKING:
    from lingua import Language, LanguageDetector

_detector: LanguageDetector | None = None
_short_detector: LanguageDetector | None = None
_lock = threading.Lock()


@dataclass(frozen=True)
class Detection:
    """The most likely language of a text and lingua's confidence in it (0..1)."""

    code: str
    confidence: float


@dataclass(frozen=True)
class DocumentDetection:
    """An article's language, per-paragraph detections, and whether it mixes languages.

    ``confidence`` is the share of the article's letters that are in paragraphs
    detected as ``language``, each weighted by that detection's confidence.
    """

    language: str
    confidence: float
    paragraphs: list[Detection | None]
    mixed: bool


def language_code(language: Language) -> str:
    """The user-facing ISO code of a lingua language (639-1, else 639-3)."""
    iso = language.iso_code_639_1 or language.iso_code_639_3
    return iso.name.lower()


def get_detector() -> LanguageDetector:
    """The process-wide all-language detector, built on first call (thread-safe)."""
    global _detector
    if _detector is None:
        from lingua import LanguageDetectorBuilder

        with _lock:
            if _detector is None:
                _detector = (
                    LanguageDetectorBuilder.from_all_languages()
                    .with_low_accuracy_mode()
                    .with_preloaded_language_models()
                    .build()
                )
    return _detector


def get_short_text_detector() -> LanguageDetector:
    """The process-wide high-accuracy detector for short texts (thread-safe)."""
    global _short_detector
    if _short_detector is None:
        from lingua import Language, LanguageDetectorBuilder

        with _lock:
            if _short_detector is None:
                # Not preloaded: a desk that never sees Persian headlines never
                # pays for the Persian and Arabic models.
                _short_detector = LanguageDetectorBuilder.from_languages(
                    *(getattr(Language, name) for name in SHORT_TEXT_LANGUAGES)
                ).build()
    return _short_detector


def detect_language(text: str) -> Detection | None:
    """Detect the language of ``text``.

    Returns:
        The most likely language, or ``None`` when the text has fewer than
        ``MIN_LETTERS`` letters or lingua cannot decide.
    """
    if _letters(text) < MIN_LETTERS:
        return None
    if len(text.strip()) < SHORT_TEXT_CHARS:
        detection = _best(get_short_text_detector(), text)
        if detection is not None:
            return detection
        # No short-text language writes this script: the all-language detector
        # tells unique scripts (Armenian, Georgian...) apart reliably.
    return _best(get_detector(), text)


def detect_candidates(text: str, count: int = 3) -> list[Detection]:
    """The ``count`` most likely languages of ``text``, best first (the same detector
    ``detect_language`` picks); empty when it cannot be told."""
    if _letters(text) < MIN_LETTERS:
        return []
    values = []
    if len(text.strip()) < SHORT_TEXT_CHARS:
        values = get_short_text_detector().compute_language_confidence_values(text)
    if not values or values[0].value <= 0.0:
        values = get_detector().compute_language_confidence_values(text)
    return [
        Detection(code=language_code(v.language), confidence=float(v.value))
        for v in values[:count]
        if v.value > 0.0
    ]


def warm_up() -> float:
    """Build both detectors and load their models now; returns the seconds it took.

    Their first use otherwise costs the first job several seconds (the short-text
    detector loads its models on its first detection); the worker does this beside
    its model's load.
    """
    started = time.perf_counter()
    get_detector()
    for sample in ("The talks resume on Monday.", "Danışıqlar bazar ertəsi bərpa olunur."):
        detect_language(sample)
    detect_language("Բանակցությունները վերսկսվում են երկուշաբթի օրը, ասել է նախարարը։ " * 2)
    return time.perf_counter() - started


def detect_paragraphs(paragraphs: list[str]) -> list[Detection | None]:
    """Detect each paragraph on its own (``None`` where it cannot be told)."""
    return [detect_language(paragraph) for paragraph in paragraphs]


def detect_document(text: str) -> DocumentDetection | None:
    """Detect an article's language paragraph by paragraph.

    The article's language is the one with the most letters among the detected
    paragraphs (a headline or a quoted paragraph in another language does not
    decide it); ``mixed`` is set when a substantial paragraph is confidently in
    another language.

    Returns:
        The detection, or ``None`` when no paragraph's language can be told.
    """
    paragraphs = split_paragraphs(normalize_text(text))
    detections = detect_paragraphs(paragraphs)
    letters: dict[str, int] = {}
    weighted: dict[str, float] = {}
    for paragraph, detection in zip(paragraphs, detections, strict=True):
        if detection is not None:
            count = _letters(paragraph)
            letters[detection.code] = letters.get(detection.code, 0) + count
            weighted[detection.code] = weighted.get(detection.code, 0.0) + (
                count * detection.confidence
            )
    if not letters:
        return None
    # max() keeps the first of equal counts: the language seen first wins ties.
    language = max(letters, key=letters.__getitem__)
    mixed = any(
        detection is not None
        and detection.code != language
        and detection.confidence >= MIXED_MIN_CONFIDENCE
        and _letters(paragraph) >= MIXED_MIN_LETTERS
        for paragraph, detection in zip(paragraphs, detections, strict=True)
    )
    return DocumentDetection(
        language=language,
        confidence=weighted[language] / sum(letters.values()),
        paragraphs=detections,
        mixed=mixed,
    )


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def _best(detector: LanguageDetector, text: str) -> Detection | None:
    values = detector.compute_language_confidence_values(text)
    if not values or values[0].value <= 0.0:
        return None
    best = values[0]
    return Detection(code=language_code(best.language), confidence=float(best.value))
