"""A batch that runs out of GPU memory is split and run again, with both real engines.

The failure is injected where each engine calls its library (the transformers
engine's ``_generate``, CTranslate2's ``translate_batch``), above a batch size, with
the budget forced far too high: what a GPU does when a batch does not fit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from testkit.tiny_models import corpus_lines
from worker.engines.base import Segment, Translator
from worker.engines.ct2 import CTranslate2Translator
from worker.engines.hf import TransformersTranslator
from worker.engines.scheduler import BatchScheduler

FITS = 4  # rows that "fit in GPU memory"
TARGETS = ("az", "fa", "hy")


def _sentences() -> list[str]:
    # Random weights decode every row to its bound: short lines keep the test quick.
    lines = [line for line in corpus_lines(["en"]) if 20 < len(line) < 90]
    assert len(lines) >= 10, "the fixture corpus has too few short English lines"
    return lines[:10]


def _one_by_one(engine: Translator, segments: list[Segment]) -> list[str]:
    return [engine.translate_segments([segment])[0] for segment in segments]


def _through_scheduler(engine: Translator, segments: list[Segment]) -> list[str]:
    scheduler = BatchScheduler(engine, max_batch_sentences=len(segments))
    try:
        futures = scheduler.submit("job", segments)
        return [future.result(timeout=120) for future in futures]
    finally:
        scheduler.close()


class Failing:
    """Raises ``error()`` for calls of more than ``FITS`` rows; counts the rows it ran."""

    def __init__(self, call: Callable[..., Any], error: Callable[[], Exception]) -> None:
        self.call, self.error = call, error
        self.sizes: list[int] = []
        self.rows: list[Any] = []  # each row run, as given
        self.failures = 0

    def __call__(self, batch: list[Any], *args: Any, **kwargs: Any) -> Any:
        if len(batch) > FITS:
            self.failures += 1
            raise self.error()
        self.sizes.append(len(batch))
        self.rows += [list(row) for row in batch]
        return self.call(batch, *args, **kwargs)


@pytest.fixture(scope="module")
def hf_engine(tiny_nllb_dir: Path) -> TransformersTranslator:
    return TransformersTranslator(str(tiny_nllb_dir), batch_size=256, max_batch_tokens=10**6)


def test_transformers_batch_out_of_memory_is_split_and_the_budget_shrinks(
    hf_engine: TransformersTranslator, monkeypatch: pytest.MonkeyPatch
) -> None:
    segments = [Segment(text, "en", target) for target in TARGETS for text in _sentences()]
    expected = _one_by_one(hf_engine, segments)
    failing = Failing(
        hf_engine._generate, lambda: torch.cuda.OutOfMemoryError("CUDA out of memory.")
    )
    monkeypatch.setattr(hf_engine, "_generate", failing)
    before = hf_engine.max_batch_tokens

    outputs = _through_scheduler(hf_engine, segments)

    assert outputs == expected  # every sentence once, in its place
    assert failing.failures > 0 and hf_engine.oom_splits == failing.failures
    assert sum(failing.sizes) == len(segments)  # nothing ran twice
    assert max(failing.sizes) <= FITS
    shrunk = hf_engine.max_batch_tokens
    assert shrunk < before
    # The budget stays shrunk: the next plan cuts smaller batches from the start.
    failing.failures, failing.sizes = 0, []
    again = _through_scheduler(hf_engine, segments)
    assert again == expected
    assert hf_engine.max_batch_tokens == shrunk
    assert failing.failures < len(TARGETS)  # at most a failure per language's widest batch


def test_transformers_single_sentence_out_of_memory_reaches_the_job(
    hf_engine: TransformersTranslator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def always(*_: Any, **__: Any) -> Any:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(hf_engine, "_generate", always)
    scheduler = BatchScheduler(hf_engine, max_batch_sentences=8)
    try:
        (future,) = scheduler.submit("job", [Segment("One sentence.", "en", "az")])
        with pytest.raises(torch.cuda.OutOfMemoryError):
            future.result(timeout=60)
    finally:
        scheduler.close()


class _FailingCt2:
    """CTranslate2's translator with its out-of-memory error above ``FITS`` rows."""

    def __init__(self, inner: Any) -> None:
        self.translate_batch = Failing(
            inner.translate_batch,
            lambda: RuntimeError("CUDA failed with error out of memory"),
        )


def test_ctranslate2_batch_out_of_memory_is_split_and_the_budget_shrinks(
    tiny_nllb_ct2_dir: Path,
) -> None:
    engine = CTranslate2Translator(str(tiny_nllb_ct2_dir), threads=1, max_batch_tokens=10**6)
    segments = [Segment(text, "en", target) for target in TARGETS for text in _sentences()]
    failing = _FailingCt2(engine._translator)
    engine._translator = failing
    before = engine.max_batch_tokens

    outputs = _through_scheduler(engine, segments)

    # int8 output depends a little on a batch's company, so texts are not compared;
    # what reached the library is: every sentence's tokens exactly once.
    assert len(outputs) == len(segments) and all(outputs)
    calls = failing.translate_batch
    assert calls.failures > 0 and max(calls.sizes) <= FITS
    sources = sorted(tuple(t) for plan in engine.plan_batches(segments) for t in plan.tokens)
    assert sorted(map(tuple, calls.rows)) == sources
    assert engine.max_batch_tokens < before
