"""Plain text: paragraphs separated by blank lines, lines kept (headlines, bullets)."""

from __future__ import annotations

from dataclasses import dataclass

from worker.pipeline.text import Document, normalize_text, segment_document


@dataclass
class PlainDocument:
    """A plain-text article: its sentences are all there is to it."""

    document: Document

    @property
    def text(self) -> str:
        return self.document.render()

    def render(self, translations: list[str], language: str) -> str:
        return self.document.render(translations, language=language)


class PlainText:
    """The ``text`` format: what ``POST /v1/jobs`` takes as ``text`` and ``title``."""

    name = "text"

    def plain_text(self, source: str) -> str:
        return normalize_text(source)

    def parse(self, source: str, language: str) -> PlainDocument:
        return PlainDocument(segment_document(source, language))
