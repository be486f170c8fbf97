"""The echo engine: returns every sentence unchanged, instantly.

Not a translator. It runs the whole service (API, queue, pipeline, storage)
without a model, for load tests of the service itself and for checking that the
pipeline around the engine (segmentation, protection of numbers, reassembly of
paragraphs) loses nothing. Selected with ``DRAGOMAN_TRANSLATION_BACKEND=echo``.
"""

from __future__ import annotations

from functools import lru_cache

from worker.engines.base import Segment
from worker.engines.libraries import import_libraries
from worker.runtime import metrics


@lru_cache(maxsize=1)
def _languages() -> tuple[str, ...]:
    import_libraries("transformers")
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    from worker.engines.languages import nllb_language_map

    return tuple(nllb_language_map(FAIRSEQ_LANGUAGE_CODES).languages())


class EchoTranslator:
    """Answers each sentence with itself, for every language NLLB-200 knows."""

    max_input_tokens = 1_000_000

    def __init__(self, name: str = "echo", device: str = "cpu", **_: object) -> None:
        self.model_name = name

    def count_tokens(self, texts: list[str], source: str) -> list[int]:
        return [len(text.split()) for text in texts]

    def languages(self) -> list[str]:
        return list(_languages())

    def supports(self, source: str, target: str) -> bool:
        known = _languages()
        return source in known and target in known

    def translate(self, sentences: list[str], source: str, target: str) -> list[str]:
        return self.translate_segments([Segment(s, source, target) for s in sentences])

    def translate_segments(self, segments: list[Segment]) -> list[str]:
        words = sum(len(s.text.split()) for s in segments)
        metrics.record_batch(len(segments), words, words)
        return [segment.text for segment in segments]

    def check_segments(self, segments: list[Segment]) -> None:
        return None
