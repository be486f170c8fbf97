"""Text normalisation and segmentation into paragraphs and sentences.

``segment_document`` splits a text into paragraphs of sentences and ``Document.render``
rebuilds it, with translations, in the same layout. Sentence boundaries start from
sentencex and are corrected for the desk's languages (abbreviation lists, Armenian
punctuation, quotations, initials, numbers); docs/architecture.md says why, and
``make eval-segmentation`` measures it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sentencex import segment

from service.languages import base_language
from worker.pipeline import abbreviations, quotes

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
_NEWLINE_RUN = re.compile(r"\s*\n\s*")

# A list item's marker: a bullet symbol, "1." / "1)" / "(1)", or "a)"; then space.
_BULLET = re.compile(r"(?:[-–—•*▪◦‣●■►➢✓✔]|\(?\d{1,3}[.)]|\(?[a-z]\))\s+")
_ARMENIAN_LETTER = re.compile(r"[\u0531-\u0556\u0561-\u0587]")
# Armenian emphasis, exclamation and question marks, written over a word's vowel,
# and the mijaket when typed as U+2024 (also as "."; see _is_boundary).
_ARMENIAN_WORD_MARKS = frozenset("\u055b\u055c\u055e\u2024")
_CLOSERS = "\"'”’»›)]"
_OPENERS = "\"'“‘«‹„‚([¿¡"
# An end mark, any closing quotes, then whitespace: a candidate boundary in the
# languages with an abbreviation list (worker/pipeline/segment_data/abbreviations/).
_END_MARK = re.compile(r"[.!?…؟]+[\"'”’»›)\]]*\s+")
# Armenian: the full stop, or an ASCII colon typed in its place.
_ARMENIAN_STOP = re.compile(r"[։:][\"'”’»›)\]]*\s+")
_SENTENCE_ENDS = ".!?…؟։"
# A quotation holds more than one sentence only if it has one of these inside.
_INNER_END = re.compile(r"[.!?…؟։:]\S*\s")
# What follows the first period of U.S., b.e.ə., ق.م.: a few letters, a period.
_DOTTED_PART = re.compile(r"[^\W\d_]{1,3}\.")


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
    return [sentence for sentence, _ in split_lines(paragraph, language)]


def split_lines(paragraph: str, language: str) -> list[tuple[str, str]]:
    """Like ``split_sentences``, with what separated each sentence from the previous.

    Returns:
        ``(sentence, separator)`` pairs: the separator is ``""`` for the first
        sentence, ``"\\n"`` for one that starts a new line, else ``" "``.
    """
    out: list[tuple[str, str]] = []
    for line in paragraph.split("\n"):
        separator = "\n"
        for piece in _segment_line(line, language):
            piece = piece.strip()
            if piece:
                out.append((piece, separator if out else ""))
                separator = " "
    return out


def _segment_line(line: str, language: str) -> list[str]:
    """Split one line into slices that concatenate back to ``line``."""
    if not line.strip():
        return []
    marker = _BULLET.match(line)
    start = marker.end() if marker else 0
    if not line[start:].strip():
        return [line]
    base = base_language(language)
    rules = abbreviations.for_language(base)
    armenian = _is_armenian(line, base)
    cuts = {start + cut for cut in _sentencex_cuts(line[start:], language)}
    embedded: list[tuple[int, int]] = []
    for opening, closing in quotes.spans(line):
        if _is_embedded(line, opening, closing):
            embedded.append((opening, closing))
        elif _INNER_END.search(line, opening + 1, closing):
            # sentencex never splits inside a quotation: split its text on its own.
            quoted = line[opening + 1 : closing]
            cuts.update(opening + 1 + cut for cut in _sentencex_cuts(quoted, language))
    if rules is not None:
        # Every end mark before a space is a candidate; the lists decide.
        cuts.update(m.end() for m in _END_MARK.finditer(line))
    if armenian:
        cuts.update(m.end() for m in _ARMENIAN_STOP.finditer(line))
    kept = sorted(
        cut
        for cut in cuts
        if start < cut < len(line)
        and not any(opening < cut <= closing for opening, closing in embedded)
        and _is_boundary(line, cut, rules, armenian)
    )
    bounds = [0, *kept, len(line)]
    return [line[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _is_embedded(line: str, opening: int, closing: int) -> bool:
    """Whether a quotation sits inside a running sentence: ``told him ‘Go. Now.’ and left``.

    Words of the sentence come before its opening mark (not a sentence end) and a
    lowercase word follows its closing mark; such a quotation is never split.
    """
    before = line[:opening].rstrip().rstrip(_CLOSERS)
    if not before or before[-1] in _SENTENCE_ENDS:
        return False
    following = line[closing + 1 :].lstrip(_CLOSERS + ",;:-–— ")
    return following[:1].islower()


def _sentencex_cuts(text: str, language: str) -> list[int]:
    """Offsets in ``text`` where sentencex starts a new sentence."""
    # sentencex (Rust) assumes whitespace is one byte wide and panics on e.g.
    # U+2028 or U+00A0 next to a period; segment a copy with every whitespace
    # character replaced by a space (same length).
    safe = _ANY_SPACE.sub(" ", text)
    try:
        pieces = list(segment(language or "en", safe))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # pyo3's PanicException derives from BaseException
        return []
    if "".join(pieces) != safe:
        # Never expected, but losing text is worse than an unsplit line.
        return []
    cuts: list[int] = []
    offset = 0
    for piece in pieces[:-1]:
        offset += len(piece)
        cuts.append(offset)
    return cuts


def _is_armenian(line: str, base: str) -> bool:
    """Whether Armenian punctuation rules apply: hy text, or a mostly Armenian line."""
    if base == "hy":
        return True
    armenian = len(_ARMENIAN_LETTER.findall(line))
    return armenian > 0 and 2 * armenian > sum(ch.isalpha() for ch in line)


def _is_boundary(
    line: str, cut: int, rules: abbreviations.Abbreviations | None, armenian: bool
) -> bool:
    """Whether a sentence may end just before offset ``cut`` of ``line``."""
    before = line[:cut].rstrip()
    gap = cut - len(before)
    after = line[cut:]
    end = before.rstrip(_CLOSERS)
    if not end:
        return False
    last = end[-1]
    # A number: "۴.۷" (sentencex only knows ASCII digits), "20:38", "1,000.5".
    number = len(end) > 1 and end[-2].isdigit() and after[:1].isdigit()
    if number and gap == 0 and end == before and last in ".,:٫":
        return False
    if last in _ARMENIAN_WORD_MARKS:
        return False
    following = after.lstrip().lstrip(_OPENERS + "-–— ")
    if armenian:
        if last == ":":
            # The full stop typed as a colon; not in "20:38" nor before lowercase.
            return bool(gap) and (following[:1].isupper() or following[:1].isdigit())
        if last == "." and len(end) > 1 and _ARMENIAN_LETTER.match(end[-2]):
            return False  # the mijaket, or an abbreviation (թ., Սբ.)
    if rules is None:
        return last != "." or not _is_initial(end)
    if last in ".!?…" and following[:1].islower() and _cased_before(end):
        return False  # "said Ms. Farahani, ...", '"Pay up!" and', "e.g. red"
    if last == ".":
        if gap == 0 and _DOTTED_PART.match(after):
            return False  # inside U.S., b.e.ə., ق.م.
        if _is_initial(end):
            return False
        token = end.rsplit(None, 1)[-1].lstrip(_OPENERS)
        words = following.split(None, 1)  # none when only spacing follows the openers
        return rules.may_end(token, words[0] if words else "")
    return True


def _cased_before(end: str) -> bool:
    """Whether the last letter of ``end`` has case, so that a lowercase one after it tells."""
    letter = next((ch for ch in reversed(end) if ch.isalpha()), "")
    return letter.isupper() or letter.islower()


def _is_initial(end: str) -> bool:
    """Whether ``end`` (text up to a period) ends with an initial: J. R. R. Tolkien, İ. Əliyev."""
    word = end.rsplit(None, 1)[-1].lstrip(_OPENERS)[:-1]
    return len(word) == 1 and word.isupper()


def sentence_separator(language: str) -> str:
    """The string placed between sentences of one paragraph in ``language``."""
    return "" if base_language(language) in _NO_SPACE_LANGUAGES else " "


@dataclass
class Document:
    """A text as paragraphs of sentences, in reading order.

    ``separators`` parallels ``paragraphs``: for each sentence, ``"\\n"`` if it
    started a new line of its paragraph (a bullet item, a headline line), ``" "``
    if it followed another sentence on the same line, ``""`` for the first. Left
    out, every sentence follows the previous one on the same line.
    """

    paragraphs: list[list[str]]
    language: str = "en"
    separators: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.separators:
            self.separators = [
                ["" if i == 0 else " " for i in range(len(p))] for p in self.paragraphs
            ]
        if [len(s) for s in self.separators] != [len(p) for p in self.paragraphs]:
            raise ValueError("separators must have one entry per sentence of each paragraph")

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
            Paragraphs joined by a blank line, always as many as ``paragraphs``
            (one whose replacements are all empty is an empty string). Within a
            paragraph, sentences that started a new line do so again; others are
            joined by a space (nothing for languages written without spaces).
            Newlines inside a replacement become spaces, so they cannot add lines
            or paragraphs.

        Raises:
            ValueError: ``replacements`` has the wrong length.
        """
        total = sum(len(p) for p in self.paragraphs)
        if replacements is None:
            replacements = self.sentences
        if len(replacements) != total:
            raise ValueError(f"expected {total} replacements, got {len(replacements)}")
        space = sentence_separator(language or self.language)
        out: list[str] = []
        position = 0
        for separators in self.separators:
            parts: list[str] = []
            newline = False
            for separator in separators:
                text = _NEWLINE_RUN.sub(space, replacements[position].strip())
                position += 1
                # A line break survives an empty sentence between two lines.
                newline = newline or separator == "\n"
                if not text:
                    continue
                if parts:
                    parts.append("\n" if newline else space)
                parts.append(text)
                newline = False
            out.append("".join(parts))
        return "\n\n".join(out)


def segment_document(text: str, language: str) -> Document:
    """Normalise ``text`` and split it into paragraphs of sentences."""
    paragraphs: list[list[str]] = []
    separators: list[list[str]] = []
    for paragraph in split_paragraphs(normalize_text(text)):
        if pairs := split_lines(paragraph, language):
            paragraphs.append([sentence for sentence, _ in pairs])
            separators.append([separator for _, separator in pairs])
    return Document(paragraphs=paragraphs, language=language, separators=separators)
