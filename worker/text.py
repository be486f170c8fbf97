"""Text normalisation and segmentation into paragraphs and sentences.

Translation and summarisation work sentence by sentence; the paragraph layout of
the input is kept so the output can be rebuilt with the same structure
(``segment_document`` then ``Document.render``).

Sentence splitting uses ``sentencex``, which has rules for ~300 languages and
falls back along a language chain (``az``, ``fa``, ``hy``, ``azb`` and unknown
codes all segment sensibly). Single newlines inside a paragraph are hard
boundaries: news text puts headlines, bylines and bullet items on their own lines
without final punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sentencex import segment

# Scripts written without spaces between words (and so between sentences).
_NO_SPACE_LANGUAGES = frozenset({"zh", "ja", "th", "my", "km", "lo"})

_NEWLINES = re.compile(r"\r\n|[\r\u2028\u2029\x85\x0b\x0c]")
# Zero-width space, word joiner, BOM and soft hyphen carry no meaning in news text
# and split words invisibly; ZWNJ (U+200C) and ZWJ (U+200D) do (Persian word
# forms, emoji sequences), so they stay.
_INVISIBLES = re.compile(r"[\u200b\u2060\ufeff\u00ad]")
# Horizontal whitespace: anything ``str.isspace`` accepts except the newline.
_HSPACE = re.compile(r"[^\S\n]+")
_BLANK_RUNS = re.compile(r"\n{3,}")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_ANY_SPACE = re.compile(r"\s")
_DIGIT_PERIOD = re.compile(r"\d\.$")


def normalize_text(text: str) -> str:
    """Normalise Unicode, newlines and spacing without changing the words.

    NFC; CR, CRLF and Unicode line/paragraph separators become ``\\n``; control
    characters other than ``\\n`` and ``\\t`` are removed, as are zero-width
    spaces, BOMs and soft hyphens (ZWNJ is kept); runs of horizontal whitespace become one
    space; lines lose leading and trailing spaces; three or more newlines become one blank
    line; leading and trailing blank lines are removed.
    """
    text = unicodedata.normalize("NFC", text)
    text = _NEWLINES.sub("\n", text)
    text = _INVISIBLES.sub("", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    text = _HSPACE.sub(" ", text)
    # Indentation carries no meaning in news text; trailing spaces none either.
    lines = [line.strip(" ") for line in text.split("\n")]
    text = "\n".join(lines)
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip("\n")


def split_paragraphs(text: str) -> list[str]:
    """Split ``text`` at blank lines; empty paragraphs are dropped."""
    parts = _PARAGRAPH_BREAK.split(text)
    return [part.strip() for part in parts if part.strip()]


def split_sentences(paragraph: str, language: str) -> list[str]:
    """Split a paragraph into sentences, stripped, with empties dropped.

    Every line is split on its own, so a newline always ends a sentence. No
    non-whitespace character is ever lost or reordered.
    """
    sentences: list[str] = []
    for line in paragraph.split("\n"):
        for piece in _segment_line(line, language):
            piece = piece.strip()
            if piece:
                sentences.append(piece)
    return sentences


def _segment_line(line: str, language: str) -> list[str]:
    """Run sentencex on one line, returning slices of the original line."""
    if not line.strip():
        return []
    # sentencex (Rust) assumes whitespace is one byte wide and panics on e.g.
    # U+2028 or U+00A0 next to a period; segment a copy with every whitespace
    # character replaced by a space (same length) and slice the original.
    safe = _ANY_SPACE.sub(" ", line)
    try:
        pieces = list(segment(language or "en", safe))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # pyo3's PanicException derives from BaseException
        return [line]
    if "".join(pieces) != safe:
        # Never expected, but losing text is worse than an unsplit line.
        return [line]
    out: list[str] = []
    start = 0
    for piece in pieces:
        text = line[start : start + len(piece)]
        start += len(piece)
        # sentencex only knows ASCII digits: it splits "۴.۷" (Persian 4.7).
        if out and _DIGIT_PERIOD.search(out[-1]) and text[:1].isdigit():
            out[-1] += text
        else:
            out.append(text)
    return out


def sentence_separator(language: str) -> str:
    """The string placed between sentences of one paragraph in ``language``."""
    base = language.lower().replace("_", "-").split("-", 1)[0]
    return "" if base in _NO_SPACE_LANGUAGES else " "


@dataclass
class Document:
    """A text as paragraphs of sentences, in reading order."""

    paragraphs: list[list[str]]
    language: str = "en"

    @property
    def sentences(self) -> list[str]:
        """All sentences, flattened in reading order."""
        return [s for paragraph in self.paragraphs for s in paragraph]

    def render(self, replacements: list[str] | None = None, language: str | None = None) -> str:
        """Rebuild the text, optionally with every sentence replaced.

        Args:
            replacements: one string per sentence of ``sentences`` (e.g. its
                translation); ``None`` renders the original sentences.
            language: language of ``replacements`` (a translation's target);
                defaults to the document's language.

        Returns:
            Sentences of a paragraph joined by a space (nothing for languages
            written without spaces), paragraphs joined by a blank line.

        Raises:
            ValueError: ``replacements`` has the wrong length.
        """
        sizes = [len(p) for p in self.paragraphs]
        total = sum(sizes)
        if replacements is None:
            replacements = self.sentences
        if len(replacements) != total:
            raise ValueError(f"expected {total} replacements, got {len(replacements)}")
        separator = sentence_separator(language or self.language)
        out: list[str] = []
        position = 0
        for size in sizes:
            chunk = [s.strip() for s in replacements[position : position + size]]
            position += size
            text = separator.join(s for s in chunk if s)
            if text:
                out.append(text)
        return "\n\n".join(out)


def segment_document(text: str, language: str) -> Document:
    """Normalise ``text`` and split it into paragraphs of sentences."""
    paragraphs = [
        sentences
        for paragraph in split_paragraphs(normalize_text(text))
        if (sentences := split_sentences(paragraph, language))
    ]
    return Document(paragraphs=paragraphs, language=language)
