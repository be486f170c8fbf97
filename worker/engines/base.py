"""The translation engine interface shared by every backend.

A ``Translator`` turns source sentences into target sentences, one output per
input, in order. Language arguments are the user-facing canonical codes (``en``,
``az``, ``fa``, ``hy``, ``azb``...); each engine maps them to its model's own codes
(NLLB ``azj_Latn``, M2M100 ``__az__``, Marian ``>>aze<<``).

``translate_segments`` takes sentences with their own source and target
languages, so one engine call can serve several languages and several jobs at
once; that is what the batch scheduler feeds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Segment:
    """One sentence to translate from ``source`` into ``target``.

    ``strict`` asks for the stricter decoding used to retry a translation that
    failed a check: wider beam, repetition penalty, no repeated trigrams.
    """

    text: str
    source: str
    target: str
    strict: bool = False


# Stricter decoding for retries: beam search discourages the degenerate loops and
# copied input that greedy search falls into on hard sentences.
STRICT_BEAMS = 4
STRICT_REPETITION_PENALTY = 1.2
STRICT_NO_REPEAT_NGRAM = 3


@runtime_checkable
class Translator(Protocol):
    """A loaded translation model."""

    model_name: str
    max_input_tokens: int

    def languages(self) -> list[str]:
        """Canonical codes this model can translate from and into, sorted."""
        ...

    def count_tokens(self, texts: list[str], source: str) -> list[int]:
        """Model input length of each text, special tokens included."""
        ...

    def supports(self, source: str, target: str) -> bool:
        """Whether the model can translate from ``source`` into ``target``."""
        ...

    def translate(self, sentences: list[str], source: str, target: str) -> list[str]:
        """Translate ``sentences`` from ``source`` into ``target``; one output per input."""
        ...

    def translate_segments(self, segments: list[Segment]) -> list[str]:
        """Translate segments of any language pairs; one output per input, in order."""
        ...

    def check_segments(self, segments: list[Segment]) -> None:
        """Raise ``TextTooLong`` or ``UnsupportedLanguage`` for segments the model cannot take."""
        ...


def translate_by_pair(translator: Translator, segments: list[Segment]) -> list[str]:
    """``translate_segments`` for engines that translate one language pair per call."""
    outputs: list[str] = [""] * len(segments)
    groups: dict[tuple[str, str, bool], list[int]] = {}
    for index, segment in enumerate(segments):
        groups.setdefault((segment.source, segment.target, segment.strict), []).append(index)
    for (source, target, strict), indices in groups.items():
        sentences = [segments[i].text for i in indices]
        if strict and hasattr(translator, "translate_strict"):
            texts = translator.translate_strict(sentences, source, target)
        else:
            texts = translator.translate(sentences, source, target)
        for i, text in zip(indices, texts, strict=True):
            outputs[i] = text
    return outputs


class Summarizer(Protocol):
    """A loaded summarisation model."""

    model_name: str

    def summarize(self, sentences: list[str], language: str, count: int) -> list[str]:
        """Return a summary of about ``count`` sentences of ``sentences``."""
        ...
