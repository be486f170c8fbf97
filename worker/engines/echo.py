"""The echo engine: returns every sentence unchanged, instantly.

Not a translator. It runs the whole service (API, queue, pipeline, storage)
without a model, for load tests of the service itself and for checking that the
pipeline around the engine (segmentation, protection of numbers, reassembly of
paragraphs) loses nothing. Selected with ``DRAGOMAN_TRANSLATION_BACKEND=echo``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from worker import metrics
from worker.engines.base import Backend, PlannedBatch, Segment, Translator
from worker.engines.libraries import import_libraries
from worker.engines.planning import plan_batches


@lru_cache(maxsize=1)
def languages() -> tuple[str, ...]:
    """Every language NLLB-200 knows (the echo engine claims them all)."""
    import_libraries("transformers")
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    from worker.engines.languages import nllb_language_map

    return tuple(nllb_language_map(FAIRSEQ_LANGUAGE_CODES).languages())


class EchoTranslator(Translator):
    """Answers each sentence with itself, for every language NLLB-200 knows."""

    max_input_tokens = 1_000_000
    max_batch_sentences = 64

    def __init__(self, name: str = "echo", device: str = "cpu") -> None:
        self.model_name = name

    def count_tokens(self, texts: list[str], source: str) -> list[int]:
        return [len(text.split()) for text in texts]

    def languages(self) -> list[str]:
        return list(languages())

    def supports(self, source: str, target: str) -> bool:
        known = languages()
        return source in known and target in known

    def describe(self) -> dict[str, Any]:
        return {"engine": "echo", "device": "cpu"}

    def plan_batches(self, segments: list[Segment]) -> list[PlannedBatch]:
        words = [segment.text.split() for segment in segments]
        return plan_batches(
            segments,
            words,
            group=lambda segment: segment.strict,
            cost=lambda rows, width, segment: rows,
            budget=self.max_batch_sentences,
        )

    def translate_segments(
        self, segments: list[Segment], tokens: Sequence[Any] | None = None
    ) -> list[str]:
        words = sum(len(s.text.split()) for s in segments)
        metrics.record_batch(len(segments), words, words)
        return [segment.text for segment in segments]

    def translate_alternatives(self, segments: list[Segment], count: int) -> list[list[str]]:
        # One hypothesis only: the text itself is the only "translation" echo knows.
        return [[text] for text in self.translate_segments(segments)]


BACKEND = Backend(
    name="echo",
    create=EchoTranslator,
    options=lambda settings: {},
    languages=lambda path: list(languages()),
    runs=lambda path: False,  # only when asked for
    libraries=("transformers",),  # for NLLB's list of languages
)
