"""The format seam: how an article's text becomes sentences, and sentences become output.

A :class:`Format` parses its input into a :class:`Parsed` article: a ``Document``
(paragraphs of sentences, in reading order: what gets translated) plus whatever the
format must carry through translation (inline markup, attributes), and renders one
translation per sentence back into the same format.
"""

from __future__ import annotations

from typing import Protocol

from worker.pipeline.text import Document


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


class Format(Protocol):
    """A kind of article input (and output)."""

    name: str

    def plain_text(self, source: str) -> str:
        """The source's text without markup, for language detection."""
        ...

    def parse(self, source: str, language: str) -> Parsed:
        """Split ``source`` into sentences, segmented by the rules of ``language``."""
        ...
