"""The format seam: how an article's text becomes sentences, and sentences become output.

A :class:`Format` parses its input into a :class:`Parsed` article: a ``Document``
(paragraphs of sentences, in reading order: what gets translated) plus whatever the
format must carry through translation (inline markup, attributes), and renders one
translation per sentence back into the same format.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from worker.pipeline.text import Document


@dataclass(frozen=True)
class MarkupLoss:
    """A sentence whose inline markup did not come back whole from translation."""

    sentence: int  # index into document.sentences
    markers: tuple[str, ...]  # as in the source sentence, e.g. ("<g1>", "<x2/>")


@dataclass(frozen=True)
class Rendering:
    """A rendered translation, and the sentences whose markup it could not keep."""

    output: str
    losses: tuple[MarkupLoss, ...] = ()


class Parsed(Protocol):
    """An article parsed by a format."""

    @property
    def document(self) -> Document:
        """Paragraphs of sentences to translate, in reading order."""
        ...

    @property
    def text(self) -> str:
        """The article as plain text."""
        ...

    def render(self, translations: list[str], language: str) -> str:
        """The article in this format with each sentence replaced by its translation.

        Args:
            translations: One string per item of ``document.sentences``, in order.
            language: The translations' language (its text direction, its spacing).
        """
        ...

    def render_report(self, translations: list[str], language: str) -> Rendering:
        """``render``, and which sentences lost inline markup on the way (to flag them)."""
        ...


class Format(Protocol):
    """A kind of article input (and output)."""

    name: str

    def parse(self, source: str, language: str) -> Parsed:
        """Split ``source`` into sentences, segmented by the rules of ``language``."""
        ...
