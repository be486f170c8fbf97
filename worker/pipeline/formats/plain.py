"""Plain text: paragraphs separated by blank lines, lines kept (headlines, bullets)."""

from __future__ import annotations

from dataclasses import dataclass

from worker.pipeline.formats.base import Rendering
from worker.pipeline.text import Document, segment_document


@dataclass
class PlainDocument:
    """A plain-text article: its sentences are all there is to it."""

    document: Document

    @property
    def text(self) -> str:
        return self.document.render()

    def render(self, translations: list[str], language: str) -> str:
        return self.document.render(translations, language=language)

    def render_report(self, translations: list[str], language: str) -> Rendering:
        return Rendering(self.render(translations, language))


class PlainText:
    """The ``text`` format: what ``POST /v1/jobs`` takes as ``text`` and ``title``."""

    name = "text"

    def parse(self, source: str, language: str) -> PlainDocument:
        return PlainDocument(segment_document(source, language))
