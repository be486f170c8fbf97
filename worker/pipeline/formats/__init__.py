"""Input and output formats of articles: each parses its text into a ``Document`` of
sentences and renders the translated sentences back in the same format."""

from __future__ import annotations

from worker.pipeline.formats.base import Format, MarkupLoss, Parsed, Rendering
from worker.pipeline.formats.html import HtmlFormat
from worker.pipeline.formats.plain import PlainText

FORMATS: dict[str, Format] = {fmt.name: fmt for fmt in (PlainText(), HtmlFormat())}


def get_format(name: str) -> Format:
    """The format called ``name`` (``text``, ``html``)."""
    return FORMATS[name]


__all__ = ["FORMATS", "Format", "MarkupLoss", "Parsed", "Rendering", "get_format"]
