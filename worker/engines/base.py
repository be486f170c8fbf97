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
    """One sentence to translate from ``source`` into ``target``."""

    text: str
    source: str
    target: str


@runtime_checkable
class Translator(Protocol):
    """A loaded translation model."""

    model_name: str

    def languages(self) -> list[str]:
        """Canonical codes this model can translate from and into, sorted."""
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
    groups: dict[tuple[str, str], list[int]] = {}
    for index, segment in enumerate(segments):
        groups.setdefault((segment.source, segment.target), []).append(index)
    for (source, target), indices in groups.items():
        texts = translator.translate([segments[i].text for i in indices], source, target)
        for i, text in zip(indices, texts, strict=True):
            outputs[i] = text
    return outputs


class Summarizer(Protocol):
    """A loaded summarisation model."""

    model_name: str

    def summarize(self, sentences: list[str], language: str, count: int) -> list[str]:
        """Return a summary of about ``count`` sentences of ``sentences``."""
        ...
