"""Document formats: how a job's input becomes sentences, and translations become output.

The pipeline parses its input with a ``Format`` into a ``Parsed`` document, has
``document.sentences`` translated, and asks the parsed document to ``render``
each language. ``html`` keeps markup (``worker.formats.html``); plain text is the
text pipeline's own ``worker.text.Document``.
"""

from __future__ import annotations

from typing import Protocol

from worker.text import Document


class Parsed(Protocol):
    """A document ready for translation."""

    document: Document  # paragraphs of sentences to translate, in reading order
    text: str  # the plain text of the document (language detection, the summary)

    def render(self, translations: list[str], language: str) -> str:
        """The output in this format, from one translation per ``document.sentences`` item.

        The target ``language`` sets ``lang``/``dir`` where the format has them.
        """
        ...


class Format(Protocol):
    name: str  # "text", "html"

    def parse(self, source: str, language: str) -> Parsed: ...
