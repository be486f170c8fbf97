"""The translation engine interface shared by every backend.

A ``Translator`` turns lists of source sentences into lists of target sentences,
one output per input, in order. Language arguments are the user-facing ISO 639
codes (``en``, ``az``, ``fa``, ``hy``, ``azb``...); each engine maps them to its
model's own codes (NLLB ``azj_Latn``, M2M100 ``__az__``, Marian ``>>aze<<``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Translator(Protocol):
    """A loaded translation model."""

    model_name: str

    def languages(self) -> list[str]:
        """ISO codes this model can translate from and into, sorted."""
        ...

    def supports(self, source: str, target: str) -> bool:
        """Whether the model can translate from ``source`` into ``target``."""
        ...

    def translate(self, sentences: list[str], source: str, target: str) -> list[str]:
        """Translate ``sentences`` from ``source`` into ``target``; one output per input."""
        ...


class Summarizer(Protocol):
    """A loaded summarisation model."""

    model_name: str

    def summarize(self, sentences: list[str], language: str, count: int) -> list[str]:
        """Return a summary of about ``count`` sentences of ``sentences``."""
        ...
